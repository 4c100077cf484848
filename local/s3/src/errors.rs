//! AWS's error messages, so every error body says why, not only which code.
//!
//! S3 answers every error with `<Code>` and a human `<Message>`; clients print the message
//! (the aws cli's "An error occurred (NoSuchKey) ...: The specified key does not exist.").
//! s3s raises many errors with a code only (a bad signature, an unparsable URI or XML body),
//! and so would this crate's own `s3_error!(Code)`. This table holds the message S3 itself
//! returns for each code: [`aws`] builds errors from it, and [`fill_message`] completes an
//! error body that lacks one, in one place on the response path (`server.rs`).

use s3s::{S3Error, S3ErrorCode};

/// The bucket naming rule, stated where a name breaks it.
pub(crate) const INVALID_BUCKET_NAME: &str = "The specified bucket is not valid. Bucket names must be \
     3-63 characters of lowercase letters, digits, dots and hyphens, begin and end with a letter \
     or digit, not look like an IP address, and not start with xn--, sthree- or end with \
     -s3alias or --ol-s3";

/// The message S3 returns with `code`, if this table knows the code.
pub(crate) fn message(code: &str) -> Option<&'static str> {
    Some(match code {
        "AccessDenied" => "Access Denied",
        "AuthorizationQueryParametersError" => {
            "Query-string authentication version 4 requires the X-Amz-Algorithm, \
             X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and \
             X-Amz-Expires parameters."
        }
        "BadDigest" => {
            "The Content-MD5 or checksum value that you specified did not match what the server \
             received."
        }
        "BucketAlreadyExists" => {
            "The requested bucket name is not available. The bucket namespace is shared by all \
             users of the system. Please select a different name and try again."
        }
        "BucketAlreadyOwnedByYou" => {
            "Your previous request to create the named bucket succeeded and you already own it."
        }
        "BucketNotEmpty" => "The bucket you tried to delete is not empty",
        "EntityTooLarge" => "Your proposed upload exceeds the maximum allowed size",
        "EntityTooSmall" => "Your proposed upload is smaller than the minimum allowed object size.",
        "IncompleteBody" => {
            "You did not provide the number of bytes specified by the Content-Length HTTP header"
        }
        "InternalError" => "We encountered an internal error. Please try again.",
        "InvalidAccessKeyId" => "The AWS Access Key Id you provided does not exist in our records.",
        "InvalidArgument" => "Invalid Argument",
        "InvalidBucketName" => INVALID_BUCKET_NAME,
        "InvalidDigest" => "The Content-MD5 you specified was invalid.",
        "InvalidPart" => {
            "One or more of the specified parts could not be found.  The part may not have been \
             uploaded, or the specified entity tag may not match the part's entity tag."
        }
        "InvalidPartOrder" => {
            "The list of parts was not in ascending order. Parts must be ordered by part number."
        }
        "InvalidRange" => "The requested range is not satisfiable",
        "InvalidRequest" => "Invalid Request",
        "InvalidStorageClass" => "The storage class you specified is not valid",
        "InvalidTag" => "The TagValue you have provided is invalid",
        "InvalidURI" => "Couldn't parse the specified URI.",
        "KeyTooLongError" => "Your key is too long",
        "MalformedXML" => {
            "The XML you provided was not well-formed or did not validate against our published \
             schema"
        }
        "MetadataTooLarge" => "Your metadata headers exceed the maximum allowed metadata size",
        "MethodNotAllowed" => "The specified method is not allowed against this resource.",
        "MissingContentLength" => "You must provide the Content-Length HTTP header.",
        "MissingSecurityHeader" => "Your request was missing a required header",
        "NoSuchBucket" => "The specified bucket does not exist",
        "NoSuchKey" => "The specified key does not exist.",
        "NoSuchLifecycleConfiguration" => "The lifecycle configuration does not exist",
        "NoSuchTagSet" => "The TagSet does not exist",
        "NoSuchUpload" => {
            "The specified upload does not exist. The upload ID may be invalid, or the upload \
             may have been aborted or completed."
        }
        "NoSuchVersion" => "The specified version does not exist.",
        "NotImplemented" => "A header you provided implies functionality that is not implemented",
        "PreconditionFailed" => "At least one of the pre-conditions you specified did not hold",
        "RequestTimeTooSkewed" => {
            "The difference between the request time and the current time is too large."
        }
        "RequestTimeout" => {
            "Your socket connection to the server was not read from or written to within the \
             timeout period. Idle connections will be closed."
        }
        "ServiceUnavailable" => "Please reduce your request rate.",
        "SignatureDoesNotMatch" => {
            "The request signature we calculated does not match the signature you provided. \
             Check your key and signing method."
        }
        "SlowDown" => "Please reduce your request rate.",
        "XAmzContentSHA256Mismatch" => {
            "The provided 'x-amz-content-sha256' header does not match what was computed."
        }
        _ => return None,
    })
}

