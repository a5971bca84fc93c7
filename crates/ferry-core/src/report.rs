//! Status, derived from what a reconcile saw and did: the pure function
//! behind the status part of [`crate::decide`].

use std::collections::{BTreeMap, BTreeSet};

use time::OffsetDateTime;

use crate::observed::{DeploymentStatus, EcsRolloutState, Observed, ServiceEvent};
use crate::plan::Plan;
use crate::render::DesiredProcess;
use crate::rollout::{self, RolloutState};
use crate::status::{
    rfc3339, AppStatus, Condition, ConditionStatus, LastError, ProcessStatus, RolloutFailure,
    ScalingStatus, DEGRADED, MAX_EVENTS, PROGRESSING, READY,
};

/// Everything status is derived from.
pub struct StatusInput<'a> {
    pub app: &'a str,
    pub generation: u64,
    pub desired: &'a [DesiredProcess],
    /// How many scheduled processes the app has (they have no service, and
    /// their schedules' status is derived apart): counted in `Ready`'s
    /// message.
    pub scheduled: usize,
    /// State observed before the plan ran.
    pub observed: &'a Observed,
    pub plan: &'a Plan,
    /// Set when executing the plan failed.
    pub error: Option<LastError>,
    /// The status written before, if any: keeps transition times, events
    /// and the observed generation when this reconcile fails.
    pub previous: Option<&'a AppStatus>,
    /// Drift this reconcile undid (see [`drift`]), one line per action.
    pub corrections: &'a [String],
    /// URLs per process, as rendered.
    pub endpoints: &'a BTreeMap<String, Vec<String>>,
    pub now: OffsetDateTime,
}

/// Whether a plan for `generation` undoes changes made outside Ferry: the
/// previous status says the whole plan for this very generation already ran
/// with nothing in the way, so anything left to do was done by someone else
/// (a console edit, a deleted service). An app being deleted never drifts.
pub fn drift(previous: Option<&AppStatus>, generation: u64, plan: &Plan, deleting: bool) -> bool {
    let Some(previous) = previous else {
        return false;
    };
    !deleting
        && !plan.actions.is_empty()
        && previous.observed_generation == generation
        && previous
            .condition(DEGRADED)
            .is_none_or(|c| c.status != ConditionStatus::True)
}

