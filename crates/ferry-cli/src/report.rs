//! How `ferry` reports a failure: one line saying what went wrong, with a
//! hint when the fix is known, and the whole chain only when asked for
//! (`-v`, or `RUST_LOG` set).

use ferry_aws::FailureKind;

/// The local AWS's environment file, which `deploy/local/up` writes.
const LOCAL_ENV_HINT: &str = "for the local AWS: `source .ferry/local.env`";

/// The error and its causes on one line, with a hint that fits the
/// failure when there is one.
pub fn one_line(err: &anyhow::Error) -> String {
    let mut line = err
        .chain()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(": ");
    line = line.split_whitespace().collect::<Vec<_>>().join(" ");
    if let Some(hint) = aws_error(err).and_then(|e| hint(e.kind())) {
        line.push_str(&format!(" ({hint})"));
    }
    line
}

/// Everything known about the failure: each cause on its own line, and
/// the SDK's account of a failed call.
pub fn verbose(err: &anyhow::Error) -> String {
    let mut text = String::new();
    for (depth, cause) in err.chain().enumerate() {
        let lead = if depth == 0 { "error" } else { "caused by" };
        text.push_str(&format!("{lead}: {cause}\n"));
    }
    if let Some(detail) = aws_error(err).and_then(ferry_aws::Error::detail) {
        text.push_str(&format!("AWS SDK: {detail}\n"));
    }
    text
}

/// The lines printed beneath the error's line: what explains a failed
/// wait (each process's last failed task, its log tail), laid out for
/// stderr; none for other errors.
pub fn details(err: &anyhow::Error, layout: &crate::layout::Layout) -> Vec<String> {
    err.chain()
        .find_map(|cause| cause.downcast_ref::<crate::wait::WaitFailed>())
        .map(|failed| failed.details(layout))
        .unwrap_or_default()
}

fn hint(kind: FailureKind) -> Option<String> {
    match kind {
        FailureKind::NoCredentials => Some(format!(
            "set AWS_PROFILE or AWS credentials; {LOCAL_ENV_HINT}"
        )),
        FailureKind::Unreachable | FailureKind::Timeout => {
            match std::env::var("AWS_ENDPOINT_URL") {
                Ok(url) if !url.is_empty() => Some(format!(
                "AWS_ENDPOINT_URL is {url}: is the local AWS running? `deploy/local/up --detach`"
            )),
                _ => Some("check the network and AWS_REGION".to_owned()),
            }
        }
        FailureKind::Service | FailureKind::BadResponse | FailureKind::Other => None,
    }
}

/// The failed AWS call behind `err`, if one is.
fn aws_error(err: &anyhow::Error) -> Option<&ferry_aws::Error> {
    err.chain().find_map(|cause| {
        cause.downcast_ref::<ferry_aws::Error>().or_else(|| {
            match cause.downcast_ref::<ferry_store::Error>() {
                Some(ferry_store::Error::Aws(aws)) => Some(aws),
                _ => None,
            }
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unanswered(kind: FailureKind) -> anyhow::Error {
        let err = ferry_store::Error::Aws(ferry_aws::Error::Unanswered {
            service: "dynamodb",
            operation: "Query",
            resource: "app".into(),
            kind,
            cause: "no AWS credentials found".into(),
            detail: "DispatchFailure(... 1.5 KB ...)".into(),
        });
        anyhow::Error::new(err).context("listing apps")
    }

    #[test]
    fn missing_credentials_get_one_line_and_the_local_hint() {
        let err = unanswered(FailureKind::NoCredentials);
        let line = one_line(&err);
        assert_eq!(
            line,
            "listing apps: dynamodb:Query on app failed: no AWS credentials found (set \
             AWS_PROFILE or AWS credentials; for the local AWS: `source .ferry/local.env`)"
        );
        assert!(!line.contains("DispatchFailure"), "{line}");
        assert!(verbose(&err).contains("DispatchFailure"));
    }

    #[test]
    fn an_answered_error_has_no_hint() {
        let err = anyhow::Error::new(ferry_aws::Error::Call {
            service: "dynamodb",
            operation: "PutItem",
            resource: "web".into(),
            code: Some("ValidationException".into()),
            message: "ValidationException: bad\nthing".into(),
        });
        assert_eq!(
            one_line(&err),
            "dynamodb:PutItem on web failed: ValidationException: bad thing"
        );
    }
}
