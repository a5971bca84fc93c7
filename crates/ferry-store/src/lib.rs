//! Ferry's desired state in DynamoDB: app specs, releases, status and the
//! revision counter, in one table.
//!
//! Layout (partition key `pk`, sort key `sk`, both strings):
//!
//! | item            | pk              | sk                    | holds |
//! |-----------------|-----------------|-----------------------|-------|
//! | app spec        | `app`           | app name              | spec, generation, deleting, manifest, `createdAt`, `updatedAt` |
//! | release         | `release#<app>` | `v` + 10-digit version | `release`: immutable JSON snapshot (spec, manifest text, message, user, git); `outcome`, `outcomeReason`: set by the controller once the rollout is decided |
//! | status          | `status`        | app name              | written by the controller |
//! | domain claim    | `domain`        | domain name           | `app`: the one app that may route it |
//! | revision counter| `meta`          | `revision`            | bumped by every desired-state write |
//! | controller settings | `meta`      | `settings`            | `settings`: the leader's [`ferry_core::Settings`] as JSON, for `ferry diff` |
//! | leader lease    | `lease`         | `controller`          | holder, fencing token |
//!
//! A release's snapshot is never rewritten: its outcome lives in separate
//! attributes of the same item, written only by the leader (fenced), and
//! read back into [`Release::outcome`] and [`Release::outcome_reason`].
//!
//! Guarantees: every write is conditional. An apply replaces an app's spec
//! only if its generation is still the one the applier read, and writes the
//! release in the same transaction, so two racing applies never lose an
//! update and a release is never overwritten. Releases are never deleted.
//! A domain belongs to at most one app: the apply that stores a spec claims
//! its domains in the same transaction, and fails, writing nothing, if
//! another app holds one (see [`Store::apply`]); the finalizer releases
//! them with the spec (see [`Store::remove_app`]).
//! The controller's writes carry its lease's fencing token (see [`Fence`]).

mod domains;
mod item_size;
mod lease;
mod table;

pub use domains::MAX_DOMAINS_PER_APP;
pub use item_size::MAX_ITEM_BYTES;
pub use lease::{Fence, Leadership, LeaseRecord, LeaseWrite};
pub use table::{KeyAttribute, TableFacts, TableInit};

use domains::ItemKind;

use std::collections::{BTreeSet, HashMap};

use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use aws_sdk_dynamodb::Client;
use ferry_call::pacing::Bucket;
use ferry_call::Caller;
use ferry_core::AppStatus;
use ferry_manifest::App;
use serde::{Deserialize, Serialize};

pub(crate) const SERVICE: &str = "dynamodb";
/// DynamoDB's limit on items per transaction.
const MAX_TRANSACTION_ITEMS: usize = 100;

const PK_APP: &str = "app";
const PK_STATUS: &str = "status";
const PK_META: &str = "meta";
const SK_REVISION: &str = "revision";
const SK_SETTINGS: &str = "settings";

