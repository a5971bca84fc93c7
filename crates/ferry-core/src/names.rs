//! Derived AWS names: ECS services and task-definition families,
//! schedules and their group here; traffic's in [`traffic`] and
//! autoscaling's in [`autoscaling`]. The ownership tags are re-exported
//! from [`crate::model::ownership`].
//!
//! Every name Ferry gives an AWS resource is a pure function of the app and
//! process names, so a restarted controller finds what an earlier one made.
//! App and process names are DNS labels (no `_`), which makes `_` a safe
//! separator: `acme` + `inc-web` and `acme-inc` + `web` never collide.

pub mod autoscaling;
pub mod traffic;

pub use crate::model::ownership::*;

/// ECS service name of a process.
pub fn service_name(app: &str, process: &str) -> String {
    format!("{app}_{process}")
}

/// Task definition family of a process: `{installation}_{app}_{process}`,
/// the installation being [`family_prefix`] of the owner.
///
/// Services live in a cluster, but families are per account and region: a
/// staging and a production installation with the same app names would
/// share `{app}_{process}`, and each would find the other's revision the
/// latest of "its" family. The installation in the name keeps them apart.
/// Unique: app and process names are DNS labels (no `_`), so the last two
/// `_`-separated parts are always the app and the process, whatever the
/// installation holds.
pub fn task_family(owner: &str, app: &str, process: &str) -> String {
    format!("{}{app}_{process}", family_prefix(owner))
}

/// The process whose family `family` is (`..._{process}`): process names
/// have no `_`, so it is what follows the last one.
pub fn process_of_family(family: &str) -> Option<&str> {
    family
        .rsplit_once('_')
        .map(|(_, process)| process)
        .filter(|p| !p.is_empty())
}

/// The app whose family `family` is, if it is one of the installation
/// `owner`'s: `{prefix}{app}_{process}`.
pub fn app_of_family<'a>(owner: &str, family: &'a str) -> Option<&'a str> {
    let rest = family.strip_prefix(family_prefix(owner).as_str())?;
    let (app, process) = rest.split_once('_')?;
    (!app.is_empty() && !process.is_empty() && !process.contains('_')).then_some(app)
}

/// Longest installation part of a family: with the longest app (40) and
/// process (24) names and the separators, a family stays far within ECS's
/// 255 characters.
const MAX_FAMILY_INSTALLATION_LEN: usize = 64;

/// What every family of this installation starts with: the owner (table
/// name) and a `_`. Family names take letters, digits, `-` and `_`
/// (API_RegisterTaskDefinition); an owner with other characters (a table
/// name may hold `.`), or too long, has them replaced by `-`, is cut, and
/// gets `-` and 8 hex digits of its SHA-256, so two such owners still
/// differ. `ListTaskDefinitions`' `familyPrefix` lists just these
/// families.
pub fn family_prefix(owner: &str) -> String {
    let fits = owner.len() <= MAX_FAMILY_INSTALLATION_LEN
        && !owner.is_empty()
        && owner
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'));
    if fits {
        return format!("{owner}_");
    }
    let clean: String = replace_outside(owner, &['-', '_'])
        .chars()
        .take(MAX_FAMILY_INSTALLATION_LEN - 9)
        .collect();
    format!("{clean}-{}_", short_hash(owner))
}

/// Longest schedule and schedule group name EventBridge Scheduler takes
/// (API_CreateSchedule: `Name`, 1-64 of `[0-9a-zA-Z-_.]`).
pub const MAX_SCHEDULE_NAME_LEN: usize = 64;

/// EventBridge Scheduler schedule of a scheduled process: `{app}_{process}`
/// when that fits (app names have at most 40 characters, process names 24,
/// so it may not); else the process part is cut and a `.` and 8 hex digits
/// of its SHA-256 follow. `.` is in no DNS label, so a cut name never
/// equals another process's whole one, and the `{app}_` prefix stays whole.
pub fn schedule_name(app: &str, process: &str) -> String {
    let full = format!("{app}_{process}");
    if full.len() <= MAX_SCHEDULE_NAME_LEN {
        return full;
    }
    let digest = short_hash(process);
    let keep = MAX_SCHEDULE_NAME_LEN.saturating_sub(app.len() + 2 + digest.len());
    let cut: String = process.chars().take(keep).collect();
    format!("{app}_{cut}.{digest}")
}

/// The schedule group of this installation: `ferry-{owner}`, cut with a
/// hash like [`schedule_name`] when longer than the limit, and characters
/// a group name cannot have replaced by `-`.
pub fn schedule_group(owner: &str) -> String {
    let clean = replace_outside(owner, &['-', '_', '.']);
    let full = format!("ferry-{clean}");
    if full.len() <= MAX_SCHEDULE_NAME_LEN && clean == owner {
        return full;
    }
    let digest = short_hash(owner);
    let keep = MAX_SCHEDULE_NAME_LEN - digest.len() - 1;
    let cut: String = full.chars().take(keep).collect();
    format!("{cut}.{digest}")
}

