//! Semantic validation and resolution: from a `Manifest` that has the right
//! shape to the `App` Ferry stores, or every reason it cannot be one.

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use regex::Regex;

use crate::diagnostic::{quote, Diagnostic, FieldPath, Pos, Report};
use crate::fargate;
use crate::hints;
use crate::limits::{self, Range, MAX_PROCFILE_BYTES};
use crate::procfile::{self, ProcfileEntry, ProcfileRefused};
use crate::rules;
use crate::size;
use crate::structure::Broken;
use crate::types::{
    App, Command, Domain, DomainEntry, HealthCheck, Manifest, ManifestProcess, Process, Schedule,
    API_VERSION, DEFAULT_CPU, DEFAULT_SCALE, KIND,
};
use crate::yaml::Document;

mod autoscaling;

/// The process a bare domain name routes to.
pub const DEFAULT_DOMAIN_PROCESS: &str = "web";
/// Seconds between health checks when `interval` is unset (the ALB
/// default), used to check `timeout < interval`.
pub const DEFAULT_HEALTH_CHECK_INTERVAL: u32 = 30;
/// Seconds before a health check fails when `timeout` is unset (the ALB
/// default for HTTP target groups), used to check `timeout < interval`.
pub const DEFAULT_HEALTH_CHECK_TIMEOUT: u32 = 5;

/// A problem was found and is already in the report; the value it was
/// about has no resolution.
#[derive(Debug, Clone, Copy)]
struct Reported;

/// Where the parts of a valid manifest are, for checks across files.
#[derive(Debug, Clone)]
pub(crate) struct Anchors {
    pub(crate) name: Pos,
    /// Each resolved domain's position, in `App::domains` order.
    pub(crate) domains: Vec<Pos>,
}

/// Validates `manifest` and resolves it into an [`App`]. Every problem goes
/// into `report`, which may hold the structural pass's problems already;
/// values under a path in `broken` were reported there and are not
/// checked again, nor is anything that depends on them. Warnings (commands
/// that expect a shell) go into `report` too. The app is returned only if
/// `report` holds no error.
pub(crate) fn resolve(
    manifest: &Manifest,
    document: &Document,
    broken: &Broken,
    file: &Path,
    read_procfile: &dyn Fn(&Path) -> io::Result<String>,
    report: &mut Report,
) -> Option<(App, Anchors)> {
    let mut v = Validator {
        document,
        report,
        file,
        broken,
    };
    let spec = &manifest.spec;

    if manifest.api_version != API_VERSION && !v.is_broken("apiVersion") {
        v.error(
            "apiVersion",
            format!(
                "unsupported apiVersion {}; expected `{API_VERSION}`",
                quote(&manifest.api_version)
            ),
        );
    }
    if manifest.kind != KIND && !v.is_broken("kind") {
        v.error(
            "kind",
            format!(
                "unsupported kind {}; expected `{KIND}`",
                quote(&manifest.kind)
            ),
        );
    }
    if !v.is_broken("metadata.name") {
        if let Err(message) = rules::app_name(&manifest.metadata.name) {
            v.error("metadata.name", message);
        }
    }
    if !v.is_broken("spec.image") {
        if let Err(message) = rules::image_reference(&spec.image) {
            v.error("spec.image", message);
        }
    }
    v.check_env_and_secrets(manifest);

    // A broken `procfile` field is as unknown as an unreadable file.
    let procfile_broken = v.is_broken("spec.procfile");
    let procfile = if procfile_broken {
        None
    } else {
        v.load_procfile(spec.procfile.as_deref(), read_procfile)
    };
    let processes = v.resolve_processes(&spec.processes, procfile.as_deref());
    // The Procfile's process names; unknown if it could not be used.
    let from_procfile: Option<BTreeSet<&str>> = match (&spec.procfile, &procfile) {
        _ if procfile_broken => None,
        (Some(_), None) => None,
        (_, entries) => Some(
            entries
                .iter()
                .flatten()
                .map(|entry| entry.name.as_str())
                .collect(),
        ),
    };
    // A Procfile that could not be used may hold processes: only complain
    // about there being none when that is known.
    if spec.processes.is_empty()
        && !v.is_broken("spec.processes")
        && from_procfile.as_ref().is_some_and(BTreeSet::is_empty)
    {
        v.error(
            "spec.processes",
            "the app has no processes; define them under `spec.processes` or in a Procfile \
             named by `spec.procfile`",
        );
    }
    let (domains, domain_positions) = v.resolve_domains(
        &spec.domains,
        &Targets {
            declared: &spec.processes,
            from_procfile,
        },
    );

    let name_pos = v.document.locate(&FieldPath::of("metadata.name"));
    let app = App {
        name: manifest.metadata.name.clone(),
        image: spec.image.clone(),
        env: spec.env.clone(),
        secrets: spec.secrets.clone(),
        domains,
        processes,
    };
    // The processes that resolved are checked even when others did not:
    // an oversized `env` is worth knowing about at once.
    v.check_task_definition_size(&app);
    let procfile_file = spec
        .procfile
        .as_deref()
        .map(|relative| procfile_path(file, relative));
    let procfile_entries = procfile_file.as_deref().zip(procfile.as_deref());
    v.warn_about_shell_syntax(&app, &spec.processes, procfile_entries);
    if v.report.has_errors() {
        return None;
    }
    let anchors = Anchors {
        name: name_pos,
        domains: domain_positions,
    };
    Some((app, anchors))
}

