//! The ranges and patterns single values must meet, in one place.
//!
//! Validation ([`crate::validate`], [`crate::rules`]) enforces them and the
//! JSON Schema carries them (the `#[schemars(...)]` attributes of
//! [`crate::types`] read them), so an editor's
//! schema and `ferry validate` cannot drift apart. Where a rule explains
//! its failures in detail (a DNS label, a domain, a health check path), the
//! explaining function and the pattern here are two writings of one rule;
//! `rules`' agreement tests (`src/pattern_agreement_tests.rs`) hold them to
//! the same verdict, on examples and on generated strings.
//!
//! This module is at the bottom of the crate: it imports none of the
//! others, so that every module can read it.
//!
//! Patterns are written in the regular-expression syntax that the Rust
//! `regex` crate, ECMA-262 (JSON Schema's dialect) and Python's `re` (the
//! `jsonschema` validator of `schema/test_schema.py`) read alike: no
//! lookaround, no named groups, no Unicode classes. Caveat: Python's `$`
//! also matches before a final newline, so a Python-based editor may
//! accept a name with a trailing newline that Ferry refuses.

/// Largest manifest file, in bytes (1 MiB). A manifest is a few hundred
/// lines; the limit is far above any real one and keeps a mistaken
/// argument (a log file, a database dump) or a hostile file from being
/// read into memory and parsed. Files are checked by their size before
/// they are read; a larger file is refused at `file:1:1`.
pub const MAX_MANIFEST_BYTES: usize = 1024 * 1024;

/// Largest Procfile, in bytes (64 KiB): a Procfile is a few `name:
/// command` lines. Checked by the file's size before it is read.
pub const MAX_PROCFILE_BYTES: usize = 64 * 1024;

/// Longest app name. Ferry derives AWS names from it (ECS services
/// `{app}_{process}`, target groups, Route53 records), and the tightest
/// of those limits leaves room for 40 characters.
pub const MAX_APP_NAME_LEN: usize = 40;
/// Longest process name; see [`MAX_APP_NAME_LEN`].
pub const MAX_PROCESS_NAME_LEN: usize = 24;
/// Largest `scale` of one process (and of `autoscaling.max`).
pub const MAX_SCALE: i64 = 1000;
/// Largest `drainTimeout`: the load balancer's limit on a target group's
/// deregistration delay.
pub const MAX_DRAIN_TIMEOUT: u32 = 3600;
/// Largest `healthCheckGracePeriod`. ECS would take more, but while the
/// grace period lasts a task that never becomes healthy is neither replaced
/// nor counted as a failed rollout; half an hour bounds that blind spot.
pub const MAX_HEALTH_CHECK_GRACE_PERIOD: u32 = 1800;
/// Largest `requestsPerTarget`: a million requests a minute to one task is
/// past anything a task serves, so a larger value is a typo.
pub const MAX_REQUESTS_PER_TARGET: u32 = 1_000_000;

/// An inclusive range of integers a field's value must be in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Range {
    pub(crate) min: i64,
    pub(crate) max: i64,
}

impl Range {
    const fn new(min: i64, max: i64) -> Self {
        Self { min, max }
    }

    pub(crate) fn contains(self, value: i64) -> bool {
        (self.min..=self.max).contains(&value)
    }

    /// `value` as a `u32` if it is in range (every range here is within
    /// `u32`).
    pub(crate) fn check(self, value: i64) -> Option<u32> {
        u32::try_from(value).ok().filter(|_| self.contains(value))
    }
}

/// `scale`: tasks of one process.
pub(crate) const SCALE: Range = Range::new(0, MAX_SCALE);
/// `port`: a TCP port.
pub(crate) const PORT: Range = Range::new(1, 65535);
/// `drainTimeout`, seconds: the target group's deregistration delay.
pub(crate) const DRAIN_TIMEOUT: Range = Range::new(0, MAX_DRAIN_TIMEOUT as i64);
/// `healthCheckGracePeriod`, seconds.
pub(crate) const HEALTH_CHECK_GRACE_PERIOD: Range =
    Range::new(0, MAX_HEALTH_CHECK_GRACE_PERIOD as i64);