/// Errors of the store, naming the table, app or item involved.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("DynamoDB table {table} does not exist: create it with `ferry init`")]
    TableMissing { table: String },
    /// The table exists but is not keyed as Ferry's tables are: it is
    /// someone else's, or from another tool. Ferry neither uses nor changes it.
    #[error(
        "DynamoDB table {table} is not a Ferry table: its key is {found}, Ferry's is {expected}; \
         name another table with --table or FERRY_TABLE"
    )]
    WrongSchema {
        table: String,
        found: String,
        expected: String,
    },
    /// A conditional write lost: someone else changed the app first.
    #[error("conflict on {apps}: {message}")]
    Conflict { apps: String, message: String },
    #[error("app {app} not found")]
    NotFound { app: String },
    #[error("app {app} has no release v{version}")]
    ReleaseNotFound { app: String, version: u64 },
    #[error(
        "app {app} is being deleted; wait for the deletion to finish before applying it again"
    )]
    Deleting { app: String },
    /// An apply claims a domain that another app holds; nothing was written.
    #[error(
        "domain {domain} is already claimed by app {owner}; remove it from that app first, then \
         apply {app} again"
    )]
    DomainClaimed {
        domain: String,
        /// The app that holds the claim.
        owner: String,
        /// The app whose apply was refused.
        app: String,
    },
    /// Writes that must be atomic do not fit in one DynamoDB transaction;
    /// nothing was written.
    #[error("cannot apply {apps}: {message}")]
    TooLarge { apps: String, message: String },
    #[error("item {item} in table {table} is not valid: {message}")]
    Corrupt {
        table: String,
        item: String,
        message: String,
    },
    /// A fenced write found the lease held by someone else: this replica
    /// is no longer the leader, and nothing was written.
    #[error("not the leader any more: the lease is no longer held with fencing token {token}")]
    Fenced { token: u64 },
    /// A split apply failed part-way: the transactions before the failing
    /// one stay written.
    #[error(
        "the apply was split into transactions and only part went through: applied {applied}; \
         not applied {rest}: {error}"
    )]
    PartlyApplied {
        applied: String,
        rest: String,
        error: Box<Error>,
    },
    #[error(transparent)]
    Aws(#[from] ferry_call::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The stored desired state of one app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppRecord {
    pub name: String,
    /// Incremented by every apply, delete and rollback.
    pub generation: u64,
    pub spec: App,
    /// Marked by `ferry delete`; the controller removes the record once
    /// every resource of the app is gone.
    pub deleting: bool,
    /// Where the app was applied from (the manifest's repository or
    /// directory), for `apply --prune`.
    pub source: Option<String>,
    /// The manifest text as applied, for `ferry diff`.
    pub manifest: Option<String>,
    /// When the app was created (RFC 3339): kept by every apply and
    /// rollback of it, started again when a deleted app's name is applied
    /// anew. `None` for an app stored before Ferry recorded it.
    pub created_at: Option<String>,
    /// RFC 3339.
    pub updated_at: String,
    /// The restart this generation, or an earlier one the controller may
    /// not have acted on yet, asked for (`ferry restart`). An apply's
    /// write of the item replaces it.
    pub restart: Option<ferry_core::restart::Restart>,
}

impl AppRecord {
    /// When the app was created, or for an app stored before that was
    /// recorded, when it last changed: the best time at hand without
    /// another read.
    pub fn created_or_updated_at(&self) -> &str {
        self.created_at.as_deref().unwrap_or(&self.updated_at)
    }

    /// When the app was last applied (or deleted, or rolled back), in whole
    /// seconds since the epoch; 0 if unknown. The controller serves the
    /// most recent apply first, and the apps of one bulk apply (the same
    /// second) in turns.
    pub fn applied_at_seconds(&self) -> i64 {
        time::OffsetDateTime::parse(
            &self.updated_at,
            &time::format_description::well_known::Rfc3339,
        )
        .map_or(0, |t| t.unix_timestamp())
    }
}

/// The git state of the manifest repository at apply time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GitInfo {
    pub commit: String,
    /// True when the manifest had uncommitted changes.
    pub dirty: bool,
}

pub use ferry_core::ReleaseOutcome;

/// An immutable record of one version of an app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Release {
    pub app: String,
    /// Equal to the generation the release created.
    pub version: u64,
    pub spec: App,
    pub message: String,
    pub user: String,
    #[serde(default)]
    pub git: Option<GitInfo>,
    /// RFC 3339.
    pub created_at: String,
    /// The manifest text the release was applied from, so `ferry diff`
    /// still works after a rollback to it. `None` for releases written
    /// before it was recorded.
    #[serde(default)]
    pub manifest: Option<String>,
    /// How the rollout ended; `None` while it is rolling out or unknown.
    /// Not part of the immutable snapshot: read from the item's `outcome`
    /// attribute (see [`Store::set_release_outcome`]).
    #[serde(default)]
    pub outcome: Option<ReleaseOutcome>,
    /// Why, for a failed release.
    #[serde(default)]
    pub outcome_reason: Option<String>,
}

