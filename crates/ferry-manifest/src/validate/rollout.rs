//! A process's `rollout:`: ECS's deployment strategy with its traffic
//! steps, bake times, rollback alarms and approval, resolved with the
//! defaults filled in ([`crate::types::Rollout`]).
//!
//! Ranges are ECS's: API_CanaryConfiguration (`canaryPercent` 0.1-100,
//! `canaryBakeTimeInMinutes` 0-1440), API_LinearConfiguration
//! (`stepPercent` 3-100, `stepBakeTimeInMinutes` 0-1440),
//! API_DeploymentConfiguration (`bakeTimeInMinutes` 0-1440),
//! API_DeploymentLifecycleHook (`timeoutInMinutes` 1-1440) and
//! API_DeploymentAlarms / API_PutMetricAlarm (alarm names 1-255
//! characters). ECS takes every time in whole minutes.

use std::collections::BTreeSet;

use super::{Reported, Validator};
use crate::diagnostic::{quote, FieldPath};
use crate::limits::{self, Range};
use crate::structure::closest;
use crate::types::{
    Approval, ApprovalStage, ManifestRollout, ManifestRolloutAlarms, Rollout, RolloutAlarms,
    RolloutStrategy, TimeoutAction,
};

/// The strategies a key applies to, by the manifest's words.
const TRAFFIC_SHIFTING: &str = "blueGreen, canary or linear";

