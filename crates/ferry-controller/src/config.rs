//! Controller configuration: flags with environment fallbacks.

use std::net::SocketAddr;
use std::time::Duration;

use clap::{Args, CommandFactory, FromArgMatches, Parser, ValueEnum};

use crate::health::HealthArgs;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// ferry-controller: converges ECS to the app specs stored by `ferry apply`.
#[derive(Debug, Clone, Parser)]
#[command(version, about, long_about = None)]
pub struct Config {
    /// DynamoDB table holding specs, releases and status. Also the value of
    /// the `ferry:managed-by` tag, so installations sharing an account keep
    /// to their own resources.
    #[arg(long, env = "FERRY_TABLE", default_value = "ferry")]
    pub table: String,

    /// ECS cluster the apps run in.
    #[arg(long, env = "FERRY_CLUSTER")]
    pub cluster: String,

    /// Subnets for the apps' tasks (comma-separated).
    #[arg(long, env = "FERRY_SUBNETS", value_delimiter = ',', required = true)]
    pub subnets: Vec<String>,

    /// Security groups for the apps' tasks (comma-separated).
    #[arg(
        long,
        env = "FERRY_SECURITY_GROUPS",
        value_delimiter = ',',
        required = true
    )]
    pub security_groups: Vec<String>,

    /// Give tasks a public IP (only for public subnets without a NAT).
    #[arg(long, env = "FERRY_ASSIGN_PUBLIC_IP", default_value_t = false)]
    pub assign_public_ip: bool,

    /// Task execution role: pulls images, reads secrets, writes logs.
    #[arg(long, env = "FERRY_EXECUTION_ROLE_ARN")]
    pub execution_role_arn: Option<String>,

    /// Role EventBridge Scheduler assumes to run scheduled processes' tasks
    /// (ecs:RunTask, iam:PassRole of the execution role). Without it, a
    /// process with `schedule` is reported blocked (NoSchedulerRole).
    #[arg(long, env = "FERRY_SCHEDULER_ROLE_ARN")]
    pub scheduler_role_arn: Option<String>,

    /// SQS queue (ARN) every schedule sends the invocations EventBridge
    /// Scheduler gave up on to; the controller reads it and shows each
    /// failure on its process's status. Without it, failed runs are not
    /// reported (status says so).
    #[arg(long, env = "FERRY_SCHEDULE_DLQ_ARN")]
    pub schedule_dlq_arn: Option<String>,

    /// Where apps' secrets live: each app may name SSM parameters and
    /// Secrets Manager secrets under `<prefix><app>/`, and the shared ones
    /// under `<prefix><shared prefix>`; `ferry apply` refuses others. As
    /// the execution role's policy (environment.yaml's SecretsPrefix).
    #[arg(long, env = "FERRY_SECRETS_PREFIX", default_value = ferry_manifest::DEFAULT_SECRETS_PREFIX)]
    pub secrets_prefix: String,

    /// The secrets every app may name, under the secrets prefix.
    #[arg(long, env = "FERRY_SHARED_SECRETS_PREFIX", default_value = ferry_manifest::DEFAULT_SHARED_SECRETS_PREFIX)]
    pub shared_secrets_prefix: String,

    /// The IAM path of the roles apps may name (`role`, `executionRole`):
    /// the controller's iam:PassRole is scoped to it (ferry.yaml's
    /// AppRolePath), and `ferry apply` refuses a role outside it.
    #[arg(long, env = "FERRY_APP_ROLE_PATH", default_value = ferry_core::DEFAULT_APP_ROLE_PATH)]
    pub app_role_path: String,

    /// A process whose new tasks stop this many times after they ran (an
    /// essential container exited) is reported failing, `TasksStopping`,
    /// whether or not ECS's circuit breaker judges the deployment (1-50).
    #[arg(long, env = "FERRY_CRASH_LOOP_STOPS", default_value_t = ferry_core::DEFAULT_CRASH_LOOP_STOPS,
          value_parser = clap::value_parser!(u32).range(1..=50))]
    pub crash_loop_stops: u32,

    /// The role ECS assumes to shift a load balancer's traffic in a
    /// blue/green, canary or linear deployment (trusted by
    /// ecs.amazonaws.com, with AmazonECSInfrastructureRolePolicyForLoadBalancers;
    /// ferry.yaml creates it). Without it such strategies are refused
    /// (NoInfrastructureRole).
    #[arg(long, env = "FERRY_ECS_INFRASTRUCTURE_ROLE_ARN")]
    pub ecs_infrastructure_role_arn: Option<String>,

    /// CloudWatch Logs group for the apps' containers; no log driver if unset.
    #[arg(long, env = "FERRY_LOG_GROUP")]
    pub log_group: Option<String>,

    /// VPC of the target groups (the ALBs' and the tasks' VPC).
    #[arg(long, env = "FERRY_VPC_ID")]
    pub vpc_id: Option<String>,

    /// Listeners of the internal ALB (comma-separated: HTTP, and HTTPS
    /// where set up). Without one, no process is exposed.
    #[arg(long, env = "FERRY_INTERNAL_LISTENER_ARN", value_delimiter = ',')]
    pub internal_listener_arn: Vec<String>,

    /// Listeners of the internet-facing ALB, for `domains`.
    #[arg(long, env = "FERRY_PUBLIC_LISTENER_ARN", value_delimiter = ',')]
    pub public_listener_arn: Vec<String>,

    /// The internal ALB's test listener: ECS sends a blue/green, canary or
    /// linear deployment's test traffic through it (the same hosts as
    /// production). Without it such strategies are refused on the
    /// internal ALB (NoTestListener).
    #[arg(long, env = "FERRY_INTERNAL_TEST_LISTENER_ARN")]
    pub internal_test_listener_arn: Option<String>,

    /// The internet-facing ALB's test listener, for `domains` of processes
    /// with such strategies.
    #[arg(long, env = "FERRY_PUBLIC_TEST_LISTENER_ARN")]
    pub public_test_listener_arn: Option<String>,

    /// Private hosted zone of the internal domain; its name is the domain.
    #[arg(long, env = "FERRY_INTERNAL_ZONE_ID")]
    pub internal_zone_id: Option<String>,

    /// Public hosted zones in which apps may claim `domains`.
    #[arg(long, env = "FERRY_PUBLIC_ZONE_IDS", value_delimiter = ',')]
    pub public_zone_ids: Vec<String>,

    /// Rules Ferry puts on one load balancer at most (AWS's default quota
    /// is 100). An app that would need more is reported LoadBalancerFull.
    #[arg(long, env = "FERRY_MAX_RULES_PER_LOAD_BALANCER", default_value_t = 100)]
    pub max_rules_per_load_balancer: usize,

    /// How often every app is reconciled even if nothing was applied: the
    /// bound on how long drift from console edits survives.
    #[arg(long, env = "FERRY_RESYNC_INTERVAL", default_value = "30s", value_parser = humantime::parse_duration)]
    pub resync_interval: Duration,

    /// The share of ECS's read bucket (20 reads/s per account) that
    /// steady-state resyncs may use, in (0, 1]. A resync reads 10 services
    /// per call; when that would take more than this share, the resync
    /// interval grows beyond --resync-interval.
    #[arg(long, env = "FERRY_RESYNC_READ_SHARE", default_value_t = 0.1, value_parser = parse_share)]
    pub resync_read_share: f64,

    /// How often the revision counter is read to notice applies (one
    /// DynamoDB read each).
    #[arg(long, env = "FERRY_POLL_INTERVAL", default_value = "1s", value_parser = humantime::parse_duration)]
    pub poll_interval: Duration,

    /// How many apps are reconciled at once.
    #[arg(long, env = "FERRY_CONCURRENCY", default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..))]
    pub concurrency: u16,

    /// Unused task-definition revisions kept per family, newest first,
    /// beyond those a service still runs; older ones Ferry registered are
    /// deregistered after each resync. At least 1.
    #[arg(long, env = "FERRY_KEEP_TASK_DEFINITIONS", default_value_t = 5, value_parser = clap::value_parser!(u16).range(1..))]
    pub keep_task_definitions: u16,

    /// Address of the admin HTTP server: /healthz, /readyz, /metrics.
    #[arg(long, env = "FERRY_ADMIN_ADDR", default_value = "0.0.0.0:9090")]
    pub admin_addr: SocketAddr,

    /// The share of AWS's documented request token buckets (ECS, ELBv2,
    /// Route53) Ferry allows itself, in (0, 1]. The default takes
    /// them in full; lower it when other tools in the account need
    /// headroom. Ferry also slows down by itself whenever AWS throttles it.
    #[arg(long, env = "FERRY_AWS_SHARE", default_value_t = 1.0, value_parser = parse_share)]
    pub aws_share: f64,

    /// Timeout of each attempt of an AWS call.
    #[arg(long, env = "FERRY_AWS_TIMEOUT", default_value = "30s", value_parser = humantime::parse_duration)]
    pub aws_timeout: Duration,

    /// This replica's name: in logs, in the User-Agent of its AWS calls
    /// and, with a random suffix drawn per process, in the leader lease
    /// (two replicas given the same id still never both lead). Default:
    /// host, process id and a random suffix.
    #[arg(long, env = "FERRY_CONTROLLER_ID")]
    pub id: Option<String>,

    /// How long the leader lease stays valid without renewal: how long a
    /// replica waits before taking over from a leader that vanished.
    #[arg(long, env = "FERRY_LEASE_DURATION", default_value = "15s", value_parser = humantime::parse_duration)]
    pub lease_duration: Duration,

    /// How long the leader keeps acting after its last successful renewal.
    /// Shorter than the lease duration, so a deposed leader stops first.
    #[arg(long, env = "FERRY_RENEW_DEADLINE", default_value = "10s", value_parser = humantime::parse_duration)]
    pub renew_deadline: Duration,

    /// How often the leader renews and followers look at the lease.
    #[arg(long, env = "FERRY_RETRY_PERIOD", default_value = "2s", value_parser = humantime::parse_duration)]
    pub retry_period: Duration,

    /// How long SIGTERM waits for reconciles in flight before the lease is
    /// handed back. Keep it below the ECS task's stop timeout (30 s).
    #[arg(long, env = "FERRY_SHUTDOWN_TIMEOUT", default_value = "20s", value_parser = humantime::parse_duration)]
    pub shutdown_timeout: Duration,

    /// Log format; the level comes from RUST_LOG (default `info`).
    #[arg(long, env = "FERRY_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

