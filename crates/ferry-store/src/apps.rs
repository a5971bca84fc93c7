//! App specs: reading them, marking one deleted, and the finalizer that
//! removes it; the revision counter every desired-state write bumps.

use std::collections::BTreeSet;

use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};

use crate::error::{build, Error, Result};
use crate::items::{sort_key, RevisionItem, SpecItem};
use crate::layout::{key, PK_APP, PK_META, PK_STATUS, SK_REVISION};
use crate::lease::Fence;
use crate::records::AppRecord;
use crate::store::Store;
use crate::values::{n, s};

impl Store {
    /// The revision counter: bumped by every write to desired state, so one
    /// strongly consistent read tells whether anything changed.
    pub async fn revision(&self) -> Result<u64> {
        let out = self.get_item(PK_META, SK_REVISION, "meta/revision").await?;
        match out.item() {
            None => Ok(0),
            Some(item) => Ok(self.decode::<RevisionItem>(item, "meta/revision")?.revision),
        }
    }

    /// Every app, in name order.
    pub async fn list_apps(&self) -> Result<Vec<AppRecord>> {
        let items = self.query(PK_APP, false).await?;
        items
            .iter()
            .map(|item| {
                Ok(self
                    .decode::<SpecItem>(item, sort_key(item, PK_APP))?
                    .into())
            })
            .collect()
    }

    /// One app, or `None`.
    pub async fn get_app(&self, name: &str) -> Result<Option<AppRecord>> {
        let out = self.get_item(PK_APP, name, name).await?;
        out.item()
            .map(|item| Ok(self.decode::<SpecItem>(item, name)?.into()))
            .transpose()
    }

    /// One app, or [`Error::NotFound`] naming it.
    pub async fn require_app(&self, name: &str) -> Result<AppRecord> {
        self.get_app(name).await?.ok_or_else(|| Error::NotFound {
            app: name.to_owned(),
        })
    }

    pub(crate) fn bump_revision(&self) -> Result<TransactWriteItem> {
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(PK_META, SK_REVISION)))
            .update_expression("ADD revision :one")
            .expression_attribute_values(":one", n(1));
        Ok(TransactWriteItem::builder()
            .update(build(update.build(), "revision Update")?)
            .build())
    }

    /// Marks an app for deletion and bumps its generation. The controller
    /// tears its resources down, then calls [`Store::remove_app`].
    pub async fn mark_deleting(&self, app: &AppRecord, now: &str) -> Result<u64> {
        let generation = app.generation + 1;
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(PK_APP, app.name.as_str())))
            .update_expression("SET deleting = :true, generation = :next, updatedAt = :now")
            .condition_expression("generation = :expected")
            .expression_attribute_values(":true", AttributeValue::Bool(true))
            .expression_attribute_values(":next", n(generation))
            .expression_attribute_values(":expected", n(app.generation))
            .expression_attribute_values(":now", s(now));
        let items = vec![
            TransactWriteItem::builder()
                .update(build(update.build(), "delete Update")?)
                .build(),
            self.bump_revision()?,
        ];
        self.transact(items, &app.name, None).await?;
        Ok(generation)
    }

    /// Removes a deleted app's spec, status and domain claims once its
    /// resources are gone: the finalizer. Conditional on the generation the
    /// controller acted on and on its lease; all or nothing. Releases are
    /// kept. Once it returns, another app can claim the domains.
    pub async fn remove_app(&self, name: &str, generation: u64, fence: &Fence) -> Result<()> {
        // The spec at this generation names the claims to release. If the
        // app has moved on, the spec Delete's condition fails below anyway.
        let domains: Vec<String> = match self.get_app(name).await? {
            Some(record) if record.generation == generation => {
                record.spec.domains.into_iter().map(|d| d.name).collect()
            }
            _ => Vec::new(),
        };
        // Only the app's own claims: an app stored before claims existed
        // may list a domain without one, or one another app claimed since.
        let owners = self.domain_owners(&domains).await?;
        let claims: BTreeSet<&str> = domains
            .iter()
            .map(String::as_str)
            .filter(|domain| owners.get(*domain).is_some_and(|owner| owner == name))
            .collect();
        let spec = aws_sdk_dynamodb::types::Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key(PK_APP, name)))
            .condition_expression("generation = :g AND deleting = :true")
            .expression_attribute_values(":g", n(generation))
            .expression_attribute_values(":true", AttributeValue::Bool(true));
        let status = aws_sdk_dynamodb::types::Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key(PK_STATUS, name)));
        let mut items = vec![
            TransactWriteItem::builder()
                .delete(build(spec.build(), "spec Delete")?)
                .build(),
            TransactWriteItem::builder()
                .delete(build(status.build(), "status Delete")?)
                .build(),
        ];
        for domain in claims {
            items.push(self.delete_claim(domain, name)?);
        }
        items.push(self.bump_revision()?);
        self.transact(items, name, Some(fence)).await
    }
}
