//! A process's load-balancer `healthCheck`.

use super::{Validator, DEFAULT_HEALTH_CHECK_INTERVAL, DEFAULT_HEALTH_CHECK_TIMEOUT};
use crate::diagnostic::FieldPath;
use crate::limits::{self};
use crate::rules;
use crate::types::HealthCheck;

impl Validator<'_> {
    pub(super) fn check_health_check(
        &mut self,
        process: &FieldPath,
        check: &HealthCheck,
        has_port: bool,
    ) {
        let path = process.key("healthCheck");
        if !has_port {
            self.key_error_at(
                &path,
                format!(
                    "a health check needs a `port`: the load balancer only checks processes it \
                     routes to; set `{process}.port` or remove `healthCheck`"
                ),
            );
        }
        if let Some(check_path) = &check.path {
            if let Err(message) = rules::health_check_path(check_path) {
                self.error_at(&path.key("path"), message);
            }
        }
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
            limits::HEALTH_CHECK_TIMEOUT,
            "seconds",
        );
        if interval_ok && timeout_ok && (check.interval.is_some() || check.timeout.is_some()) {
            let interval = check.interval.unwrap_or(DEFAULT_HEALTH_CHECK_INTERVAL);
            let timeout = check.timeout.unwrap_or(DEFAULT_HEALTH_CHECK_TIMEOUT);
            if timeout >= interval {
                // Point at the field that was written; unset ones are ALB
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
}
