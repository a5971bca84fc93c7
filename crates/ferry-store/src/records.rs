//! What the store keeps and takes, as the rest of Ferry sees it: an app's
//! stored desired state, its releases, and one apply's changes. How each
//! is laid out in DynamoDB is [`crate::items`]'s job.

use ferry_core::ReleaseOutcome;
use ferry_manifest::App;
use serde::{Deserialize, Serialize};

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
    /// attribute (see [`crate::Store::set_release_outcome`]).
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
    /// The write fails with [`crate::Error::Conflict`] if it is no longer current.
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

#[cfg(test)]
mod tests {
    use super::*;

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
                ..Default::default()
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
}
