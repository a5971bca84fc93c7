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

use ferry_call::pacing::Bucket;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::error::{build, Result};
use crate::items::LeaseItem;
use crate::layout::{key, PK_LEASE, SK_CONTROLLER};
use crate::store::{Store, SERVICE};
use crate::values::{n, s};

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
    /// RFC 3339 time this holder's term began (the acquisition), kept by
    /// renewals and the hand-back; empty in leases written before Ferry
    /// recorded it. Informational, like `renewed_at`.
    pub acquired_at: String,
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

/// Whether a controller leads, as a client reads the lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Leadership {
    /// The holder renewed recently enough (or the lease's times do not
    /// parse, and a client cannot tell).
    Leading { holder: String },
    /// No controller leads: nothing acts on applies until one does.
    Lapsed {
        last_holder: Option<String>,
        /// Whether the holder handed the lease back (a clean shutdown)
        /// rather than letting it expire.
        handed_back: bool,
        /// How long, in seconds, as the client's clock measures it.
        for_seconds: i64,
    },
    /// No controller ever took the lease.
    Never,
}

impl Leadership {
    pub fn is_leading(&self) -> bool {
        matches!(self, Leadership::Leading { .. })
    }
}

impl LeaseRecord {
    /// Whether a controller leads at `now` by the reader's clock.
    ///
    /// Candidates judge expiry on their own monotonic clocks, never from
    /// these times (see the module docs); a client has only these. So a
    /// lease counts as lapsed only once it has gone unrenewed for twice its
    /// duration: one duration for it to expire, one more for a standby
    /// replica to take it over and for the clocks to disagree.
    pub fn leadership(&self, now: OffsetDateTime) -> Leadership {
        let renewed = OffsetDateTime::parse(&self.renewed_at, &Rfc3339).ok();
        let since_renewal = renewed.map(|renewed| (now - renewed).whole_seconds());
        match (&self.holder, since_renewal) {
            (None, since) => Leadership::Lapsed {
                last_holder: None,
                handed_back: true,
                for_seconds: since.unwrap_or(0).max(0),
            },
            (Some(holder), Some(since))
                if since > 2 * i64::try_from(self.duration_seconds).unwrap_or(i64::MAX / 4) =>
            {
                Leadership::Lapsed {
                    last_holder: Some(holder.clone()),
                    handed_back: false,
                    for_seconds: since - i64::try_from(self.duration_seconds).unwrap_or(0),
                }
            }
            (Some(holder), _) => Leadership::Leading {
                holder: holder.clone(),
            },
        }
    }
}

impl From<&LeaseRecord> for LeaseItem {
    fn from(record: &LeaseRecord) -> Self {
        Self {
            pk: PK_LEASE.to_owned(),
            sk: SK_CONTROLLER.to_owned(),
            holder: record.holder.clone(),
            token: record.token,
            version: record.version,
            renewed_at: record.renewed_at.clone(),
            acquired_at: record.acquired_at.clone(),
            duration_seconds: record.duration_seconds,
        }
    }
}

impl From<LeaseItem> for LeaseRecord {
    fn from(item: LeaseItem) -> Self {
        LeaseRecord {
            holder: item.holder,
            token: item.token,
            version: item.version,
            renewed_at: item.renewed_at,
            acquired_at: item.acquired_at,
            duration_seconds: item.duration_seconds,
        }
    }
}

impl Store {
    /// Whether a controller leads at `now`, as [`LeaseRecord::leadership`]
    /// judges it: one strongly consistent read.
    pub async fn leadership(&self, now: OffsetDateTime) -> Result<Leadership> {
        Ok(match self.read_lease().await? {
            None => Leadership::Never,
            Some(lease) => lease.leadership(now),
        })
    }

    /// The lease, or `None` if no controller ever took it.
    pub async fn read_lease(&self) -> Result<Option<LeaseRecord>> {
        let out = self.get_item(PK_LEASE, SK_CONTROLLER, "lease").await?;
        out.item()
            .map(|item| Ok(self.decode::<LeaseItem>(item, "lease")?.into()))
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
            acquired_at: now.to_owned(),
            duration_seconds,
        };
        let item = self.encode(&LeaseItem::from(&record), "lease")?;
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
            .condition_check(build(check.build(), "lease ConditionCheck")?)
            .build())
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    fn lease(holder: Option<&str>) -> LeaseRecord {
        LeaseRecord {
            holder: holder.map(str::to_owned),
            token: 3,
            version: 9,
            renewed_at: "2026-12-01T12:00:00Z".into(),
            acquired_at: "2026-12-01T11:00:00Z".into(),
            duration_seconds: 15,
        }
    }

    #[test]
    fn a_lease_lapses_after_twice_its_duration_unrenewed() {
        let held = lease(Some("ctl-1"));
        for now in [
            datetime!(2026-12-01 12:00:10 UTC),
            datetime!(2026-12-01 12:00:30 UTC),
        ] {
            assert_eq!(
                held.leadership(now),
                Leadership::Leading {
                    holder: "ctl-1".into()
                }
            );
        }
        let lapsed = held.leadership(datetime!(2026-12-01 12:05:15 UTC));
        assert_eq!(
            lapsed,
            Leadership::Lapsed {
                last_holder: Some("ctl-1".into()),
                handed_back: false,
                for_seconds: 300,
            }
        );
    }

    #[test]
    fn a_handed_back_lease_lapses_at_once() {
        let lapsed = lease(None).leadership(datetime!(2026-12-01 12:00:42 UTC));
        assert!(!lapsed.is_leading());
        assert_eq!(
            lapsed,
            Leadership::Lapsed {
                last_holder: None,
                handed_back: true,
                for_seconds: 42,
            }
        );
    }
}
