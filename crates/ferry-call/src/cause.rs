//! One-line causes for failed SDK calls.
//!
//! The SDK's own rendering of a failure (`DisplayErrorContext`, or its
//! `Debug`) is the whole chain with every struct field, often 1.5 KB for a
//! refused connection. Users get one line saying what went wrong; the full
//! chain is kept as the error's detail for `-v` and `RUST_LOG`.

use aws_credential_types::provider::error::CredentialsError;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// What kind of failure a call ended in, so that a program can add the
/// hint that fits its users (the CLI names the local AWS's env file).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// AWS answered with an error code.
    Service,
    /// No credentials could be found or loaded.
    NoCredentials,
    /// The endpoint could not be reached (refused, unresolvable, reset).
    Unreachable,
    /// The request or the connection timed out.
    Timeout,
    /// AWS answered with something the SDK could not read.
    BadResponse,
    /// The request could not be built or sent for another reason.
    Other,
}

/// A failed call, summarised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cause {
    pub kind: FailureKind,
    /// One line: AWS's `Code: message`, or the innermost transport cause.
    pub summary: String,
    /// The whole chain, as the SDK renders it.
    pub detail: String,
}

/// Summarises a failed SDK call.
pub fn of<E, R>(err: &SdkError<E, R>) -> Cause
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug,
{
    let detail = DisplayErrorContext(err).to_string();
    let (kind, summary) = match (err.code(), err.message()) {
        (Some(code), Some(message)) => (FailureKind::Service, format!("{code}: {message}")),
        (Some(code), None) => (FailureKind::Service, code.to_owned()),
        _ => classify(err),
    };
    Cause {
        kind,
        summary: one_line(&summary),
        detail,
    }
}

fn classify<E, R>(err: &SdkError<E, R>) -> (FailureKind, String)
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let chain = sources(std::error::Error::source(err));
    if chain
        .iter()
        .any(|e| e.downcast_ref::<CredentialsError>().is_some())
    {
        return (
            FailureKind::NoCredentials,
            "no AWS credentials found".into(),
        );
    }
    let innermost = chain
        .last()
        .map_or_else(|| err.to_string(), ToString::to_string);
    match err {
        SdkError::DispatchFailure(failure) if failure.is_timeout() => {
            (FailureKind::Timeout, format!("timed out: {innermost}"))
        }
        SdkError::DispatchFailure(failure) if failure.is_io() => (
            FailureKind::Unreachable,
            format!("cannot reach the AWS endpoint: {innermost}"),
        ),
        SdkError::TimeoutError(_) => (FailureKind::Timeout, "timed out".into()),
        SdkError::ResponseError(_) => (
            FailureKind::BadResponse,
            format!("unreadable response from AWS: {innermost}"),
        ),
        _ => (FailureKind::Other, innermost),
    }
}

/// `first` and its sources, outermost first.
fn sources<'a>(
    first: Option<&'a (dyn std::error::Error + 'static)>,
) -> Vec<&'a (dyn std::error::Error + 'static)> {
    let mut chain = Vec::new();
    let mut next = first;
    while let Some(source) = next {
        chain.push(source);
        next = source.source();
    }
    chain
}

/// AWS messages and transport causes sometimes span lines.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use aws_smithy_runtime_api::client::result::ConnectorError;
    use aws_smithy_types::error::ErrorMetadata;

    use super::*;

    type Failure = SdkError<ErrorMetadata, ()>;

    #[test]
    fn a_service_error_is_its_code_and_message() {
        let err: Failure = SdkError::service_error(
            ErrorMetadata::builder()
                .code("ValidationException")
                .message("Item size has exceeded\nthe maximum allowed size")
                .build(),
            (),
        );
        let cause = of(&err);
        assert_eq!(cause.kind, FailureKind::Service);
        assert_eq!(
            cause.summary,
            "ValidationException: Item size has exceeded the maximum allowed size"
        );
    }

    #[test]
    fn a_refused_connection_is_its_innermost_cause() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "Connection refused");
        let err: Failure = SdkError::dispatch_failure(ConnectorError::io(Box::new(io)));
        let cause = of(&err);
        assert_eq!(cause.kind, FailureKind::Unreachable);
        assert_eq!(
            cause.summary,
            "cannot reach the AWS endpoint: Connection refused"
        );
        assert!(cause.detail.len() >= cause.summary.len());
    }

    #[test]
    fn missing_credentials_are_named() {
        let credentials =
            CredentialsError::not_loaded("no providers in chain provided credentials");
        let err: Failure =
            SdkError::dispatch_failure(ConnectorError::other(Box::new(credentials), None));
        let cause = of(&err);
        assert_eq!(cause.kind, FailureKind::NoCredentials);
        assert_eq!(cause.summary, "no AWS credentials found");
    }
}