/// One app's part of an apply.
#[derive(Debug, Clone)]
pub struct AppChange {
    pub spec: App,
    pub manifest: String,
    pub source: Option<String>,
    /// The generation the applier read: `None` when the app did not exist.
    /// The write fails with [`Error::Conflict`] if it is no longer current.
    pub expected_generation: Option<u64>,
    /// The domain names of the spec at `expected_generation` (empty for a
    /// new app). Claims of those the new spec drops are released; since
    /// the write is conditional on that generation, they are exactly the
    /// domains the app held.
    pub previous_domains: Vec<String>,
    /// When the app was created, carried from the record at
    /// `expected_generation` (a Put replaces the whole item). Ignored for a
    /// new app, which is created at the apply's `now`. `None` for an
    /// existing app leaves its creation time unrecorded.
    pub created_at: Option<String>,
    /// `Some` makes this generation a restart (`ferry restart`) of these
    /// processes (empty: all), with the spec unchanged.
    pub restart: Option<Vec<String>>,
}

impl AppChange {
    /// The `createdAt` the spec item gets: the apply's `now` for a new
    /// app, else the one carried from the current record.
    pub fn created_at_to_write<'a>(&'a self, now: &'a str) -> Option<&'a str> {
        match self.expected_generation {
            None => Some(now),
            Some(_) => self.created_at.as_deref(),
        }
    }
}

/// Who applied, why, and from which commit: shared by every app of an apply.
#[derive(Debug, Clone)]
pub struct ApplyContext {
    pub message: String,
    pub user: String,
    pub git: Option<GitInfo>,
    /// RFC 3339.
    pub now: String,
}

