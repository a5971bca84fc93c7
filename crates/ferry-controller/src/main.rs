//! `ferry-controller`: converges ECS to the app specs in DynamoDB.

mod adapters;
mod admin;
mod config;
mod controller;
mod error;
mod flag;
mod health;
mod leader;
mod metrics;
mod queue;
mod read_share;
mod reconciler;
mod runner;
mod term;
mod term_state;

use std::io::IsTerminal;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use anyhow::Context;
use tokio::sync::watch;
use tracing::info;

use crate::config::{Config, Invocation, LogFormat};

#[tokio::main]
async fn main() {
    let config = match Invocation::parse() {
        Invocation::Run(config) => *config,
        Invocation::Health(args) => match health::check(args.admin_addr, args.timeout).await {
            Ok(()) => return,
            Err(reason) => {
                eprintln!("ferry-controller health: {reason}");
                std::process::exit(1);
            }
        },
    };
    init_tracing(config.log_format);
    if let Err(err) = run(config).await {
        // One line on stderr, as the contract says; the chain keeps context.
        eprintln!("ferry-controller: {err:#}");
        std::process::exit(1);
    }
}

fn init_tracing(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}

async fn run(config: Config) -> anyhow::Result<()> {
    let timing = config.lease_timing();
    timing.validate().map_err(anyhow::Error::msg)?;
    let metrics = metrics::Metrics::new().context("registering metrics")?;
    let id = config.replica_id();
    // The replica id travels in every request's User-Agent (`app/<id>`),
    // so AWS-side logs (CloudTrail's userAgent) tell replicas apart.
    let mut sdk = aws_config::from_env();
    if let Some(name) = app_name(&id) {
        sdk = sdk.app_name(name);
    }
    let sdk = sdk.load().await;
    let region = sdk
        .region()
        .map(ToString::to_string)
        .context("no AWS region configured: set AWS_REGION")?;
    let caller = ferry_aws::Caller::new(
        Arc::new(ferry_aws::Pacing::with_share(config.aws_share)),
        metrics.aws.clone(),
        config.aws_timeout,
    );
    let store = ferry_store::Store::new(
        aws_sdk_dynamodb::Client::new(&sdk),
        caller.clone(),
        &config.table,
    );
    store.check_table().await?;
    // ECS, ELBv2, Route53 and Scheduler calls are retried by the Caller,
    // which paces each attempt; DynamoDB keeps the SDK's retries. Their
    // writes go out only while the elector holds the gate open, checked by
    // the Caller and, after signing, by the SDK interceptor (the store's
    // writes are fenced by the lease's token instead).
    let paced = ferry_aws::paced_sdk_config(&sdk);
    let leading = ferry_call::WriteGate::closed();
    let caller = caller.gated(leading.clone());
    // One ECS client (clones share it) for the services' cache and the
    // scheduled runs' reads.
    let ecs_client = aws_sdk_ecs::Client::from_conf(
        aws_sdk_ecs::config::Builder::from(&paced)
            .interceptor(leading.interceptor())
            .build(),
    );
    let ecs =
        ferry_aws::Ecs::new(ecs_client.clone(), caller.clone(), &config.cluster).with_autoscaling(
            ferry_aws::Autoscaling::from_config(&paced, caller.clone(), &leading),
        );
    ecs.check_cluster().await?;
    let scheduler = ferry_aws::Scheduler::new(
        aws_sdk_scheduler::Client::from_conf(
            aws_sdk_scheduler::config::Builder::from(&paced)
                .interceptor(leading.interceptor())
                .build(),
        ),
        caller.clone(),
        &config.table,
    )
    .with_runs(ferry_aws::ScheduledRuns::new(
        ecs_client,
        caller.clone(),
        &config.cluster,
        &config.table,
    ));
    let scheduler = match &config.schedule_dlq_arn {
        Some(arn) => {
            let dead_letters = ferry_aws::DeadLetters::new(
                aws_sdk_sqs::Client::from_conf(
                    aws_sdk_sqs::config::Builder::from(&paced)
                        .interceptor(leading.interceptor())
                        .build(),
                ),
                caller.clone(),
                arn,
                scheduler.group(),
            );
            dead_letters
                .connect()
                .await
                .context("looking up the schedules' dead-letter queue (--schedule-dlq-arn)")?;
            scheduler.with_dead_letters(dead_letters)
        }
        None => {
            info!("no --schedule-dlq-arn: failed scheduled runs are not reported");
            scheduler
        }
    };
    // The stopped tasks' last lines, read from the apps' log group.
    let logs = config.log_group.as_ref().map(|group| {
        ferry_aws::Logs::new(
            aws_sdk_cloudwatchlogs::Client::from_conf(
                aws_sdk_cloudwatchlogs::config::Builder::from(&paced).build(),
            ),
            caller.clone(),
            group,
        )
    });
    // The alarms Ferry owns (`alarms: default`), through the same paced
    // SDK configuration (AWS_ENDPOINT_URL reaches the local AWS too).
    let alarms = ferry_aws::Alarms::new(
        aws_sdk_cloudwatch::Client::from_conf(
            aws_sdk_cloudwatch::config::Builder::from(&paced).build(),
        ),
        caller.clone(),
        config.table.clone(),
    );
    let traffic = if config.internal_listener_arn.is_empty() {
        info!("no internal listener configured: processes are not exposed");
        None
    } else {
        let vpc_id = config
            .vpc_id
            .clone()
            .context("--vpc-id (FERRY_VPC_ID) is required with load balancer listeners")?;
        let traffic = ferry_aws::Traffic::discover(
            aws_sdk_elasticloadbalancingv2::Client::from_conf(
                aws_sdk_elasticloadbalancingv2::config::Builder::from(&paced)
                    .interceptor(leading.interceptor())
                    .build(),
            ),
            aws_sdk_route53::Client::from_conf(
                aws_sdk_route53::config::Builder::from(&paced)
                    .interceptor(leading.interceptor())
                    .build(),
            ),
            caller,
            &config.table,
            &ferry_aws::TrafficConfig {
                vpc_id,
                internal_listeners: config.internal_listener_arn.clone(),
                public_listeners: config.public_listener_arn.clone(),
                internal_test_listener: config.internal_test_listener_arn.clone(),
                public_test_listener: config.public_test_listener_arn.clone(),
                internal_zone_id: config.internal_zone_id.clone(),
                public_zone_ids: config.public_zone_ids.clone(),
                max_rules: config.max_rules_per_load_balancer,
            },
        )
        .await
        .context("reading the configured load balancers and hosted zones")?;
        Some(traffic)
    };

    let settings = ferry_core::Settings {
        cluster: config.cluster.clone(),
        subnets: config.subnets.clone(),
        security_groups: config.security_groups.clone(),
        assign_public_ip: config.assign_public_ip,
        execution_role_arn: config.execution_role_arn.clone(),
        log_group: config.log_group.clone(),
        region,
        owner: config.table.clone(),
        traffic: traffic
            .as_ref()
            .map(|t| t.settings().clone())
            .unwrap_or_default(),
        scheduler_role_arn: config.scheduler_role_arn.clone(),
        schedule_dlq_arn: config.schedule_dlq_arn.clone(),
        secrets: ferry_manifest::SecretScope {
            prefix: config.secrets_prefix.clone(),
            shared: config.shared_secrets_prefix.clone(),
        },
        app_role_path: config.app_role_path.clone(),
        crash_loop_stops: config.crash_loop_stops,
        infrastructure_role_arn: config.ecs_infrastructure_role_arn.clone(),
    };
    settings.secrets.validate().map_err(anyhow::Error::msg)?;
    if settings.scheduler_role_arn.is_none() {
        info!("no --scheduler-role-arn: scheduled processes are reported blocked");
    }

    let listener = tokio::net::TcpListener::bind(config.admin_addr)
        .await
        .with_context(|| format!("binding the admin address {}", config.admin_addr))?;
    info!(admin = %listener.local_addr()?, table = %config.table, cluster = %config.cluster, id = %id, "ferry-controller starting");

    let ready = Arc::new(AtomicBool::new(false));
    let admin_state = admin::AdminState {
        metrics: metrics.clone(),
        ready: Arc::clone(&ready),
    };
    let (stop_admin, admin_stopped) = watch::channel(false);
    let admin = tokio::spawn(admin::serve(listener, admin_state, async move {
        let mut stopped = admin_stopped;
        let _ = stopped.wait_for(|stop| *stop).await;
    }));

    let (stop, stopped) = watch::channel(false);
    tokio::spawn(async move {
        shutdown_signal().await;
        info!("shutdown requested");
        let _ = stop.send(true);
    });

    let elector = leader::Elector::new(Arc::new(store.clone()), id, timing)
        .with_gauge(metrics.leader_election_master_status.clone())
        .with_gate(leading);
    let role = elector.subscribe();
    let (resign, resigned) = watch::channel(false);
    let election = tokio::spawn(elector.run(resigned));

    let controller = controller::Controller {
        store: store.clone(),
        reconciler: Arc::new(
            reconciler::Reconciler::new(
                ferry_aws::Aws::new(ecs, settings.clone())
                    .with_traffic(traffic)
                    .with_schedules(Some(scheduler))
                    .with_logs(logs)
                    .with_alarms(Some(alarms)),
                store,
                settings,
                metrics.clone(),
            )
            .keeping_task_definitions(usize::from(config.keep_task_definitions)),
        ),
        metrics,
        ready,
        settings: controller::LoopSettings {
            poll_interval: config.poll_interval,
            resync_interval: config.resync_interval,
            resync_read_share: config.resync_read_share,
            concurrency: usize::from(config.concurrency),
            shutdown_timeout: config.shutdown_timeout,
        },
    };
    controller.run(role, stopped).await;
    // Only now that nothing acts any more may the lease go to a successor.
    let _ = resign.send(true);
    election.await.context("leader election task")?;
    let _ = stop_admin.send(true);
    admin.await.context("admin server task")??;
    info!("stopped");
    Ok(())
}

/// `id` as an SDK app name: only the characters the SDK allows, at most 50.
fn app_name(id: &str) -> Option<aws_config::AppName> {
    let cleaned: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c) {
                c
            } else {
                '-'
            }
        })
        .take(50)
        .collect();
    aws_config::AppName::new(cleaned).ok()
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