/// Derives status. `observedGeneration` advances only when the whole plan
/// ran without error; `Ready` needs that plus a plan with nothing to do.
pub fn derive(input: StatusInput<'_>) -> AppStatus {
    let now = rfc3339(input.now);
    let acted = input.error.is_none();
    let observed_generation = if acted {
        input.generation
    } else {
        input.previous.map_or(0, |p| p.observed_generation)
    };

    let rollouts = rollout::assess(
        input.generation,
        input.desired,
        input.observed,
        input.previous,
    );
    let processes: BTreeMap<String, ProcessStatus> = input
        .desired
        .iter()
        .map(|process| {
            let service = input.observed.services.get(&process.service.name);
            let rollout = rollouts.get(&process.process);
            let (state, reason) = match rollout.map(|r| &r.state) {
                Some(RolloutState::Completed) => ("COMPLETED", None),
                Some(RolloutState::Failed { reason }) => ("FAILED", Some(reason.clone())),
                Some(RolloutState::InProgress) | None => ("IN_PROGRESS", None),
            };
            let desired = input.observed.settled_count(process);
            (
                process.process.clone(),
                ProcessStatus {
                    desired,
                    autoscaling: process.autoscaling.as_ref().map(|a| ScalingStatus {
                        min: a.min,
                        max: a.max,
                        current: desired,
                    }),
                    running: service.map_or(0, |s| s.running_count),
                    pending: service.map_or(0, |s| s.pending_count),
                    task_definition: service.map(|s| s.task_definition_arn.clone()),
                    rollout: service.map(|_| state.to_owned()),
                    rollout_reason: reason,
                    new_task_definition: rollout.and_then(|r| r.primary.clone()),
                    old_task_definitions: rollout.map(|r| r.old.clone()).unwrap_or_default(),
                    failed_tasks: rollout.map_or(0, |r| r.failed_tasks),
                    endpoints: input
                        .endpoints
                        .get(&process.process)
                        .cloned()
                        .unwrap_or_default(),
                },
            )
        })
        .collect();
    let failure = rollouts
        .iter()
        .find_map(|(process, r)| match &r.state {
            RolloutState::Failed { reason } => Some(RolloutFailure {
                generation: input.generation,
                process: process.clone(),
                task_definition: r.wanted.clone().unwrap_or_default(),
                reason: reason.clone(),
                events: r.events.clone(),
            }),
            _ => None,
        })
        .map(|fresh| {
            // Keep the first record of a failure: its events explain it.
            input
                .previous
                .and_then(|p| p.failure.clone())
                .filter(|f| f.generation == fresh.generation && f.process == fresh.process)
                .unwrap_or(fresh)
        });
    let all_completed = rollouts
        .values()
        .all(|r| r.state == RolloutState::Completed);

    let (ready, progressing, degraded) =
        conditions(&input, observed_generation, failure.as_ref(), all_completed);
    let previous = input
        .previous
        .map(|p| p.conditions.as_slice())
        .unwrap_or(&[]);
    let conditions: Vec<Condition> = [ready, progressing, degraded]
        .into_iter()
        .map(|(type_, status, reason, message)| {
            let last_transition_time = previous
                .iter()
                .find(|c| c.type_ == type_ && c.status == status)
                .map_or_else(|| now.clone(), |c| c.last_transition_time.clone());
            Condition {
                type_: type_.to_owned(),
                status,
                reason,
                message,
                last_transition_time,
            }
        })
        .collect();

    let ready_now = conditions
        .iter()
        .any(|c: &Condition| c.type_ == READY && c.status == ConditionStatus::True);
    AppStatus {
        name: input.app.to_owned(),
        generation: input.generation,
        observed_generation,
        release: input.generation,
        conditions,
        processes,
        endpoints: {
            let mut all: Vec<String> = Vec::new();
            for url in input.endpoints.values().flatten() {
                if !all.contains(url) {
                    all.push(url.clone());
                }
            }
            all
        },
        events: newest_events(&input, &now),
        // Cleared by the first reconcile that succeeds.
        last_error: input.error.clone(),
        last_reconciled: now,
        succeeded: if ready_now {
            Some(input.generation)
        } else {
            input.previous.and_then(|p| p.succeeded)
        },
        failure,
        // Filled by the decision, which knows the desired schedules.
        schedules: BTreeMap::new(),
    }
}

