//! AWS SDK errors as one line a person can act on: `Code: message` for an answer from the
//! service, the cause chain for a request that never got one. Never the SDK's debug
//! structures (which is what `DisplayErrorContext` prints for an unmodelled service error).

use aws_sdk_sfn::config::http::HttpResponse;
use aws_sdk_sfn::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_types::error::display::DisplayErrorContext;

use crate::output::escape;

/// `NoSuchBucket: The specified bucket does not exist`, or why the request got no answer.
pub fn one_line<E>(e: &SdkError<E, HttpResponse>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let text = match e {
        SdkError::ServiceError(service) => {
            let err = service.err();
            match (err.code(), err.message()) {
                (Some(code), Some(message)) => format!("{code}: {message}"),
                (Some(code), None) => code.to_owned(),
                _ => format!("HTTP {} without an error code", service.raw().status()),
            }
        }
        other => DisplayErrorContext(other).to_string(),
    };
    escape(&text).into_owned()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use aws_sdk_sfn::operation::describe_execution::DescribeExecutionError;
    use aws_sdk_sfn::types::error::ExecutionDoesNotExist;
    use aws_smithy_types::body::SdkBody;

    fn response(status: u16) -> HttpResponse {
        HttpResponse::new(status.try_into().unwrap(), SdkBody::empty())
    }

    #[test]
    fn a_service_error_is_its_code_and_message() {
        let e = SdkError::service_error(
            DescribeExecutionError::ExecutionDoesNotExist(
                ExecutionDoesNotExist::builder()
                    .message("Execution Does Not Exist: 'arn:x'")
                    .meta(
                        aws_smithy_types::error::ErrorMetadata::builder()
                            .code("ExecutionDoesNotExist")
                            .message("Execution Does Not Exist: 'arn:x'")
                            .build(),
                    )
                    .build(),
            ),
            response(400),
        );
        assert_eq!(
            one_line(&e),
            "ExecutionDoesNotExist: Execution Does Not Exist: 'arn:x'"
        );
    }

    #[test]
    fn an_unmodelled_error_is_still_one_line_with_control_characters_escaped() {
        let e: SdkError<DescribeExecutionError, HttpResponse> = SdkError::service_error(
            DescribeExecutionError::generic(
                aws_smithy_types::error::ErrorMetadata::builder()
                    .code("NoSuchBucket")
                    .message("bucket \u{1b}[2J")
                    .build(),
            ),
            response(404),
        );
        let line = one_line(&e);
        assert_eq!(line, "NoSuchBucket: bucket \\u{1b}[2J");
        assert!(!line.contains('\n'));
    }
}
