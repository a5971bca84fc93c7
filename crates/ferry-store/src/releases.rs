//! Releases: reading an app's history, and the outcome the controller
//! records once a rollout is decided.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};
use ferry_core::ReleaseOutcome;

use crate::error::{build, Error, Result};
use crate::items::{Item, ReleaseItem};
use crate::layout::{key, release_pk, release_sk};
use crate::lease::Fence;
use crate::records::Release;
use crate::store::Store;
use crate::values::s;

impl Store {
    /// An app's releases, newest first, with their outcomes.
    pub async fn releases(&self, app: &str) -> Result<Vec<Release>> {
        let items = self.query(&release_pk(app), true).await?;
        items
            .iter()
            .map(|item| self.release_from_item(item, app))
            .collect()
    }

    /// The newest release version an app name has, 0 if none: one
    /// strongly consistent Query of one item.
    pub async fn latest_release_version(&self, app: &str) -> Result<u64> {
        match self.end_release(app, true).await? {
            None => Ok(0),
            Some(item) => Ok(self.decode::<ReleaseItem>(&item, app)?.version),
        }
    }

    /// When an app name's oldest release was made (RFC 3339), `None` if it
    /// has none: one strongly consistent Query of one item. For an app
    /// deleted and applied again, that is its first life's first release.
    pub async fn first_release_created_at(&self, app: &str) -> Result<Option<String>> {
        self.end_release(app, false)
            .await?
            .map(|item| Ok(self.release_from_item(&item, app)?.created_at))
            .transpose()
    }

    /// The newest or the oldest release item of an app name.
    async fn end_release(
        &self,
        app: &str,
        newest: bool,
    ) -> Result<Option<HashMap<String, AttributeValue>>> {
        let out = self
            .query_page(&release_pk(app), newest, Some(1), None, app)
            .await?;
        Ok(out.items().first().cloned())
    }

    /// One release of an app, with its outcome, or `None`.
    pub async fn release(&self, app: &str, version: u64) -> Result<Option<Release>> {
        let out = self
            .get_item(&release_pk(app), &release_sk(version), app)
            .await?;
        out.item()
            .map(|item| self.release_from_item(item, app))
            .transpose()
    }

    /// A release item's snapshot, with the outcome its attributes record.
    fn release_from_item(&self, item: &Item, app: &str) -> Result<Release> {
        let item: ReleaseItem = self.decode(item, app)?;
        let outcome = item.outcome.clone();
        let outcome_reason = item.outcome_reason.clone();
        let mut release = item.snapshot();
        // The attributes, not the snapshot, say how the rollout ended.
        release.outcome = match outcome {
            None => None,
            Some(text) => Some(ReleaseOutcome::parse(&text).ok_or_else(|| {
                self.corrupt(
                    &format!("{}/{}", release_pk(app), release_sk(release.version)),
                    format!("unknown release outcome {text:?}"),
                )
            })?),
        };
        release.outcome_reason = outcome_reason;
        Ok(release)
    }

    /// Records how a release's rollout ended, if `fence` still holds the
    /// lease. The snapshot is left as it was: the outcome is kept in the
    /// item's `outcome` and `outcomeReason` attributes (a `None` reason
    /// removes an earlier one). Setting the same outcome again is harmless.
    /// Fails with [`Error::ReleaseNotFound`] if the release does not exist,
    /// and [`Error::Fenced`] if the lease moved on.
    pub async fn set_release_outcome(
        &self,
        app: &str,
        version: u64,
        outcome: ReleaseOutcome,
        reason: Option<&str>,
        fence: &Fence,
    ) -> Result<()> {
        let mut update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(release_pk(app), release_sk(version))))
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":outcome", s(outcome.as_str()));
        update = match reason {
            Some(reason) => update
                .update_expression("SET outcome = :outcome, outcomeReason = :reason")
                .expression_attribute_values(":reason", s(reason)),
            None => update.update_expression("SET outcome = :outcome REMOVE outcomeReason"),
        };
        let items = vec![TransactWriteItem::builder()
            .update(build(update.build(), "release outcome Update")?)
            .build()];
        match self.try_transact(items, app, Some(fence)).await? {
            Ok(()) => Ok(()),
            Err(_) => Err(Error::ReleaseNotFound {
                app: app.to_owned(),
                version,
            }),
        }
    }
}
