//! The stored layout, pinned. `hand` is the attribute-by-attribute mapping
//! Ferry wrote and read before `serde_dynamo` (kept here as the reference:
//! tables on real accounts hold its items). Every kind of item must come
//! out of both paths identical, and read back the same from either.

use ferry_core::restart::Restart;
use ferry_core::{AppStatus, Settings};

use super::*;
use crate::records::{AppRecord, GitInfo};
use crate::LeaseRecord;

/// The mapping as it was written by hand, before `serde_dynamo`.
mod hand {
    use std::collections::HashMap;

    use aws_sdk_dynamodb::types::AttributeValue;
    use serde::Serialize;

    use crate::layout::*;
    use crate::records::{AppChange, AppRecord, Release};
    use crate::LeaseRecord;

    pub type Item = HashMap<String, AttributeValue>;

    fn s(value: impl Into<String>) -> AttributeValue {
        AttributeValue::S(value.into())
    }

    fn n(value: u64) -> AttributeValue {
        AttributeValue::N(value.to_string())
    }

    fn json<T: Serialize>(value: &T) -> AttributeValue {
        s(serde_json::to_string(value).expect("serializes"))
    }

    fn key(pk: impl Into<String>, sk: impl Into<String>) -> Item {
        HashMap::from([("pk".to_owned(), s(pk)), ("sk".to_owned(), s(sk))])
    }

    fn optional(item: &Item, field: &str) -> Option<String> {
        item.get(field).and_then(|v| v.as_s().ok()).cloned()
    }

    fn number(item: &Item, field: &str) -> u64 {
        item.get(field)
            .and_then(|v| v.as_n().ok())
            .and_then(|v| v.parse().ok())
            .expect("number")
    }

    pub fn spec(change: &AppChange, generation: u64, now: &str) -> Item {
        let mut item = key(PK_APP, change.spec.name.as_str());
        item.insert("generation".into(), n(generation));
        item.insert("spec".into(), json(&change.spec));
        item.insert("deleting".into(), AttributeValue::Bool(false));
        item.insert("manifest".into(), s(change.manifest.clone()));
        item.insert("updatedAt".into(), s(now));
        if let Some(created_at) = change.created_at_to_write(now) {
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
            item.insert("restart".into(), json(&restart));
        }
        item
    }

    pub fn app(item: &Item) -> AppRecord {
        let name = optional(item, "sk").expect("sk");
        let spec = serde_json::from_str(&optional(item, "spec").expect("spec")).expect("spec");
        AppRecord {
            generation: number(item, "generation"),
            deleting: item
                .get("deleting")
                .and_then(|v| v.as_bool().ok())
                .copied()
                .unwrap_or(false),
            source: optional(item, "source"),
            manifest: optional(item, "manifest"),
            created_at: optional(item, "createdAt"),
            updated_at: optional(item, "updatedAt").unwrap_or_default(),
            restart: optional(item, "restart")
                .map(|json| serde_json::from_str(&json).expect("restart")),
            spec,
            name,
        }
    }

    pub fn release(release: &Release) -> Item {
        let mut item = key(release_pk(&release.app), release_sk(release.version));
        item.insert("release".into(), json(release));
        item.insert("version".into(), n(release.version));
        item
    }

    /// The snapshot and the outcome attributes' text.
    pub fn release_read(item: &Item) -> (Release, Option<String>, Option<String>) {
        let release =
            serde_json::from_str(&optional(item, "release").expect("release")).expect("json");
        (
            release,
            optional(item, "outcome"),
            optional(item, "outcomeReason"),
        )
    }

    pub fn status(status: &ferry_core::AppStatus) -> Item {
        let mut item = key(PK_STATUS, status.name.as_str());
        item.insert("status".into(), json(status));
        item
    }

    pub fn settings(settings: &ferry_core::Settings) -> Item {
        let mut item = key(PK_META, SK_SETTINGS);
        item.insert("settings".into(), json(settings));
        item
    }

    pub fn claim(domain: &str, app: &str) -> Item {
        let mut item = key(PK_DOMAIN, domain);
        item.insert("app".into(), s(app));
        item
    }

    pub fn lease(holder: &str, record: &LeaseRecord, now: &str) -> Item {
        let mut item = key(PK_LEASE, SK_CONTROLLER);
        item.insert("holder".into(), s(holder));
        item.insert("token".into(), n(record.token));
        item.insert("version".into(), n(record.version));
        item.insert("renewedAt".into(), s(now));
        item.insert("acquiredAt".into(), s(now));
        item.insert("durationSeconds".into(), n(record.duration_seconds));
        item
    }