/// What the command line asks for: run the controller, or probe one.
#[derive(Debug)]
pub enum Invocation {
    Run(Box<Config>),
    Health(HealthArgs),
}

impl Invocation {
    /// Parses the command line (and the environment), exiting with clap's
    /// message on an error. `health` takes only its own flags: the
    /// controller's required settings are not asked for, so a container's
    /// health check needs nothing but the admin address.
    pub fn parse() -> Self {
        let mut matches = command().get_matches();
        let parsed = match matches.remove_subcommand() {
            Some((name, mut sub)) if name == "health" => {
                HealthArgs::from_arg_matches_mut(&mut sub).map(Invocation::Health)
            }
            _ => Config::from_arg_matches_mut(&mut matches).map(|c| Invocation::Run(Box::new(c))),
        };
        parsed.unwrap_or_else(|err| err.format(&mut command()).exit())
    }
}

fn command() -> clap::Command {
    // The about line is HealthArgs' doc comment.
    let health = HealthArgs::augment_args(clap::Command::new("health"));
    Config::command()
        .subcommand(health)
        .subcommand_negates_reqs(true)
        .args_conflicts_with_subcommands(true)
}

fn parse_share(value: &str) -> Result<f64, String> {
    let share: f64 = value
        .parse()
        .map_err(|_| format!("{value:?} is not a number; write e.g. 0.5"))?;
    if share > 0.0 && share <= 1.0 {
        Ok(share)
    } else {
        Err(format!(
            "{share} is outside (0, 1]; write e.g. 0.5 for half of AWS's rates"
        ))
    }
}

