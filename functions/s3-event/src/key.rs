//! The encodings of `detail.object.key`, both ways.
//!
//! AWS does not document whether the EventBridge `detail.object.key` is encoded. S3 event
//! notifications (the SQS/SNS/Lambda `Records[]` shape, a different channel) document theirs:
//! "The object key name value is URL encoded. For example, 'red flower.jpg' becomes
//! 'red+flower.jpg'", i.e. `application/x-www-form-urlencoded` with `+` sent as `%2B`, `:` as
//! `%3A` and `/` left alone. For EventBridge itself, a public AWS solution states, with tests
//! it ran on AWS, that the key arrives unencoded; LocalStack percent-encodes it (RFC 3986).
//! See `docs/aws-facts.md#key-encoding-in-events`.

use std::borrow::Cow;
use std::fmt;
use std::str::{FromStr, Utf8Error};

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode, utf8_percent_encode};

/// Bytes kept by form encoding as S3 notifications write it (Java's `URLEncoder` with `/`
/// kept): letters, digits, `-_.*` and `/`; a space becomes `+` afterwards.
const FORM_KEPT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'*')
    .remove(b'/')
    .remove(b' ');

/// Bytes kept by RFC 3986 percent-encoding of a path: unreserved characters and `/`.
const PERCENT_KEPT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'/');

/// How `detail.object.key` is written.
///
/// A consumer cannot tell the three apart from one key, so decoding is its job: read the key
/// form-decoded (which also reads percent-encoding), and when that differs from the raw value
/// and names no object, use the raw value.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum KeyEncoding {
    /// Form encoding as in S3 notifications: ASCII letters, digits and `-_.*/` are kept, a
    /// space becomes `+`, every other byte of the UTF-8 encoding becomes `%XX` (uppercase).
    Form,
    /// RFC 3986 percent-encoding: unreserved characters (`A-Za-z0-9-_.~`) and `/` are kept,
    /// every other byte becomes `%XX` (so a space is `%20`). Also what `x-amz-copy-source`
    /// and `encoding-type=url` listings use.
    Percent,
    /// The key as stored, unencoded: the default, because the only evidence about
    /// EventBridge that was tested on AWS says so.
    #[default]
    Raw,
}

impl KeyEncoding {
    /// The flag value: "form", "percent" or "raw".
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Form => "form",
            Self::Percent => "percent",
            Self::Raw => "raw",
        }
    }

    /// Encodes `key`. Borrows when nothing needs encoding.
    #[must_use]
    pub fn encode(self, key: &str) -> Cow<'_, str> {
        match self {
            Self::Raw => Cow::Borrowed(key),
            Self::Percent => utf8_percent_encode(key, PERCENT_KEPT).into(),
            Self::Form => match Cow::from(utf8_percent_encode(key, FORM_KEPT)) {
                Cow::Borrowed(kept) if !kept.contains(' ') => Cow::Borrowed(kept),
                encoded => Cow::Owned(encoded.replace(' ', "+")),
            },
        }
    }

    /// Decodes `encoded`, the inverse of [`encode`](Self::encode). Form decoding turns `+`
    /// into a space first, so it also reads percent-encoding. A `%` not followed by two hex
    /// digits, or escapes that are not UTF-8, are errors: no encoder writes them.
    pub fn decode(self, encoded: &str) -> Result<Cow<'_, str>, DecodeError> {
        let unescaped = match self {
            Self::Raw => return Ok(Cow::Borrowed(encoded)),
            Self::Form if encoded.contains('+') => Cow::Owned(encoded.replace('+', " ")),
            Self::Form | Self::Percent => Cow::Borrowed(encoded),
        };
        if let Some(at) = first_bad_escape(encoded.as_bytes()) {
            return Err(DecodeError::BadEscape(at));
        }
        if matches!(unescaped, Cow::Borrowed(_)) && !encoded.contains('%') {
            return Ok(Cow::Borrowed(encoded));
        }
        percent_decode(unescaped.as_bytes())
            .decode_utf8()
            .map(|decoded| Cow::Owned(decoded.into_owned()))
            .map_err(DecodeError::NotUtf8)
    }
}

/// The byte offset of the first `%` that is not followed by two hex digits.
fn first_bad_escape(bytes: &[u8]) -> Option<usize> {
    bytes.iter().enumerate().find_map(|(i, b)| {
        let escape_ok = bytes.len() > i + 2
            && bytes[i + 1].is_ascii_hexdigit()
            && bytes[i + 2].is_ascii_hexdigit();
        (*b == b'%' && !escape_ok).then_some(i)
    })
}

impl fmt::Display for KeyEncoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a key is not form- or percent-encoding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// A `%` not followed by two hex digits, at this byte offset.
    BadEscape(usize),
    /// The escapes decode to bytes that are not UTF-8 (S3 keys are UTF-8).
    NotUtf8(Utf8Error),
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadEscape(at) => {
                write!(f, "the `%` at byte {at} is not followed by two hex digits")
            }
            Self::NotUtf8(e) => write!(f, "its %-escapes do not decode to UTF-8: {e}"),
        }
    }
}

impl std::error::Error for DecodeError {}

/// A [`KeyEncoding`] flag value that is not "form", "percent" or "raw".
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseKeyEncodingError(pub String);

