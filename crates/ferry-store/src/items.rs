//! Item mapping: each kind of item as a struct that `serde_dynamo` turns
//! into DynamoDB's attribute map and back. The structs are the stored
//! layout, attribute by attribute; tables on real accounts hold these
//! items, so a change here is a data migration (the tests in
//! `items_tests.rs` pin each kind against the hand-written mapping Ferry
//! used before, byte for byte).
//!
//! How Rust types become attributes:
//! - `String` is `S`, `u64` is `N`, `bool` is `BOOL`.
//! - An `Option` that is `None` is left out of the item, never written as
//!   `NULL` (`skip_serializing_if`); when reading, a missing attribute is
//!   `None`, or the field's default where one is named.
//! - [`Json`] is a value kept as its JSON text in one `S` attribute: the
//!   spec, the release snapshot, the status, the settings and the restart.
//!   They stay JSON text rather than nested `M` maps because the items
//!   already stored are so, and because the CLI and the controller read
//!   them with the same serde types as the rest of Ferry.
//!
//! Attributes an item does not declare are ignored when reading.
//! `outcome` and `outcomeReason` of a release are written by an update
//! expression (see [`crate::Store::set_release_outcome`]), not here.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use ferry_core::restart::Restart;
use ferry_core::{AppStatus, Settings};
use ferry_manifest::App;
use serde::de::{DeserializeOwned, Error as _};
use serde::ser::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::layout::{release_pk, release_sk, PK_APP, PK_DOMAIN, PK_META, PK_STATUS, SK_SETTINGS};
use crate::records::{AppChange, AppRecord, Release};

/// One DynamoDB item, as the SDK takes and gives it.
pub(crate) type Item = HashMap<String, AttributeValue>;

/// The item of a value. Fails only if a [`Json`] value does not
/// serialize.
pub(crate) fn to_item<T: Serialize>(value: &T) -> Result<Item, serde_dynamo::Error> {
    serde_dynamo::aws_sdk_dynamodb_1::to_item(value)
}

/// The value of an item, or why the item is not one.
pub(crate) fn from_item<T: DeserializeOwned>(item: &Item) -> Result<T, serde_dynamo::Error> {
    serde_dynamo::aws_sdk_dynamodb_1::from_item(item.clone())
}

/// The sort key of an item, to name it in an error: the app or domain of
/// a listed item. `otherwise` where the item has none.
pub(crate) fn sort_key<'a>(item: &'a Item, otherwise: &'a str) -> &'a str {
    item.get("sk")
        .and_then(|sk| sk.as_s().ok())
        .map_or(otherwise, String::as_str)
}

/// A value stored as its JSON text in a string (`S`) attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Json<T>(pub(crate) T);

impl<T: Serialize> Serialize for Json<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let text = serde_json::to_string(&self.0).map_err(S::Error::custom)?;
        serializer.serialize_str(&text)
    }
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for Json<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        serde_json::from_str(&text)
            .map(Json)
            .map_err(D::Error::custom)
    }
}

/// An app's spec item (pk `app`, sk the app name).
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SpecItem {
    pk: String,
    sk: String,
    generation: u64,
    spec: Json<App>,
    #[serde(default)]
    deleting: bool,
    /// Always written, empty when the apply had no text; absent only in
    /// items stored before Ferry kept it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    manifest: Option<String>,
    #[serde(default)]
    updated_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    created_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    source: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    restart: Option<Json<Restart>>,
}

impl SpecItem {
    /// The item an apply of `change` writes as `generation`, at `now`.
    pub(crate) fn new(change: &AppChange, generation: u64, now: &str) -> Self {
        Self {
            pk: PK_APP.to_owned(),
            sk: change.spec.name.clone(),
            generation,
            spec: Json(change.spec.clone()),
            deleting: false,
            manifest: Some(change.manifest.clone()),
            updated_at: now.to_owned(),
            created_at: change.created_at_to_write(now).map(str::to_owned),
            source: change.source.clone(),
            restart: change.restart.as_ref().map(|processes| {
                Json(Restart {
                    generation,
                    processes: processes.clone(),
                })
            }),
        }
    }
}

