//! Validation of a process's `autoscaling`: its bounds, its targets, and
//! that a request-count target has a load balancer to count at.

use super::{Reported, Validator};
use crate::diagnostic::FieldPath;
use crate::limits;
use crate::types::{Autoscaling, ManifestAutoscaling};

impl Validator<'_> {
    /// Resolves `autoscaling` of the process at `path`. `has_port` is
    /// whether the process has (or was given, however broken) a port.
    pub(super) fn resolve_autoscaling(
        &mut self,
        path: &FieldPath,
        written: Option<&ManifestAutoscaling>,
        has_port: bool,
    ) -> Result<Option<Autoscaling>, Reported> {
        let Some(written) = written else {
            return Ok(None);
        };
        let path = path.key("autoscaling");
        if self.broken.at(&path) {
            return Err(Reported);
        }
        let broken = |field: &str| self.broken.at(&path.key(field));
        let (min_broken, max_broken) = (broken("min"), broken("max"));
        let bound = "tasks";
        let min = if min_broken {
            Err(Reported)
        } else {
            self.resolve_bounded(
                &path.key("min"),
                Some(written.min),
                limits::AUTOSCALING_TASKS,
                bound,
            )
        };
        let max = if max_broken {
            Err(Reported)
        } else {
            self.resolve_bounded(
                &path.key("max"),
                Some(written.max),
                limits::AUTOSCALING_TASKS,
                bound,
            )
        };
        // Problems that no single field's resolution reports.
        let mut failed = false;
        if let (Ok(Some(min)), Ok(Some(max))) = (&min, &max) {
            if min > max {
                failed = true;
                self.error_at(
                    &path.key("max"),
                    format!(
                        "invalid autoscaling range: max {max} is below min {min}; the autoscaler \
                         keeps the count from min to max, so max must be at least {min}"
                    ),
                );
            }
        }
        let percent = |metric: &str| {
            format!("percent: the average {metric} utilization the autoscaler keeps the service at")
        };
        let cpu = self.resolve_bounded(
            &path.key("cpu"),
            written.cpu,
            limits::UTILIZATION_PERCENT,
            &percent("CPU"),
        );
        let memory = self.resolve_bounded(
            &path.key("memory"),
            written.memory,
            limits::UTILIZATION_PERCENT,
            &percent("memory"),
        );
        let requests = self.resolve_bounded(
            &path.key("requestsPerTarget"),
            written.requests_per_target,
            limits::REQUESTS_PER_TARGET,
            "load balancer requests per task per minute",
        );
        if written.requests_per_target.is_some() && !has_port {
            failed = true;
            self.key_error_at(
                &path.key("requestsPerTarget"),
                format!(
                    "requestsPerTarget needs a `port`: the autoscaler counts the requests the \
                     load balancer sends to the process's target group, and only a process with \
                     a port has one; set `{}.port`, or track `cpu` or `memory` instead",
                    parent(&path)
                ),
            );
        }
        let metrics_broken = broken("cpu") || broken("memory") || broken("requestsPerTarget");
        if written.cpu.is_none()
            && written.memory.is_none()
            && written.requests_per_target.is_none()
            && !metrics_broken
        {
            failed = true;
            self.error_at(
                &path,
                "autoscaling needs at least one target to track: set `cpu` or `memory` (average \
                 utilization, percent), or `requestsPerTarget` (for a process with a port)",
            );
        }
        let (Some(min), Some(max)) = (min?, max?) else {
            return Err(Reported);
        };
        if failed || metrics_broken {
            return Err(Reported);
        }
        Ok(Some(Autoscaling {
            min,
            max,
            cpu: cpu?,
            memory: memory?,
            requests_per_target: requests?,
        }))
    }
}

/// `spec.processes.web` for `spec.processes.web.autoscaling`.
fn parent(path: &FieldPath) -> String {
    let text = path.to_string();
    text.rsplit_once('.')
        .map_or(text.clone(), |(parent, _)| parent.to_owned())
}
