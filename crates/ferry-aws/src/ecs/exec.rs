//! ECS Exec, for `ferry exec`: the running tasks of a service as Exec sees
//! them, and ExecuteCommand, which opens a Session Manager session into
//! one of their containers.
//!
//! ECS Exec: <https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs-exec.html>.

use super::tasks::{describe_tasks_as, list_cluster_tasks, task_tags, TasksOf};
use super::*;

/// The managed agent of each container of a task started with
/// `enableExecuteCommand` ("When the execute command feature is turned on,
/// the managed agent name is ExecuteCommandAgent",
/// <https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ManagedAgent.html>).
/// ECS refuses a session while it is not running ("execute command was not
/// enabled when the task was run or the execute command agent isn't
/// running"), so a task whose agent reports `RUNNING` is preferred.
pub const EXECUTE_COMMAND_AGENT: &str = "ExecuteCommandAgent";

/// A task as `ferry exec` chooses among them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExecTask {
    pub arn: String,
    pub last_status: String,
    /// `service:<service name>` for a service's task (ECS sets it).
    pub group: Option<String>,
    pub tags: BTreeMap<String, String>,
    /// Whether the task was started with `enableExecuteCommand`; a task
    /// started before the app allowed exec keeps `false` until replaced.
    pub enable_execute_command: bool,
    pub containers: Vec<ExecContainer>,
}

/// One container of an [`ExecTask`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExecContainer {
    pub name: String,
    /// The container runtime's id: the Session Manager target names it.
    pub runtime_id: Option<String>,
    /// The `lastStatus` of its [`EXECUTE_COMMAND_AGENT`], if it has one.
    pub exec_agent: Option<String>,
}

impl ExecTask {
    pub fn container(&self, name: &str) -> Option<&ExecContainer> {
        self.containers.iter().find(|c| c.name == name)
    }

    /// Whether a session into `container` can be opened now: the task is
    /// `RUNNING`, allows exec, and the container's agent is `RUNNING`.
    pub fn exec_ready(&self, container: &str) -> bool {
        self.last_status == "RUNNING"
            && self.enable_execute_command
            && self
                .container(container)
                .is_some_and(|c| c.exec_agent.as_deref() == Some("RUNNING"))
    }
}

/// What ExecuteCommand answered: the session the Session Manager plugin
/// attaches to. Its `Debug` never shows the token.
#[derive(Clone, PartialEq, Eq)]
pub struct ExecSession {
    pub cluster_arn: String,
    pub task_arn: String,
    pub container_name: String,
    pub session_id: String,
    pub stream_url: String,
    /// A bearer credential for the session's stream: never print it.
    pub token_value: String,
}

impl std::fmt::Debug for ExecSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExecSession")
            .field("cluster_arn", &self.cluster_arn)
            .field("task_arn", &self.task_arn)
            .field("container_name", &self.container_name)
            .field("session_id", &self.session_id)
            .field("stream_url", &self.stream_url)
            .field("token_value", &"** redacted **")
            .finish()
    }
}

impl Ecs {
    /// The tasks of `service` whose desired status is RUNNING (ListTasks
    /// by `serviceName`, every page), described with their containers'
    /// agents and tags.
    pub async fn service_exec_tasks(&self, service: &str) -> Result<Vec<ExecTask>> {
        let (arns, _) = list_cluster_tasks(
            &self.client,
            &self.caller,
            &self.cluster,
            TasksOf::Service(service),
            ecs::DesiredStatus::Running,
        )
        .await?;
        self.describe_exec_tasks(&arns).await
    }

    /// Describes tasks named by id or ARN as [`ExecTask`]s; a task ECS does
    /// not know is left out.
    pub async fn describe_exec_tasks(&self, tasks: &[String]) -> Result<Vec<ExecTask>> {
        let (tasks, _) =
            describe_tasks_as(&self.client, &self.caller, &self.cluster, tasks, exec_task).await?;
        Ok(tasks)
    }

