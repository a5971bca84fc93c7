//! The leader lease: one item that says which controller replica may write,
//! and a fencing token that grows with every change of holder.
//!
//! Every write to the lease is conditional on the version the writer last
//! read, so two replicas can never both believe they took it. The store's
//! other controller writes (status, the deletion finalizer) are conditioned
//! on the holder and token in the same transaction, so a deposed leader's
//! late write fails instead of overwriting its successor's.
//!
//! Expiry is not decided from the wall-clock times stored here: like
//! client-go's leader election, a candidate measures on its own monotonic
//! clock how long the record has stayed unchanged. The stored times are for
//! people (`ferry` and the console), and clock skew between replicas cannot
//! make two of them lead at once.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use ferry_call::pacing::Bucket;

use crate::{key, n, s, Result, Store, SERVICE};

const PK_LEASE: &str = "lease";
const SK_CONTROLLER: &str = "controller";

/// The lease as last written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseRecord {
    /// The replica holding the lease; `None` after a graceful hand-back.
    pub holder: Option<String>,
    /// Incremented by every acquisition, never by a renewal.
    pub token: u64,
    /// Incremented by every write: what candidates watch for liveness.
    pub version: u64,
    /// RFC 3339 time of the last write, informational.
    pub renewed_at: String,
    /// The lease duration the holder announced, in seconds, informational.
    pub duration_seconds: u64,
}

/// A leader's proof of leadership: store writes made with it fail once
/// another replica has taken the lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fence {
    pub holder: String,
    pub token: u64,
}

/// The outcome of a renewal or hand-back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaseWrite {
    Done,
    /// Someone else wrote the lease first; nothing was written.
    Lost,
}

impl Store {
    /// The lease, or `None` if no controller ever took it.
    pub async fn read_lease(&self) -> Result<Option<LeaseRecord>> {
        let out = self.get_item(PK_LEASE, SK_CONTROLLER, "lease").await?;
        out.item()
            .map(|item| self.lease_from_item(item))
            .transpose()
    }

    /// Takes the lease for `holder` if it is still exactly as `seen` (absent
    /// when `seen` is `None`). The new token is one more than the seen one.
    /// Returns the new record, or `None` if another replica wrote first.
    pub async fn acquire_lease(
        &self,
        holder: &str,
        seen: Option<&LeaseRecord>,
        duration_seconds: u64,
        now: &str,
    ) -> Result<Option<LeaseRecord>> {
        let record = LeaseRecord {
            holder: Some(holder.to_owned()),
            token: seen.map_or(1, |r| r.token + 1),
            version: seen.map_or(1, |r| r.version + 1),
            renewed_at: now.to_owned(),
            duration_seconds,
        };
        let mut item = key(PK_LEASE, SK_CONTROLLER);
        item.insert("holder".into(), s(holder));
        item.insert("token".into(), n(record.token));
        item.insert("version".into(), n(record.version));
        item.insert("renewedAt".into(), s(now));
        item.insert("durationSeconds".into(), n(duration_seconds));
        let request = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item));
        let request = match seen {
            None => request.condition_expression("attribute_not_exists(pk)"),
            Some(seen) => request
                .condition_expression("version = :seen")
                .expression_attribute_values(":seen", n(seen.version)),
        };
        let result = self
            .caller
            .call_raw(SERVICE, "PutItem", Bucket::Unpaced, "lease", || {
                request.clone().send()
            })
            .await?;
        match result {
            Ok(_) => Ok(Some(record)),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(None)
            }
            Err(err) => Err(self.call_error("PutItem", "lease", &err)),
        }
    }

    /// Extends the lease: succeeds only while `fence` still holds it.
    pub async fn renew_lease(
        &self,
        fence: &Fence,
        duration_seconds: u64,
        now: &str,
    ) -> Result<LeaseWrite> {
        self.update_lease(
            fence,
            "SET version = version + :one, renewedAt = :now, durationSeconds = :d",
            Some((now, duration_seconds)),
        )
        .await
    }

    /// Hands the lease back, so a successor need not wait for it to expire.
    pub async fn release_lease(&self, fence: &Fence) -> Result<LeaseWrite> {
        self.update_lease(fence, "SET version = version + :one REMOVE holder", None)
            .await
    }

    async fn update_lease(
        &self,
        fence: &Fence,
        expression: &str,
        renewal: Option<(&str, u64)>,
    ) -> Result<LeaseWrite> {
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(PK_LEASE, SK_CONTROLLER)))
            .update_expression(expression)
            .condition_expression("holder = :me AND #token = :token")
            .expression_attribute_names("#token", "token")
            .expression_attribute_values(":me", s(fence.holder.as_str()))
            .expression_attribute_values(":token", n(fence.token))
            .expression_attribute_values(":one", n(1));
        if let Some((now, duration)) = renewal {
            request = request
                .expression_attribute_values(":now", s(now))
                .expression_attribute_values(":d", n(duration));
        }
        let result = self
            .caller
            .call_raw(SERVICE, "UpdateItem", Bucket::Unpaced, "lease", || {
                request.clone().send()
            })
            .await?;
        match result {
            Ok(_) => Ok(LeaseWrite::Done),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(LeaseWrite::Lost)
            }
            Err(err) => Err(self.call_error("UpdateItem", "lease", &err)),
        }
    }

    fn lease_from_item(&self, item: &HashMap<String, AttributeValue>) -> Result<LeaseRecord> {
        Ok(LeaseRecord {
            holder: item.get("holder").and_then(|v| v.as_s().ok()).cloned(),
            token: self.number(item, "token", "lease")?,
            version: self.number(item, "version", "lease")?,
            renewed_at: item
                .get("renewedAt")
                .and_then(|v| v.as_s().ok())
                .cloned()
                .unwrap_or_default(),
            duration_seconds: item
                .get("durationSeconds")
                .and_then(|v| v.as_n().ok())
                .and_then(|v| v.parse().ok())
                .unwrap_or(0),
        })
    }

    /// A `ConditionCheck` that the lease is still held under `fence`: the
    /// first item of every fenced transaction.
    pub(crate) fn fence_check(
        &self,
        fence: &Fence,
    ) -> Result<aws_sdk_dynamodb::types::TransactWriteItem> {
        let check = aws_sdk_dynamodb::types::ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(key(PK_LEASE, SK_CONTROLLER)))
            .condition_expression("holder = :me AND #token = :token")
            .expression_attribute_names("#token", "token")
            .expression_attribute_values(":me", s(fence.holder.as_str()))
            .expression_attribute_values(":token", n(fence.token));
        Ok(aws_sdk_dynamodb::types::TransactWriteItem::builder()
            .condition_check(crate::build(check.build(), "lease ConditionCheck")?)
            .build())
    }
}