impl Validator<'_> {
    /// `rollout` resolved, or `None` when it is absent (a rolling update).
    /// `has_port`: the process is served by the load balancers (or its
    /// port is broken, reported already). A scheduled process's `rollout`
    /// is refused with the other service fields (`resolve_schedule`).
    pub(super) fn resolve_rollout(
        &mut self,
        process: &FieldPath,
        written: Option<&ManifestRollout>,
        has_port: bool,
    ) -> Result<Option<Rollout>, Reported> {
        let Some(written) = written else {
            return Ok(None);
        };
        let path = process.key("rollout");
        let word = written.strategy.as_deref().unwrap_or("rolling");
        let strategy_path = path.key("strategy");
        let Some(kind) = self.strategy_kind(&strategy_path, word) else {
            return Err(Reported);
        };
        let mut ok = true;
        if kind != "rolling" && !has_port {
            self.key_error_at(
                &strategy_path,
                format!(
                    "strategy `{kind}` needs a `port`: ECS shifts traffic between two target \
                     groups on the load balancer; set `{process}.port` or use `strategy: rolling`"
                ),
            );
            ok = false;
        }
        // Which keys apply to which strategies: a key set where it does not
        // apply is refused at the key, naming where it does.
        let applies = [
            (
                "canaryPercent",
                written.canary_percent.is_some(),
                kind == "canary",
                "canary",
            ),
            (
                "stepPercent",
                written.step_percent.is_some(),
                kind == "linear",
                "linear",
            ),
            (
                "stepBake",
                written.step_bake.is_some(),
                matches!(kind, "canary" | "linear"),
                "canary or linear",
            ),
            (
                "bake",
                written.bake.is_some(),
                kind != "rolling",
                TRAFFIC_SHIFTING,
            ),
            (
                "approval",
                written.approval.is_some(),
                kind != "rolling",
                TRAFFIC_SHIFTING,
            ),
        ];
        for (field, set, applies, where_it_does) in applies {
            if set && !applies {
                self.key_error_at(
                    &path.key(field),
                    format!(
                        "`{field}` does not apply to strategy `{kind}`: it is for strategy \
                         {where_it_does}; remove `{field}` or change `strategy`"
                    ),
                );
                ok = false;
            }
        }
        for field in ["approvalTimeout", "onApprovalTimeout"] {
            let set = match field {
                "approvalTimeout" => written.approval_timeout.is_some(),
                _ => written.on_approval_timeout.is_some(),
            };
            if set && written.approval.is_none() {
                self.key_error_at(
                    &path.key(field),
                    format!(
                        "`{field}` applies only with `approval` (a pause for `ferry rollout \
                         continue`); add `approval: afterTestTraffic` or remove `{field}`"
                    ),
                );
                ok = false;
            }
        }
        let canary = self.resolve_tenths(
            &path.key("canaryPercent"),
            written.canary_percent.as_deref(),
            limits::CANARY_TENTHS,
        );
        let linear = self.resolve_tenths(
            &path.key("stepPercent"),
            written.step_percent.as_deref(),
            limits::LINEAR_STEP_TENTHS,
        );
        let step_bake = self.resolve_minutes(
            &path.key("stepBake"),
            written.step_bake.as_deref(),
            limits::BAKE,
        );
        let bake = self.resolve_minutes(&path.key("bake"), written.bake.as_deref(), limits::BAKE);
        let alarms = self.resolve_alarms(
            process,
            &path.key("alarms"),
            written.alarms.as_ref(),
            has_port,
        );
        let approval = self.resolve_approval(&path, written);
        let (canary, linear, step_bake, bake, alarms, approval) =
            (canary?, linear?, step_bake?, bake?, alarms?, approval?);
        if !ok || self.broken.within(&path) {
            return Err(Reported);
        }
        let strategy = match kind {
            "blueGreen" => RolloutStrategy::BlueGreen,
            "canary" => RolloutStrategy::Canary {
                percent_tenths: canary.unwrap_or(limits::DEFAULT_CANARY_TENTHS),
                step_bake_minutes: step_bake.unwrap_or(limits::DEFAULT_CANARY_BAKE_MINUTES),
            },
            "linear" => RolloutStrategy::Linear {
                step_tenths: linear.unwrap_or(limits::DEFAULT_LINEAR_STEP_TENTHS),
                step_bake_minutes: step_bake.unwrap_or(limits::DEFAULT_LINEAR_BAKE_MINUTES),
            },
            _ => RolloutStrategy::Rolling,
        };
        let bake_minutes = match strategy {
            // ECS bakes only between two target groups.
            RolloutStrategy::Rolling => 0,
            _ => bake.unwrap_or(limits::DEFAULT_BAKE_MINUTES),
        };
        Ok(Some(Rollout {
            strategy,
            bake_minutes,
            alarms,
            approval,
        }))
    }

    /// The strategy's word, checked; `None` when reported.
    fn strategy_kind(&mut self, path: &FieldPath, word: &str) -> Option<&'static str> {
        if self.broken.at(path) {
            return None;
        }
        if let Some(known) = limits::ROLLOUT_STRATEGIES
            .iter()
            .find(|known| **known == word)
        {
            return Some(known);
        }
        self.error_at(
            path,
            unknown_word("strategy", word, &limits::ROLLOUT_STRATEGIES),
        );
        None
    }

    /// A percentage with at most one decimal within `tenths`, in tenths
    /// of a percent.
    fn resolve_tenths(
        &mut self,
        path: &FieldPath,
        value: Option<&str>,
        tenths: Range,
    ) -> Result<Option<u32>, Reported> {
        let Some(text) = value else {
            return Ok(None);
        };
        if let Some(n) = parse_tenths(text).and_then(|n| tenths.check(n)) {
            return Ok(Some(n));
        }
        let field = super::field_name(path);
        self.error_at(
            path,
            format!(
                "invalid {field} {}: it must be a percentage from {} to {}, in steps of 0.1 \
                 (e.g. 5 or 12.5)",
                quote(text),
                tenths_text(tenths.min),
                tenths_text(tenths.max)
            ),
        );
        Err(Reported)
    }

    /// A duration in whole minutes within `range` (seconds): ECS takes
    /// bake times and hook timeouts in minutes.
    fn resolve_minutes(
        &mut self,
        path: &FieldPath,
        value: Option<&str>,
        range: Range,
    ) -> Result<Option<u32>, Reported> {
        let Some(text) = value else {
            return Ok(None);
        };
        let field = super::field_name(path);
        let quoted = quote(text);
        let bounds = format!("from {}m to {}m", range.min / 60, range.max / 60);
        let message = match crate::duration::parse_seconds(text) {
            None => format!(
                "invalid {field} {quoted}: write whole minutes such as `2m`, `90m` or `1h`, \
                 {bounds}"
            ),
            Some(seconds) if seconds % 60 != 0 => format!(
                "invalid {field} {quoted}: ECS takes whole minutes; write e.g. `2m` or `1h`, \
                 {bounds}"
            ),
            Some(seconds) => match i64::try_from(seconds).ok().and_then(|s| range.check(s)) {
                Some(seconds) => return Ok(Some(seconds / 60)),
                None => format!("invalid {field} {quoted}: it must be {bounds} (24h)"),
            },
        };
        self.error_at(path, message);
        Err(Reported)
    }

    /// `alarms`: `default` (needs a port: the alarm watches the target
    /// groups) or the team's alarm names, sorted.
    fn resolve_alarms(
        &mut self,
        process: &FieldPath,
        path: &FieldPath,
        written: Option<&ManifestRolloutAlarms>,
        has_port: bool,
    ) -> Result<RolloutAlarms, Reported> {
        match written {
            None => Ok(RolloutAlarms::None),
            Some(_) if self.broken.at(path) => Err(Reported),
            Some(ManifestRolloutAlarms::Default(word)) if word == "default" => {
                if has_port {
                    return Ok(RolloutAlarms::Default);
                }
                self.key_error_at(
                    path,
                    format!(
                        "`alarms: default` needs a `port`: Ferry's alarm watches the share of \
                         5xx responses of the process's target groups; set `{process}.port` or \
                         name your own alarms (`alarms: [my-alarm]`)"
                    ),
                );
                Err(Reported)
            }
            Some(ManifestRolloutAlarms::Default(word)) => {
                self.error_at(
                    path,
                    format!(
                        "invalid alarms {}: write `default` (an alarm Ferry owns) or a list of \
                         CloudWatch alarm names (`[web-5xx]`)",
                        quote(word)
                    ),
                );
                Err(Reported)
            }
            Some(ManifestRolloutAlarms::Named(names)) => {
                let mut seen = BTreeSet::new();
                let mut ok = true;
                for (index, name) in names.iter().enumerate() {
                    let item = path.index(index);
                    if let Err(why) = check_alarm_name(name) {
                        self.error_at(&item, format!("invalid alarm name {}: {why}", quote(name)));
                        ok = false;
                    } else if !seen.insert(name.clone()) {
                        self.error_at(
                            &item,
                            format!("alarm {} is named twice; name each alarm once", quote(name)),
                        );
                        ok = false;
                    }
                }
                if ok {
                    Ok(RolloutAlarms::Named(seen.into_iter().collect()))
                } else {
                    Err(Reported)
                }
            }
        }
    }

    /// `approval` with its timeout and timeout action, defaults filled.
    fn resolve_approval(
        &mut self,
        path: &FieldPath,
        written: &ManifestRollout,
    ) -> Result<Option<Approval>, Reported> {
        let timeout = self.resolve_minutes(
            &path.key("approvalTimeout"),
            written.approval_timeout.as_deref(),
            limits::APPROVAL_TIMEOUT,
        );
        let on_timeout = match written.on_approval_timeout.as_deref() {
            None | Some("rollback") => Ok(TimeoutAction::Rollback),
            Some("continue") => Ok(TimeoutAction::Continue),
            Some(other) => {
                let field = path.key("onApprovalTimeout");
                if !self.broken.at(&field) {
                    let message =
                        unknown_word("onApprovalTimeout", other, &limits::TIMEOUT_ACTIONS);
                    self.error_at(&field, message);
                }
                Err(Reported)
            }
        };
        let stage = match written.approval.as_deref() {
            None => Ok(None),
            Some("afterTestTraffic") => Ok(Some(ApprovalStage::AfterTestTraffic)),
            Some("beforeProductionTraffic") => Ok(Some(ApprovalStage::BeforeProductionTraffic)),
            Some(other) => {
                let field = path.key("approval");
                if !self.broken.at(&field) {
                    let message = unknown_word("approval", other, &limits::APPROVAL_STAGES);
                    self.error_at(&field, message);
                }
                Err(Reported)
            }
        };
        let (timeout, on_timeout, stage) = (timeout?, on_timeout?, stage?);
        Ok(stage.map(|stage| Approval {
            stage,
            timeout_minutes: timeout.unwrap_or(limits::DEFAULT_APPROVAL_TIMEOUT_MINUTES),
            on_timeout,
        }))
    }
}