    /// Opens an interactive ECS Exec session running `command` in
    /// `container` of `task` (API_ExecuteCommand). `command` is one string:
    /// the agent splits it into words as a shell would but runs no shell
    /// (pipes and redirections need `sh -c`). ECS supports only
    /// interactive sessions ("you must specify true"). Not retried by
    /// Ferry beyond the caller's policy: each success opens a session.
    ///
    /// Paced with RunTask and StopTask, in the "cluster resource modify"
    /// bucket of the calls that act on one task
    /// (<https://docs.aws.amazon.com/AmazonECS/latest/APIReference/request-throttling.html>).
    /// That AWS counts ExecuteCommand in that bucket is an assumption, not
    /// read in its documentation; one call per `ferry exec` keeps it
    /// harmless either way.
    pub async fn execute_command(
        &self,
        task: &str,
        container: &str,
        command: &str,
    ) -> Result<ExecSession> {
        let out = self
            .caller
            .call(SERVICE, "ExecuteCommand", Bucket::TaskWrites, task, || {
                self.client
                    .execute_command()
                    .cluster(&self.cluster)
                    .task(task)
                    .container(container)
                    .command(command)
                    .interactive(true)
                    .send()
            })
            .await?;
        let missing = |what: &'static str| Error::Incomplete {
            service: SERVICE,
            operation: "ExecuteCommand",
            resource: task.to_owned(),
            what,
        };
        let session = out.session().ok_or_else(|| missing("session"))?;
        Ok(ExecSession {
            cluster_arn: out.cluster_arn().unwrap_or(&self.cluster).to_owned(),
            task_arn: out.task_arn().unwrap_or(task).to_owned(),
            container_name: out.container_name().unwrap_or(container).to_owned(),
            session_id: session
                .session_id()
                .ok_or_else(|| missing("session.sessionId"))?
                .to_owned(),
            stream_url: session
                .stream_url()
                .ok_or_else(|| missing("session.streamUrl"))?
                .to_owned(),
            token_value: session
                .token_value()
                .ok_or_else(|| missing("session.tokenValue"))?
                .to_owned(),
        })
    }
}

/// A described task as `ferry exec` sees it.
pub(crate) fn exec_task(task: &ecs::Task) -> ExecTask {
    ExecTask {
        arn: task.task_arn().unwrap_or_default().to_owned(),
        last_status: task.last_status().unwrap_or_default().to_owned(),
        group: task.group().map(str::to_owned),
        tags: task_tags(task),
        enable_execute_command: task.enable_execute_command(),
        containers: task
            .containers()
            .iter()
            .map(|c| ExecContainer {
                name: c.name().unwrap_or_default().to_owned(),
                runtime_id: c.runtime_id().map(str::to_owned),
                exec_agent: c
                    .managed_agents()
                    .iter()
                    .find(|a| a.name().map(|n| n.as_str()) == Some(EXECUTE_COMMAND_AGENT))
                    .and_then(|a| a.last_status())
                    .map(str::to_owned),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn described(agent: Option<&str>, enabled: bool) -> ecs::Task {
        let mut container = ecs::Container::builder().name("web").runtime_id("abc-123");
        if let Some(status) = agent {
            container = container.managed_agents(
                ecs::ManagedAgent::builder()
                    .name(ecs::ManagedAgentName::ExecuteCommandAgent)
                    .last_status(status)
                    .build(),
            );
        }
        ecs::Task::builder()
            .task_arn("arn:aws:ecs:us-east-1:1:task/c/0123")
            .last_status("RUNNING")
            .group("service:shop-web")
            .enable_execute_command(enabled)
            .containers(container.build())
            .containers(ecs::Container::builder().name("log-router").build())
            .tags(ecs::Tag::builder().key("ferry:app").value("shop").build())
            .build()
    }

    #[test]
    fn a_task_is_ready_for_exec_only_with_exec_on_and_its_agent_running() {
        let task = exec_task(&described(Some("RUNNING"), true));
        assert_eq!(task.group.as_deref(), Some("service:shop-web"));
        assert_eq!(task.tags.get("ferry:app").map(String::as_str), Some("shop"));
        let web = task.container("web").expect("web");
        assert_eq!(web.runtime_id.as_deref(), Some("abc-123"));
        assert!(task.exec_ready("web"));
        assert!(!task.exec_ready("log-router"), "no agent of its own here");
        assert!(!exec_task(&described(Some("PENDING"), true)).exec_ready("web"));
        assert!(!exec_task(&described(Some("RUNNING"), false)).exec_ready("web"));
        assert!(!exec_task(&described(None, true)).exec_ready("web"));
    }

    #[test]
    fn a_session_never_shows_its_token() {
        let session = ExecSession {
            cluster_arn: "c".into(),
            task_arn: "t".into(),
            container_name: "web".into(),
            session_id: "s".into(),
            stream_url: "wss://x".into(),
            token_value: "SECRET-TOKEN".into(),
        };
        assert!(!format!("{session:?}").contains("SECRET-TOKEN"));
    }
}