    pub fn lease_read(item: &Item) -> LeaseRecord {
        LeaseRecord {
            holder: optional(item, "holder"),
            token: number(item, "token"),
            version: number(item, "version"),
            renewed_at: optional(item, "renewedAt").unwrap_or_default(),
            acquired_at: optional(item, "acquiredAt").unwrap_or_default(),
            duration_seconds: item
                .get("durationSeconds")
                .and_then(|v| v.as_n().ok())
                .and_then(|v| v.parse().ok())
                .unwrap_or(0),
        }
    }
}

/// Each attribute's name and type (`S`, `N`, `BOOL`, ...), sorted by name.
fn shape(item: &Item) -> Vec<(String, &'static str)> {
    let mut shape: Vec<(String, &'static str)> = item
        .iter()
        .map(|(name, value)| {
            let kind = match value {
                AttributeValue::S(_) => "S",
                AttributeValue::N(_) => "N",
                AttributeValue::Bool(_) => "BOOL",
                AttributeValue::Null(_) => "NULL",
                AttributeValue::M(_) => "M",
                AttributeValue::L(_) => "L",
                _ => "other",
            };
            (name.clone(), kind)
        })
        .collect();
    shape.sort();
    shape
}

fn names_and_kinds(pairs: &[(&str, &'static str)]) -> Vec<(String, &'static str)> {
    let mut pairs: Vec<(String, &'static str)> =
        pairs.iter().map(|(n, k)| ((*n).to_owned(), *k)).collect();
    pairs.sort();
    pairs
}

fn app() -> App {
    serde_json::from_str(
        r#"{"name":"web","image":"acme/web:1","env":{"RAILS_ENV":"production"},
            "domains":[{"name":"web.example.com","process":"web"}],"processes":{}}"#,
    )
    .expect("app")
}

fn change(
    expected_generation: Option<u64>,
    created_at: Option<&str>,
    source: Option<&str>,
    restart: Option<Vec<String>>,
    manifest: &str,
) -> AppChange {
    AppChange {
        spec: app(),
        manifest: manifest.to_owned(),
        source: source.map(str::to_owned),
        expected_generation,
        previous_domains: Vec::new(),
        created_at: created_at.map(str::to_owned),
        restart,
    }
}

const NOW: &str = "2026-12-06T12:00:00Z";

fn changes() -> Vec<AppChange> {
    vec![
        // A new app, as `ferry apply` from a repository writes it.
        change(
            None,
            None,
            Some("git@example.com:acme/manifests"),
            None,
            "kind: App\n",
        ),
        // An update that restarts one process, with no source and no text.
        change(
            Some(4),
            Some("2026-01-01T00:00:00Z"),
            None,
            Some(vec!["web".into()]),
            "",
        ),
        // An app stored before creation times were recorded.
        change(Some(2), None, None, Some(Vec::new()), "x"),
    ]
}

#[test]
fn spec_items_are_as_written_by_hand_and_read_back_the_same() {
    for (index, change) in changes().iter().enumerate() {
        let generation = change.expected_generation.unwrap_or(0) + 1;
        let new = to_item(&SpecItem::new(change, generation, NOW)).expect("item");
        let old = hand::spec(change, generation, NOW);
        assert_eq!(new, old, "change {index}");
        let read: SpecItem = from_item(&old).expect("reads");
        assert_eq!(AppRecord::from(read), hand::app(&old), "change {index}");
    }
    let new_app = to_item(&SpecItem::new(&changes()[0], 1, NOW)).expect("item");
    assert_eq!(
        shape(&new_app),
        names_and_kinds(&[
            ("pk", "S"),
            ("sk", "S"),
            ("generation", "N"),
            ("spec", "S"),
            ("deleting", "BOOL"),
            ("manifest", "S"),
            ("updatedAt", "S"),
            ("createdAt", "S"),
            ("source", "S"),
        ])
    );
}

#[test]
fn spec_items_stored_before_optional_attributes_still_read() {
    let mut old = hand::spec(&changes()[0], 1, NOW);
    for attribute in ["deleting", "manifest", "updatedAt", "createdAt", "source"] {
        old.remove(attribute);
    }
    let read: SpecItem = from_item(&old).expect("reads");
    let record = AppRecord::from(read);
    assert_eq!(record, hand::app(&old));
    assert_eq!(
        (record.deleting, record.manifest, record.updated_at),
        (false, None, String::new())
    );
}

fn release(git: Option<GitInfo>, manifest: Option<&str>) -> Release {
    Release {
        app: "web".into(),
        version: 12,
        spec: app(),
        message: "ship it".into(),
        user: "alice".into(),
        git,
        created_at: NOW.into(),
        manifest: manifest.map(str::to_owned),
        outcome: None,
        outcome_reason: None,
    }
}

#[test]
fn release_items_are_as_written_by_hand_and_read_back_the_same() {
    let git = GitInfo {
        commit: "0123abcd".into(),
        dirty: true,
    };
    for release in [release(Some(git), Some("kind: App\n")), release(None, None)] {
        let new = to_item(&ReleaseItem::new(&release)).expect("item");
        let mut old = hand::release(&release);
        assert_eq!(new, old);
        assert_eq!(
            shape(&new),
            names_and_kinds(&[("pk", "S"), ("sk", "S"), ("release", "S"), ("version", "N")])
        );
        // The controller's outcome attributes, set later by an update.
        old.insert("outcome".into(), AttributeValue::S("failed".into()));
        old.insert("outcomeReason".into(), AttributeValue::S("crashed".into()));
        let read: ReleaseItem = from_item(&old).expect("reads");
        let (outcome, reason) = (read.outcome.clone(), read.outcome_reason.clone());
        assert_eq!((read.snapshot(), outcome, reason), hand::release_read(&old));
    }
}

fn status() -> AppStatus {
    serde_json::from_str(
        r#"{"name":"web","generation":3,"observedGeneration":3,"release":3,
            "conditions":[{"type":"Ready","status":"True","reason":"Converged",
                "message":"","lastTransitionTime":"2026-12-06T11:00:00Z"}],
            "processes":{},"endpoints":["http://web.internal"],"events":[],
            "lastReconciled":"2026-12-06T12:00:00Z"}"#,
    )
    .expect("status")
}

#[test]
fn status_and_settings_items_are_as_written_by_hand() {
    let status = status();
    let new = to_item(&StatusItem::new(&status)).expect("item");
    assert_eq!(new, hand::status(&status));
    assert_eq!(
        shape(&new),
        names_and_kinds(&[("pk", "S"), ("sk", "S"), ("status", "S")])
    );
    let read: StatusItem = from_item(&new).expect("reads");
    assert_eq!((read.sk.as_str(), read.status.0), ("web", status));

    let settings = Settings::default();
    let new = to_item(&SettingsItem::new(&settings)).expect("item");
    assert_eq!(new, hand::settings(&settings));
    let read: SettingsItem = from_item(&new).expect("reads");
    assert_eq!(read.settings.0, settings);
}

#[test]
fn claim_items_are_as_written_by_hand() {
    let new = to_item(&ClaimItem::new("web.example.com", "web")).expect("item");
    assert_eq!(new, hand::claim("web.example.com", "web"));
    assert_eq!(
        shape(&new),
        names_and_kinds(&[("pk", "S"), ("sk", "S"), ("app", "S")])
    );
    let read: ClaimItem = from_item(&new).expect("reads");
    assert_eq!(
        (read.sk.as_str(), read.app.as_str()),
        ("web.example.com", "web")
    );
}

#[test]
fn lease_items_are_as_written_by_hand_and_read_back_the_same() {
    let record = LeaseRecord {
        holder: Some("ctl-1".into()),
        token: 7,
        version: 31,
        renewed_at: NOW.into(),
        acquired_at: NOW.into(),
        duration_seconds: 15,
    };
    let new = to_item(&LeaseItem::from(&record)).expect("item");
    let mut old = hand::lease("ctl-1", &record, NOW);
    assert_eq!(new, old);
    let read: LeaseItem = from_item(&old).expect("reads");
    assert_eq!(LeaseRecord::from(read), hand::lease_read(&old));
    // A handed-back lease of a replica from before `acquiredAt`.
    old.remove("holder");
    old.remove("acquiredAt");
    let read: LeaseItem = from_item(&old).expect("reads");
    assert_eq!(LeaseRecord::from(read), hand::lease_read(&old));
}

#[test]
fn the_revision_counter_reads_as_a_number() {
    let item = Item::from([
        ("pk".to_owned(), AttributeValue::S("meta".into())),
        ("sk".to_owned(), AttributeValue::S("revision".into())),
        ("revision".to_owned(), AttributeValue::N("42".into())),
    ]);
    let read: RevisionItem = from_item(&item).expect("reads");
    assert_eq!(read.revision, 42);
}

#[test]
fn a_restart_is_kept_as_json_text() {
    let change = &changes()[1];
    let item = to_item(&SpecItem::new(change, 5, NOW)).expect("item");
    let text = item
        .get("restart")
        .and_then(|v| v.as_s().ok())
        .expect("a string attribute");
    let restart: Restart = serde_json::from_str(text).expect("JSON");
    assert_eq!(
        restart,
        Restart {
            generation: 5,
            processes: vec!["web".into()],
        }
    );
}

#[test]
fn a_listed_item_is_named_by_its_sort_key() {
    let claim = hand::claim("web.example.com", "web");
    assert_eq!(sort_key(&claim, "domain"), "web.example.com");
    assert_eq!(sort_key(&Item::new(), "domain"), "domain");
}