impl From<SpecItem> for AppRecord {
    fn from(item: SpecItem) -> Self {
        AppRecord {
            name: item.sk,
            generation: item.generation,
            spec: item.spec.0,
            deleting: item.deleting,
            source: item.source,
            manifest: item.manifest,
            created_at: item.created_at,
            updated_at: item.updated_at,
            restart: item.restart.map(|restart| restart.0),
        }
    }
}

/// A release item (pk `release#<app>`, sk `v` and the zero-padded
/// version): the immutable snapshot, and the outcome attributes the
/// controller sets later.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ReleaseItem {
    pk: String,
    sk: String,
    release: Json<Release>,
    pub(crate) version: u64,
    /// A [`crate::ReleaseOutcome`]'s text; the store parses it, so that an
    /// unknown one is reported with the release it belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) outcome: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) outcome_reason: Option<String>,
}

impl ReleaseItem {
    /// The item of a new release; it has no outcome yet.
    pub(crate) fn new(release: &Release) -> Self {
        Self {
            pk: release_pk(&release.app),
            sk: release_sk(release.version),
            release: Json(release.clone()),
            version: release.version,
            outcome: None,
            outcome_reason: None,
        }
    }

    /// The snapshot as it was written, without the outcome attributes.
    pub(crate) fn snapshot(self) -> Release {
        self.release.0
    }
}

/// An app's status item (pk `status`, sk the app name).
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct StatusItem {
    pk: String,
    pub(crate) sk: String,
    pub(crate) status: Json<AppStatus>,
}

impl StatusItem {
    pub(crate) fn new(status: &AppStatus) -> Self {
        Self {
            pk: PK_STATUS.to_owned(),
            sk: status.name.clone(),
            status: Json(status.clone()),
        }
    }
}

/// The leader's settings (pk `meta`, sk `settings`).
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct SettingsItem {
    pk: String,
    sk: String,
    pub(crate) settings: Json<Settings>,
}

impl SettingsItem {
    pub(crate) fn new(settings: &Settings) -> Self {
        Self {
            pk: PK_META.to_owned(),
            sk: SK_SETTINGS.to_owned(),
            settings: Json(settings.clone()),
        }
    }
}

/// A domain claim (pk `domain`, sk the domain name).
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct ClaimItem {
    pk: String,
    /// The domain.
    pub(crate) sk: String,
    /// The one app that may route it.
    pub(crate) app: String,
}

impl ClaimItem {
    pub(crate) fn new(domain: &str, app: &str) -> Self {
        Self {
            pk: PK_DOMAIN.to_owned(),
            sk: domain.to_owned(),
            app: app.to_owned(),
        }
    }
}

/// The revision counter (pk `meta`, sk `revision`), as read; it is only
/// ever written by an `ADD` update.
#[derive(Debug, Deserialize)]
pub(crate) struct RevisionItem {
    pub(crate) revision: u64,
}

/// The leader lease (pk `lease`, sk `controller`). Renewals and the
/// hand-back change it with update expressions (see
/// [`crate::Store::renew_lease`]); the store maps it to and from a
/// [`crate::LeaseRecord`].
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct LeaseItem {
    pub(crate) pk: String,
    pub(crate) sk: String,
    /// Removed by the hand-back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) holder: Option<String>,
    pub(crate) token: u64,
    pub(crate) version: u64,
    #[serde(default)]
    pub(crate) renewed_at: String,
    /// Absent in leases written before Ferry recorded it.
    #[serde(default)]
    pub(crate) acquired_at: String,
    #[serde(default)]
    pub(crate) duration_seconds: u64,
}

#[cfg(test)]
#[path = "items_tests.rs"]
mod tests;
