//! Each process: its name, scale, Fargate size, port, deployment and
//! load-balancer settings, with the range checks they share.

use std::collections::{BTreeMap, BTreeSet};

use super::commands::split_procfile_command;
use super::{field_name, hint_suffix, Reported, Validator};
use crate::diagnostic::FieldPath;
use crate::fargate;
use crate::hints;
use crate::limits::{self, Range};
use crate::procfile::ProcfileEntry;
use crate::rules;
use crate::types::{ManifestProcess, Process, DEFAULT_CPU, DEFAULT_SCALE};

impl Validator<'_> {
    /// The union of the Procfile's and the manifest's processes, the
    /// manifest winning field by field.
    pub(super) fn resolve_processes(
        &mut self,
        declared: &BTreeMap<String, ManifestProcess>,
        procfile: Option<&[ProcfileEntry]>,
    ) -> BTreeMap<String, Process> {
        let from_procfile: BTreeMap<&str, &ProcfileEntry> = procfile
            .unwrap_or_default()
            .iter()
            .map(|entry| (entry.name.as_str(), entry))
            .collect();
        let names: BTreeSet<&str> = declared
            .keys()
            .map(String::as_str)
            .chain(from_procfile.keys().copied())
            .collect();
        let processes_path = FieldPath::of("spec.processes");
        let mut resolved = BTreeMap::new();
        for name in names {
            let path = processes_path.key(name);
            let written = declared.get(name);
            if written.is_some() {
                // Procfile names were checked when the Procfile was parsed.
                if let Err(message) = rules::process_name(name) {
                    self.key_error_at(&path, message);
                }
            }
            if self.broken.at(&path) {
                // Not a mapping: reported, and nothing in it to check.
                continue;
            }
            let default = ManifestProcess::default();
            let process = self.resolve_process(
                &path,
                written.unwrap_or(&default),
                from_procfile.get(name).copied(),
            );
            if let Ok(process) = process {
                resolved.insert(name.to_owned(), process);
            }
        }
        resolved
    }

    pub(super) fn resolve_process(
        &mut self,
        path: &FieldPath,
        written: &ManifestProcess,
        procfile: Option<&ProcfileEntry>,
    ) -> Result<Process, Reported> {
        // Resolve every field before giving up, so each one's problems are
        // reported.
        // A broken field was reported by the structural pass; the checks
        // that need its value are skipped, and the process does not
        // resolve.
        let broken_paths = self.broken;
        let broken = |field: &str| broken_paths.at(&path.key(field));
        let port_broken = broken("port");
        let has_port = written.port.is_some() || port_broken;
        let command = match (&written.command, procfile) {
            _ if broken("command") => Err(Reported),
            (Some(command), _) => self.resolve_command(&path.key("command"), command),
            (None, Some(entry)) => Ok(split_procfile_command(entry)),
            (None, None) => Ok(Vec::new()),
        };
        let scale = self.resolve_scale(&path.key("scale"), written.scale);
        let size = if broken("cpu") || broken("memory") {
            Err(Reported)
        } else {
            self.resolve_size(path, written.cpu, written.memory)
        };
        let port = self.resolve_port(&path.key("port"), written.port);
        // A scheduled process refuses the service's fields by themselves
        // (resolve_schedule); what they need of a port is beside the point.
        let scheduled = written.schedule.is_some();
        let health_check = match written.health_check.as_ref().filter(|_| !scheduled) {
            Some(check) => self.resolve_health_check(path, check, has_port),
            None => Ok(Default::default()),
        };
        let drain_timeout = self.resolve_seconds(
            &path.key("drainTimeout"),
            written.drain_timeout,
            limits::DRAIN_TIMEOUT,
            "the load balancer's limit on a target group's deregistration delay",
        );
        let grace_period = self.resolve_seconds(
            &path.key("healthCheckGracePeriod"),
            written.health_check_grace_period,
            limits::HEALTH_CHECK_GRACE_PERIOD,
            "a longer grace period would let a task that never becomes healthy run unreplaced, \
             and hide a failed rollout, for that long",
        );
        if !has_port && !scheduled {
            if written.drain_timeout.is_some() {
                self.key_error_at(
                    &path.key("drainTimeout"),
                    format!(
                        "a drain timeout needs a `port`: only processes behind the load balancer \
                         have requests in flight to wait for; set `{path}.port` or remove \
                         `drainTimeout`"
                    ),
                );
            }
            if written.health_check_grace_period.is_some() {
                self.key_error_at(
                    &path.key("healthCheckGracePeriod"),
                    format!(
                        "a health check grace period needs a `port`: ECS applies it to the load \
                         balancer's health checks, and only processes it routes to have them; \
                         set `{path}.port` or remove `healthCheckGracePeriod`"
                    ),
                );
            }
        }
        let min_healthy = self.resolve_bounded(
            &path.key("minHealthyPercent"),
            written.min_healthy_percent,
            limits::MIN_HEALTHY_PERCENT,
            "percent of the desired count",
        );
        let max_percent = self.resolve_bounded(
            &path.key("maxPercent"),
            written.max_percent,
            limits::MAX_PERCENT,
            "percent of the desired count",
        );
        let percents_broken = broken("minHealthyPercent") || broken("maxPercent");
        if let (Ok(Some(100)) | Ok(None), Ok(Some(100)), false) =
            (&min_healthy, &max_percent, percents_broken || scheduled)
        {
            self.error_at(
                &path.key("maxPercent"),
                "with minHealthyPercent 100 (the default) and maxPercent 100, ECS can neither \
                 start a new task nor stop an old one, so no deployment could progress; raise \
                 maxPercent or lower minHealthyPercent"
                    .to_owned(),
            );
        }
        let stop_timeout = self.resolve_bounded(
            &path.key("stopTimeout"),
            written.stop_timeout,
            limits::STOP_TIMEOUT,
            "seconds; Fargate allows at most 120",
        );
        let schedule = self.resolve_schedule(path, written, &broken);
        let autoscaling = self.resolve_autoscaling(path, written.autoscaling.as_ref(), has_port);
        let platform = self.resolve_platform(&path.key("platform"), written.platform.as_ref());
        let capacity = self.resolve_capacity(path, written.capacity.as_ref(), scheduled);
        let ephemeral_storage = self.resolve_bounded(
            &path.key("ephemeralStorage"),
            written.ephemeral_storage,
            limits::EPHEMERAL_STORAGE,
            "GiB; Fargate's task storage, 20 GiB without it",
        );
        let progress_deadline = self.resolve_duration(
            &path.key("progressDeadline"),
            written.progress_deadline.as_deref(),
            limits::PROGRESS_DEADLINE,
        );
        let rollout = if scheduled {
            // Refused with the other service fields (resolve_schedule).
            Ok(None)
        } else {
            self.resolve_rollout(path, written.rollout.as_ref(), has_port)
        };
        let health_check = health_check?;
        let any_broken = broken_paths.within(path);
        let (cpu, memory) = size?;
        if any_broken {
            return Err(Reported);
        }
        Ok(Process {
            command: command?,
            scale: scale?,
            cpu,
            memory,
            port: port?,
            health_check: health_check.load_balancer,
            drain_timeout: drain_timeout?,
            health_check_grace_period: grace_period?,
            min_healthy_percent: min_healthy?,
            max_percent: max_percent?,
            stop_timeout: stop_timeout?,
            rollback: written.rollback,
            schedule: schedule?,
            autoscaling: autoscaling?,
            // Which sidecars run beside it is decided with the app's
            // (`assign_sidecars`).
            sidecars: Vec::new(),
            platform: platform?,
            capacity: capacity?,
            ephemeral_storage: ephemeral_storage?,
            container_health_check: health_check.container,
            progress_deadline: progress_deadline?,
            rollout: rollout?,
        })
    }

    /// An optional whole number within `range`; `unit` is what the message
    /// says after the range, in parentheses.
    pub(super) fn resolve_bounded(
        &mut self,
        path: &FieldPath,
        value: Option<i64>,
        range: Range,
        unit: &str,
    ) -> Result<Option<u32>, Reported> {
        self.resolve_in_range(path, value, range, &format!("({unit})"))
    }

    /// An optional whole number within `range`, or an error whose message
    /// ends with `after_range`.
    fn resolve_in_range(
        &mut self,
        path: &FieldPath,
        value: Option<i64>,
        range: Range,
        after_range: &str,
    ) -> Result<Option<u32>, Reported> {
        let Some(value) = value else {
            return Ok(None);
        };
        match range.check(value) {
            Some(n) => Ok(Some(n)),
            None => {
                let Range { min, max } = range;
                let field = field_name(path);
                self.error_at(
                    path,
                    format!(
                        "invalid {field} {value}: it must be from {min} to {max} {after_range}"
                    ),
                );
                Err(Reported)
            }
        }
    }

    pub(super) fn resolve_scale(
        &mut self,
        path: &FieldPath,
        scale: Option<i64>,
    ) -> Result<u32, Reported> {
        let Some(scale) = scale else {
            return Ok(DEFAULT_SCALE);
        };
        match limits::SCALE.check(scale) {
            Some(scale) => Ok(scale),
            None => {
                let Range { min, max } = limits::SCALE;
                self.error_at(
                    path,
                    format!("invalid scale {scale}: it must be an integer from {min} to {max}"),
                );
                Err(Reported)
            }
        }
    }

    /// Fills in CPU and memory: the cheapest valid Fargate size that has
    /// what was asked for.
    pub(super) fn resolve_size(
        &mut self,
        path: &FieldPath,
        cpu: Option<u32>,
        memory: Option<u32>,
    ) -> Result<(u32, u32), Reported> {
        let cpu_path = path.key("cpu");
        let memory_path = path.key("memory");
        let cpu = match (cpu, memory) {
            (Some(cpu), _) => cpu,
            (None, None) => DEFAULT_CPU,
            (None, Some(memory)) => match fargate::smallest_cpu_for_memory(memory) {
                Some(cpu) => cpu,
                None => {
                    self.error_at(
                        &memory_path,
                        format!(
                            "invalid memory {memory} MiB: Fargate has no size with this memory; \
                             valid values are {}{}",
                            fargate::describe_all_memory(),
                            hint_suffix(hints::memory_as_gib(memory)),
                        ),
                    );
                    return Err(Reported);
                }
            },
        };
        let Some(smallest_memory) = fargate::smallest_memory_for_cpu(cpu) else {
            self.error_at(
                &cpu_path,
                format!(
                    "invalid cpu {cpu}: Fargate CPU units are {}{}",
                    fargate::describe_cpu_values(),
                    hint_suffix(hints::cpu_as_vcpus(cpu)),
                ),
            );
            return Err(Reported);
        };
        let memory = memory.unwrap_or(smallest_memory);
        if !fargate::is_valid(cpu, memory) {
            self.error_at(
                &memory_path,
                format!(
                    "invalid memory {memory} MiB for cpu {cpu}: with {cpu} CPU units Fargate \
                     allows {} MiB{}",
                    fargate::describe_memory_for_cpu(cpu),
                    hint_suffix(hints::memory_as_gib(memory)),
                ),
            );
            return Err(Reported);
        }
        Ok((cpu, memory))
    }

    pub(super) fn resolve_port(
        &mut self,
        path: &FieldPath,
        port: Option<i64>,
    ) -> Result<Option<u16>, Reported> {
        let Some(port) = port else {
            return Ok(None);
        };
        match limits::PORT
            .check(port)
            .and_then(|port| u16::try_from(port).ok())
        {
            Some(port) => Ok(Some(port)),
            None => {
                let Range { min, max } = limits::PORT;
                self.error_at(
                    path,
                    format!("invalid port {port}: it must be from {min} to {max}"),
                );
                Err(Reported)
            }
        }
    }

    /// A duration in whole seconds within `range`; `why` says where the
    /// limit comes from.
    pub(super) fn resolve_seconds(
        &mut self,
        path: &FieldPath,
        value: Option<i64>,
        range: Range,
        why: &str,
    ) -> Result<Option<u32>, Reported> {
        self.resolve_in_range(path, value, range, &format!("seconds ({why})"))
    }

    /// An optional duration ([`crate::duration`]) within `range`, in
    /// seconds; the message says how to write one and the bounds.
    pub(super) fn resolve_duration(
        &mut self,
        path: &FieldPath,
        value: Option<&str>,
        range: Range,
    ) -> Result<Option<u32>, Reported> {
        let Some(text) = value else {
            return Ok(None);
        };
        let field = field_name(path);
        let Range { min, max } = range;
        let seconds = crate::duration::parse_seconds(text);
        match seconds
            .and_then(|s| i64::try_from(s).ok())
            .and_then(|s| range.check(s))
        {
            Some(seconds) => Ok(Some(seconds)),
            None => {
                let quoted = crate::diagnostic::quote(text);
                let message = if seconds.is_some() {
                    format!("invalid {field} {quoted}: it must be from {min}s to {max}s")
                } else {
                    format!(
                        "invalid {field} {quoted}: write {}, from {min}s to {max}s",
                        crate::duration::DURATION_FORMS
                    )
                };
                self.error_at(path, message);
                Err(Reported)
            }
        }
    }

    /// Reports a set value outside `range`; true if unset or valid.
    pub(super) fn check_range(
        &mut self,
        path: &FieldPath,
        value: Option<u32>,
        range: Range,
        unit: &str,
    ) -> bool {
        match value {
            Some(value) if !range.contains(i64::from(value)) => {
                let Range { min, max } = range;
                let field = field_name(path);
                self.error_at(
                    path,
                    format!("invalid {field} {value}: it must be from {min} to {max} {unit}"),
                );
                false
            }
            _ => true,
        }
    }
}
