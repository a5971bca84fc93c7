//! Pins the JSON of status, which `ferry status -o json` prints and the
//! controller stores in DynamoDB: the typed condition types and reasons,
//! rollout states and failure reasons must write the very strings they
//! always did, and read back what was written before they were typed.

use std::collections::BTreeMap;

use super::*;

/// Today's JSON of [`representative`]: one condition per reason, one
/// process per rollout state and failure reason (with `lastFailure`,
/// `crashedTasks` and `progress`), one schedule per state.
const PINNED: &str = r#"{"name":"acme","generation":4,"observedGeneration":3,"release":4,"conditions":[{"type":"Ready","status":"True","reason":"Converged","message":"all 2 process(es) match the spec","lastTransitionTime":"2026-12-01T00:00:00Z"},{"type":"Ready","status":"False","reason":"Converging","message":"","lastTransitionTime":"2026-12-01T00:00:00Z"},{"type":"Progressing","status":"True","reason":"RolloutInProgress","message":"","lastTransitionTime":"2026-12-01T00:00:00Z"},{"type":"Ready","status":"False","reason":"GenerationNotObserved","message":"","lastTransitionTime":"2026-12-01T00:00:00Z"},{"type":"Ready","status":"False","reason":"Degraded","message":"see the Degraded condition","lastTransitionTime":"2026-12-01T00:00:00Z"},{"type":"Degraded","status":"False","reason":"AsExpected","message":"","lastTransitionTime":"2026-12-01T00:00:00Z"},{"type":"Progressing","status":"False","reason":"RolloutFailed","message":"","lastTransitionTime":"2026-12-01T00:00:00Z"},{"type":"Degraded","status":"True","reason":"ReconcileError","message":"ecs:CreateService: boom","lastTransitionTime":"2026-12-01T00:00:00Z"},{"type":"Ready","status":"Unknown","reason":"Pending","message":"","lastTransitionTime":"2026-12-01T00:00:00Z"},{"type":"Progressing","status":"False","reason":"TasksStopping","message":"","lastTransitionTime":"2026-12-01T00:00:00Z"},{"type":"Degraded","status":"True","reason":"TasksStopping","message":"","lastTransitionTime":"2026-12-01T00:00:00Z"},{"type":"Progressing","status":"False","reason":"ProgressDeadlineExceeded","message":"","lastTransitionTime":"2026-12-01T00:00:00Z"},{"type":"Degraded","status":"True","reason":"ProgressDeadlineExceeded","message":"","lastTransitionTime":"2026-12-01T00:00:00Z"},{"type":"Degraded","status":"True","reason":"NameConflict","message":"","lastTransitionTime":"2026-12-01T00:00:00Z"},{"type":"Degraded","status":"True","reason":"ServiceDraining","message":"","lastTransitionTime":"2026-12-01T00:00:00Z"},{"type":"Degraded","status":"True","reason":"LoadBalancerFull","message":"","lastTransitionTime":"2026-12-01T00:00:00Z"},{"type":"Degraded","status":"True","reason":"RecordConflict","message":"","lastTransitionTime":"2026-12-01T00:00:00Z"},{"type":"Degraded","status":"True","reason":"NoHostedZone","message":"","lastTransitionTime":"2026-12-01T00:00:00Z"},{"type":"Degraded","status":"True","reason":"NoLoadBalancer","message":"","lastTransitionTime":"2026-12-01T00:00:00Z"},{"type":"Degraded","status":"True","reason":"NoPublicLoadBalancer","message":"","lastTransitionTime":"2026-12-01T00:00:00Z"},{"type":"Degraded","status":"True","reason":"DomainWithoutPort","message":"","lastTransitionTime":"2026-12-01T00:00:00Z"},{"type":"Degraded","status":"True","reason":"NoSchedulerRole","message":"","lastTransitionTime":"2026-12-01T00:00:00Z"},{"type":"Degraded","status":"True","reason":"RoleOutsidePath","message":"","lastTransitionTime":"2026-12-01T00:00:00Z"},{"type":"Degraded","status":"True","reason":"NoTestListener","message":"","lastTransitionTime":"2026-12-01T00:00:00Z"},{"type":"Degraded","status":"True","reason":"NoInfrastructureRole","message":"","lastTransitionTime":"2026-12-01T00:00:00Z"},{"type":"Degraded","status":"True","reason":"AlarmConflict","message":"","lastTransitionTime":"2026-12-01T00:00:00Z"},{"type":"Degraded","status":"True","reason":"SomethingNewer","message":"","lastTransitionTime":"2026-12-01T00:00:00Z"}],"processes":{"api":{"desired":2,"running":1,"pending":1,"taskDefinition":"arn:td/api:3","rollout":"IN_PROGRESS","newTaskDefinition":"arn:td/api:3","oldTaskDefinitions":["arn:td/api:2"],"failedTasks":0,"lastFailure":{"task":"7f1a3b28c0de4f00","stoppedAt":"2026-12-01T00:00:00Z","stopCode":"EssentialContainerExited","reason":"OutOfMemoryError: Container killed due to memory usage","container":"crashing","exitCode":137},"crashedTasks":1,"progress":{"deployment":"ecs-svc/1234567890","since":"2026-12-01T00:00:00Z","deadline":"2026-12-01T00:10:00Z","newRunning":1,"oldRunning":1}},"crashing":{"desired":2,"running":0,"pending":0,"taskDefinition":"arn:td/crashing:2","rollout":"FAILED","rolloutReason":"3 new tasks stopped after they ran (a crash loop)","failedTasks":0,"lastFailure":{"task":"7f1a3b28c0de4f00","stoppedAt":"2026-12-01T00:00:00Z","stopCode":"EssentialContainerExited","reason":"Essential container in task exited","container":"crashing","exitCode":1,"logTail":["booting","KeyError: 'DATABASE_URL'"]},"crashedTasks":3},"new":{"desired":1,"running":0,"pending":0,"taskDefinition":null,"rollout":null,"failedTasks":0},"rolled":{"desired":1,"running":1,"pending":0,"taskDefinition":"arn:td/rolled:1","rollout":"FAILED","rolloutReason":"ECS rolled the service back to arn:td/rolled:1","failedTasks":0},"stuck":{"desired":1,"running":0,"pending":0,"taskDefinition":"arn:td/stuck:2","rollout":"FAILED","rolloutReason":"no progress within the progress deadline of 600s","failedTasks":0,"lastFailure":{"task":"0b1c2d3e4f5a6b7c","stopCode":"TaskFailedToStart","reason":"CannotPullContainerError: pull image manifest has been retried 5 time(s)"}},"unexplained":{"desired":1,"running":0,"pending":0,"taskDefinition":"arn:td/unexplained:2","rollout":"FAILED","rolloutReason":"the deployment failed","failedTasks":3},"web":{"desired":2,"running":2,"pending":0,"taskDefinition":"arn:td/web:7","rollout":"COMPLETED","failedTasks":0,"endpoints":["http://acme.internal"],"autoscaling":{"min":1,"max":4,"current":2}},"worker":{"desired":1,"running":0,"pending":0,"taskDefinition":"arn:td/worker:2","rollout":"FAILED","rolloutReason":"ECS deployment circuit breaker: tasks failed to start.","failedTasks":3}},"endpoints":["http://acme.internal"],"events":[{"id":"e1","createdAt":"2026-12-01T00:00:00Z","message":"(service acme_web) has reached a steady state."}],"lastError":{"operation":"ecs:CreateService","message":"boom","time":"2026-12-01T00:00:00Z"},"lastReconciled":"2026-12-01T00:00:01Z","failure":{"generation":4,"process":"worker","taskDefinition":"arn:td/worker:2","reason":"ECS deployment circuit breaker: tasks failed to start.","events":["(service acme_worker) failed to launch a task"],"lastFailure":{"task":"9e8d7c6b5a4f3e2d","stoppedAt":"2026-12-01T00:00:00Z","stopCode":"TaskFailedToStart","reason":"ResourceInitializationError: unable to pull secrets","container":"worker"}},"succeeded":2,"schedules":{"new":{"name":"acme_new","group":"ferry-ferry","expression":"cron(0 3 * * ? *)","timezone":"UTC","state":"PENDING","failuresReported":false},"nightly":{"name":"acme_nightly","group":"ferry-ferry","expression":"cron(0 3 * * ? *)","timezone":"UTC","state":"ENABLED","taskDefinition":"arn:td/nightly:4","failuresReported":true,"failedInvocations":[{"id":"exec-1","scheduledTime":"2026-12-01T03:00:00Z","errorCode":"ClientException","errorMessage":"Unable to find task definition.","retryAttempts":2,"exhaustedRetryCondition":"MaximumRetryAttempts"}],"lastRun":{"taskArn":"arn:task/ferry/abc","startedAt":"2026-12-01T03:00:05Z","lastStatus":"STOPPED","exitCode":0,"stopCode":"EssentialContainerExited"}},"odd":{"name":"acme_odd","group":"ferry-ferry","expression":"cron(0 3 * * ? *)","timezone":"UTC","state":"PAUSED","failuresReported":false},"off":{"name":"acme_off","group":"ferry-ferry","expression":"cron(0 3 * * ? *)","timezone":"UTC","state":"DISABLED","failuresReported":false}}}"#;