/// Processes whose task definitions are too large because of one part of
/// the manifest.
struct Oversized<'a> {
    /// Each process and its estimate.
    processes: Vec<(&'a str, usize)>,
    /// The part's size in the first of them.
    bytes: usize,
    /// The part, as a message names it.
    part: &'static str,
}

/// The processes a domain may route to. Only the manifest gives ports, so
/// whether a target has one is known even when the Procfile is not.
struct Targets<'a> {
    declared: &'a BTreeMap<String, ManifestProcess>,
    /// The Procfile's process names; `None` if it could not be read.
    from_procfile: Option<BTreeSet<&'a str>>,
}

struct Validator<'a> {
    document: &'a Document,
    report: &'a mut Report,
    file: &'a Path,
    broken: &'a Broken,
}

impl Validator<'_> {
    /// Whether the value at the dotted `path` (or a parent) was reported
    /// by the structural pass.
    fn is_broken(&self, path: &str) -> bool {
        self.broken.at(&FieldPath::of(path))
    }

    /// Reports a problem with the value at `path`.
    fn error(&mut self, path: &str, message: impl Into<String>) {
        self.error_at(&FieldPath::of(path), message);
    }

    fn error_at(&mut self, path: &FieldPath, message: impl Into<String>) {
        let pos = self.document.locate(path);
        self.report.error(pos, path, message);
    }

    /// Reports a problem with the key at `path` (a name, not its value).
    fn key_error_at(&mut self, path: &FieldPath, message: impl Into<String>) {
        let pos = self.document.locate_key(path);
        self.report.error(pos, path, message);
    }

    fn check_env_and_secrets(&mut self, manifest: &Manifest) {
        let spec = &manifest.spec;
        let env = FieldPath::of("spec.env");
        for name in spec.env.keys() {
            if let Err(message) = rules::env_name(name, "env") {
                self.key_error_at(&env.key(name), message);
            }
        }
        let secrets = FieldPath::of("spec.secrets");
        for (name, value) in &spec.secrets {
            let path = secrets.key(name);
            if let Err(message) = rules::env_name(name, "secret") {
                self.key_error_at(&path, message);
            }
            if spec.env.contains_key(name) {
                self.key_error_at(
                    &path,
                    format!(
                        "{} is set in both `env` and `secrets`; a variable can have only \
                         one source, so remove it from one of them",
                        quote(name)
                    ),
                );
            }
            if self.broken.at(&path) {
                continue;
            }
            if let Err(message) = rules::secret_reference(name, value) {
                self.error_at(&path, message);
            }
        }
    }

    /// Reports every process whose task definition could be larger than
    /// ECS takes, at the part of the manifest that makes it largest.
    fn check_task_definition_size(&mut self, app: &App) {
        // Path of the largest part -> the processes it makes too large,
        // with their estimates, and the part's size.
        let mut over: BTreeMap<FieldPath, Oversized<'_>> = BTreeMap::new();
        for name in app.processes.keys() {
            let Some(size) = size::task_definition_size(app, name) else {
                continue;
            };
            if size.total() <= size::MAX_TASK_DEFINITION_BYTES {
                continue;
            }
            let command = FieldPath::of("spec.processes").key(name).key("command");
            let parts = [
                (size.env, FieldPath::of("spec.env"), "`env`"),
                (size.secrets, FieldPath::of("spec.secrets"), "`secrets`"),
                (size.command, command, "the command"),
                (size.image, FieldPath::of("spec.image"), "the image"),
            ];
            let Some((bytes, path, part)) = parts.into_iter().max_by_key(|(bytes, ..)| *bytes)
            else {
                continue;
            };
            over.entry(path)
                .or_insert_with(|| Oversized {
                    processes: Vec::new(),
                    bytes,
                    part,
                })
                .processes
                .push((name.as_str(), size.total()));
        }
        for (
            path,
            Oversized {
                processes,
                bytes,
                part,
            },
        ) in over
        {
            let largest = processes
                .iter()
                .map(|(_, total)| *total)
                .max()
                .unwrap_or_default();
            let names = name_list(processes.iter().map(|(name, _)| *name));
            let whose = if processes.len() == 1 {
                format!("the task definition of process {names}")
            } else {
                format!("the task definitions of processes {names}")
            };
            self.error_at(
                &path,
                format!(
                    "{whose} would be up to {largest} bytes (an upper-bound estimate), over ECS's \
                     limit of {} bytes (64 KiB) per task definition; {part} accounts for {bytes} \
                     bytes of it. Keep large values out of the task definition: store them in SSM \
                     Parameter Store or Secrets Manager and reference them from `secrets`, or \
                     have the app read them at start",
                    size::MAX_TASK_DEFINITION_BYTES
                ),
            );
        }
    }

    /// Warns about commands that use shell syntax (`$PORT`, `${VAR}`)
    /// although they do not run in a shell: ECS passes them to the program
    /// as written, and Heroku-style Procfiles expect a shell to expand them.
    fn warn_about_shell_syntax(
        &mut self,
        app: &App,
        declared: &BTreeMap<String, ManifestProcess>,
        procfile: Option<(&Path, &[ProcfileEntry])>,
    ) {
        static VARIABLE: LazyLock<Regex> = LazyLock::new(|| {
            Regex::new(r"\$(\{[A-Za-z_][A-Za-z0-9_]*|[A-Za-z_][A-Za-z0-9_]*)").expect("valid regex")
        });
        for (name, process) in &app.processes {
            if runs_in_shell(&process.command) {
                continue;
            }
            let Some(variable) = process
                .command
                .iter()
                .find_map(|word| VARIABLE.find(word))
                .map(|m| m.as_str().to_owned())
            else {
                continue;
            };
            let variable = if variable.starts_with("${") {
                format!("{variable}}}")
            } else {
                variable
            };
            let written = declared.get(name).and_then(|p| p.command.as_ref());
            let (file, pos, path, line) = match (written, procfile) {
                (Some(command), _) => {
                    let path = FieldPath::of("spec.processes").key(name).key("command");
                    let line = match command {
                        Command::Line(line) => line.clone(),
                        Command::Argv(argv) => shell_words::join(argv),
                    };
                    (
                        self.file.to_owned(),
                        self.document.locate(&path),
                        path.to_string(),
                        line,
                    )
                }
                (None, Some((procfile, entries))) => {
                    let Some(entry) = entries.iter().find(|entry| &entry.name == name) else {
                        continue;
                    };
                    (
                        procfile.to_owned(),
                        Pos::new(entry.line, entry.command_column),
                        String::new(),
                        entry.command.clone(),
                    )
                }
                (None, None) => continue,
            };
            let suggestion = quote(&format!("sh -c 'exec {}'", line.replace('\'', "'\\''")));
            self.report.warning(Diagnostic::new(
                file,
                pos,
                path,
                format!(
                    "process {} passes {} to the program as written: Ferry runs commands without \
                     a shell, so variables are not expanded; to expand them, run the command \
                     through a shell, e.g. {suggestion}",
                    quote(name),
                    quote(&variable),
                ),
            ));
        }
    }

    /// Reads and parses the Procfile, if the manifest names one. `None`
    /// when there is none or it could not be used (the problem is
    /// reported).
    fn load_procfile(
        &mut self,
        procfile: Option<&str>,
        read_procfile: &dyn Fn(&Path) -> io::Result<String>,
    ) -> Option<Vec<ProcfileEntry>> {
        let relative = procfile?;
        if relative.trim().is_empty() {
            self.error(
                "spec.procfile",
                "the procfile path is empty; give a path relative to this manifest, e.g. \
                 `Procfile`, or remove `procfile`",
            );
            return None;
        }
        let path = procfile_path(self.file, relative);
        let shown = quote(&path.display().to_string());
        let text = match read_procfile(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                self.error(
                    "spec.procfile",
                    format!(
                        "procfile {} not found (looked for {shown}); the path is relative \
                         to the manifest's directory",
                        quote(relative),
                    ),
                );
                return None;
            }
            Err(e) => {
                // A refusal says why itself; other errors are the system's.
                let message = match e
                    .get_ref()
                    .and_then(|inner| inner.downcast_ref::<ProcfileRefused>())
                {
                    Some(refused) => format!("procfile {}: {refused}", quote(relative)),
                    None => format!("cannot read procfile {shown}: {e}"),
                };
                self.error("spec.procfile", message);
                return None;
            }
        };
        if text.len() > MAX_PROCFILE_BYTES {
            self.error(
                "spec.procfile",
                format!(
                    "procfile {} is {} bytes, over the limit of {MAX_PROCFILE_BYTES} bytes; a \
                     Procfile is a few `name: command` lines",
                    quote(relative),
                    text.len()
                ),
            );
            return None;
        }
        let (entries, diagnostics) = procfile::parse_entries(&path, &text);
        if diagnostics.is_empty() {
            Some(entries)
        } else {
            self.report.extend(diagnostics);
            None
        }
    }

    /// The union of the Procfile's and the manifest's processes, the
    /// manifest winning field by field.
    fn resolve_processes(
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

    fn resolve_process(
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
        if let Some(health_check) = written.health_check.as_ref().filter(|_| !scheduled) {
            self.check_health_check(path, health_check, has_port);
        }
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
            health_check: written.health_check.clone(),
            drain_timeout: drain_timeout?,
            health_check_grace_period: grace_period?,
            min_healthy_percent: min_healthy?,
            max_percent: max_percent?,
            stop_timeout: stop_timeout?,
            rollback: written.rollback,
            schedule: schedule?,
            autoscaling: autoscaling?,
        })
    }

    /// A process with `schedule` runs as a task on an EventBridge Scheduler
    /// schedule and has no service: the fields that shape a service
    /// (`scale`, `port` and what goes with them, the deployment settings)
    /// mean nothing there and are refused, at their keys.
    fn resolve_schedule(
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
        let service_fields: [(&str, bool); 9] = [
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

    /// An optional whole number within `range`.
    fn resolve_bounded(
        &mut self,
        path: &FieldPath,
        value: Option<i64>,
        range: Range,
        unit: &str,
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
                    format!("invalid {field} {value}: it must be from {min} to {max} ({unit})"),
                );
                Err(Reported)
            }
        }
    }

    /// A string is split into words like a POSIX shell would, but without
    /// expansion: `$PORT` reaches the program as written. A list is used
    /// verbatim; an empty list means the image's default command.
    fn resolve_command(
        &mut self,
        path: &FieldPath,
        command: &Command,
    ) -> Result<Vec<String>, Reported> {
        match command {
            Command::Argv(argv) => Ok(argv.clone()),
            Command::Line(line) => match shell_words::split(line) {
                Ok(argv) if argv.is_empty() => {
                    self.error_at(
                        path,
                        "the command is empty; remove `command` to use the Procfile's command or \
                         the image's default, or write `command: []` to force the image's default",
                    );
                    Err(Reported)
                }
                Ok(argv) => Ok(argv),
                Err(e) => {
                    self.error_at(
                        path,
                        format!(
                            "cannot split the command into arguments ({e}); a command string is \
                             split into words like a POSIX shell does, with quotes and \
                             backslashes but no expansion; close the quote, or give the \
                             arguments as a list"
                        ),
                    );
                    Err(Reported)
                }
            },
        }
    }

    fn resolve_scale(&mut self, path: &FieldPath, scale: Option<i64>) -> Result<u32, Reported> {
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
    fn resolve_size(
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

    fn resolve_port(
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
    fn resolve_seconds(
        &mut self,
        path: &FieldPath,
        value: Option<i64>,
        range: Range,
        why: &str,
    ) -> Result<Option<u32>, Reported> {
        let Some(value) = value else {
            return Ok(None);
        };
        match range.check(value) {
            Some(seconds) => Ok(Some(seconds)),
            None => {
                let Range { min, max } = range;
                let field = field_name(path);
                self.error_at(
                    path,
                    format!(
                        "invalid {field} {value}: it must be from {min} to {max} seconds ({why})"
                    ),
                );
                Err(Reported)
            }
        }
    }

    fn check_health_check(&mut self, process: &FieldPath, check: &HealthCheck, has_port: bool) {
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

    /// Reports a set value outside `range`; true if unset or valid.
    fn check_range(
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

    fn resolve_domains(
        &mut self,
        entries: &[DomainEntry],
        targets: &Targets<'_>,
    ) -> (Vec<Domain>, Vec<Pos>) {
        let domains_path = FieldPath::of("spec.domains");
        let mut first_seen: BTreeMap<&str, Pos> = BTreeMap::new();
        let mut domains = Vec::new();
        let mut positions = Vec::new();
        for (index, entry) in entries.iter().enumerate() {
            let item = domains_path.index(index);
            if self.broken.at(&item) {
                // Keep the indices of the others.
                domains.push(Domain {
                    name: String::new(),
                    process: String::new(),
                });
                positions.push(self.document.locate(&item));
                continue;
            }
            let (name, process, name_path, process_path) = match entry {
                DomainEntry::Name(name) => (
                    name.as_str(),
                    DEFAULT_DOMAIN_PROCESS,
                    item.clone(),
                    item.clone(),
                ),
                DomainEntry::Routed(routed) => (
                    routed.name.as_str(),
                    routed.process.as_str(),
                    item.key("name"),
                    item.key("process"),
                ),
            };
            let pos = self.document.locate(&name_path);
            if self.broken.at(&name_path) {
                // Reported by the structural pass.
            } else if let Err(message) = rules::domain_name(name) {
                self.error_at(&name_path, message);
            } else if let Some(first) = first_seen.get(name) {
                self.error_at(
                    &name_path,
                    format!(
                        "duplicate domain {} (first listed at {first}); list each domain once",
                        quote(name)
                    ),
                );
            } else {
                first_seen.insert(name, pos);
            }
            if !self.broken.at(&process_path) {
                self.check_domain_target(&process_path, name, process, targets, entry);
            }
            domains.push(Domain {
                name: name.to_owned(),
                process: process.to_owned(),
            });
            positions.push(pos);
        }
        (domains, positions)
    }

    fn check_domain_target(
        &mut self,
        path: &FieldPath,
        domain: &str,
        process: &str,
        targets: &Targets<'_>,
        entry: &DomainEntry,
    ) {
        let domain = quote(domain);
        let shown_process = quote(process);
        let needs_port = format!(
            "domain {domain} routes to process {shown_process}, which has no `port`; set \
             `{}` to the port it listens on",
            FieldPath::of("spec.processes").key(process).key("port")
        );
        let processes = FieldPath::of("spec.processes");
        if self.broken.at(&processes) {
            // Which processes there are is unknown.
            return;
        }
        if let Some(declared) = targets.declared.get(process) {
            // A broken process or port is reported already, and whether it
            // has a port is unknown.
            let process_path = processes.key(process);
            let unknown =
                self.broken.at(&process_path) || self.broken.at(&process_path.key("port"));
            if declared.port.is_none() && !unknown {
                self.error_at(path, needs_port);
            }
            return;
        }
        let Some(from_procfile) = &targets.from_procfile else {
            // The Procfile could not be read, so whether the process exists
            // is unknown; without a manifest entry it has no port either way.
            self.error_at(path, needs_port);
            return;
        };
        if from_procfile.contains(process) {
            self.error_at(path, needs_port);
            return;
        }
        let known: BTreeSet<&str> = targets
            .declared
            .keys()
            .map(String::as_str)
            .chain(from_procfile.iter().copied())
            .collect();
        let known = if known.is_empty() {
            "none".to_owned()
        } else {
            name_list(known)
        };
        let how_to_route = if matches!(entry, DomainEntry::Name(_)) {
            format!(
                "; a domain written as a plain name routes to `{DEFAULT_DOMAIN_PROCESS}`, write \
                 `{{name: <domain>, process: <process>}}` to route it to another process"
            )
        } else {
            String::new()
        };
        self.error_at(
            path,
            format!(
                "domain {domain} routes to process {shown_process}, which does not exist \
                 (processes: {known}){how_to_route}"
            ),
        );
    }
}

/// Most names a message lists.
const MAX_LISTED_NAMES: usize = 10;

/// "a, b, c" of at most [`MAX_LISTED_NAMES`] names, each shortened, then
/// how many more there are.
fn name_list<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    let names: Vec<&str> = names.into_iter().collect();
    let mut listed: Vec<String> = names
        .iter()
        .take(MAX_LISTED_NAMES)
        .map(|name| quote(name))
        .collect();
    if names.len() > MAX_LISTED_NAMES {
        listed.push(format!("and {} more", names.len() - MAX_LISTED_NAMES));
    }
    listed.join(", ")
}

/// `; hint` for a hint, nothing without one.
fn hint_suffix(hint: Option<String>) -> String {
    hint.map(|hint| format!("; {hint}")).unwrap_or_default()
}

/// The last key of `path`, to name the field in a message.
fn field_name(path: &FieldPath) -> String {
    match path.segments().last() {
        Some(crate::diagnostic::Segment::Key(key)) => key.clone(),
        _ => "value".to_owned(),
    }
}

/// The Procfile's path: relative to the manifest's directory.
pub(crate) fn procfile_path(manifest: &Path, relative: &str) -> PathBuf {
    manifest
        .parent()
        .unwrap_or_else(|| Path::new(""))
        .join(relative)
}

/// Whether `argv` runs its command through a shell that expands
/// variables: `sh -c '…'`, `/bin/bash -lc '…'`, `env X=1 sh -c '…'`.
fn runs_in_shell(argv: &[String]) -> bool {
    const SHELLS: &[&str] = &["sh", "bash", "dash", "zsh", "ash", "ksh", "mksh", "fish"];
    let program = |word: &str| word.rsplit('/').next().unwrap_or(word).to_owned();
    let mut words = argv.iter().map(String::as_str).peekable();
    if words.peek().is_some_and(|first| program(first) == "env") {
        words.next();
        while words
            .peek()
            .is_some_and(|word| word.contains('=') || word.starts_with('-'))
        {
            words.next();
        }
    }
    let Some(shell) = words.next() else {
        return false;
    };
    SHELLS.contains(&program(shell).as_str())
        && words.any(|word| word.starts_with('-') && !word.starts_with("--") && word.contains('c'))
}

fn split_procfile_command(entry: &ProcfileEntry) -> Vec<String> {
    // Procfile commands were split successfully when it was parsed.
    shell_words::split(&entry.command).unwrap_or_default()
}
