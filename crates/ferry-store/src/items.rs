//! Item mapping: each record kind to and from DynamoDB's attribute maps.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use ferry_core::AppStatus;

use crate::error::Result;
use crate::layout::{release_pk, release_sk};
use crate::lease::LeaseRecord;
use crate::records::{AppRecord, Release};
use crate::store::Store;
use crate::ReleaseOutcome;

impl Store {
    pub(crate) fn app_from_item(
        &self,
        item: &HashMap<String, AttributeValue>,
    ) -> Result<AppRecord> {
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

    pub(crate) fn string<'a>(
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

    pub(crate) fn number(
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

    pub(crate) fn release_from_item(
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

    pub(crate) fn status_from_item(
        &self,
        item: &HashMap<String, AttributeValue>,
        app: &str,
    ) -> Result<AppStatus> {
        let json = self.string(item, "status", app)?;
        serde_json::from_str(json).map_err(|e| self.corrupt(app, e.to_string()))
    }

    pub(crate) fn lease_from_item(
        &self,
        item: &HashMap<String, AttributeValue>,
    ) -> Result<LeaseRecord> {
        Ok(LeaseRecord {
            holder: item.get("holder").and_then(|v| v.as_s().ok()).cloned(),
            token: self.number(item, "token", "lease")?,
            version: self.number(item, "version", "lease")?,
            renewed_at: item
                .get("renewedAt")
                .and_then(|v| v.as_s().ok())
                .cloned()
                .unwrap_or_default(),
            acquired_at: item
                .get("acquiredAt")
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
}