fn condition(
    type_: ConditionType,
    status: ConditionStatus,
    reason: ConditionReason,
    message: &str,
) -> Condition {
    Condition {
        type_,
        status,
        reason,
        message: message.to_owned(),
        last_transition_time: "2026-12-01T00:00:00Z".to_owned(),
    }
}

fn process(
    desired: u32,
    running: u32,
    task_definition: Option<&str>,
    rollout: Option<RolloutStatus>,
    rollout_reason: Option<RolloutFailureReason>,
) -> ProcessStatus {
    ProcessStatus {
        desired,
        running,
        pending: 0,
        task_definition: task_definition.map(Into::into),
        rollout,
        rollout_reason,
        new_task_definition: None,
        old_task_definitions: Vec::new(),
        failed_tasks: 0,
        endpoints: Vec::new(),
        autoscaling: None,
        last_failure: None,
        crashed_tasks: 0,
        progress: None,
        deployment: None,
    }
}

/// A status that uses every condition type and reason, every rollout
/// state, every kind of rollout failure reason and every schedule state.
fn representative() -> AppStatus {
    use ConditionReason as R;
    use ConditionStatus::{False, True, Unknown};
    use ConditionType::{Degraded, Progressing, Ready};
    let circuit_breaker = "ECS deployment circuit breaker: tasks failed to start.";
    let mut conditions = vec![
        condition(
            Ready,
            True,
            R::Converged,
            "all 2 process(es) match the spec",
        ),
        condition(Ready, False, R::Converging, ""),
        condition(Progressing, True, R::RolloutInProgress, ""),
        condition(Ready, False, R::GenerationNotObserved, ""),
        condition(Ready, False, R::Degraded, "see the Degraded condition"),
        condition(Degraded, False, R::AsExpected, ""),
        condition(Progressing, False, R::RolloutFailed, ""),
        condition(Degraded, True, R::ReconcileError, "ecs:CreateService: boom"),
        condition(Ready, Unknown, R::Pending, ""),
        condition(Progressing, False, R::TasksStopping, ""),
        condition(Degraded, True, R::TasksStopping, ""),
        condition(Progressing, False, R::ProgressDeadlineExceeded, ""),
        condition(Degraded, True, R::ProgressDeadlineExceeded, ""),
    ];
    conditions.extend(
        BlockerReason::ALL
            .into_iter()
            .map(|blocker| condition(Degraded, True, R::Blocked(blocker), "")),
    );
    conditions.push(condition(
        Degraded,
        True,
        R::Other("SomethingNewer".into()),
        "",
    ));
    let mut processes = BTreeMap::new();
    let mut web = process(
        2,
        2,
        Some("arn:td/web:7"),
        Some(RolloutStatus::Completed),
        None,
    );
    web.endpoints = vec!["http://acme.internal".into()];
    web.autoscaling = Some(ScalingStatus {
        min: 1,
        max: 4,
        current: 2,
    });
    processes.insert("web".to_owned(), web);
    let mut api = process(
        2,
        1,
        Some("arn:td/api:3"),
        Some(RolloutStatus::InProgress),
        None,
    );
    api.pending = 1;
    api.new_task_definition = Some("arn:td/api:3".into());
    api.old_task_definitions = vec!["arn:td/api:2".into()];
    api.progress = Some(RolloutProgress {
        deployment: "ecs-svc/1234567890".into(),
        since: "2026-12-01T00:00:00Z".into(),
        deadline: "2026-12-01T00:10:00Z".into(),
        new_running: 1,
        old_running: 1,
    });
    api.crashed_tasks = 1;
    api.last_failure = Some(LastFailure {
        reason: "OutOfMemoryError: Container killed due to memory usage".into(),
        exit_code: Some(137),
        log_tail: Vec::new(),
        ..crash()
    });
    processes.insert("api".to_owned(), api);
    let mut worker = process(
        1,
        0,
        Some("arn:td/worker:2"),
        Some(RolloutStatus::Failed),
        Some(RolloutFailureReason::Ecs(circuit_breaker.into())),
    );
    worker.failed_tasks = 3;
    processes.insert("worker".to_owned(), worker);
    let mut unexplained = process(
        1,
        0,
        Some("arn:td/unexplained:2"),
        Some(RolloutStatus::Failed),
        Some(RolloutFailureReason::Unexplained),
    );
    unexplained.failed_tasks = 3;
    processes.insert("unexplained".to_owned(), unexplained);
    processes.insert(
        "rolled".to_owned(),
        process(
            1,
            1,
            Some("arn:td/rolled:1"),
            Some(RolloutStatus::Failed),
            Some(RolloutFailureReason::RolledBack {
                to: "arn:td/rolled:1".into(),
            }),
        ),
    );
    processes.insert("new".to_owned(), process(1, 0, None, None, None));
    let mut crashing = process(
        2,
        0,
        Some("arn:td/crashing:2"),
        Some(RolloutStatus::Failed),
        Some(RolloutFailureReason::TasksStopping { stops: 3 }),
    );
    crashing.crashed_tasks = 3;
    crashing.last_failure = Some(crash());
    processes.insert("crashing".to_owned(), crashing);
    let mut stuck = process(
        1,
        0,
        Some("arn:td/stuck:2"),
        Some(RolloutStatus::Failed),
        Some(RolloutFailureReason::ProgressDeadlineExceeded { deadline_secs: 600 }),
    );
    stuck.last_failure = Some(LastFailure {
        task: "0b1c2d3e4f5a6b7c".into(),
        stopped_at: None,
        stop_code: Some("TaskFailedToStart".into()),
        reason: "CannotPullContainerError: pull image manifest has been retried 5 time(s)".into(),
        container: None,
        exit_code: None,
        log_tail: Vec::new(),
    });
    processes.insert("stuck".to_owned(), stuck);
    AppStatus {
        name: "acme".into(),
        generation: 4,
        observed_generation: 3,
        release: 4,
        conditions,
        processes,
        endpoints: vec!["http://acme.internal".into()],
        events: vec![ServiceEvent {
            id: "e1".into(),
            created_at: "2026-12-01T00:00:00Z".into(),
            message: "(service acme_web) has reached a steady state.".into(),
        }],
        last_error: Some(LastError {
            operation: "ecs:CreateService".into(),
            message: "boom".into(),
            time: "2026-12-01T00:00:00Z".into(),
        }),
        last_reconciled: "2026-12-01T00:00:01Z".into(),
        failure: Some(RolloutFailure {
            generation: 4,
            process: "worker".into(),
            task_definition: "arn:td/worker:2".into(),
            reason: RolloutFailureReason::Ecs(circuit_breaker.into()),
            events: vec!["(service acme_worker) failed to launch a task".into()],
            last_failure: Some(LastFailure {
                task: "9e8d7c6b5a4f3e2d".into(),
                stopped_at: Some("2026-12-01T00:00:00Z".into()),
                stop_code: Some("TaskFailedToStart".into()),
                reason: "ResourceInitializationError: unable to pull secrets".into(),
                container: Some("worker".into()),
                exit_code: None,
                log_tail: Vec::new(),
            }),
        }),
        succeeded: Some(2),
        schedules: schedules(),
    }
}

