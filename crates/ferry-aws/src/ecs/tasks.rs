//! One-off tasks, for the CLI: `ferry run`, `ferry ps` and scheduled runs' reads.

use aws_sdk_ecs::operation::run_task::builders::RunTaskFluentBuilder;

use super::requests::*;
use super::*;

/// Who started a one-off task: `ferry run` sets it, `ferry ps` shows it.
pub const STARTED_BY_RUN: &str = "ferry-run";

/// A one-off task to start.
#[derive(Debug, Clone)]
pub struct OneOff {
    pub task_definition: String,
    pub container: String,
    /// Empty: the task definition's command.
    pub command: Vec<String>,
    pub network: NetworkSpec,
    pub tags: BTreeMap<String, String>,
    /// The process's capacity provider strategy; empty: the FARGATE
    /// launch type.
    pub capacity_provider_strategy: Vec<ferry_core::task::CapacityProviderItem>,
    /// ECS Exec into the task (the app's `exec`).
    pub enable_execute_command: bool,
}

/// A task as `ferry ps` and `ferry run` see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskInfo {
    pub arn: String,
    pub task_definition: String,
    pub last_status: String,
    pub desired_status: String,
    pub started_by: Option<String>,
    /// The ECS task group: `ferry:schedule` for a scheduled run
    /// (`ferry_core::schedule::RUN_GROUP`), `family:...` for `ferry run`.
    pub group: Option<String>,
    /// RFC 3339, once started.
    pub started_at: Option<String>,
    pub stop_code: Option<String>,
    pub stopped_reason: Option<String>,
    /// The first container's exit code, once it exited.
    pub exit_code: Option<i32>,
    pub tags: BTreeMap<String, String>,
}

impl Ecs {
    /// The RunTask request of `task`: the FARGATE launch type or the
    /// process's capacity provider strategy, never both.
    pub(super) fn run_task_request(&self, task: &OneOff) -> Result<RunTaskFluentBuilder> {
        let placement = Placement::of(&task.capacity_provider_strategy)?;
        let mut overrides = ecs::ContainerOverride::builder().name(&task.container);
        if !task.command.is_empty() {
            overrides = overrides.set_command(Some(task.command.clone()));
        }
        Ok(self
            .client
            .run_task()
            .cluster(&self.cluster)
            .task_definition(&task.task_definition)
            .set_launch_type(placement.launch_type)
            .set_capacity_provider_strategy(placement.capacity_provider_strategy)
            .set_enable_execute_command(task.enable_execute_command.then_some(true))
            .network_configuration(network_configuration(&task.network)?)
            .overrides(
                ecs::TaskOverride::builder()
                    .container_overrides(overrides.build())
                    .build(),
            )
            .started_by(STARTED_BY_RUN)
            .set_tags(Some(ecs_tags(&task.tags)))
            .client_token(ferry_call::client_token()))
    }

    /// Starts a one-off Fargate task. Returns its ARN. The task role is the
    /// task definition's: a run is whom its process is.
    pub async fn run_task(&self, task: &OneOff) -> Result<String> {
        let request = self.run_task_request(task)?;
        let out = self
            .caller
            .call(
                SERVICE,
                "RunTask",
                Bucket::TaskWrites,
                &task.task_definition,
                || request.clone().send(),
            )
            .await?;
        if let Some(failure) = out.failures().first() {
            return Err(Error::Call {
                service: SERVICE,
                operation: "RunTask",
                resource: task.task_definition.clone(),
                code: failure.reason().map(str::to_owned),
                message: format!(
                    "{}: {}",
                    failure.reason().unwrap_or("failed"),
                    failure.detail().unwrap_or_default()
                ),
            });
        }
        out.tasks()
            .first()
            .and_then(|t| t.task_arn())
            .map(str::to_owned)
            .ok_or_else(|| Error::Incomplete {
                service: SERVICE,
                operation: "RunTask",
                resource: task.task_definition.clone(),
                what: "tasks[0].taskArn",
            })
    }

    /// Stops a task (ECS sends its containers SIGTERM, then SIGKILL after
    /// their stop timeout). `reason` is what DescribeTasks shows as its
    /// `stoppedReason`.
    pub async fn stop_task(&self, arn: &str, reason: &str) -> Result<()> {
        self.caller
            .call(SERVICE, "StopTask", Bucket::TaskWrites, arn, || {
                self.client
                    .stop_task()
                    .cluster(&self.cluster)
                    .task(arn)
                    .reason(reason)
                    .send()
            })
            .await?;
        Ok(())
    }

    /// Tasks of a task-definition family that are running or about to.
    pub async fn list_tasks(&self, family: &str) -> Result<Vec<String>> {
        let (arns, _) = list_family_tasks(
            &self.client,
            &self.caller,
            &self.cluster,
            family,
            ecs::DesiredStatus::Running,
        )
        .await?;
        Ok(arns)
    }

    /// Describes tasks, 100 per call, with their tags.
    pub async fn describe_tasks(&self, arns: &[String]) -> Result<Vec<TaskInfo>> {
        let (tasks, _) =
            describe_cluster_tasks(&self.client, &self.caller, &self.cluster, arns).await?;
        Ok(tasks)
    }

    /// The task definition a service runs now.
    pub async fn service_task_definition(&self, service: &str) -> Result<Option<String>> {
        let out = self
            .caller
            .call(
                SERVICE,
                "DescribeServices",
                Bucket::ServiceReads,
                service,
                || {
                    self.client
                        .describe_services()
                        .cluster(&self.cluster)
                        .services(service)
                        .send()
                },
            )
            .await?;
        Ok(out
            .services()
            .iter()
            .find(|s| s.status() == Some("ACTIVE"))
            .and_then(|s| s.task_definition())
            .map(str::to_owned))
    }
}

