//! The one path every AWS call of Ferry takes, shared by the ECS, ELBv2
//! and Route53 adapters (`ferry-aws`) and the DynamoDB store
//! (`ferry-store`), so that neither needs the other's SDK crates.
//!
//! [`Caller`] paces each call at AWS's documented request token buckets,
//! fairly across the apps waiting ([`pacing`]), retries calls AWS
//! throttled while adapting its rate downward, bounds each attempt with a
//! timeout, and counts every attempt by service, operation and outcome.

mod call;
pub mod pacing;

pub use call::{AwsMetrics, Caller, MAX_ATTEMPTS};
pub use pacing::{Bucket, Claimant, Pacing};

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
    /// The call did not finish within the timeout.
    #[error("{service}:{operation} on {resource} timed out after {seconds}s")]
    Timeout {
        service: &'static str,
        operation: &'static str,
        resource: String,
        seconds: u64,
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
            | Error::Timeout {
                service, operation, ..
            }
            | Error::Incomplete {
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

    /// Whether AWS refused the call for its request rate.
    pub fn is_throttling(&self) -> bool {
        self.code().is_some_and(call::is_throttling_code)
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
