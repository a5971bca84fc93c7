//! The manifest's `rollout:` as written. Values are kept as written
//! (strings for durations and percentages, which YAML may read as
//! numbers) so that a bad one is a located validation error, not a serde
//! failure; [`crate::validate`] resolves them into [`super::Rollout`].

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::vocabulary;

/// How ECS deploys a new version of a process, as written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(transform = vocabulary::field_order::<Self>)]
pub struct ManifestRollout {
    /// ECS's deployment strategy: `rolling` (default), `blueGreen`, `canary` or `linear`; all but `rolling` need a `port` (ECS shifts traffic on the load balancer between two target groups).
    #[serde(default)]
    #[schemars(transform = vocabulary::rollout_strategy)]
    pub strategy: Option<String>,
    /// `canary` only: percent of production traffic the new revision gets first, 0.1-100 in steps of 0.1; default 5.
    #[serde(default)]
    #[schemars(transform = vocabulary::canary_percent)]
    pub canary_percent: Option<String>,
    /// `linear` only: percent of production traffic shifted per step, 3-100 in steps of 0.1; default 10.
    #[serde(default)]
    #[schemars(transform = vocabulary::step_percent)]
    pub step_percent: Option<String>,
    /// `canary` and `linear` only: whole minutes between traffic shifts (`2m`, `1h`), 0-24h; default 10m for canary, 6m for linear (ECS's).
    #[serde(default)]
    #[schemars(transform = vocabulary::bake_minutes)]
    pub step_bake: Option<String>,
    /// Not for `rolling`: whole minutes both revisions run after the last shift, before the old one goes (`5m`), 0-24h; default 5m.
    #[serde(default)]
    #[schemars(transform = vocabulary::bake_minutes)]
    pub bake: Option<String>,
    /// CloudWatch alarms that roll the deployment back when one is in ALARM: `default` (one alarm Ferry creates and owns per process, on its 5xx share; needs a `port`) or a list of the team's alarm names.
    #[serde(default)]
    pub alarms: Option<ManifestRolloutAlarms>,
    /// Not for `rolling`: pause the deployment for `ferry rollout continue` at `afterTestTraffic` or `beforeProductionTraffic`.
    #[serde(default)]
    #[schemars(transform = vocabulary::approval_stage)]
    pub approval: Option<String>,
    /// Only with `approval`: whole minutes ECS waits for a decision (`1h`), 1m-24h; default 24h.
    #[serde(default)]
    #[schemars(transform = vocabulary::approval_timeout)]
    pub approval_timeout: Option<String>,
    /// Only with `approval`: what ECS does when nobody decided in time, `rollback` (default) or `continue`.
    #[serde(default)]
    #[schemars(transform = vocabulary::on_approval_timeout)]
    pub on_approval_timeout: Option<String>,
}

/// `rollout.alarms` as written: the word `default`, or alarm names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
#[schemars(title = "`default`, or a list of CloudWatch alarm names")]
pub enum ManifestRolloutAlarms {
    /// `default`: the alarm Ferry creates and owns.
    Default(#[schemars(transform = vocabulary::default_alarms)] String),
    /// The team's alarms, by name.
    Named(#[schemars(transform = vocabulary::alarm_names)] Vec<String>),
}
