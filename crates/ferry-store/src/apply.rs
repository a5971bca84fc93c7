//! `ferry apply`'s write: specs, releases and domain claims in as few
//! transactions as fit, and what a failed condition means.

use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};

use crate::claim_plan::{self, ItemKind};
use crate::error::{build, Error, Result};
use crate::item_size::check_size;
use crate::items::{ReleaseItem, SpecItem};
use crate::records::{AppChange, ApplyContext, Release};
use crate::store::Store;
use crate::transactions::{conflict, Canceled, MAX_TRANSACTION_ITEMS};
use crate::values::n;

impl Store {
    /// Writes new specs, their releases and their domain claims: all of
    /// them or, on any conflict, none. Returns the new generation of each
    /// app, in input order: one past the generation the applier read, or
    /// for a new app one past the newest release its name already has
    /// (an app deleted or pruned before comes back with its numbering and
    /// its earlier releases intact).
    ///
    /// Each app claims every domain of its new spec and releases those it
    /// drops. If another app holds one of them, the apply fails with
    /// [`Error::DomainClaimed`]; a generation that is no longer the one the
    /// applier read fails it with [`Error::Conflict`].
    ///
    /// One transaction takes 100 items: each app needs two plus one per
    /// domain claimed or released. A larger apply is split (apps that move
    /// a domain between them always share a transaction), and a failure
    /// then leaves earlier transactions applied, and is reported as
    /// [`Error::PartlyApplied`], naming the apps on each side.
    pub async fn apply(&self, changes: &[AppChange], context: &ApplyContext) -> Result<Vec<u64>> {
        // Every item is built (and its size checked) before anything is
        // written: an oversized app must not leave an earlier transaction
        // of a split apply written.
        for change in changes {
            let generation = change.expected_generation.unwrap_or(0) + 1;
            self.put_spec(change, generation, context)?;
            self.put_release(change, generation, context)?;
        }
        let owners = self
            .domain_owners(claim_plan::owners_to_read(changes))
            .await?;
        // Room for the revision counter.
        let layout = claim_plan::layout(changes, &owners, MAX_TRANSACTION_ITEMS - 1)?;
        let mut generations = Vec::with_capacity(changes.len());
        for change in changes {
            generations.push(match change.expected_generation {
                Some(current) => current + 1,
                // A name used before (deleted or pruned since) continues
                // its release numbering: its releases are kept, and a
                // release is never overwritten.
                None => self.latest_release_version(&change.spec.name).await? + 1,
            });
        }
        for (done, transaction) in layout.transactions.iter().enumerate() {
            let mut items = Vec::new();
            let mut kinds = Vec::new();
            for &index in transaction {
                let (change, ops, generation) =
                    (&changes[index], &layout.ops[index], generations[index]);
                let app = change.spec.name.as_str();
                items.push(self.put_spec(change, generation, context)?);
                kinds.push(ItemKind::Spec);
                items.push(self.put_release(change, generation, context)?);
                kinds.push(ItemKind::Release);
                for (domain, from) in &ops.claims {
                    items.push(self.put_claim(domain, app, from)?);
                    kinds.push(ItemKind::Claim {
                        domain: domain.clone(),
                        app: app.to_owned(),
                        from: from.clone(),
                    });
                }
                for domain in &ops.unclaims {
                    items.push(self.delete_claim(domain, app)?);
                    kinds.push(ItemKind::Unclaim);
                }
            }
            items.push(self.bump_revision()?);
            kinds.push(ItemKind::Revision);
            let names: Vec<&str> = transaction
                .iter()
                .map(|&index| changes[index].spec.name.as_str())
                .collect();
            let names = names.join(", ");
            let error = match self.try_transact(items, &names, None).await {
                Ok(Ok(())) => continue,
                Ok(Err(canceled)) => self.explain_apply_failure(&kinds, canceled, &names).await,
                Err(error) => error,
            };
            if done == 0 {
                return Err(error);
            }
            // Say exactly what is written: the earlier transactions' apps.
            let names_of = |transactions: &[Vec<usize>]| {
                transactions
                    .iter()
                    .flatten()
                    .map(|&index| changes[index].spec.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            return Err(Error::PartlyApplied {
                applied: names_of(&layout.transactions[..done]),
                rest: names_of(&layout.transactions[done..]),
                error: Box::new(error),
            });
        }
        Ok(generations)
    }

    /// Why an apply transaction's condition failed: a domain another app
    /// holds (read after the failure, since the cancellation says which
    /// item failed but not who holds the claim), else a conflict with
    /// another apply or delete.
    async fn explain_apply_failure(
        &self,
        kinds: &[ItemKind],
        canceled: Canceled,
        apps: &str,
    ) -> Error {
        let suspects = claim_plan::suspect_claims(kinds, canceled.failed.as_deref());
        if !suspects.is_empty() {
            let domains = suspects.iter().filter_map(|kind| match kind {
                ItemKind::Claim { domain, .. } => Some(domain.as_str()),
                _ => None,
            });
            match self.domain_owners(domains).await {
                Ok(owners) => {
                    if let Some(conflict) = claim_plan::claim_conflict(suspects, &owners) {
                        return conflict;
                    }
                }
                // The transaction failed either way; say so rather than
                // report the read's error.
                Err(err) => tracing::warn!(
                    apps,
                    error = %err,
                    "cannot read domain claims to explain a failed apply"
                ),
            }
        }
        conflict(apps)
    }

    fn put_spec(
        &self,
        change: &AppChange,
        generation: u64,
        context: &ApplyContext,
    ) -> Result<TransactWriteItem> {
        let name = &change.spec.name;
        let item = self.encode(&SpecItem::new(change, generation, &context.now), name)?;
        check_size(&item, "spec", name)?;
        let mut put = Put::builder().table_name(&self.table).set_item(Some(item));
        put = match change.expected_generation {
            None => put.condition_expression("attribute_not_exists(pk)"),
            Some(expected) => put
                .condition_expression("generation = :expected AND deleting = :false")
                .expression_attribute_values(":expected", n(expected))
                .expression_attribute_values(":false", AttributeValue::Bool(false)),
        };
        Ok(TransactWriteItem::builder()
            .put(build(put.build(), "spec Put")?)
            .build())
    }

    fn put_release(
        &self,
        change: &AppChange,
        version: u64,
        context: &ApplyContext,
    ) -> Result<TransactWriteItem> {
        let release = Release {
            app: change.spec.name.clone(),
            version,
            spec: change.spec.clone(),
            message: context.message.clone(),
            user: context.user.clone(),
            git: context.git.clone(),
            created_at: context.now.clone(),
            manifest: Some(change.manifest.clone()).filter(|m| !m.is_empty()),
            outcome: None,
            outcome_reason: None,
        };
        let item = self.encode(&ReleaseItem::new(&release), &release.app)?;
        check_size(&item, "release", &release.app)?;
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            // Releases are immutable: never overwrite one.
            .condition_expression("attribute_not_exists(pk)");
        Ok(TransactWriteItem::builder()
            .put(build(put.build(), "release Put")?)
            .build())
    }
}
