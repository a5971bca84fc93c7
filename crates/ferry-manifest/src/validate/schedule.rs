//! A scheduled process's `schedule` and `timezone`.

use super::{Reported, Validator};
use crate::diagnostic::{quote, FieldPath};
use crate::types::{ManifestProcess, Schedule};

impl Validator<'_> {
    /// A process with `schedule` runs as a task on an EventBridge Scheduler
    /// schedule and has no service: the fields that shape a service
    /// (`scale`, `port` and what goes with them, the deployment settings)
    /// mean nothing there and are refused, at their keys.
    pub(super) fn resolve_schedule(
        &mut self,
        path: &FieldPath,
        written: &ManifestProcess,
        broken: &dyn Fn(&str) -> bool,
    ) -> Result<Option<Schedule>, Reported> {
        let Some(expression) = &written.schedule else {
            if written.timezone.is_some() {
                self.key_error_at(
                    &path.key("timezone"),
                    format!(
                        "`timezone` is the time zone of a `schedule`, and `{path}` has none; \
                         add `schedule` (e.g. `schedule: \"cron(0 3 * * ? *)\"`) or remove \
                         `timezone`"
                    ),
                );
                return Err(Reported);
            }
            return Ok(None);
        };
        let mut result = Ok(());
        let service_fields: [(&str, bool); 11] = [
            ("scale", written.scale.is_some()),
            ("port", written.port.is_some()),
            ("healthCheck", written.health_check.is_some()),
            ("drainTimeout", written.drain_timeout.is_some()),
            (
                "healthCheckGracePeriod",
                written.health_check_grace_period.is_some(),
            ),
            ("minHealthyPercent", written.min_healthy_percent.is_some()),
            ("maxPercent", written.max_percent.is_some()),
            ("rollback", written.rollback.is_some()),
            ("autoscaling", written.autoscaling.is_some()),
            // No service, so no rollout to give a deadline.
            ("progressDeadline", written.progress_deadline.is_some()),
            ("rollout", written.rollout.is_some()),
        ];
        for (field, set) in service_fields {
            if set {
                self.key_error_at(
                    &path.key(field),
                    format!(
                        "`{field}` cannot be set on a scheduled process: a process with \
                         `schedule` runs one task per scheduled time and has no ECS service; \
                         remove `{field}`, or remove `schedule` to run it as a service"
                    ),
                );
                result = Err(Reported);
            }
        }
        if !broken("schedule") {
            if let Err(why) = crate::schedule::check_expression(expression) {
                self.error_at(
                    &path.key("schedule"),
                    format!(
                        "invalid schedule: {why}; EventBridge Scheduler takes {}",
                        crate::schedule::VALID_FORMS
                    ),
                );
                result = Err(Reported);
            }
        }
        let timezone = match &written.timezone {
            None => crate::schedule::DEFAULT_TIMEZONE.to_owned(),
            Some(zone) if crate::schedule::is_timezone(zone) => zone.clone(),
            Some(zone) => {
                let hint = crate::timezones::IANA
                    .iter()
                    .find(|known| known.eq_ignore_ascii_case(zone))
                    .map(|known| format!(" (did you mean `{known}`?)"))
                    .unwrap_or_default();
                self.error_at(
                    &path.key("timezone"),
                    format!(
                        "unknown time zone {}{hint}: give an IANA time zone name such as \
                         `Europe/Berlin`, `America/New_York` or `UTC` (the default)",
                        quote(zone)
                    ),
                );
                result = Err(Reported);
                String::new()
            }
        };
        result.map(|()| {
            Some(Schedule {
                expression: expression.clone(),
                timezone,
            })
        })
    }
}
