//! Named failpoints, for end-to-end tests that stop the controller at a
//! code point rather than at a wall-clock time.
//!
//! A failpoint is a name in the code where a test may make something
//! happen: [`hit`] at that point. They are compiled into debug builds only
//! (the binaries the test suite runs); in a release build [`hit`] is an
//! empty inline function and the variable below is never read.
//!
//! A debug build reads `FERRY_FAILPOINTS` once: `NAME=ACTION` pairs
//! separated by `;`, where ACTION is
//! - `abort`: print `failpoint NAME: abort` on stderr and abort the
//!   process, as a crash or a SIGKILL at that point would;
//! - `sleep(MS)`: print `failpoint NAME: sleep MS` and wait MS
//!   milliseconds (the task waits; the runtime goes on);
//! - `until(PATH)`: print `failpoint NAME: until PATH` and wait until the
//!   file PATH exists (a test releases the task when it chooses);
//! - `while(PATH)`: wait as long as the file PATH exists, printing
//!   `failpoint NAME: while PATH` when it does (a test stalls the task
//!   when it chooses);
//!
//! optionally prefixed by `N*` to act only the first N times the point is
//! hit (`1*sleep(3000)`). A point not named is free. A malformed variable
//! is reported on stderr and ignored, so a typo shows in the test's log.
//!
//! The points (keep this list current; the end-to-end tests name them):
//!
//! | name | where |
//! |---|---|
//! | `ecs.registered` | a task definition is registered, its service not yet created or updated |
//! | `traffic.target_group_created` | a target group exists, its listener rule not yet |
//! | `traffic.rule_created` | a listener rule exists, its DNS record not yet |
//! | `reconcile.before_status` | a reconcile's AWS writes are done, its status not yet written |
//! | `call.before_send.OPERATION` | a call passed the write gate's early look, not yet signed or sent |
//! | `leader.renew` | the elector is about to renew its lease |

/// Runs the action a test set for the failpoint `name`, if any.
#[cfg(debug_assertions)]
pub async fn hit(name: &str) {
    if let Some(action) = armed::take(name) {
        action.run(name).await;
    }
}

/// Runs the action a test set for the failpoint `name`, if any (release
/// builds have none).
#[cfg(not(debug_assertions))]
#[inline(always)]
pub async fn hit(_name: &str) {}

/// How often `until` and `while` look at their file.
#[cfg_attr(not(debug_assertions), allow(dead_code))]
const POLL: std::time::Duration = std::time::Duration::from_millis(20);

/// What a failpoint does when hit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Abort,
    Sleep(std::time::Duration),
    Until(std::path::PathBuf),
    While(std::path::PathBuf),
}

impl Action {
    #[cfg_attr(not(debug_assertions), allow(dead_code))]
    async fn run(self, name: &str) {
        match self {
            Action::Abort => {
                eprintln!("failpoint {name}: abort");
                std::process::abort();
            }
            Action::Sleep(duration) => {
                eprintln!("failpoint {name}: sleep {}", duration.as_millis());
                tokio::time::sleep(duration).await;
            }
            Action::Until(path) => {
                eprintln!("failpoint {name}: until {}", path.display());
                while !path.exists() {
                    tokio::time::sleep(POLL).await;
                }
            }
            Action::While(path) => {
                if path.exists() {
                    eprintln!("failpoint {name}: while {}", path.display());
                }
                while path.exists() {
                    tokio::time::sleep(POLL).await;
                }
            }
        }
    }
}

/// One failpoint's setting: its action, and how many more times it acts
/// (None: every time).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    pub action: Action,
    pub times: Option<u32>,
}