/// `minHealthyPercent`.
pub(crate) const MIN_HEALTHY_PERCENT: Range = Range::new(0, 100);
/// `maxPercent`.
pub(crate) const MAX_PERCENT: Range = Range::new(100, 200);
/// `stopTimeout`, seconds: Fargate allows 2 to 120.
pub(crate) const STOP_TIMEOUT: Range = Range::new(2, 120);
/// `healthCheck.interval`, seconds (the ALB's limits).
pub(crate) const HEALTH_CHECK_INTERVAL: Range = Range::new(5, 300);
/// `healthCheck.timeout`, seconds (the ALB's limits).
pub(crate) const HEALTH_CHECK_TIMEOUT: Range = Range::new(2, 120);
/// `healthCheck.healthyThreshold` and `unhealthyThreshold`.
pub(crate) const HEALTH_CHECK_THRESHOLD: Range = Range::new(2, 10);
/// `autoscaling.min` and `max`, tasks.
pub(crate) const AUTOSCALING_TASKS: Range = Range::new(0, MAX_SCALE);
/// `autoscaling.cpu` and `memory`: a utilization target, percent.
pub(crate) const UTILIZATION_PERCENT: Range = Range::new(1, 100);
/// `autoscaling.requestsPerTarget`.
pub(crate) const REQUESTS_PER_TARGET: Range = Range::new(1, MAX_REQUESTS_PER_TARGET as i64);
/// `healthCheck.timeout` of a container health check, seconds (ECS's
/// HealthCheck: 2 to 60).
pub(crate) const CONTAINER_HEALTH_CHECK_TIMEOUT: Range = Range::new(2, 60);
/// `healthCheck.retries`: ECS's HealthCheck takes 1 to 10.
pub(crate) const CONTAINER_HEALTH_CHECK_RETRIES: Range = Range::new(1, 10);
/// `healthCheck.startPeriod`, seconds: ECS's HealthCheck takes 0 to 300.
pub(crate) const CONTAINER_HEALTH_CHECK_START_PERIOD: Range = Range::new(0, 300);
/// `ephemeralStorage`, GiB: Fargate's `ephemeralStorage.sizeInGiB` is 21
/// to 200 (20 GiB is what a task gets without it).
pub(crate) const EPHEMERAL_STORAGE: Range = Range::new(21, 200);
/// `capacity.spot`: a capacity provider strategy item's `weight` (ECS
/// takes 0 to 1000; the Spot item needs a weight to be used at all).
pub(crate) const CAPACITY_SPOT_WEIGHT: Range = Range::new(1, 1000);
/// `capacity.onDemand`: a capacity provider strategy item's `base`.
pub(crate) const CAPACITY_ON_DEMAND_BASE: Range = Range::new(0, 100_000);
/// A sidecar's `cpu`, CPU units: a container's share, at most the largest
/// Fargate task's (whether it fits the process's task is checked per
/// process).
pub(crate) const SIDECAR_CPU: Range = Range::new(0, 16_384);
/// A sidecar's `memory`, MiB: ECS's container minimum is 6 MiB; at most
/// the largest Fargate task's 120 GiB.
pub(crate) const SIDECAR_MEMORY: Range = Range::new(6, 122_880);
/// The HTTP codes a health check `matcher` may name (ALB HTTP checks).
pub(crate) const MATCHER_CODE: Range = Range::new(200, 499);

/// A DNS label of at most `max` (at least 2) characters: lowercase
/// letters, digits and '-', starting with a letter and ending with a
/// letter or digit.
fn dns_label(max: usize) -> String {
    format!(
        "^[a-z](?:[a-z0-9-]{{0,{}}}[a-z0-9])?$",
        max.saturating_sub(2)
    )
}

/// `metadata.name`.
pub(crate) fn app_name() -> String {
    dns_label(MAX_APP_NAME_LEN)
}

/// A process name: a key of `processes`, a domain's `process`.
pub(crate) fn process_name() -> String {
    dns_label(MAX_PROCESS_NAME_LEN)
}

/// Longest sidecar name: a DNS label's limit (ECS container names may be
/// longer, but a sidecar is named like a process).
pub const MAX_SIDECAR_NAME_LEN: usize = 63;

/// A key of `sidecars`, and a name in a process's `sidecars`.
pub(crate) fn sidecar_name() -> String {
    dns_label(MAX_SIDECAR_NAME_LEN)
}

/// An IAM role's ARN: `arn:<partition>:iam::<account>:role/<path><name>`,
/// the path `/` or `/a/b/` (printable ASCII, here without its leading `/`)
/// and the name 1 to 64 of `[A-Za-z0-9+=,.@_-]`
/// (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html>).
pub(crate) const ROLE_ARN: &str =
    r"^arn:aws(?:-[a-z]+)*:iam::[0-9]{12}:role/(?:[!-~]+/)?[A-Za-z0-9+=,.@_-]{1,64}$";

