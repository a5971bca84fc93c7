//! Why a reconcile failed: one error type, with a bounded label for the
//! `reconcile_errors_total{reason}` metric.

/// A reconcile that did not finish. The work queue retries the app with
/// backoff; its status says what failed (`lastError`) where the failure
/// let status be written.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading what exists failed: the caches lacked what the app needs,
    /// and reading it from AWS failed.
    #[error("observing failed: {0}")]
    Observe(#[source] ferry_aws::Error),
    /// An action of the plan failed; the actions before it completed.
    #[error("action {} of the plan failed: {source}", completed + 1)]
    Execute {
        completed: usize,
        #[source]
        source: ferry_aws::Error,
    },
    /// Removing a deleted app's spec failed.
    #[error("removing the app's spec failed: {0}")]
    Store(#[source] ferry_store::Error),
    /// The reconcile panicked: a bug, retried like any failure so that one
    /// app's bug does not stop the others.
    #[error("reconcile panicked: {0}")]
    Panicked(String),
}

impl Error {
    /// The `reason` label of `reconcile_errors_total`: one of a few fixed
    /// values, never an app name or a message.
    pub fn metric_label(&self) -> &'static str {
        match self {
            Error::Observe(_) => "observe",
            Error::Execute { .. } => "execute",
            Error::Store(_) => "store",
            Error::Panicked(_) => "panic",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_few_and_fixed() {
        let aws = || ferry_aws::Error::Build {
            what: "test",
            message: "boom".into(),
        };
        let labels = [
            Error::Observe(aws()).metric_label(),
            Error::Execute {
                completed: 2,
                source: aws(),
            }
            .metric_label(),
            Error::Panicked("x".into()).metric_label(),
        ];
        assert_eq!(labels, ["observe", "execute", "panic"]);
        assert_eq!(
            Error::Execute {
                completed: 2,
                source: aws()
            }
            .to_string(),
            "action 3 of the plan failed: cannot build test: boom"
        );
    }
}