impl fmt::Display for ParseKeyEncodingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown key encoding {:?}: expected \"form\", \"percent\" or \"raw\"",
            self.0
        )
    }
}

impl std::error::Error for ParseKeyEncodingError {}

impl FromStr for KeyEncoding {
    type Err = ParseKeyEncodingError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "form" => Ok(Self::Form),
            "percent" => Ok(Self::Percent),
            "raw" => Ok(Self::Raw),
            _ => Err(ParseKeyEncodingError(s.to_owned())),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn form_encoding_matches_s3_notifications() {
        let form = KeyEncoding::Form;
        assert_eq!(form.encode("red flower.jpg"), "red+flower.jpg");
        assert_eq!(
            form.encode("a b+c%25d:é/x=1"),
            "a+b%2Bc%2525d%3A%C3%A9/x%3D1"
        );
        assert_eq!(
            form.encode("this im + age blah.txt"),
            "this+im+%2B+age+blah.txt"
        );
        assert_eq!(form.encode("日本/ü"), "%E6%97%A5%E6%9C%AC/%C3%BC");
        assert_eq!(form.encode("a~b*c"), "a%7Eb*c");
        assert_eq!(form.encode("A-Z_a.z/0*9"), "A-Z_a.z/0*9");
        assert!(matches!(form.encode("plain/key.txt"), Cow::Borrowed(_)));
    }

    #[test]
    fn percent_encoding_follows_rfc_3986() {
        let percent = KeyEncoding::Percent;
        assert_eq!(percent.encode("red flower.jpg"), "red%20flower.jpg");
        assert_eq!(
            percent.encode("a b+c%25d:é/x=1"),
            "a%20b%2Bc%2525d%3A%C3%A9/x%3D1"
        );
        assert_eq!(percent.encode("日本/ü"), "%E6%97%A5%E6%9C%AC/%C3%BC");
        assert_eq!(percent.encode("a~b"), "a~b");
        assert_eq!(percent.encode("a*b"), "a%2Ab");
    }

    #[test]
    fn raw_encoding_leaves_the_key_alone() {
        let key = "a b+c%25d:é/x=1";
        assert_eq!(KeyEncoding::Raw.encode(key), key);
        assert_eq!(KeyEncoding::Raw.decode(key).unwrap(), key);
    }

    #[test]
    fn decoding_reads_the_documented_examples() {
        let form = KeyEncoding::Form;
        assert_eq!(form.decode("red+flower.jpg").unwrap(), "red flower.jpg");
        assert_eq!(form.decode("a%2Bb").unwrap(), "a+b");
        assert_eq!(form.decode("red%20flower.jpg").unwrap(), "red flower.jpg");
        assert_eq!(KeyEncoding::Percent.decode("a+b%20c").unwrap(), "a+b c");
        assert!(matches!(
            form.decode("plain/key.txt").unwrap(),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn malformed_escapes_and_non_utf8_are_errors_with_their_reason() {
        for encoding in [KeyEncoding::Form, KeyEncoding::Percent] {
            assert_eq!(encoding.decode("a%2"), Err(DecodeError::BadEscape(1)));
            assert_eq!(encoding.decode("100%"), Err(DecodeError::BadEscape(3)));
            assert_eq!(encoding.decode("a%zz"), Err(DecodeError::BadEscape(1)));
            let err = encoding.decode("%FF").unwrap_err();
            assert!(matches!(err, DecodeError::NotUtf8(_)), "{err}");
            assert!(
                err.to_string()
                    .starts_with("its %-escapes do not decode to UTF-8")
            );
        }
        assert_eq!(
            DecodeError::BadEscape(4).to_string(),
            "the `%` at byte 4 is not followed by two hex digits"
        );
    }

    #[test]
    fn key_encoding_parses_and_prints_its_flag_values() {
        assert_eq!(KeyEncoding::default(), KeyEncoding::Raw);
        for encoding in [KeyEncoding::Form, KeyEncoding::Percent, KeyEncoding::Raw] {
            assert_eq!(
                encoding.to_string().parse::<KeyEncoding>().unwrap(),
                encoding
            );
        }
        assert_eq!("RAW".parse::<KeyEncoding>().unwrap(), KeyEncoding::Raw);
        let err = "url".parse::<KeyEncoding>().unwrap_err();
        assert!(err.to_string().contains("\"url\""), "{err}");
    }

    /// Any string, and keys full of the characters the encodings treat specially.
    fn any_key() -> impl Strategy<Value = String> {
        prop_oneof![any::<String>(), "[ a-zA-Z0-9+%/:=?&#~*é日本\\-_.]{1,64}",]
    }

    proptest! {
        #[test]
        fn every_encoding_round_trips(key in any_key()) {
            for encoding in [KeyEncoding::Form, KeyEncoding::Percent, KeyEncoding::Raw] {
                let encoded = encoding.encode(&key);
                prop_assert_eq!(encoding.decode(&encoded).unwrap(), key.as_str());
            }
        }

        #[test]
        fn form_decoding_also_reads_rfc3986_percent_encoding(key in any_key()) {
            let encoded = KeyEncoding::Percent.encode(&key);
            prop_assert_eq!(KeyEncoding::Form.decode(&encoded).unwrap(), key.as_str());
        }
    }
}