/// The DynamoDB table of one Ferry installation.
#[derive(Clone)]
pub struct Store {
    client: Client,
    caller: Caller,
    table: String,
}

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn n(value: u64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn key(pk: impl Into<String>, sk: impl Into<String>) -> HashMap<String, AttributeValue> {
    HashMap::from([("pk".to_owned(), s(pk)), ("sk".to_owned(), s(sk))])
}

/// Refuses an item over DynamoDB's size limit, naming which and by how
/// much. The spec and the release item each hold the manifest text and the
/// resolved spec, so an app's stored size is about twice its manifest.
fn check_size(item: &HashMap<String, AttributeValue>, what: &str, app: &str) -> Result<()> {
    let size = item_size::item_size(item);
    if size > MAX_ITEM_BYTES {
        return Err(Error::TooLarge {
            apps: app.to_owned(),
            message: format!(
                "its {what} item would be {} KiB, over DynamoDB's item limit of {} KiB (the \
                 manifest text and the resolved spec are both stored); make the env or the \
                 manifest smaller; nothing was written",
                size.div_ceil(1024),
                MAX_ITEM_BYTES / 1024
            ),
        });
    }
    Ok(())
}

/// A TransactWriteItems client request token: DynamoDB treats calls with
/// the same token within 10 minutes as one. 32 random hex digits (the
/// limit is 36 characters).
fn client_request_token() -> String {
    format!("{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..))
}

/// "42s", "5m", "3h", "2d": a duration the way `ferry` shows ages.
pub fn human_seconds(seconds: i64) -> String {
    match seconds.max(0) {
        s if s < 120 => format!("{s}s"),
        s if s < 2 * 3600 => format!("{}m", s / 60),
        s if s < 2 * 86400 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86400),
    }
}

fn release_pk(app: &str) -> String {
    format!("release#{app}")
}

fn release_sk(version: u64) -> String {
    // Zero-padded so the sort key orders numerically.
    format!("v{version:010}")
}

impl Store {
    pub fn new(client: Client, caller: Caller, table: impl Into<String>) -> Self {
        Self {
            client,
            caller,
            table: table.into(),
        }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    fn corrupt(&self, item: &str, message: impl Into<String>) -> Error {
        Error::Corrupt {
            table: self.table.clone(),
            item: item.to_owned(),
            message: message.into(),
        }
    }

    /// The revision counter: bumped by every write to desired state, so one
    /// strongly consistent read tells whether anything changed.
    pub async fn revision(&self) -> Result<u64> {
        let out = self.get_item(PK_META, SK_REVISION, "meta/revision").await?;
        match out.item() {
            None => Ok(0),
            Some(item) => self.number(item, "revision", "meta/revision"),
        }
    }

    fn missing_table(&self, err: ferry_call::Error) -> Error {
        if err.code() == Some("ResourceNotFoundException") {
            Error::TableMissing {
                table: self.table.clone(),
            }
        } else {
            err.into()
        }
    }

    /// Every app, in name order.
    pub async fn list_apps(&self) -> Result<Vec<AppRecord>> {
        let items = self.query(PK_APP, false).await?;
        items.iter().map(|item| self.app_from_item(item)).collect()
    }

    /// One app, or `None`.
    pub async fn get_app(&self, name: &str) -> Result<Option<AppRecord>> {
        let out = self.get_item(PK_APP, name, name).await?;
        out.item().map(|item| self.app_from_item(item)).transpose()
    }

    /// One app, or [`Error::NotFound`] naming it.
    pub async fn require_app(&self, name: &str) -> Result<AppRecord> {
        self.get_app(name).await?.ok_or_else(|| Error::NotFound {
            app: name.to_owned(),
        })
    }

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
        let owners = self.domain_owners(domains::owners_to_read(changes)).await?;
        // Room for the revision counter.
        let layout = domains::layout(changes, &owners, MAX_TRANSACTION_ITEMS - 1)?;
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
        let suspects = domains::suspect_claims(kinds, canceled.failed.as_deref());
        if !suspects.is_empty() {
            let domains = suspects.iter().filter_map(|kind| match kind {
                ItemKind::Claim { domain, .. } => Some(domain.as_str()),
                _ => None,
            });
            match self.domain_owners(domains).await {
                Ok(owners) => {
                    if let Some(conflict) = domains::claim_conflict(suspects, &owners) {
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
        let spec = self.to_json(&change.spec, name)?;
        let mut item = key(PK_APP, name.as_str());
        item.insert("generation".into(), n(generation));
        item.insert("spec".into(), s(spec));
        item.insert("deleting".into(), AttributeValue::Bool(false));
        item.insert("manifest".into(), s(change.manifest.clone()));
        item.insert("updatedAt".into(), s(context.now.clone()));
        if let Some(created_at) = change.created_at_to_write(&context.now) {
            item.insert("createdAt".into(), s(created_at));
        }
        if let Some(source) = &change.source {
            item.insert("source".into(), s(source.clone()));
        }
        if let Some(processes) = &change.restart {
            let restart = ferry_core::restart::Restart {
                generation,
                processes: processes.clone(),
            };
            item.insert("restart".into(), s(self.to_json(&restart, name)?));
        }
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
        let mut item = key(release_pk(&release.app), release_sk(version));
        item.insert("release".into(), s(self.to_json(&release, &release.app)?));
        item.insert("version".into(), n(version));
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

    fn bump_revision(&self) -> Result<TransactWriteItem> {
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(PK_META, SK_REVISION)))
            .update_expression("ADD revision :one")
            .expression_attribute_values(":one", n(1));
        Ok(TransactWriteItem::builder()
            .update(build(update.build(), "revision Update")?)
            .build())
    }

    /// Runs a transaction. With `fence`, the lease check goes first, and a
    /// failure of that check is reported as [`Error::Fenced`]; any other
    /// failed condition as [`Error::Conflict`].
    async fn transact(
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
    async fn try_transact(
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
            Some(item) => self.number(&item, "version", app),
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
        let pk = release_pk(app);
        let out = self
            .caller
            .call(SERVICE, "Query", Bucket::Unpaced, app, || {
                self.client
                    .query()
                    .table_name(&self.table)
                    .key_condition_expression("pk = :pk")
                    .expression_attribute_values(":pk", s(pk.clone()))
                    .scan_index_forward(!newest)
                    .limit(1)
                    .consistent_read(true)
                    .send()
            })
            .await
            .map_err(|e| self.missing_table(e))?;
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

    fn release_from_item(
        &self,
        item: &HashMap<String, AttributeValue>,
        app: &str,
    ) -> Result<Release> {
        let json = self.string(item, "release", app)?;
        let mut release: Release =
            serde_json::from_str(json).map_err(|e| self.corrupt(app, e.to_string()))?;
        // The attributes, not the snapshot, say how the rollout ended.
        release.outcome = match item.get("outcome").and_then(|v| v.as_s().ok()) {
            None => None,
            Some(text) => Some(ReleaseOutcome::parse(text).ok_or_else(|| {
                self.corrupt(
                    &format!("{}/{}", release_pk(app), release_sk(release.version)),
                    format!("unknown release outcome {text:?}"),
                )
            })?),
        };
        release.outcome_reason = item
            .get("outcomeReason")
            .and_then(|v| v.as_s().ok())
            .cloned();
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

    /// Publishes the settings the leader renders with, if `fence` still
    /// holds the lease, so that `ferry diff` plans exactly as it would.
    pub async fn put_controller_settings(
        &self,
        settings: &ferry_core::Settings,
        fence: &Fence,
    ) -> Result<()> {
        let mut item = key(PK_META, SK_SETTINGS);
        item.insert(
            "settings".into(),
            s(self.to_json(settings, "meta/settings")?),
        );
        let put = Put::builder().table_name(&self.table).set_item(Some(item));
        let items = vec![TransactWriteItem::builder()
            .put(build(put.build(), "settings Put")?)
            .build()];
        self.transact(items, "meta/settings", Some(fence)).await
    }

    /// The settings the last leader published, or `None` if no controller
    /// has led since they were introduced.
    pub async fn controller_settings(&self) -> Result<Option<ferry_core::Settings>> {
        let out = self.get_item(PK_META, SK_SETTINGS, "meta/settings").await?;
        out.item()
            .map(|item| {
                let json = self.string(item, "settings", "meta/settings")?;
                serde_json::from_str(json).map_err(|e| self.corrupt("meta/settings", e.to_string()))
            })
            .transpose()
    }

    /// Writes an app's status, if `fence` still holds the lease.
    pub async fn put_status(&self, status: &AppStatus, fence: &Fence) -> Result<()> {
        let mut item = key(PK_STATUS, status.name.as_str());
        item.insert("status".into(), s(self.to_json(status, &status.name)?));
        let put = Put::builder().table_name(&self.table).set_item(Some(item));
        let items = vec![TransactWriteItem::builder()
            .put(build(put.build(), "status Put")?)
            .build()];
        self.transact(items, &status.name, Some(fence)).await
    }

    /// An app's status, or `None` before the controller first wrote it.
    pub async fn get_status(&self, app: &str) -> Result<Option<AppStatus>> {
        let out = self.get_item(PK_STATUS, app, app).await?;
        out.item()
            .map(|item| self.status_from_item(item, app))
            .transpose()
    }

    /// Every status, by app name.
    pub async fn list_statuses(&self) -> Result<HashMap<String, AppStatus>> {
        let items = self.query(PK_STATUS, false).await?;
        items
            .iter()
            .map(|item| {
                let app = self.string(item, "sk", PK_STATUS)?.to_owned();
                let status = self.status_from_item(item, &app)?;
                Ok((app, status))
            })
            .collect()
    }

    fn status_from_item(
        &self,
        item: &HashMap<String, AttributeValue>,
        app: &str,
    ) -> Result<AppStatus> {
        let json = self.string(item, "status", app)?;
        serde_json::from_str(json).map_err(|e| self.corrupt(app, e.to_string()))
    }

    /// All items of a partition, following pagination.
    async fn query(
        &self,
        pk: &str,
        newest_first: bool,
    ) -> Result<Vec<HashMap<String, AttributeValue>>> {
        let mut items = Vec::new();
        let mut start: Option<HashMap<String, AttributeValue>> = None;
        loop {
            let out = self
                .caller
                .call(SERVICE, "Query", Bucket::Unpaced, pk, || {
                    self.client
                        .query()
                        .table_name(&self.table)
                        .key_condition_expression("pk = :pk")
                        .expression_attribute_values(":pk", s(pk))
                        .scan_index_forward(!newest_first)
                        .consistent_read(true)
                        .set_exclusive_start_key(start.clone())
                        .send()
                })
                .await
                .map_err(|e| self.missing_table(e))?;
            items.extend(out.items().iter().cloned());
            match out.last_evaluated_key() {
                Some(last) if !last.is_empty() => start = Some(last.clone()),
                _ => break,
            }
        }
        Ok(items)
    }

    fn app_from_item(&self, item: &HashMap<String, AttributeValue>) -> Result<AppRecord> {
        let name = self.string(item, "sk", "app")?.to_owned();
        let spec_json = self.string(item, "spec", &name)?;
        let spec =
            serde_json::from_str(spec_json).map_err(|e| self.corrupt(&name, e.to_string()))?;
        let optional = |field: &str| item.get(field).and_then(|v| v.as_s().ok()).cloned();
        Ok(AppRecord {
            generation: self.number(item, "generation", &name)?,
            deleting: item
                .get("deleting")
                .and_then(|v| v.as_bool().ok())
                .copied()
                .unwrap_or(false),
            source: optional("source"),
            manifest: optional("manifest"),
            created_at: optional("createdAt"),
            updated_at: optional("updatedAt").unwrap_or_default(),
            restart: optional("restart")
                .map(|json| serde_json::from_str(&json))
                .transpose()
                .map_err(|e| self.corrupt(&name, format!("restart: {e}")))?,
            spec,
            name,
        })
    }

    fn string<'a>(
        &self,
        item: &'a HashMap<String, AttributeValue>,
        field: &str,
        what: &str,
    ) -> Result<&'a str> {
        item.get(field)
            .and_then(|v| v.as_s().ok())
            .map(String::as_str)
            .ok_or_else(|| self.corrupt(what, format!("missing string attribute {field}")))
    }

    fn number(
        &self,
        item: &HashMap<String, AttributeValue>,
        field: &str,
        what: &str,
    ) -> Result<u64> {
        item.get(field)
            .and_then(|v| v.as_n().ok())
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| self.corrupt(what, format!("missing numeric attribute {field}")))
    }

    /// One item by key, strongly consistent. `what` names it in errors.
    async fn get_item(
        &self,
        pk: &str,
        sk: &str,
        what: &str,
    ) -> Result<aws_sdk_dynamodb::operation::get_item::GetItemOutput> {
        self.caller
            .call(SERVICE, "GetItem", Bucket::Unpaced, what, || {
                self.client
                    .get_item()
                    .table_name(&self.table)
                    .set_key(Some(key(pk, sk)))
                    .consistent_read(true)
                    .send()
            })
            .await
            .map_err(|e| self.missing_table(e))
    }

    /// An AWS error as Ferry reports it, naming the call and resource.
    fn call_error<E, R>(
        &self,
        operation: &'static str,
        resource: &str,
        err: &aws_sdk_dynamodb::error::SdkError<E, R>,
    ) -> Error
    where
        E: aws_smithy_types::error::metadata::ProvideErrorMetadata
            + std::error::Error
            + Send
            + Sync
            + 'static,
        R: std::fmt::Debug,
    {
        use aws_smithy_types::error::metadata::ProvideErrorMetadata;
        if err.code() == Some("ResourceNotFoundException") {
            return Error::TableMissing {
                table: self.table.clone(),
            };
        }
        ferry_call::Error::from_sdk(SERVICE, operation, resource, err).into()
    }

    fn to_json<T: Serialize>(&self, value: &T, what: &str) -> Result<String> {
        serde_json::to_string(value).map_err(|e| self.corrupt(what, e.to_string()))
    }
}

/// The error for a transaction whose condition failed because an app
/// changed after it was read.
fn conflict(apps: &str) -> Error {
    Error::Conflict {
        apps: apps.to_owned(),
        message: "another apply or delete changed the app since it was read; nothing was \
                  written, run the command again"
            .into(),
    }
}

/// A transaction DynamoDB canceled because of a failed condition.
#[derive(Debug)]
struct Canceled {
    /// Indices of the items whose condition failed (not counting a lease
    /// check), or `None` if DynamoDB did not say which.
    failed: Option<Vec<usize>>,
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

fn build<T>(
    result: Result<T, aws_sdk_dynamodb::error::BuildError>,
    what: &'static str,
) -> Result<T> {
    result.map_err(|e| {
        ferry_call::Error::Build {
            what,
            message: e.to_string(),
        }
        .into()
    })
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

    #[test]
    fn outcomes_are_stored_as_they_serialize() {
        for outcome in [
            ReleaseOutcome::Succeeded,
            ReleaseOutcome::Failed,
            ReleaseOutcome::Superseded,
        ] {
            let json = serde_json::to_string(&outcome).expect("serialize");
            assert_eq!(json, format!("\"{}\"", outcome.as_str()));
            assert_eq!(ReleaseOutcome::parse(outcome.as_str()), Some(outcome));
        }
        assert_eq!(ReleaseOutcome::parse("Succeeded"), None);
    }

    #[test]
    fn releases_written_before_outcomes_and_manifests_still_read() {
        let old = r#"{"app":"web","version":1,"spec":{"name":"web","image":"acme:1","processes":{}},
            "message":"","user":"me","createdAt":"2026-11-23T00:00:00Z"}"#;
        let release: Release = serde_json::from_str(old).expect("old release");
        assert_eq!(release.manifest, None);
        assert_eq!(release.outcome, None);
        assert_eq!(release.outcome_reason, None);
    }

    fn change(expected_generation: Option<u64>, created_at: Option<&str>) -> AppChange {
        AppChange {
            spec: App {
                name: "web".into(),
                image: "acme:1".into(),
                env: Default::default(),
                secrets: Default::default(),
                domains: Vec::new(),
                processes: Default::default(),
            },
            manifest: String::new(),
            source: None,
            expected_generation,
            previous_domains: Vec::new(),
            created_at: created_at.map(str::to_owned),
            restart: None,
        }
    }

    #[test]
    fn an_update_keeps_the_creation_time_and_a_new_app_starts_now() {
        let now = "2026-11-23T12:00:00Z";
        let then = "2026-01-01T00:00:00Z";
        assert_eq!(
            change(Some(3), Some(then)).created_at_to_write(now),
            Some(then)
        );
        assert_eq!(change(None, None).created_at_to_write(now), Some(now));
        // A name applied again after its deletion is a new app.
        assert_eq!(change(None, Some(then)).created_at_to_write(now), Some(now));
        // An app stored before creation times were recorded stays unknown
        // rather than becoming new.
        assert_eq!(change(Some(3), None).created_at_to_write(now), None);
    }

    #[test]
    fn release_keys_sort_numerically() {
        assert!(release_sk(9) < release_sk(10));
        assert!(release_sk(99) < release_sk(100));
    }
}