/// The message for a word that is none of `known`, with the closest.
fn unknown_word(field: &str, word: &str, known: &[&str]) -> String {
    let hint = closest(word, known)
        .map(|known| format!(" (did you mean `{known}`?)"))
        .unwrap_or_default();
    format!(
        "invalid {field} {}: it must be one of {}{hint}",
        quote(word),
        known
            .iter()
            .map(|k| format!("`{k}`"))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// Tenths of a percent from `12`, `12.5` (at most one decimal); `None`
/// for anything else.
fn parse_tenths(text: &str) -> Option<i64> {
    let (whole, tenth) = match text.split_once('.') {
        Some((whole, tenth)) if tenth.len() == 1 => (whole, tenth),
        Some(_) => return None,
        None => (text, "0"),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || !digits(tenth) || whole.len() > 6 {
        return None;
    }
    Some(whole.parse::<i64>().ok()? * 10 + tenth.parse::<i64>().ok()?)
}

/// `tenths` as the percentage a manifest writes (`0.1`, `100`).
fn tenths_text(tenths: i64) -> String {
    match tenths % 10 {
        0 => (tenths / 10).to_string(),
        tenth => format!("{}.{tenth}", tenths / 10),
    }
}

/// CloudWatch's rules for an alarm name (API_PutMetricAlarm
/// `AlarmName`: 1-255 characters; no ASCII control characters).
fn check_alarm_name(name: &str) -> Result<(), String> {
    let length = name.chars().count();
    if length == 0 || length > limits::MAX_ALARM_NAME_LEN {
        return Err(format!(
            "CloudWatch alarm names are 1 to {} characters, this one has {length}",
            limits::MAX_ALARM_NAME_LEN
        ));
    }
    if name.chars().any(char::is_control) {
        return Err("CloudWatch alarm names cannot contain control characters".to_owned());
    }
    Ok(())
}

#[cfg(test)]
#[path = "rollout_tests.rs"]
mod tests;