type ConditionParts = (&'static str, ConditionStatus, String, String);

fn conditions(
    input: &StatusInput<'_>,
    observed_generation: u64,
    failure: Option<&RolloutFailure>,
    all_completed: bool,
) -> (ConditionParts, ConditionParts, ConditionParts) {
    let changes = input.plan.actions.len();
    let in_progress: Vec<&str> = input
        .desired
        .iter()
        .filter(|p| {
            input
                .observed
                .services
                .get(&p.service.name)
                .and_then(|s| {
                    s.deployments
                        .iter()
                        .find(|d| d.status == DeploymentStatus::Primary)
                })
                .and_then(|d| d.rollout_state)
                == Some(EcsRolloutState::InProgress)
        })
        .map(|p| p.process.as_str())
        .collect();

    let degraded = if let Some(error) = &input.error {
        (
            DEGRADED,
            ConditionStatus::True,
            "ReconcileError".to_owned(),
            format!("{}: {}", error.operation, error.message),
        )
    } else if let Some(failure) = failure {
        let events = if failure.events.is_empty() {
            String::new()
        } else {
            format!(" ECS events: {}", failure.events.join(" | "))
        };
        (
            DEGRADED,
            ConditionStatus::True,
            "RolloutFailed".to_owned(),
            format!(
                "process {}: the rollout of {} failed: {}; Ferry will not retry this generation, apply a new one or roll back.{events}",
                failure.process, failure.task_definition, failure.reason
            ),
        )
    } else if let Some(blocker) = input.plan.blockers.first() {
        let all: Vec<String> = input
            .plan
            .blockers
            .iter()
            .map(|b| format!("{}: {}", b.process, b.message))
            .collect();
        (
            DEGRADED,
            ConditionStatus::True,
            blocker.reason.to_string(),
            all.join("; "),
        )
    } else {
        (
            DEGRADED,
            ConditionStatus::False,
            "AsExpected".to_owned(),
            String::new(),
        )
    };

    let progressing = if let Some(failure) = failure {
        (
            PROGRESSING,
            ConditionStatus::False,
            "RolloutFailed".to_owned(),
            format!("the rollout of process {} failed", failure.process),
        )
    } else if changes > 0 && input.error.is_none() {
        let touched: BTreeSet<&str> = input.plan.actions.iter().map(|a| a.target()).collect();
        (
            PROGRESSING,
            ConditionStatus::True,
            "Converging".to_owned(),
            format!(
                "applied {changes} change(s) to {}",
                touched.into_iter().collect::<Vec<_>>().join(", ")
            ),
        )
    } else if !in_progress.is_empty() || !all_completed {
        (
            PROGRESSING,
            ConditionStatus::True,
            "RolloutInProgress".to_owned(),
            format!(
                "ECS rollout in progress for {}",
                if in_progress.is_empty() {
                    "the app".to_owned()
                } else {
                    in_progress.join(", ")
                }
            ),
        )
    } else {
        (
            PROGRESSING,
            ConditionStatus::False,
            "AsExpected".to_owned(),
            String::new(),
        )
    };

    let ready = if observed_generation < input.generation {
        let (reason, message) = crate::status::not_observed(input.generation, observed_generation);
        (READY, ConditionStatus::False, reason, message)
    } else if input.error.is_some() || !input.plan.blockers.is_empty() || failure.is_some() {
        (
            READY,
            ConditionStatus::False,
            "Degraded".to_owned(),
            "see the Degraded condition".to_owned(),
        )
    } else if changes > 0 {
        (
            READY,
            ConditionStatus::False,
            "Converging".to_owned(),
            format!("{changes} change(s) applied, waiting to observe them"),
        )
    } else if !all_completed {
        (
            READY,
            ConditionStatus::False,
            "RolloutInProgress".to_owned(),
            format!(
                "waiting for the rollout of {}",
                if in_progress.is_empty() {
                    "every process".to_owned()
                } else {
                    in_progress.join(", ")
                }
            ),
        )
    } else {
        (
            READY,
            ConditionStatus::True,
            "Converged".to_owned(),
            format!(
                "all {} process(es) match the spec",
                input.desired.len() + input.scheduled
            ),
        )
    };
    (ready, progressing, degraded)
}

/// ECS's service events merged with Ferry's own (drift it corrected) and
/// those reported before, newest first, one per message.
fn newest_events(input: &StatusInput<'_>, now: &str) -> Vec<ServiceEvent> {
    let corrections = input
        .corrections
        .iter()
        .enumerate()
        .map(|(i, message)| ServiceEvent {
            id: format!("ferry-{now}-{i}"),
            created_at: now.to_owned(),
            message: format!("(ferry) corrected drift: {message}"),
        });
    let mut events: Vec<ServiceEvent> = corrections
        .chain(
            input
                .observed
                .services
                .values()
                .flat_map(|s| s.events.iter().cloned()),
        )
        .chain(
            input
                .previous
                .into_iter()
                .flat_map(|p| p.events.iter().cloned()),
        )
        .collect();
    // RFC 3339 in one offset sorts as text; the sort is stable, so among
    // equal times this reconcile's corrections stay first.
    events.sort_by(|a, b| b.created_at.cmp(&a.created_at));
    let mut seen = BTreeSet::new();
    events.retain(|e| seen.insert(e.message.clone()));
    events.truncate(MAX_EVENTS);
    events
}

#[cfg(test)]
pub(crate) mod tests {
    use proptest::strategy::{Strategy, ValueTree};
    use proptest::test_runner::TestRunner;
    use time::macros::datetime;

    use super::*;
    use crate::plan::plan;
    use crate::render::render;
    use crate::testing::{app_strategy, execute, settings, OWNER};

    fn an_app() -> ferry_manifest::App {
        let mut runner = TestRunner::deterministic();
        app_strategy()
            .new_tree(&mut runner)
            .expect("an app")
            .current()
    }

    struct Case {
        app: ferry_manifest::App,
        desired: Vec<DesiredProcess>,
    }

    impl Case {
        fn new() -> Self {
            let app = an_app();
            let desired = render(&app, &settings());
            Self { app, desired }
        }

        fn derive(
            &self,
            generation: u64,
            observed: &Observed,
            error: Option<LastError>,
            previous: Option<&AppStatus>,
            corrections: &[String],
            now: OffsetDateTime,
        ) -> (AppStatus, Plan) {
            let plan = plan(&self.app.name, OWNER, &self.desired, observed);
            let status = derive(StatusInput {
                app: &self.app.name,
                generation,
                desired: &self.desired,
                scheduled: self
                    .app
                    .processes
                    .values()
                    .filter(|p| p.schedule.is_some())
                    .count(),
                observed,
                plan: &plan,
                error,
                previous,
                corrections,
                endpoints: &BTreeMap::new(),
                now,
            });
            (status, plan)
        }
    }

    /// A status of `generation` in which `process` rolls out `new`.
    pub(crate) fn status_with(generation: u64, process: &str, new: Option<&str>) -> AppStatus {
        AppStatus {
            name: "acme".into(),
            generation,
            observed_generation: generation,
            release: generation,
            conditions: Vec::new(),
            processes: BTreeMap::from([(
                process.to_owned(),
                ProcessStatus {
                    desired: 2,
                    running: 0,
                    pending: 0,
                    task_definition: new.map(str::to_owned),
                    rollout: Some("IN_PROGRESS".into()),
                    rollout_reason: None,
                    new_task_definition: new.map(str::to_owned),
                    old_task_definitions: Vec::new(),
                    failed_tasks: 0,
                    endpoints: Vec::new(),
                    autoscaling: None,
                },
            )]),
            endpoints: Vec::new(),
            events: Vec::new(),
            last_error: None,
            last_reconciled: String::new(),
            failure: None,
            succeeded: None,
            schedules: BTreeMap::new(),
        }
    }

    /// What ECS shows once every service's rollout has finished.
    fn completed(mut observed: Observed) -> Observed {
        for service in observed.services.values_mut() {
            service.running_count = service.desired_count;
            service.pending_count = 0;
            service.deployments = vec![crate::observed::ObservedDeployment {
                id: format!("ecs-svc/{}", service.name),
                status: DeploymentStatus::Primary,
                task_definition_arn: service.task_definition_arn.clone(),
                desired_count: service.desired_count,
                running_count: service.desired_count,
                pending_count: 0,
                failed_tasks: 0,
                rollout_state: Some(EcsRolloutState::Completed),
                rollout_state_reason: None,
            }];
        }
        observed
    }

    fn status_of<'a>(status: &'a AppStatus, type_: &str) -> &'a Condition {
        status.condition(type_).expect("every condition is present")
    }

    const T1: OffsetDateTime = datetime!(2026-11-23 10:00 UTC);
    const T2: OffsetDateTime = datetime!(2026-11-23 10:05 UTC);
    const T3: OffsetDateTime = datetime!(2026-11-23 10:10 UTC);

    #[test]
    fn ready_only_once_the_latest_generation_converged() {
        let case = Case::new();
        let empty = Observed::default();
        let (first, first_plan) = case.derive(1, &empty, None, None, &[], T1);
        assert_eq!(status_of(&first, READY).status, ConditionStatus::False);
        assert_eq!(status_of(&first, PROGRESSING).status, ConditionStatus::True);
        assert_eq!(first.observed_generation, 1, "the whole plan ran");

        let converged = completed(execute(&empty, &first_plan.actions));
        let (second, _) = case.derive(1, &converged, None, Some(&first), &[], T2);
        assert_eq!(status_of(&second, READY).status, ConditionStatus::True);
        assert_eq!(status_of(&second, READY).last_transition_time, rfc3339(T2));
        assert_eq!(status_of(&second, DEGRADED).status, ConditionStatus::False);
        assert_eq!(
            status_of(&second, DEGRADED).last_transition_time,
            rfc3339(T1),
            "unchanged conditions keep their transition time"
        );
        for process in &case.desired {
            let p = &second.processes[&process.process];
            assert_eq!(p.desired, process.service.desired_count);
            assert!(p.task_definition.is_some());
        }

        let (newer, _) = case.derive(2, &converged, None, Some(&second), &[], T3);
        assert_eq!(newer.generation, 2);
        assert_eq!(newer.observed_generation, 2);
    }

    #[test]
    fn ready_counts_scheduled_processes_with_the_services() {
        let mut app = an_app();
        let total = app.processes.len();
        let first = app.processes.values_mut().next().expect("a process");
        first.port = None;
        first.schedule = Some(ferry_manifest::Schedule {
            expression: "rate(1 hour)".into(),
            timezone: "UTC".into(),
        });
        let desired = render(&app, &settings());
        assert_eq!(
            desired.len(),
            total - 1,
            "a scheduled process has no service"
        );
        let case = Case { app, desired };
        let empty = Observed::default();
        let (first, plan) = case.derive(1, &empty, None, None, &[], T1);
        let converged = completed(execute(&empty, &plan.actions));
        let (second, _) = case.derive(1, &converged, None, Some(&first), &[], T2);
        let ready = status_of(&second, READY);
        assert_eq!(ready.status, ConditionStatus::True);
        assert_eq!(
            ready.message,
            format!("all {total} process(es) match the spec")
        );
    }

    #[test]
    fn a_failure_keeps_the_observed_generation_and_names_the_call() {
        let case = Case::new();
        let empty = Observed::default();
        let (first, plan) = case.derive(1, &empty, None, None, &[], T1);
        let converged = completed(execute(&empty, &plan.actions));
        let (ready, _) = case.derive(1, &converged, None, Some(&first), &[], T2);
        let error = LastError {
            operation: "ecs:UpdateService".into(),
            message: "AccessDeniedException: no".into(),
            time: rfc3339(T3),
        };
        let (failed, _) = case.derive(2, &converged, Some(error), Some(&ready), &[], T3);
        assert_eq!(failed.observed_generation, 1);
        assert_eq!(status_of(&failed, READY).status, ConditionStatus::False);
        let degraded = status_of(&failed, DEGRADED);
        assert_eq!(degraded.status, ConditionStatus::True);
        assert_eq!(degraded.reason, "ReconcileError");
        assert!(degraded.message.contains("ecs:UpdateService"));
        assert_eq!(
            failed.last_error.as_ref().map(|e| e.operation.as_str()),
            Some("ecs:UpdateService")
        );
    }

    #[test]
    fn a_steady_state_status_is_the_same_as_the_last() {
        let case = Case::new();
        let empty = Observed::default();
        let (first, plan) = case.derive(1, &empty, None, None, &[], T1);
        let converged = completed(execute(&empty, &plan.actions));
        let (second, _) = case.derive(1, &converged, None, Some(&first), &[], T2);
        let (third, _) = case.derive(1, &converged, None, Some(&second), &[], T3);
        assert!(third.same_as(&second), "nothing to write");
        assert_ne!(third.last_reconciled, second.last_reconciled);
    }

    #[test]
    fn drift_is_a_plan_for_a_generation_already_acted_on() {
        let case = Case::new();
        let empty = Observed::default();
        let (first, plan) = case.derive(1, &empty, None, None, &[], T1);
        let converged = completed(execute(&empty, &plan.actions));
        let (ready, _) = case.derive(1, &converged, None, Some(&first), &[], T2);

        let mut edited = converged.clone();
        let service = edited.services.values_mut().next().expect("a service");
        // Out of any autoscaling range too: corrected either way.
        service.desired_count += 1000;
        let drifted = crate::plan::plan(&case.app.name, OWNER, &case.desired, &edited);
        assert!(drift(Some(&ready), 1, &drifted, false));
        assert!(
            !drift(Some(&ready), 2, &drifted, false),
            "a new generation is not drift"
        );
        assert!(!drift(None, 1, &drifted, false), "nothing known before");
        assert!(!drift(Some(&ready), 1, &drifted, true), "deleting");
        assert!(
            !drift(Some(&ready), 1, &Plan::default(), false),
            "nothing to undo"
        );

        let corrections: Vec<String> = drifted.actions.iter().map(ToString::to_string).collect();
        let (reported, _) = case.derive(1, &edited, None, Some(&ready), &corrections, T3);
        assert!(reported.events[0]
            .message
            .starts_with("(ferry) corrected drift: update service"));
        assert_eq!(reported.events[0].created_at, rfc3339(T3));
        let (later, _) = case.derive(1, &converged, None, Some(&reported), &[], T3);
        assert_eq!(later.events, reported.events, "events are kept");
    }
}