/// `platform`'s choices.
pub(crate) const PLATFORMS: [&str; 2] = ["arm64", "x86_64"];
/// `capacity`'s named choices.
pub(crate) const CAPACITY_NAMES: [&str; 2] = ["spot", "on-demand"];
/// A sidecar's `dependsOn` conditions (ECS's ContainerDependency).
pub(crate) const DEPENDENCY_CONDITIONS: [&str; 4] = ["START", "HEALTHY", "COMPLETE", "SUCCESS"];

/// A name in `env` or `secrets`.
pub(crate) const ENV_NAME: &str = r"^[A-Za-z_][A-Za-z0-9_]*$";

/// An SSM parameter's ARN, unanchored.
pub(crate) const SSM_PARAMETER_ARN: &str =
    r"arn:aws(?:-[a-z]+)*:ssm:[a-z]+(?:-[a-z]+)+-[0-9]+:[0-9]{12}:parameter/\S+";
/// A Secrets Manager secret's ARN, unanchored.
pub(crate) const SECRETS_MANAGER_ARN: &str =
    r"arn:aws(?:-[a-z]+)*:secretsmanager:[a-z]+(?:-[a-z]+)+-[0-9]+:[0-9]{12}:secret:\S+";

/// A value in `secrets`: either ARN.
pub(crate) fn secret_reference() -> String {
    format!("^(?:{SSM_PARAMETER_ARN}|{SECRETS_MANAGER_ARN})$")
}

/// Longest domain name.
pub(crate) const MAX_DOMAIN_LEN: usize = 253;
/// Longest label of a domain name.
pub(crate) const MAX_DOMAIN_LABEL_LEN: usize = 63;

/// A domain: at least two labels of 1 to 63 lowercase letters, digits or
/// '-' (not at either end). The length limit is [`MAX_DOMAIN_LEN`].
pub(crate) fn domain() -> String {
    let inner = MAX_DOMAIN_LABEL_LEN - 2;
    let label = format!("[a-z0-9](?:[a-z0-9-]{{0,{inner}}}[a-z0-9])?");
    format!("^{label}(?:\\.{label})+$")
}

/// The distribution/reference grammar
/// (<https://github.com/distribution/reference/blob/main/regexp.go>):
/// `[registry[:port]/]path[:tag][@digest]`. With `capture_name`, the
/// repository (registry included) is the capture group `name`, for the
/// length check the grammar adds (at most 255 characters, which no
/// pattern of this syntax can say, so the schema leaves it to `ferry
/// validate`).
pub(crate) fn image_reference(capture_name: bool) -> String {
    let alphanumeric = r"[a-z0-9]+";
    let separator = r"(?:[._]|__|[-]+)";
    let path_component = format!("{alphanumeric}(?:{separator}{alphanumeric})*");
    let domain_component = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
    let domain_name = format!(r"{domain_component}(?:\.{domain_component})*");
    let port = r"(?::[0-9]+)?";
    // The grammar alone would read `Remind101/acme` as registry
    // `Remind101` plus repository `acme`. Like Docker, take the first
    // component as a registry only if it has a '.' or a port or is
    // `localhost`, so a mistyped repository is reported, not accepted.
    let domain = format!(
        r"(?:localhost{port}|{domain_component}(?:\.{domain_component})+{port}|{domain_name}:[0-9]+|\[[a-fA-F0-9:]+\]{port})"
    );
    let name = format!(r"(?:{domain}/)?{path_component}(?:/{path_component})*");
    let tag = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}";
    let digest = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}";
    let group = if capture_name { "(?P<name>" } else { "(?:" };
    format!(r"^{group}{name})(?::{tag})?(?:@{digest})?$")
}

/// `spec.image` as the JSON Schema carries it: [`image_reference`]
/// without the capture group.
pub(crate) fn image() -> String {
    image_reference(false)
}

/// Longest `healthCheck.path` (the ALB's limit).
pub(crate) const MAX_HEALTH_CHECK_PATH_LEN: usize = 1024;
/// `healthCheck.path`: starts with '/', no whitespace. The length limit is
/// [`MAX_HEALTH_CHECK_PATH_LEN`].
pub(crate) const HEALTH_CHECK_PATH: &str = r"^/\S*$";

/// `healthCheck.matcher`: codes in [`MATCHER_CODE`] (200-499), ranges and
/// comma-separated lists of them. That a range's low end is at most its
/// high end is `ferry validate`'s alone.
pub(crate) const HEALTH_CHECK_MATCHER: &str =
    r"^[2-4][0-9]{2}(?:-[2-4][0-9]{2})?(?:,[2-4][0-9]{2}(?:-[2-4][0-9]{2})?)*$";