/// Longest CloudWatch alarm name (API_PutMetricAlarm `AlarmName`).
pub const MAX_ALARM_NAME_LEN: usize = 255;

/// The name of the alarm Ferry owns for a process with `alarms: default`:
/// `ferry-<owner>-<app>-<process>-5xx`, which the controller's CloudWatch
/// permissions cover (`alarm:ferry-<owner>-*`). Longer than CloudWatch
/// allows (an owner of near 255 characters), it is cut and ends with a
/// hash of the whole, so it stays unique and under the same prefix as far
/// as the prefix fits. App and process names are DNS labels (no `_`), but
/// the owner may hold `-`: the `_`-free tail `-<app>-<process>-5xx` is
/// still unique per owner, because the owner is fixed per installation.
pub fn alarm_name(owner: &str, app: &str, process: &str) -> String {
    let full = format!("ferry-{owner}-{app}-{process}-5xx");
    if full.chars().count() <= MAX_ALARM_NAME_LEN {
        return full;
    }
    let digest = short_hash(&full);
    let keep = MAX_ALARM_NAME_LEN - digest.len() - 1;
    let cut: String = full.chars().take(keep).collect();
    format!("{cut}-{digest}")
}

/// `text` with every character but ASCII letters, digits and `extra`
/// replaced by `-`.
fn replace_outside(text: &str, extra: &[char]) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || extra.contains(&c) {
                c
            } else {
                '-'
            }
        })
        .collect()
}

fn short_hash(text: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(text.as_bytes())
        .iter()
        .take(4)
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separator_keeps_names_unique() {
        assert_ne!(
            service_name("acme", "inc-web"),
            service_name("acme-inc", "web")
        );
    }

    #[test]
    fn schedule_names_fit_and_stay_unique() {
        assert_eq!(schedule_name("acme", "nightly"), "acme_nightly");
        let app = "a".repeat(ferry_manifest::MAX_APP_NAME_LEN);
        let long = |suffix: &str| format!("{}{suffix}", "p".repeat(20));
        let (one, two) = (
            schedule_name(&app, &long("abcd")),
            schedule_name(&app, &long("abce")),
        );
        assert!(one.len() <= MAX_SCHEDULE_NAME_LEN && two.len() <= MAX_SCHEDULE_NAME_LEN);
        assert_ne!(one, two);
        assert!(one.starts_with(&format!("{app}_")));
        assert_eq!(schedule_group("ferry"), "ferry-ferry");
        assert!(schedule_group(&"t".repeat(255)).len() <= MAX_SCHEDULE_NAME_LEN);
        assert_ne!(schedule_group("a:b"), schedule_group("a;b"));
    }

    #[test]
    fn alarm_names_fit_and_stay_unique() {
        assert_eq!(
            alarm_name("ferry", "acme", "web"),
            "ferry-ferry-acme-web-5xx"
        );
        let long = "o".repeat(250);
        let (one, two) = (
            alarm_name(&long, "acme", "web"),
            alarm_name(&long, "acme", "api"),
        );
        assert_eq!(one.chars().count(), MAX_ALARM_NAME_LEN);
        assert_ne!(one, two);
        assert!(one.starts_with("ferry-ooo"), "{one}");
    }

    #[test]
    fn families_are_per_installation_and_fit() {
        assert_eq!(task_family("ferry", "acme", "web"), "ferry_acme_web");
        assert_ne!(
            task_family("ferry", "acme", "web"),
            task_family("ferry-staging", "acme", "web")
        );
        // `_` in an owner cannot make two families equal.
        assert_ne!(task_family("a_b", "c", "d"), task_family("a", "b-c", "d"));
        let odd = task_family("ferry.prod", "acme", "web");
        assert!(
            odd.starts_with("ferry-prod-") && odd.ends_with("_acme_web"),
            "{odd}"
        );
        assert_ne!(odd, task_family("ferry-prod", "acme", "web"));
        let long = "t".repeat(255);
        let family = task_family(&long, &"a".repeat(40), &"p".repeat(24));
        assert!(family.len() <= 255);
        for family in [odd, family] {
            assert!(family
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_')));
        }
        assert!(task_family("ferry", "acme", "web").starts_with(&family_prefix("ferry")));
        assert_eq!(app_of_family("ferry", "ferry_acme_web"), Some("acme"));
        assert_eq!(app_of_family("ferry", "ferry_x_acme_web"), None);
        assert_eq!(app_of_family("ferry_x", "ferry_x_acme_web"), Some("acme"));
        assert_eq!(app_of_family("ferry", "acme_web"), None);
    }
}