/// A crash with its last log lines, as `lastFailure` shows it.
fn crash() -> LastFailure {
    LastFailure {
        task: "7f1a3b28c0de4f00".into(),
        stopped_at: Some("2026-12-01T00:00:00Z".into()),
        stop_code: Some("EssentialContainerExited".into()),
        reason: "Essential container in task exited".into(),
        container: Some("crashing".into()),
        exit_code: Some(1),
        log_tail: vec!["booting".into(), "KeyError: 'DATABASE_URL'".into()],
    }
}

/// One schedule per state, the enabled one with a failure and a run.
fn schedules() -> BTreeMap<String, ScheduleStatus> {
    let schedule = |name: &str, state: ScheduleState| ScheduleStatus {
        name: format!("acme_{name}"),
        group: "ferry-ferry".into(),
        expression: "cron(0 3 * * ? *)".into(),
        timezone: "UTC".into(),
        state,
        task_definition: None,
        failures_reported: false,
        failed_invocations: Vec::new(),
        last_run: None,
    };
    let mut nightly = schedule("nightly", ScheduleState::Enabled);
    nightly.task_definition = Some("arn:td/nightly:4".into());
    nightly.failures_reported = true;
    nightly.failed_invocations = vec![FailedInvocation {
        id: "exec-1".into(),
        scheduled_time: Some("2026-12-01T03:00:00Z".into()),
        error_code: "ClientException".into(),
        error_message: "Unable to find task definition.".into(),
        retry_attempts: Some(2),
        exhausted_retry_condition: Some("MaximumRetryAttempts".into()),
    }];
    nightly.last_run = Some(ScheduledRun {
        task_arn: "arn:task/ferry/abc".into(),
        started_at: Some("2026-12-01T03:00:05Z".into()),
        last_status: "STOPPED".into(),
        exit_code: Some(0),
        stop_code: Some("EssentialContainerExited".into()),
        stopped_reason: None,
    });
    BTreeMap::from([
        ("nightly".to_owned(), nightly),
        ("off".to_owned(), schedule("off", ScheduleState::Disabled)),
        ("new".to_owned(), schedule("new", ScheduleState::Pending)),
        (
            "odd".to_owned(),
            schedule("odd", ScheduleState::Other("PAUSED".into())),
        ),
    ])
}

#[test]
fn status_json_is_byte_for_byte_what_it_was() {
    let json = serde_json::to_string(&representative()).expect("serializable");
    assert_eq!(json, PINNED);
}

#[test]
fn status_written_before_reads_back_typed_and_writes_back_the_same() {
    let read: AppStatus = serde_json::from_str(PINNED).expect("today's status reads");
    assert_eq!(read, representative());
    let again = serde_json::to_string(&read).expect("serializable");
    assert_eq!(again, PINNED);
}
