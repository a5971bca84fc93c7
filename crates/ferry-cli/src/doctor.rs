//! `ferry doctor`: checks an installation with the caller's own
//! permissions, one line per check, and says what to do about each
//! problem. It only reads.
//!
//! A check the caller may not make (AccessDenied) is reported as such and
//! is not a failure: a deployer's policy need not cover everything an
//! operator's does.

use std::fmt;

use aws_sdk_ecs as ecs;
use serde::Serialize;
use time::OffsetDateTime;

use ferry_store::{Leadership, Store, TableFacts};

use crate::human;
use crate::layout::{Layout, Tone};
use crate::Output;

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Ok,
    /// Works, but not as production wants it.
    Warn,
    /// Ferry cannot work until this is fixed.
    Fail,
    /// Not checked: the caller may not, or an earlier check failed.
    Skip,
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            State::Ok => "ok",
            State::Warn => "warn",
            State::Fail => "FAIL",
            State::Skip => "skip",
        })
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub check: &'static str,
    pub state: State,
    pub detail: String,
}

fn check(check: &'static str, state: State, detail: impl Into<String>) -> Check {
    Check {
        check,
        state,
        detail: detail.into(),
    }
}

/// Whether AWS refused the call for the caller's permissions.
fn denied(err: &ferry_aws::Error) -> bool {
    err.code().is_some_and(|code| {
        matches!(
            code,
            "AccessDenied" | "AccessDeniedException" | "UnauthorizedOperation"
        )
    })
}

fn failed(name: &'static str, err: &ferry_aws::Error) -> Check {
    if denied(err) {
        check(name, State::Skip, format!("not permitted: {err}"))
    } else {
        check(name, State::Fail, err.to_string())
    }
}

/// Runs every check and prints them; exits 1 when one failed.
pub async fn run(table: &str, output: Output) -> anyhow::Result<i32> {
    let sdk = crate::sdk_config().await?;
    let store = Store::new(aws_sdk_dynamodb::Client::new(&sdk), crate::caller(), table);
    let region = sdk.region().map(ToString::to_string).unwrap_or_default();
    let mut checks = vec![caller_check(&sdk, &region).await];

    match store.describe_table().await {
        Ok(None) => checks.push(check(
            "table",
            State::Fail,
            format!("{table} does not exist in {region}: create it with deploy/cloudformation/ferry.yaml or `ferry init`"),
        )),
        Ok(Some(facts)) => table_checks(table, &region, &facts, &mut checks),
        Err(ferry_store::Error::Aws(err)) => checks.push(failed("table", &err)),
        Err(err) => checks.push(check("table", State::Fail, err.to_string())),
    }
    let table_usable = checks.iter().all(|c| c.state != State::Fail);

    let settings = if table_usable {
        leader_check(&store, &mut checks).await;
        match store.controller_settings().await {
            Ok(Some(settings)) => {
                let state = if settings.region == region {
                    State::Ok
                } else {
                    State::Warn
                };
                let mut detail = format!(
                    "cluster {}, region {}, {} subnet(s), {} security group(s), owner tag {}",
                    settings.cluster,
                    settings.region,
                    settings.subnets.len(),
                    settings.security_groups.len(),
                    settings.owner
                );
                if state == State::Warn {
                    detail.push_str(&format!(
                        "; this CLI is configured for {region}: set AWS_REGION={}",
                        settings.region
                    ));
                }
                checks.push(check("settings", state, detail));
                Some(settings)
            }
            Ok(None) => {
                checks.push(check(
                    "settings",
                    State::Fail,
                    "no controller has published its settings: start one (docs/operating.md)",
                ));
                None
            }
            Err(err) => {
                checks.push(check("settings", State::Fail, err.to_string()));
                None
            }
        }
    } else {
        None
    };

    match settings {
        Some(settings) => environment_checks(&sdk, table, &settings, &mut checks).await,
        None => {
            for name in ["cluster", "traffic"] {
                checks.push(check(
                    name,
                    State::Skip,
                    "needs the settings a controller publishes",
                ));
            }
        }
    }

    print(&checks, output)?;
    Ok(i32::from(checks.iter().any(|c| c.state == State::Fail)))
}

/// Who the caller is, in which account: STS answers any caller with
/// credentials, whatever its policies.
async fn caller_check(sdk: &aws_config::SdkConfig, region: &str) -> Check {
    let identity = crate::caller()
        .call(
            "sts",
            "GetCallerIdentity",
            ferry_aws::pacing::Bucket::Unpaced,
            "caller",
            || aws_sdk_sts::Client::new(sdk).get_caller_identity().send(),
        )
        .await;
    match identity {
        Ok(who) => check(
            "caller",
            State::Ok,
            format!(
                "{} in account {}, region {region}",
                who.arn().unwrap_or("?"),
                who.account().unwrap_or("?")
            ),
        ),
        Err(err) => check("caller", State::Fail, err.to_string()),
    }
}

