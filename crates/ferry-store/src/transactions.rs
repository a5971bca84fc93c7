//! DynamoDB transactions as the store runs them: the lease check first
//! when fenced, one client request token for every attempt, and the
//! reading of cancellation reasons into what failed.

use aws_sdk_dynamodb::types::TransactWriteItem;
use ferry_call::pacing::Bucket;

use crate::error::{Error, Result};
use crate::lease::Fence;
use crate::store::{Store, SERVICE};

/// DynamoDB's limit on items per transaction.
pub(crate) const MAX_TRANSACTION_ITEMS: usize = 100;

/// A TransactWriteItems client request token: DynamoDB treats calls with
/// the same token within 10 minutes as one. 32 random hex digits (the
/// limit is 36 characters).
fn client_request_token() -> String {
    format!("{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..))
}

impl Store {
    /// Runs a transaction. With `fence`, the lease check goes first, and a
    /// failure of that check is reported as [`Error::Fenced`]; any other
    /// failed condition as [`Error::Conflict`].
    pub(crate) async fn transact(
        &self,
        items: Vec<TransactWriteItem>,
        apps: &str,
        fence: Option<&Fence>,
    ) -> Result<()> {
        self.try_transact(items, apps, fence)
            .await?
            .map_err(|_| conflict(apps))
    }

    /// Runs a transaction, handing back which conditions failed if one did.
    /// With `fence`, the lease check goes first, and a failure of that
    /// check is reported as [`Error::Fenced`].
    pub(crate) async fn try_transact(
        &self,
        mut items: Vec<TransactWriteItem>,
        apps: &str,
        fence: Option<&Fence>,
    ) -> Result<Result<(), Canceled>> {
        if let Some(fence) = fence {
            items.insert(0, self.fence_check(fence)?);
        }
        // One token for every attempt: a transaction that committed and
        // whose answer was lost is not done again (nor reported as a
        // conflict with itself) when it is sent again. The SDK would
        // otherwise make a new token per attempt.
        let token = client_request_token();
        let result = self
            .caller
            .call_raw(SERVICE, "TransactWriteItems", Bucket::Unpaced, apps, || {
                self.client
                    .transact_write_items()
                    .set_transact_items(Some(items.clone()))
                    .client_request_token(&token)
                    .send()
            })
            .await?;
        let Err(err) = result else {
            return Ok(Ok(()));
        };
        let canceled = err.as_service_error().and_then(|e| match e {
            aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError::TransactionCanceledException(c) => {
                Some(c)
            }
            _ => None,
        });
        if let Some(canceled) = canceled {
            let codes: Vec<Option<&str>> = canceled
                .cancellation_reasons()
                .iter()
                .map(|reason| reason.code())
                .collect();
            match (
                classify_cancellation(&codes, fence.is_some(), canceled.message()),
                fence,
            ) {
                (Cancellation::Fenced, Some(fence)) => {
                    return Err(Error::Fenced { token: fence.token })
                }
                (Cancellation::Conditions(failed), _) => return Ok(Err(Canceled { failed })),
                _ => {}
            }
        }
        Err(self.call_error("TransactWriteItems", apps, &err))
    }
}

/// The error for a transaction whose condition failed because an app
/// changed after it was read.
pub(crate) fn conflict(apps: &str) -> Error {
    Error::Conflict {
        apps: apps.to_owned(),
        message: "another apply or delete changed the app since it was read; nothing was \
                  written, run the command again"
            .into(),
    }
}

/// A transaction DynamoDB canceled because of a failed condition.
#[derive(Debug)]
pub(crate) struct Canceled {
    /// Indices of the items whose condition failed (not counting a lease
    /// check), or `None` if DynamoDB did not say which.
    pub(crate) failed: Option<Vec<usize>>,
}

/// Why a transaction was canceled.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Cancellation {
    /// The lease check, the first item of a fenced transaction, failed.
    Fenced,
    /// Conditions failed: these items' (indices without the lease check),
    /// or `None` if DynamoDB's reasons do not say which.
    Conditions(Option<Vec<usize>>),
    /// Something else, such as a transaction in flight on the same items.
    Other,
}

/// Reads DynamoDB's cancellation reasons, one code per item in request
/// order (`None` where the item was fine). Some implementations leave the
/// reasons out and only name them in the message.
fn classify_cancellation(
    codes: &[Option<&str>],
    fenced: bool,
    message: Option<&str>,
) -> Cancellation {
    const CONDITION_FAILED: &str = "ConditionalCheckFailed";
    let failed: Vec<usize> = codes
        .iter()
        .enumerate()
        .filter(|(_, code)| **code == Some(CONDITION_FAILED))
        .map(|(index, _)| index)
        .collect();
    let offset = usize::from(fenced);
    if fenced && failed.first() == Some(&0) {
        return Cancellation::Fenced;
    }
    if !failed.is_empty() {
        return Cancellation::Conditions(Some(failed.into_iter().map(|i| i - offset).collect()));
    }
    if codes.is_empty() && message.is_some_and(|m| m.contains(CONDITION_FAILED)) {
        return Cancellation::Conditions(None);
    }
    Cancellation::Other
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cancellation_reasons_name_the_failed_items() {
        let failed = Some("ConditionalCheckFailed");
        let none = Some("None");
        assert_eq!(
            classify_cancellation(&[none, none, failed, none], false, None),
            Cancellation::Conditions(Some(vec![2]))
        );
        // The lease check is item 0 of a fenced transaction and is not
        // counted in the indices.
        assert_eq!(
            classify_cancellation(&[none, failed, none, failed], true, None),
            Cancellation::Conditions(Some(vec![0, 2]))
        );
        assert_eq!(
            classify_cancellation(&[failed, failed, none], true, None),
            Cancellation::Fenced
        );
        // Without a lease check, item 0 is just an item.
        assert_eq!(
            classify_cancellation(&[failed, none], false, None),
            Cancellation::Conditions(Some(vec![0]))
        );
        assert_eq!(
            classify_cancellation(
                &[],
                false,
                Some("Transaction cancelled [ConditionalCheckFailed, None]")
            ),
            Cancellation::Conditions(None)
        );
        assert_eq!(
            classify_cancellation(&[none, Some("TransactionConflict")], false, None),
            Cancellation::Other
        );
    }
}