/// A value that is not blank: `procfile`, a command string. (Unanchored:
/// it matches any text with a character other than whitespace.)
pub(crate) const NOT_BLANK: &str = r"\S";

/// `schedule`: one of EventBridge Scheduler's three forms. What goes
/// inside the parentheses (six cron fields, a rate's unit, an ISO time) is
/// `ferry validate`'s alone.
pub(crate) const SCHEDULE: &str = r"^(?:rate|cron|at)\(.*\)$";
/// `progressDeadline` when unset: ten minutes, Kubernetes' default
/// `progressDeadlineSeconds`.
pub const DEFAULT_PROGRESS_DEADLINE: u32 = 600;
/// Smallest `progressDeadline`: below it a slow image pull alone would
/// fail a rollout.
pub const MIN_PROGRESS_DEADLINE: u32 = 10;
/// Largest `progressDeadline`: a day.
pub const MAX_PROGRESS_DEADLINE: u32 = 86_400;
/// `progressDeadline`, seconds.
pub(crate) const PROGRESS_DEADLINE: Range =
    Range::new(MIN_PROGRESS_DEADLINE as i64, MAX_PROGRESS_DEADLINE as i64);

/// A duration as [`crate::duration::parse_seconds`] reads it: whole
/// seconds, or hours, minutes and seconds, largest first, each at most
/// once. (No lookahead, which the JSON Schema's and Rust's regexes do not
/// share: the unit forms are spelled out so that none is empty.)
pub(crate) const DURATION: &str =
    r"^(?:[0-9]+|[0-9]+h(?:[0-9]+m)?(?:[0-9]+s)?|[0-9]+m(?:[0-9]+s)?|[0-9]+s)$";

/// `rollout.strategy`'s words, `rolling` first (the default).
pub(crate) const ROLLOUT_STRATEGIES: [&str; 4] = ["rolling", "blueGreen", "canary", "linear"];
/// `rollout.approval`'s words.
pub(crate) const APPROVAL_STAGES: [&str; 2] = ["afterTestTraffic", "beforeProductionTraffic"];
/// `rollout.onApprovalTimeout`'s words, the default first.
pub(crate) const TIMEOUT_ACTIONS: [&str; 2] = ["rollback", "continue"];
/// `rollout.canaryPercent` when unset, tenths of a percent: 5 %.
pub const DEFAULT_CANARY_TENTHS: u32 = 50;
/// `rollout.stepPercent` when unset, tenths of a percent: 10 %.
pub const DEFAULT_LINEAR_STEP_TENTHS: u32 = 100;
/// `rollout.stepBake` of a canary when unset: ECS's default
/// `canaryBakeTimeInMinutes`.
pub const DEFAULT_CANARY_BAKE_MINUTES: u32 = 10;
/// `rollout.stepBake` of a linear rollout when unset: ECS's default
/// `stepBakeTimeInMinutes`.
pub const DEFAULT_LINEAR_BAKE_MINUTES: u32 = 6;
/// `rollout.bake` when unset.
pub const DEFAULT_BAKE_MINUTES: u32 = 5;
/// `rollout.approvalTimeout` when unset: ECS's default for a hook, a day.
pub const DEFAULT_APPROVAL_TIMEOUT_MINUTES: u32 = 1440;
/// `canaryPercent`, tenths of a percent (API_CanaryConfiguration:
/// 0.1-100).
pub(crate) const CANARY_TENTHS: Range = Range::new(1, 1000);
/// `stepPercent`, tenths of a percent (API_LinearConfiguration: 3-100).
pub(crate) const LINEAR_STEP_TENTHS: Range = Range::new(30, 1000);
/// `bake` and `stepBake`, seconds: whole minutes, 0-1440
/// (API_DeploymentConfiguration `bakeTimeInMinutes`,
/// API_CanaryConfiguration / API_LinearConfiguration).
pub(crate) const BAKE: Range = Range::new(0, 86_400);
/// `approvalTimeout`, seconds: whole minutes, 1-1440
/// (API_DeploymentLifecycleHook's `timeoutInMinutes`).
pub(crate) const APPROVAL_TIMEOUT: Range = Range::new(60, 86_400);
/// A CloudWatch alarm name's length (API_PutMetricAlarm `AlarmName`).
pub(crate) const MAX_ALARM_NAME_LEN: usize = 255;
/// A percentage with at most one decimal (tenths), as written.
pub(crate) const TENTHS_PERCENT: &str = r"^[0-9]+(?:\.[0-9])?$";