/// The tasks of `family` in `cluster` whose desired status is `status`,
/// every page. Returns the ARNs and the calls made.
pub(crate) async fn list_family_tasks(
    client: &Client,
    caller: &Caller,
    cluster: &str,
    family: &str,
    status: ecs::DesiredStatus,
) -> Result<(Vec<String>, usize)> {
    list_cluster_tasks(client, caller, cluster, TasksOf::Family(family), status).await
}

/// Which tasks ListTasks lists.
#[derive(Debug, Clone, Copy)]
pub(crate) enum TasksOf<'a> {
    /// Started from a revision of this task-definition family.
    Family(&'a str),
    /// Started by this service.
    Service(&'a str),
    /// Every task of the cluster (the controller's one sweep of stopped
    /// tasks per progress tick, across all apps).
    Cluster,
}

/// The largest page ListTasks returns ("between 1 and 100",
/// <https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ListTasks.html>).
const LIST_TASKS_PAGE: i32 = 100;

/// The tasks of `of` in `cluster` whose desired status is `status`, every
/// page. Returns the ARNs and the calls made.
pub(crate) async fn list_cluster_tasks(
    client: &Client,
    caller: &Caller,
    cluster: &str,
    of: TasksOf<'_>,
    status: ecs::DesiredStatus,
) -> Result<(Vec<String>, usize)> {
    let (family, service, resource) = match of {
        TasksOf::Family(family) => (Some(family), None, family),
        TasksOf::Service(service) => (None, Some(service), service),
        TasksOf::Cluster => (None, None, cluster),
    };
    paginate(|token: Option<String>| {
        let status = status.clone();
        async move {
            let out = caller
                .call(SERVICE, "ListTasks", Bucket::TaskReads, resource, || {
                    client
                        .list_tasks()
                        .cluster(cluster)
                        .set_family(family.map(str::to_owned))
                        .set_service_name(service.map(str::to_owned))
                        .desired_status(status.clone())
                        .max_results(LIST_TASKS_PAGE)
                        .set_next_token(token.clone())
                        .send()
                })
                .await?;
            Ok(Page::new(
                out.task_arns().to_vec(),
                next_token(out.next_token()),
            ))
        }
    })
    .await
}

/// DescribeTasks takes at most 100 tasks per call.
pub const DESCRIBE_TASKS_BATCH: usize = 100;

/// Describes `arns` in `cluster`, [`DESCRIBE_TASKS_BATCH`] per call, with
/// their tags. Returns the tasks and the calls made.
pub(crate) async fn describe_cluster_tasks(
    client: &Client,
    caller: &Caller,
    cluster: &str,
    arns: &[String],
) -> Result<(Vec<TaskInfo>, usize)> {
    describe_tasks_as(client, caller, cluster, arns, task_info).await
}

/// Describes `arns` (ids or ARNs) in `cluster`, [`DESCRIBE_TASKS_BATCH`]
/// per call, with their tags, each task read by `read`. Returns the tasks
/// and the calls made.
pub(crate) async fn describe_tasks_as<T>(
    client: &Client,
    caller: &Caller,
    cluster: &str,
    arns: &[String],
    read: fn(&ecs::Task) -> T,
) -> Result<(Vec<T>, usize)> {
    let mut tasks = Vec::new();
    let mut calls = 0;
    for chunk in arns.chunks(DESCRIBE_TASKS_BATCH) {
        let out = caller
            .call(
                SERVICE,
                "DescribeTasks",
                Bucket::TaskReads,
                &chunk[0],
                || {
                    client
                        .describe_tasks()
                        .cluster(cluster)
                        .set_tasks(Some(chunk.to_vec()))
                        .include(ecs::TaskField::Tags)
                        .send()
                },
            )
            .await?;
        calls += 1;
        tasks.extend(out.tasks().iter().map(read));
    }
    Ok((tasks, calls))
}

/// A described task as `ferry ps` and `ferry run` see it.
fn task_info(task: &ecs::Task) -> TaskInfo {
    let time = |t: Option<&aws_smithy_types::DateTime>| {
        t.and_then(|t| t.fmt(aws_smithy_types::date_time::Format::DateTime).ok())
    };
    TaskInfo {
        arn: task.task_arn().unwrap_or_default().to_owned(),
        task_definition: task.task_definition_arn().unwrap_or_default().to_owned(),
        last_status: task.last_status().unwrap_or_default().to_owned(),
        desired_status: task.desired_status().unwrap_or_default().to_owned(),
        started_by: task.started_by().map(str::to_owned),
        group: task.group().map(str::to_owned),
        started_at: time(task.started_at()).or_else(|| time(task.created_at())),
        stop_code: task.stop_code().map(|c| c.as_str().to_owned()),
        stopped_reason: task.stopped_reason().map(str::to_owned),
        exit_code: task.containers().first().and_then(|c| c.exit_code()),
        tags: task_tags(task),
    }
}

/// A described task's tags (DescribeTasks with `include: TAGS`).
pub(crate) fn task_tags(task: &ecs::Task) -> BTreeMap<String, String> {
    task.tags()
        .iter()
        .filter_map(|t| Some((t.key()?.to_owned(), t.value()?.to_owned())))
        .collect()
}
