//! A process's `healthCheck`: the load balancer's for a process with a
//! `port`, the container's for one without. One field has one meaning:
//! the fields of the other kind of check are refused, at their keys.

use super::{Reported, Validator, DEFAULT_HEALTH_CHECK_INTERVAL, DEFAULT_HEALTH_CHECK_TIMEOUT};
use crate::diagnostic::FieldPath;
use crate::limits::{self, Range};
use crate::rules;
use crate::types::{Command, ContainerHealthCheck, HealthCheck, ManifestHealthCheck};

/// ECS's default seconds between container health checks, used to check
/// `timeout < interval`
/// (<https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_HealthCheck.html>).
const DEFAULT_CONTAINER_INTERVAL: u32 = 30;

/// The resolved check: the load balancer's or the container's.
#[derive(Debug, Default)]
pub(super) struct ResolvedHealthCheck {
    pub(super) load_balancer: Option<HealthCheck>,
    pub(super) container: Option<ContainerHealthCheck>,
}

impl Validator<'_> {
    /// Checks and resolves `check`: the load balancer's with a port, the
    /// container's without.
    pub(super) fn resolve_health_check(
        &mut self,
        process: &FieldPath,
        check: &ManifestHealthCheck,
        has_port: bool,
    ) -> Result<ResolvedHealthCheck, Reported> {
        let path = process.key("healthCheck");
        let errors_before = self.report.error_count();
        let resolved = if has_port {
            self.refuse_fields(
                &path,
                &[
                    ("command", check.command.is_some()),
                    ("retries", check.retries.is_some()),
                    ("startPeriod", check.start_period.is_some()),
                ],
                "belongs to a container health check, for a process without a `port`; the load \
                 balancer checks this process over HTTP at `path`",
            );
            self.check_load_balancer_fields(&path, check);
            ResolvedHealthCheck {
                load_balancer: Some(HealthCheck {
                    path: check.path.clone(),
                    interval: check.interval,
                    timeout: check.timeout,
                    healthy_threshold: check.healthy_threshold,
                    unhealthy_threshold: check.unhealthy_threshold,
                    matcher: check.matcher.clone(),
                }),
                container: None,
            }
        } else {
            ResolvedHealthCheck {
                load_balancer: None,
                container: self.resolve_container_check(process, &path, check),
            }
        };
        if self.report.error_count() > errors_before {
            return Err(Reported);
        }
        Ok(resolved)
    }

    /// Reports each set field of `fields` at its key: it `belongs` elsewhere.
    fn refuse_fields(&mut self, path: &FieldPath, fields: &[(&str, bool)], belongs: &str) {
        for (field, set) in fields {
            if *set {
                self.key_error_at(
                    &path.key(field),
                    format!("`{field}` {belongs}; remove `{field}`"),
                );
            }
        }
    }

    /// A container health check
    /// ([HealthCheck](https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_HealthCheck.html)):
    /// a command, interval 5-300, timeout 2-60, retries 1-10, start period
    /// 0-300.
    fn resolve_container_check(
        &mut self,
        process: &FieldPath,
        path: &FieldPath,
        check: &ManifestHealthCheck,
    ) -> Option<ContainerHealthCheck> {
        if check.command.is_none() && !self.broken.at(&path.key("command")) {
            // Without either, which check was meant is unknown: one error
            // says both ways, rather than refusing each field.
            self.key_error_at(
                path,
                format!(
                    "a health check needs a `port` (the load balancer's check over HTTP) or a \
                     `command` (the container's own check, for a process without a port); set \
                     `{process}.port`, or add `command` (e.g. `command: curl -f \
                     http://localhost/health || exit 1`, run in the container's shell)"
                ),
            );
            return None;
        }
        self.refuse_fields(
            path,
            &[
                ("path", check.path.is_some()),
                ("matcher", check.matcher.is_some()),
                ("healthyThreshold", check.healthy_threshold.is_some()),
                ("unhealthyThreshold", check.unhealthy_threshold.is_some()),
            ],
            &format!(
                "belongs to the load balancer's health check, and only processes with a `port` \
                 have one; set `{process}.port`, or check the container with `command`"
            ),
        );
        self.check_interval_and_timeout(
            path,
            check,
            limits::CONTAINER_HEALTH_CHECK_TIMEOUT,
            DEFAULT_CONTAINER_INTERVAL,
        );
        self.check_range(
            &path.key("retries"),
            check.retries,
            limits::CONTAINER_HEALTH_CHECK_RETRIES,
            "consecutive failures",
        );
        self.check_range(
            &path.key("startPeriod"),
            check.start_period,
            limits::CONTAINER_HEALTH_CHECK_START_PERIOD,
            "seconds",
        );
        let command = check
            .command
            .as_ref()
            .filter(|_| !self.broken.at(&path.key("command")))?;
        let Some(command) = container_check_command(command) else {
            self.error_at(
                &path.key("command"),
                "a health check command cannot be empty: give a command line (run in the \
                 container's shell) or a list of arguments (run directly)",
            );
            return None;
        };
        Some(ContainerHealthCheck {
            command,
            interval: check.interval,
            timeout: check.timeout,
            retries: check.retries,
            start_period: check.start_period,
        })
    }

    fn check_load_balancer_fields(&mut self, path: &FieldPath, check: &ManifestHealthCheck) {
        if let Some(check_path) = &check.path {
            if let Err(message) = rules::health_check_path(check_path) {
                self.error_at(&path.key("path"), message);
            }
        }
        self.check_interval_and_timeout(
            path,
            check,
            limits::HEALTH_CHECK_TIMEOUT,
            DEFAULT_HEALTH_CHECK_INTERVAL,
        );
        self.check_range(
            &path.key("healthyThreshold"),
            check.healthy_threshold,
            limits::HEALTH_CHECK_THRESHOLD,
            "consecutive checks",
        );
        self.check_range(
            &path.key("unhealthyThreshold"),
            check.unhealthy_threshold,
            limits::HEALTH_CHECK_THRESHOLD,
            "consecutive checks",
        );
        if let Some(matcher) = &check.matcher {
            if let Err(message) = rules::health_check_matcher(matcher) {
                self.error_at(&path.key("matcher"), message);
            }
        }
    }

    /// `interval` and `timeout` in range, and a timeout below the interval
    /// (`default_interval` where unset) so a check ends before the next.
    fn check_interval_and_timeout(
        &mut self,
        path: &FieldPath,
        check: &ManifestHealthCheck,
        timeout_range: Range,
        default_interval: u32,
    ) {
        // A broken interval or timeout is unknown, not the default.
        let known = !self.broken.at(&path.key("interval")) && !self.broken.at(&path.key("timeout"));
        let interval_ok = self.check_range(
            &path.key("interval"),
            check.interval,
            limits::HEALTH_CHECK_INTERVAL,
            "seconds",
        ) && known;
        let timeout_ok = self.check_range(
            &path.key("timeout"),
            check.timeout,
            timeout_range,
            "seconds",
        );
        if interval_ok && timeout_ok && (check.interval.is_some() || check.timeout.is_some()) {
            let interval = check.interval.unwrap_or(default_interval);
            let timeout = check.timeout.unwrap_or(DEFAULT_HEALTH_CHECK_TIMEOUT);
            if timeout >= interval {
                // Point at the field that was written; unset ones are
                // defaults.
                let blame = if check.timeout.is_some() {
                    "timeout"
                } else {
                    "interval"
                };
                let default = |set: Option<u32>| if set.is_some() { "" } else { ", the default" };
                self.error_at(
                    &path.key(blame),
                    format!(
                        "the timeout ({timeout}s{}) must be less than the interval \
                         ({interval}s{}), so that a check ends before the next one starts",
                        default(check.timeout),
                        default(check.interval),
                    ),
                );
            }
        }
    }
}

/// ECS's form of a health check command: `["CMD-SHELL", line]` for a
/// line, `["CMD", args...]` for a list; `None` if it is empty.
fn container_check_command(command: &Command) -> Option<Vec<String>> {
    match command {
        Command::Line(line) if !line.trim().is_empty() => {
            Some(vec!["CMD-SHELL".to_owned(), line.clone()])
        }
        Command::Argv(args) if !args.is_empty() => Some(
            std::iter::once("CMD".to_owned())
                .chain(args.iter().cloned())
                .collect(),
        ),
        _ => None,
    }
}
