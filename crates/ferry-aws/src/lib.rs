//! Ferry's adapters over AWS: ECS, and ELBv2 with Route53 for traffic.
//!
//! Every call goes through [`Caller`], which paces it below AWS's request
//! token buckets, bounds it with a timeout, and counts it by service,
//! operation and outcome. Observation is batched and paginated. Each
//! adapter executes one action of a [`ferry_core::Plan`] at a time; the
//! controller runs a plan's actions in order and stops at the first
//! failure, which is safe because planning is level-triggered: the next
//! reconcile plans the remainder again.

mod call;
pub mod ecs;
mod normalize;
pub mod pacing;
pub mod traffic;

pub use call::{AwsMetrics, Caller};
pub use ecs::Ecs;
pub use pacing::Pacing;
pub use traffic::{Traffic, TrafficConfig};

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
}

impl Error {
    /// AWS's error code, when the call reached AWS and failed there.
    pub fn code(&self) -> Option<&str> {
        match self {
            Error::Call { code, .. } => code.as_deref(),
            _ => None,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
