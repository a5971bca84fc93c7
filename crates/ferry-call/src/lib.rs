//! The one path every AWS call of Ferry takes, shared by the ECS, ELBv2
//! and Route53 adapters (`ferry-aws`) and the DynamoDB store
//! (`ferry-store`), so that neither needs the other's SDK crates.
//!
//! [`Caller`] paces each call at AWS's documented request token buckets,
//! fairly across the apps waiting ([`pacing`]), retries calls AWS
//! throttled while adapting its rate downward, bounds each attempt with a
//! timeout, and counts every attempt by service, operation and outcome.

mod call;
pub mod cause;
pub mod clock;
pub mod failpoint;
mod gate;
pub mod pacing;

pub use call::{AwsMetrics, Caller, MAX_ATTEMPTS};
pub use cause::FailureKind;
pub use gate::{
    is_mutating, stopped_by_gate, GateClosed, GateInterceptor, WriteGate, WriteInFlight,
};
pub use pacing::{Bucket, Claimant, Pacing};

/// A client token for one logical call: 32 hex characters, within every
/// limit AWS documents (ECS: CreateService 36, RunTask 64 characters of
/// ASCII 33-126).
///
/// Build it into the request *before* handing the request to
/// [`Caller::call`], so that every attempt the caller makes after a reset,
/// a timeout or a 5xx sends the same token, and AWS performs the call at
/// most once. Left unset, the SDK fills in a fresh token at each send,
/// which makes every retry a new request: a second task, a second service.
/// <https://docs.aws.amazon.com/AmazonECS/latest/APIReference/ECS_Idempotency.html>
pub fn client_token() -> String {
    format!("{:032x}", fastrand::u128(..))
}

/// Errors from AWS calls, each naming the call and the resource.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// AWS answered with an error.
    #[error("{service}:{operation} on {resource} failed: {message}")]
    Call {
        service: &'static str,
        operation: &'static str,
        resource: String,
        /// AWS's error code, when AWS answered.
        code: Option<String>,
        /// `Code: message` from AWS, or the transport failure.
        message: String,
    },
    /// The call got no answer from AWS: no credentials, an unreachable
    /// endpoint, an unreadable response. `cause` is one line; `detail` the
    /// SDK's whole chain, for `-v` and logs.
    #[error("{service}:{operation} on {resource} failed: {cause}")]
    Unanswered {
        service: &'static str,
        operation: &'static str,
        resource: String,
        kind: FailureKind,
        cause: String,
        detail: String,
    },
    /// The call did not finish within the timeout.
    #[error("{service}:{operation} on {resource} timed out after {seconds}s")]
    Timeout {
        service: &'static str,
        operation: &'static str,
        resource: String,
        seconds: u64,
    },
    /// A mutating call was not sent: this replica's leadership may have
    /// lapsed (its renew deadline passed), so a successor may be writing.
    #[error("{service}:{operation} on {resource} not sent: this replica no longer leads")]
    NotLeading {
        service: &'static str,
        operation: &'static str,
        resource: String,
    },
    /// A request could not be built from Ferry's input (a bug, or input
    /// that validation should have rejected).
    #[error("cannot build {what}: {message}")]
    Build { what: &'static str, message: String },
    /// AWS answered, but without a field Ferry relies on.
    #[error("{service}:{operation} on {resource}: response lacks {what}")]
    Incomplete {
        service: &'static str,
        operation: &'static str,
        resource: String,
        what: &'static str,
    },
}

impl Error {
    /// `service:Operation` of the failed call, as status reports it.
    pub fn operation(&self) -> String {
        match self {
            Error::Call {
                service, operation, ..
            }
            | Error::Unanswered {
                service, operation, ..
            }
            | Error::Timeout {
                service, operation, ..
            }
            | Error::Incomplete {
                service, operation, ..
            }
            | Error::NotLeading {
                service, operation, ..
            } => format!("{service}:{operation}"),
            Error::Build { what, .. } => format!("build:{what}"),
        }
    }

    /// AWS's error code, when the call reached AWS and failed there.
    pub fn code(&self) -> Option<&str> {
        match self {
            Error::Call { code, .. } => code.as_deref(),
            _ => None,
        }
    }

    /// What kind of failure this is, for a hint that fits it.
    pub fn kind(&self) -> FailureKind {
        match self {
            Error::Call { .. } => FailureKind::Service,
            Error::Unanswered { kind, .. } => *kind,
            Error::Timeout { .. } => FailureKind::Timeout,
            Error::Build { .. } | Error::Incomplete { .. } | Error::NotLeading { .. } => {
                FailureKind::Other
            }
        }
    }

    /// The SDK's whole account of the failure, when it says more than the
    /// one-line message.
    pub fn detail(&self) -> Option<&str> {
        match self {
            Error::Unanswered { detail, .. } => Some(detail),
            _ => None,
        }
    }

    /// A failed SDK call as Ferry reports it: AWS's `Code: message` when
    /// AWS answered, else the one-line cause with the SDK's chain kept as
    /// detail.
    pub fn from_sdk<E, R>(
        service: &'static str,
        operation: &'static str,
        resource: &str,
        err: &aws_smithy_runtime_api::client::result::SdkError<E, R>,
    ) -> Self
    where
        E: aws_smithy_types::error::metadata::ProvideErrorMetadata
            + std::error::Error
            + Send
            + Sync
            + 'static,
        R: std::fmt::Debug,
    {
        let cause = cause::of(err);
        match cause.kind {
            FailureKind::Service => Error::Call {
                service,
                operation,
                resource: resource.to_owned(),
                code: aws_smithy_types::error::metadata::ProvideErrorMetadata::code(err)
                    .map(str::to_owned),
                message: cause.summary,
            },
            kind => Error::Unanswered {
                service,
                operation,
                resource: resource.to_owned(),
                kind,
                cause: cause.summary,
                detail: cause.detail,
            },
        }
    }

    /// Whether AWS refused the call for its request rate.
    pub fn is_throttling(&self) -> bool {
        self.code().is_some_and(call::is_throttling_code)
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