/// An error with `code` and the message S3 sends with it.
pub(crate) fn aws(code: S3ErrorCode) -> S3Error {
    match message(code.as_str()) {
        Some(text) => S3Error::with_message(code, text),
        None => S3Error::new(code),
    }
}

/// An S3 error body (`<Error><Code>..</Code>..</Error>`) without a `<Message>`, completed
/// with the code's message; `None` when the body has a message already, is not an error
/// body, or its code is not in the table.
pub(crate) fn fill_message(xml: &str) -> Option<String> {
    if xml.contains("<Message>") || xml.contains("<Message/>") {
        return None;
    }
    let open = xml.find("<Code>")? + "<Code>".len();
    let close = open + xml[open..].find("</Code>")?;
    let text = message(&xml[open..close])?;
    let at = close + "</Code>".len();
    Some(format!(
        "{}<Message>{}</Message>{}",
        &xml[..at],
        xml_escape(text),
        &xml[at..]
    ))
}

/// A complete S3 error body, for errors the server raises before s3s sees the request.
pub(crate) fn body(code: &str, text: &str, request_id: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code>\
         <Message>{}</Message><RequestId>{}</RequestId></Error>",
        xml_escape(text),
        xml_escape(request_id)
    )
}

fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_without_a_message_gets_the_codes_message_after_the_code() {
        let xml =
            "<?xml version=\"1.0\"?><Error><Code>NoSuchKey</Code><RequestId>1</RequestId></Error>";
        assert_eq!(
            fill_message(xml).as_deref(),
            Some(
                "<?xml version=\"1.0\"?><Error><Code>NoSuchKey</Code>\
                 <Message>The specified key does not exist.</Message><RequestId>1</RequestId></Error>"
            )
        );
    }

    #[test]
    fn a_body_with_a_message_is_left_alone() {
        let xml = "<Error><Code>NoSuchKey</Code><Message>mine</Message></Error>";
        assert_eq!(fill_message(xml), None);
    }

    #[test]
    fn unknown_codes_and_non_error_bodies_are_left_alone() {
        assert_eq!(fill_message("<Error><Code>Teapot</Code></Error>"), None);
        assert_eq!(fill_message("<ListBucketResult/>"), None);
    }

    #[test]
    fn messages_are_xml_escaped() {
        let xml = fill_message("<Error><Code>XAmzContentSHA256Mismatch</Code></Error>");
        assert!(xml.is_some_and(|x| x.contains("&apos;x-amz-content-sha256&apos;")));
    }

    #[test]
    fn aws_errors_carry_the_table_message() {
        let e = aws(S3ErrorCode::NoSuchUpload);
        assert!(
            e.message()
                .is_some_and(|m| m.starts_with("The specified upload"))
        );
        assert_eq!(
            aws(S3ErrorCode::InvalidBucketName).message(),
            Some(INVALID_BUCKET_NAME)
        );
    }
}