impl Config {
    /// The replica name: `--id`, or host, process id and a random suffix
    /// (in a container every process is pid 1, so the suffix is what keeps
    /// a restarted replica apart from its previous life).
    pub fn replica_id(&self) -> String {
        if let Some(id) = &self.id {
            return id.clone();
        }
        let host = std::env::var("HOSTNAME")
            .ok()
            .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
            .map(|h| h.trim().to_owned())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "ferry-controller".to_owned());
        format!("{host}-{}-{:04x}", std::process::id(), fastrand::u16(..))
    }

    pub fn lease_timing(&self) -> crate::leader::LeaseTiming {
        crate::leader::LeaseTiming {
            lease_duration: self.lease_duration,
            renew_deadline: self.renew_deadline,
            retry_period: self.retry_period,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_well_formed() {
        command().debug_assert();
    }

    #[test]
    fn health_needs_none_of_the_controller_settings() {
        let mut matches = command()
            .try_get_matches_from(["ferry-controller", "health", "--admin-addr", "127.0.0.1:9"])
            .unwrap();
        let (name, mut sub) = matches.remove_subcommand().unwrap();
        assert_eq!(name, "health");
        let args = HealthArgs::from_arg_matches_mut(&mut sub).unwrap();
        assert_eq!(args.admin_addr.to_string(), "127.0.0.1:9");
        assert_eq!(args.timeout, Duration::from_secs(2));
    }

    #[test]
    fn health_takes_no_controller_flags() {
        let err = command()
            .try_get_matches_from(["ferry-controller", "--table", "t", "health"])
            .unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::ArgumentConflict);
    }
}