/// Parses `FERRY_FAILPOINTS`' value: `NAME=[N*]ACTION;...`.
pub fn parse(spec: &str) -> Result<Vec<(String, Setting)>, String> {
    spec.split(';')
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .map(|part| {
            let (name, action) = part
                .split_once('=')
                .ok_or_else(|| format!("{part:?}: expected NAME=ACTION"))?;
            let (times, action) = match action.split_once('*') {
                Some((n, rest)) => (
                    Some(
                        n.trim()
                            .parse::<u32>()
                            .map_err(|_| format!("{part:?}: {n:?} is not a count"))?,
                    ),
                    rest,
                ),
                None => (None, action),
            };
            let argument = |prefix: &str, text: &str| {
                text.strip_prefix(prefix)
                    .and_then(|rest| rest.strip_suffix(')'))
                    .map(str::trim)
                    .filter(|arg| !arg.is_empty())
                    .map(str::to_owned)
            };
            let action = match action.trim() {
                "abort" => Action::Abort,
                other if other.starts_with("until(") => Action::Until(
                    argument("until(", other)
                        .ok_or_else(|| format!("{part:?}: until(PATH)"))?
                        .into(),
                ),
                other if other.starts_with("while(") => Action::While(
                    argument("while(", other)
                        .ok_or_else(|| format!("{part:?}: while(PATH)"))?
                        .into(),
                ),
                other => {
                    let ms = other
                        .strip_prefix("sleep(")
                        .and_then(|rest| rest.strip_suffix(')'))
                        .and_then(|ms| ms.trim().parse::<u64>().ok())
                        .ok_or_else(|| {
                            format!(
                                "{part:?}: the action is abort, sleep(MILLISECONDS), \
                                 until(PATH) or while(PATH)"
                            )
                        })?;
                    Action::Sleep(std::time::Duration::from_millis(ms))
                }
            };
            Ok((name.trim().to_owned(), Setting { action, times }))
        })
        .collect()
}

#[cfg(debug_assertions)]
mod armed {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock, PoisonError};

    use super::{parse, Action, Setting};

    /// The variable a debug build reads its failpoints from.
    const VARIABLE: &str = "FERRY_FAILPOINTS";

    fn settings() -> &'static Mutex<HashMap<String, Setting>> {
        static SETTINGS: OnceLock<Mutex<HashMap<String, Setting>>> = OnceLock::new();
        SETTINGS.get_or_init(|| {
            let spec = std::env::var(VARIABLE).unwrap_or_default();
            let parsed = parse(&spec).unwrap_or_else(|err| {
                eprintln!("{VARIABLE} ignored: {err}");
                Vec::new()
            });
            Mutex::new(parsed.into_iter().collect())
        })
    }

    /// The action for `name` if it is armed, counting the hit.
    pub(super) fn take(name: &str) -> Option<Action> {
        let mut settings = settings().lock().unwrap_or_else(PoisonError::into_inner);
        let setting = settings.get_mut(name)?;
        match &mut setting.times {
            Some(0) => None,
            Some(n) => {
                *n -= 1;
                Some(setting.action.clone())
            }
            None => Some(setting.action.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_spec_names_points_actions_and_counts() {
        assert_eq!(
            parse(" ecs.registered=abort; call.before_send.UpdateService=1*sleep(3000) ;")
                .expect("valid"),
            vec![
                (
                    "ecs.registered".to_owned(),
                    Setting {
                        action: Action::Abort,
                        times: None
                    }
                ),
                (
                    "call.before_send.UpdateService".to_owned(),
                    Setting {
                        action: Action::Sleep(Duration::from_secs(3)),
                        times: Some(1)
                    }
                ),
            ]
        );
        assert_eq!(
            parse("leader.renew=while(/tmp/stall);x=until( /tmp/go )").expect("valid"),
            vec![
                (
                    "leader.renew".to_owned(),
                    Setting {
                        action: Action::While("/tmp/stall".into()),
                        times: None
                    }
                ),
                (
                    "x".to_owned(),
                    Setting {
                        action: Action::Until("/tmp/go".into()),
                        times: None
                    }
                ),
            ]
        );
        assert_eq!(parse("").expect("empty"), vec![]);
        for bad in [
            "nothing",
            "a=explode",
            "a=x*abort",
            "a=sleep(soon)",
            "a=until()",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