fn table_checks(table: &str, region: &str, facts: &TableFacts, checks: &mut Vec<Check>) {
    if !facts.has_ferry_schema() {
        checks.push(check(
            "table",
            State::Fail,
            format!(
                "{table} in {region} is not a Ferry table: its key is {}",
                facts.key_description()
            ),
        ));
        return;
    }
    let state = if facts.status == "ACTIVE" {
        State::Ok
    } else {
        State::Warn
    };
    checks.push(check(
        "table",
        state,
        format!(
            "{table} in {region}: {}, {}, {}",
            facts.status,
            facts.key_description(),
            if facts.billing_mode == "PAY_PER_REQUEST" {
                "on-demand"
            } else {
                "provisioned capacity"
            }
        ),
    ));
    checks.push(match facts.point_in_time_recovery {
        Some(true) => check("backups", State::Ok, "point-in-time recovery is on"),
        Some(false) => check(
            "backups",
            State::Warn,
            "point-in-time recovery is off: without it a lost spec cannot be restored (docs/operating.md)",
        ),
        None => check(
            "backups",
            State::Skip,
            "not permitted to read point-in-time recovery (dynamodb:DescribeContinuousBackups)",
        ),
    });
    checks.push(if facts.deletion_protection {
        check("protection", State::Ok, "deletion protection is on")
    } else {
        check(
            "protection",
            State::Warn,
            "deletion protection is off: the table, with every spec and release, can be deleted by mistake",
        )
    });
}

async fn leader_check(store: &Store, checks: &mut Vec<Check>) {
    let lease = match store.read_lease().await {
        Ok(lease) => lease,
        Err(err) => {
            checks.push(check("leader", State::Fail, err.to_string()));
            return;
        }
    };
    let now = OffsetDateTime::now_utc();
    let Some(lease) = lease else {
        checks.push(check(
            "leader",
            State::Fail,
            human::leadership(&Leadership::Never),
        ));
        return;
    };
    match lease.leadership(now) {
        Leadership::Leading { holder } => {
            let ago = |at: &str| human::since(at, now);
            let since = ago(&lease.acquired_at)
                .map(|a| format!(", leading for {a}"))
                .unwrap_or_default();
            let renewed = ago(&lease.renewed_at)
                .map(|a| format!(", renewed {a} ago"))
                .unwrap_or_default();
            checks.push(check(
                "leader",
                State::Ok,
                format!("{holder} leads (term {}{since}{renewed})", lease.token),
            ));
        }
        lapsed => checks.push(check("leader", State::Fail, human::leadership(&lapsed))),
    }
}

/// The cluster, listeners and zones the leader published still exist.
async fn environment_checks(
    sdk: &aws_config::SdkConfig,
    owner: &str,
    settings: &ferry_core::Settings,
    checks: &mut Vec<Check>,
) {
    let paced = ferry_aws::paced_sdk_config(sdk);
    let cluster = ferry_aws::Ecs::new(ecs::Client::new(&paced), crate::caller(), &settings.cluster);
    checks.push(match cluster.check_cluster().await {
        Ok(()) => check(
            "cluster",
            State::Ok,
            format!("{} is ACTIVE", settings.cluster),
        ),
        Err(err) => failed("cluster", &err),
    });

    let traffic = &settings.traffic;
    let listeners = |edge: &Option<ferry_core::traffic::Edge>| {
        edge.as_ref()
            .map(|e| e.listener_arns.clone())
            .unwrap_or_default()
    };
    let config = ferry_aws::TrafficConfig {
        vpc_id: traffic.vpc_id.clone(),
        internal_listeners: listeners(&traffic.internal),
        public_listeners: listeners(&traffic.public),
        internal_test_listener: traffic
            .internal
            .as_ref()
            .and_then(|e| e.test_listener_arn.clone()),
        public_test_listener: traffic
            .public
            .as_ref()
            .and_then(|e| e.test_listener_arn.clone()),
        internal_zone_id: traffic.internal_zone.as_ref().map(|z| z.id.clone()),
        public_zone_ids: traffic.public_zones.iter().map(|z| z.id.clone()).collect(),
        max_rules: traffic.max_rules,
    };
    if config.internal_listeners.is_empty() {
        checks.push(check(
            "traffic",
            State::Ok,
            "no load balancers configured: processes are not exposed",
        ));
        return;
    }
    // The same resolution the controller makes at start-up: every
    // listener, its load balancer, and every zone, read again.
    let found = ferry_aws::Traffic::discover(
        aws_sdk_elasticloadbalancingv2::Client::new(&paced),
        aws_sdk_route53::Client::new(&paced),
        crate::caller(),
        owner,
        &config,
    )
    .await;
    checks.push(match found {
        Ok(found) => {
            let found = found.settings();
            let edge = |name: &str, edge: &Option<ferry_core::traffic::Edge>| {
                edge.as_ref().map(|e| {
                    format!(
                        "{name}: {} listener(s) on {}",
                        e.listener_arns.len(),
                        e.dns_name
                    )
                })
            };
            let zones: Vec<&str> = found
                .internal_zone
                .iter()
                .chain(&found.public_zones)
                .map(|z| z.name.as_str())
                .collect();
            let mut parts: Vec<String> = [
                edge("internal", &found.internal),
                edge("public", &found.public),
            ]
            .into_iter()
            .flatten()
            .collect();
            if !zones.is_empty() {
                parts.push(format!("zones {}", zones.join(", ")));
            }
            check("traffic", State::Ok, parts.join("; "))
        }
        Err(err) => failed("traffic", &err),
    });
}

fn print(checks: &[Check], output: Output) -> anyhow::Result<()> {
    match output.structured() {
        Some(format) => println!("{}", format.document(checks)?),
        None => {
            let layout = Layout::stdout();
            let mut table = layout.table(&[]);
            for c in checks {
                let tone = match c.state {
                    State::Ok => Tone::Good,
                    State::Warn => Tone::Pending,
                    State::Fail => Tone::Bad,
                    State::Skip => Tone::Plain,
                };
                table.add_row(vec![
                    layout.cell(c.check, Tone::Plain),
                    layout.cell(c.state.to_string(), tone),
                    layout.cell(c.detail.clone(), Tone::Plain),
                ]);
            }
            println!("{table}");
        }
    }
    Ok(())
}
