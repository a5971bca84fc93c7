"""The ECS task model: rolling deployments, service events, the scheduler,
the circuit breaker and one-off tasks, as pure functions of time.

No moto, no wire format: every function takes the time it computes for
(``at``/``now``), so the same inputs give the same state. ``deployments.py``
holds the handlers that feed it moto's answers and render it back.

Rolling deployments
-------------------
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-type-ecs.html
  "The minimumHealthyPercent represents the lower limit on the number of
  tasks that should be running for a service during a deployment ..., as a
  percent of the desired number of tasks for the service. This value is
  rounded up." "The maximumPercent represents the upper limit on the
  number of tasks that should be running for a service during a deployment
  ... This value is rounded down." "If a service deployment has at least
  one successfully running task, the circuit breaker logic will not
  trigger regardless of the deployment having any previous or future failed
  tasks."
https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_Deployment.html
  status: "PRIMARY: The most recent deployment of a service. ACTIVE: A
  service deployment that still has running tasks, but are in the process
  of being replaced with a new PRIMARY deployment."
  rolloutState: "When a service deployment is started, it begins in an
  IN_PROGRESS state. When the service reaches a steady state, the
  deployment transitions to a COMPLETED state. If the service fails to
  reach a steady state and circuit breaker is turned on, the deployment
  transitions to a FAILED state. A deployment in FAILED state doesn't
  launch any new tasks."
https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_UpdateService.html
  desiredCount: "This parameter doesn't trigger a new service deployment."
  taskDefinition, networkConfiguration, loadBalancers, platformVersion,
  serviceRegistries: "This parameter triggers a new service deployment."
  forceNewDeployment: "start a new deployment with no service definition
  changes."

The layer's scheduler (``Scheduler``) runs one step per service every
``FERRY_EMULATOR_TASK_START_SECONDS`` (default 1.0, read when the emulator
starts), the first one that long after the write that started the work.
In a step:

1. tasks launched at an earlier step finish starting: RUNNING, or, for a
   task definition that cannot start (below), stopped, counted in the
   deployment's ``failedTasks``;
2. the circuit breaker judges the PRIMARY deployment (below);
3. the PRIMARY's tasks above its desired count stop (scale-in), the older
   (ACTIVE) deployments' pending tasks stop, and their RUNNING tasks stop
   as long as the RUNNING tasks of all deployments stay at or above
   minimumHealthyPercent of the desired count (rounded up);
4. the PRIMARY launches tasks (PENDING) up to its desired count, as long
   as all deployments' tasks stay at or below maximumPercent of the desired
   count (rounded down);
5. when the PRIMARY runs its desired count with nothing pending and the
   older deployments have no tasks left, it is COMPLETED and the older
   deployments are gone from ``deployments``.

Draining. With ``FERRY_EMULATOR_TASK_DRAIN_SECONDS`` (default 0) above
zero, a RUNNING task of an older deployment that step 3 stops does not stop
at once: it drains for that long, as ECS lets a task behind a load balancer
finish its requests (the target group's deregistration delay, 300 s by
default, often set to 30 s) and gives a task its stop timeout (30 s by
default) between SIGTERM and SIGKILL:
https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-target-groups.html#deregistration-delay
  "Elastic Load Balancing stops sending requests to targets that are
  deregistering. By using connection draining, you can ensure that
  in-flight requests have a chance to complete before the target is
  deregistered ... The default value is 300 seconds."
A draining task is still RUNNING (lastStatus; counted in runningCount and
in maximumPercent, so its deployment stays in ``deployments`` and the
PRIMARY is not COMPLETED yet) with desiredStatus STOPPED, its stopCode,
stoppedReason and ``stoppingAt`` set; it no longer counts towards
minimumHealthyPercent. The event ``(service NAME) has begun draining
connections on N tasks.`` comes when the drain starts, ``has stopped N
running tasks`` when it ends and the task is STOPPED; the rollout may then
complete at once (the end of a drain is computed at its own time, between
scheduler steps). Pending tasks, scale-in and StopTask stop tasks at once,
as with 0, which keeps the rollout behaviour without draining exactly.
DeleteService drains a service's RUNNING tasks (see "DeleteService,
DRAINING" below).

CreateService starts one PRIMARY deployment (moto's deployment id is kept),
IN_PROGRESS, with the service's task definition and desired count.
UpdateService that changes the task definition, the network
configuration, the load balancers, the service registries or the platform
version, or sets forceNewDeployment, starts a new PRIMARY deployment and
makes the previous PRIMARY ACTIVE; any other UpdateService changes only the
PRIMARY's desired count (and the deployment configuration) and, once the
count is reached, the service reports a steady state again. DescribeServices
returns ``deployments`` (PRIMARY first), service ``runningCount`` and
``pendingCount`` (sums over the deployments), ``events`` and the stored
``deploymentConfiguration``. A task definition given as ``family`` or
``family:revision`` is stored as its ARN, as ECS does (moto keeps the
string it was given).

``deploymentConfiguration`` is kept from CreateService (moto drops it) with
ECS's defaults for what is left out (maximumPercent 200,
minimumHealthyPercent 100, deploymentCircuitBreaker {enable: false,
rollback: false}); UpdateService replaces the fields it names.

A configuration that allows no progress (maximumPercent 100 and
minimumHealthyPercent 100 with old tasks running) stalls the deployment,
with ECS's event for it.

Service events
--------------
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-event-messages.html
  "we only show the 100 most recent events". Messages, newest first (the
  steady-state, "unable to consistently start" and "unable to stop or
  start" ones are the guide's; the others are ECS's as DescribeServices
  returns them in publicly quoted output, e.g. "(service X) rolling back
  to deployment ecs-svc/1675294001379389663." right after "(service X)
  (deployment ecs-svc/1571272475813219068) deployment failed: tasks failed
  to start."):
    (service NAME) has started N tasks: (task ID) (task ID).
    (service NAME) has stopped N running tasks: (task ID).
    (service NAME) (deployment ecs-svc/ID) deployment completed.
    (service NAME) has reached a steady state.
    (service NAME) (deployment ecs-svc/ID) deployment failed: tasks failed to start.
    (service NAME) rolling back to deployment ecs-svc/ID.
    (service NAME) is unable to consistently start tasks successfully.
    (service NAME) was unable to stop or start tasks during a deployment
      because of the service deployment configuration. Update the
      minimumHealthyPercent or maximumPercent value and try again.
  The guide writes them "service (service-name) ..."; DescribeServices
  writes "(service NAME) ...", which is what the layer sends. Each event
  has an ``id`` (a UUID) and ``createdAt`` (the step's time).
  rolloutStateReason: "ECS deployment ecs-svc/ID in progress.", "ECS
  deployment ecs-svc/ID completed.", "ECS deployment circuit breaker: tasks
  failed to start.", "ECS deployment circuit breaker: rolling back to
  deploymentId ecs-svc/ID." (ECS's wordings as publicly quoted).

Target health (services with ``loadBalancers``)
-----------------------------------------------
A service task that reaches RUNNING is registered as an ip target (its
private IP, shown in DescribeTasks ``attachments``, and the
``containerPort``) in each of its deployment's target groups, and
deregistered when it stops or starts draining; ``targets.py`` keeps the
targets and their states over time, scaled by
``FERRY_EMULATOR_HEALTH_TIME_SCALE``. Such a task counts towards
minimumHealthyPercent and towards the deployment's completion only once
its health checks passed in all its target groups (the rolling-update
guide: a task counts as healthy once it passes the load balancer's health
checks, paraphrased). A task definition with an image whose tag starts with
``unhealthy`` (the layer's convention) runs but fails its checks: once its
targets are unhealthy, and no earlier than the service's
healthCheckGracePeriodSeconds (same scale) after it started, the next step
stops it (stopCode ServiceSchedulerInitiated, stoppedReason ``Task failed
ELB health checks in (target-group ARN)``, event ``(service NAME) (task ID)
failed ELB health checks in (target-group ARN).``) and counts it in
``failedTasks``. That wording is modelled on ECS's event for container
health checks, ``(service X) (task ID) failed container health checks.``
(re:Post, ecs-troubleshoot-deployment-failures); we found no authoritative
quote of the ELB one. Such stops do not start the throttle below: "Tasks
that are stopped after they reach the RUNNING state don't start the
throttle logic" (service throttle logic guide, on tasks stopped after
failing ELB health checks). The circuit breaker's stage 2: the failures
count as failed starts do, and a deployment with a task that passed its
health checks is not judged; when most failures were health checks the
wording is ``deployment failed: tasks failed health checks.`` and
``ECS deployment circuit breaker: tasks failed health checks.``
(https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-circuit-breaker.html:
the breaker watches tasks reaching RUNNING, then their health checks).

Container health checks (issue 21): a deployment whose task definition
has checked essential containers (``container_health``) counts a RUNNING
task as healthy only once they are HEALTHY (behind load balancers: once
both its targets and its containers are); a task whose checks fail is
stopped at that time, no earlier than the grace period (stoppedReason
``Task failed container health checks``, event ``(service NAME) (task ID)
failed container health checks.``), and counts as a stage-2 failure as an
ELB one does, so a worker without a load balancer is judged too. Each task
is placed on a capacity provider by its deployment's strategy
(``ecs_capacity.place``, against the deployment's tasks so far) and takes
its deployment's ``enableExecuteCommand``.

Service throttle logic
----------------------
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-throttle-logic.html
  "If tasks for a service repeatedly fail to enter the RUNNING state
  (progressing directly from a PENDING to a STOPPED status), then the time
  between subsequent restart attempts is incrementally increased up to a
  maximum of 27 minutes. This maximum period is subject to change in the
  future." (The page said 15 minutes before.) "If your service initiates
  the throttle logic, you receive the following service event message:
  (service service-name) is unable to consistently start tasks
  successfully." "If you update your service to use a new task
  definition, your service returns to a normal, non-throttled state
  immediately." "Tasks that are stopped after they reach the RUNNING state
  don't start the throttle logic or the associated service event message.
  ... Even if a task's container command immediately exits with a non-zero
  exit code, the task already moved to the RUNNING state."
The page gives no schedule. The layer: after ``THROTTLE_AFTER`` (3)
failures to start in a row in the PRIMARY deployment (a task that reaches
RUNNING ends the run), the next launch waits 30 s, doubling with each
further failure, up to 27 minutes, all times
FERRY_EMULATOR_SERVICE_THROTTLE_SCALE (default 1/30: 1 s up to 54 s), and
at least one scheduler step; the event comes once per deployment. Tasks
that fail to start: the ``fail`` image tag and a missing secret or log
group (``task_resources``, the ``nosecret`` tag too). A ``stuck`` image's
tasks neither start nor fail: they stay PENDING (no step is due for them,
and no "unable to stop or start tasks" event: they wait, they are not held
by the configuration) until StopTask, scale-in or a newer deployment stops
them; the deployment stays IN_PROGRESS. Tasks that exit after RUNNING (``crash-...``,
``oom``) and tasks stopped after failing health checks are replaced at the
next step, unthrottled, as the page says. A new deployment (new task
definition) starts unthrottled.

Tasks that exit after RUNNING
-----------------------------
A service task of a deployment whose essential container has an exit
convention (``task_conventions.essential_exit``) is STOPPED ``after``
seconds after it started, at that very time (between scheduler steps, as
the end of a drain is): stopCode ``EssentialContainerExited``,
stoppedReason ``Essential container in task exited``, the container's
``exitCode`` (and, for ``oom``, its ``reason``), deregistered from its
target groups; ``failedTasks`` grows by one and the scheduler replaces it
at the next step. ECS posts no service event for a task that exits by
itself (the service-event-messages guide lists none); the replacement's
``has started`` event follows.

Circuit breaker
---------------
https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ServiceDeploymentCircuitBreaker.html
  "The deployment circuit breaker has a minimum threshold of 3 and a
  maximum threshold of 200. and uses the values in the following formula
  to determine the deployment failure. 0.5 * desired task count"
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-circuit-breaker.html
  "When the deployment circuit breaker determines that a deployment failed,
  it looks for the most recent deployment that is in a COMPLETED state.
  This is the deployment that it uses as the roll-back deployment. ...
  This means that the deployment is not eligible for another rollback
  until it reaches a COMPLETED state. When the deployment circuit breaker
  does not find a deployment that is in a COMPLETED state, the circuit
  breaker does not launch new tasks and the deployment is stalled."
  "Stage 1 - The scheduler monitors the tasks to see if they transition
  into the RUNNING state. ... Failure - By default, consecutive tasks that
  do not transition to the RUNNING state count toward the failure
  threshold (resetOnHealthyTask is true). When resetOnHealthyTask is
  false, all task failures accumulate regardless of whether healthy tasks
  start between failures." "Stage 2 - The deployment enters this stage
  when there is at least one task in the RUNNING state. The circuit
  breaker checks the health checks for the tasks in the current deployment
  being evaluated. The validated health checks are Elastic Load Balancing,
  AWS Cloud Map service health checks, and container health checks. ...
  Failure - The tasks that are replaced because of health check failures
  have reached the failure threshold." "When a health check fails for the
  task, the deployment circuit breaker increases the failure count by
  one. When the failure count equals the threshold, the deployment is
  marked as FAILED."
  Failure counting mode: "true (default) The failure count resets to 0
  each time a task reaches a healthy state. Only consecutive failures
  count toward the threshold." "false Task failures accumulate throughout
  the deployment. The failure count never resets".
  Threshold: "BOUNDED_PERCENT (default) Amazon ECS multiplies value by the
  latest service desired count to calculate the failure threshold. The
  result is clamped to a minimum of 3 and a maximum of 200. This is the
  default type with a default value of 50." "UNBOUNDED_PERCENT ... There is
  no minimum or maximum bound on the result." "COUNT Amazon ECS uses value
  directly as the failure threshold." The table rounds up (25 tasks, 50:
  13).
https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DeploymentCircuitBreaker.html
  resetOnHealthyTask: "When set to true, a task that reaches a healthy
  state resets the failure count to 0. ... The default is true."

The layer keeps, per deployment, the breaker's failure count (apart from
``failedTasks``, which counts every failed task and never resets). It
grows by one for each task that fails to start (stage 1), fails its ELB
health checks (stage 2), or exits after it reached RUNNING. The guide is
silent on that last case; the layer takes the stricter reading: such a
task counts, as a stage-2 failure (it ran, so stage 1 was passed, and a
task whose essential container exited is not a healthy one). A task that
becomes healthy (RUNNING, and behind load balancers passed its checks)
resets the count to 0 unless ``resetOnHealthyTask`` is false. With
``deploymentCircuitBreaker.enable``, a PRIMARY deployment that is
IN_PROGRESS and whose count reaches the threshold is FAILED. The archived
guide's "If a service deployment has at least one successfully running
task, the circuit breaker logic will not trigger regardless of the
deployment having any previous or future failed tasks" is superseded by
the current page's counting modes (with resetOnHealthyTask false, failures
accumulate "regardless of whether healthy tasks start"); the layer follows
the current page, the stricter one. The wording: ``tasks failed health
checks.`` when most counted failures were stage 2, else ``tasks failed to
start.``. So with the defaults, a service whose tasks run and then crash
never trips the breaker when each task becomes healthy first (each resets
the count), as on AWS; with resetOnHealthyTask false it trips after the
threshold's number of crashes.

With ``rollback`` and a deployment that COMPLETED before, a new PRIMARY
deployment with that deployment's task definition starts (IN_PROGRESS,
then COMPLETED like any other), the failed one becomes ACTIVE (and goes
when the rollback completes), and the service's ``taskDefinition`` is that
one again. Without rollback, or with nothing to roll back to, the FAILED
deployment stays PRIMARY and launches nothing; older deployments keep
their tasks.

DeleteService, DRAINING
-----------------------
https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DeleteService.html
  When a service with running tasks is deleted it moves from ACTIVE to
  DRAINING and is no longer visible in ListServices; once all its tasks
  are STOPPING or STOPPED it moves to INACTIVE. DRAINING and INACTIVE
  services can still be described. Creating a service with the name of an
  ACTIVE or DRAINING one is an error.
moto marks the service INACTIVE at once. Here DeleteService stops the
service's pending tasks at once ("has stopped") and its RUNNING tasks
drain ("has begun draining connections"): for FERRY_EMULATOR_TASK_DRAIN_SECONDS,
but at least one scheduler step (FERRY_EMULATOR_TASK_START_SECONDS), as a
task takes time to go from RUNNING through its stopping states
(https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-lifecycle-explanation.html).
Until they are STOPPED the service's ``status`` is DRAINING (DeleteService
and DescribeServices answer so, moto's INACTIVE overwritten), ListServices
leaves it out, UpdateService gets ``ServiceNotActiveException`` ("Service
was not ACTIVE.") and CreateService of the same name in the same cluster
gets ``InvalidParameterException`` ("Creation of service was not
idempotent.", the wording publicly quoted for re-creating a service that
is still draining, e.g. hashicorp/terraform-provider-aws#14489; another
wording, "Unable to Start a service that is still Draining.", is quoted
too, spinnaker/spinnaker#5476). Then INACTIVE, as moto has it (moto's
ListServices keeps listing INACTIVE services, see ecs.py). A service
deleted with no running task is INACTIVE at once.

Service tasks
-------------
Service tasks exist in the layer only. ListTasks (with ``serviceName``,
``family``, ``startedBy``, ``desiredStatus``) lists them and DescribeTasks
describes them: ``group`` ``service:NAME``, ``startedBy`` the deployment id
(as ECS sets it), stopCode ``ServiceSchedulerInitiated`` and stoppedReason
``Scaling activity initiated by (deployment ecs-svc/ID)`` when the
scheduler stops them (the wording in
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/stopped-task-errors.html).
StopTask stops one (``UserInitiated``) and the scheduler replaces it.
"Stopped tasks only appear ... for at least 1 hour after the task stops"
(same page): the layer keeps the 100 most recent per service for an hour.

One-off tasks (RunTask)
-----------------------
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-lifecycle.html
  "Some tasks are meant to run as batch jobs that naturally progress
  through from PENDING to RUNNING to STOPPED."
A task runs PENDING for ``FERRY_EMULATOR_TASK_START_SECONDS``, then RUNNING
for ``FERRY_EMULATOR_TASK_RUN_SECONDS`` (default 1.0), then is STOPPED with
desiredStatus STOPPED, stopCode ``EssentialContainerExited``, stoppedReason
``Essential container in task exited`` and ``containers[0].exitCode``:
N if the first container's command (its override in
``overrides.containerOverrides``, else the task definition's), joined
with spaces, contains ``exit N`` (``sh -c "exit 3"``), else 0 (the layer's
convention; N modulo 256, as a shell does). A task whose task definition
cannot start (``fail`` tag, above) is STOPPED after its PENDING time with
stopCode ``TaskFailedToStart`` and no exit code; a ``stuck`` one is PENDING
until StopTask. StopTask stops it at once
(stopCode ``UserInitiated``, no exit code). ``createdAt``, ``startedAt``,
``stoppingAt``, ``stoppedAt`` follow.

"""

from __future__ import annotations

import copy
import random
import re
import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from . import targets
from .container_health import STOPPED_REASON as CONTAINER_CHECKS_FAILED
from .container_health import Timing
from .ecs_capacity import place
from .ecs_settings import TASK_DRAIN_DEFAULT, THROTTLE_SCALE_DEFAULT, Settings
from .ecs_strategies import SUCCESSFUL, Run
from .task_conventions import ESSENTIAL_EXITED, Exit, cannot_pull


# -- ECS arithmetic ----------------------------------------------------------------

def failure_threshold(desired: int, breaker: Mapping[str, Any] | None = None) -> int:
    """Circuit breaker: the thresholdConfiguration (default BOUNDED_PERCENT 50:
    0.5 * desired count, rounded up, within 3..200; UNBOUNDED_PERCENT: not
    clamped; COUNT: the value itself)."""
    threshold = (breaker or {}).get("thresholdConfiguration")
    threshold = threshold if isinstance(threshold, dict) else {}
    kind = threshold.get("type") or "BOUNDED_PERCENT"
    value = threshold.get("value")
    value = int(value) if isinstance(value, (int, float)) and value > 0 else None
    if kind == "COUNT":
        return value if value is not None else 3
    percent = value if value is not None else 50
    computed = -(-desired * percent // 100)  # rounded up
    if kind == "UNBOUNDED_PERCENT":
        return max(1, computed)
    return min(200, max(3, computed))


def resets_on_healthy_task(breaker: Mapping[str, Any] | None) -> bool:
    """resetOnHealthyTask, true by default."""
    return (breaker or {}).get("resetOnHealthyTask") is not False


def min_healthy(desired: int, configuration: Mapping[str, Any]) -> int:
    """minimumHealthyPercent of the desired count, rounded up."""
    percent = configuration.get("minimumHealthyPercent", 100)
    return -(-desired * int(percent) // 100)


def max_tasks(desired: int, configuration: Mapping[str, Any]) -> int:
    """maximumPercent of the desired count, rounded down."""
    percent = configuration.get("maximumPercent", 200)
    return desired * int(percent) // 100


DEFAULT_DEPLOYMENT_CONFIGURATION: dict[str, Any] = {
    "deploymentCircuitBreaker": {"enable": False, "rollback": False},
    "maximumPercent": 200,
    "minimumHealthyPercent": 100,
}


def merge_configuration(current: Mapping[str, Any], update: Any) -> dict[str, Any]:
    """``current`` with the fields ``update`` names replaced."""
    merged = copy.deepcopy(dict(current))
    if isinstance(update, dict):
        for key, value in update.items():
            if value is not None:
                merged[key] = copy.deepcopy(value)
    return merged



# -- the model -------------------------------------------------------------------

IN_PROGRESS, COMPLETED, FAILED = "IN_PROGRESS", "COMPLETED", "FAILED"
EVENTS_KEPT = 100
STOPPED_TASKS_KEPT = 100
STOPPED_TASK_SECONDS = 3600.0
THROTTLE_AFTER = 3
THROTTLE_BASE_SECONDS = 30.0
THROTTLE_MAX_SECONDS = 27 * 60.0


def throttle_delay(consecutive_failures: int, scale: float, step: float) -> float:
    """The wait before the next launch after that many failures to start in a row:
    30 s doubling, up to 27 minutes, times ``scale``, at least one ``step``."""
    doublings = min(max(consecutive_failures - THROTTLE_AFTER, 0), 40)
    return max(step, min(THROTTLE_MAX_SECONDS, THROTTLE_BASE_SECONDS * 2 ** doublings) * scale)


@dataclass
class ServiceTask:
    id: str
    deployment_id: str
    task_definition: str | None
    created_at: float
    launch_type: str | None = None
    image: str = ""
    # The capacity provider it was placed on (ecs_capacity.place) and ECS
    # Exec, both from its deployment when it was launched.
    capacity_provider: str | None = None
    exec_enabled: bool = False
    started_at: float | None = None
    stopped_at: float | None = None
    stop_code: str | None = None
    stopped_reason: str | None = None
    # Draining (FERRY_EMULATOR_TASK_DRAIN_SECONDS > 0): stopped by the
    # scheduler at ``stopping_at``, still RUNNING until ``drained_at``.
    stopping_at: float | None = None
    drained_at: float | None = None
    # Target health (services with loadBalancers): the targets registered
    # when the task is RUNNING; when it passed its health checks in all of
    # them (the start time without load balancers); when it counts as
    # having failed them (never for a healthy image).
    targets: list[targets.Target] = field(default_factory=list)
    ip: str = ""
    healthy_at: float | None = None
    fails_health_at: float | None = None
    # Exits after RUNNING (task_conventions.essential_exit): when, and
    # how; ``healthy_seen``: the breaker has counted it healthy (reset).
    exits_at: float | None = None
    exit: Exit | None = None
    exited: bool = False
    healthy_seen: bool = False
    # Its health: the container health checks fail (not the ELB ones).
    fails_container_checks: bool = False
    health: Timing | None = None

    def is_healthy(self, at: float) -> bool:
        return (self.started_at is not None and self.healthy_at is not None
                and self.healthy_at <= at)

    @property
    def last_status(self) -> str:
        if self.stopped_at is not None:
            return "STOPPED"
        return "PENDING" if self.started_at is None else "RUNNING"

    @property
    def draining(self) -> bool:
        return self.stopping_at is not None and self.stopped_at is None

    @property
    def desired_status(self) -> str:
        return "STOPPED" if self.stopped_at is not None or self.stopping_at is not None else "RUNNING"


@dataclass
class Deployment:
    id: str
    task_definition: str | None
    desired: int
    created_at: float
    failing_image: str | None = None
    template: dict[str, Any] = field(default_factory=dict)
    load_balancers: list[dict[str, Any]] = field(default_factory=list)
    unhealthy_image: str | None = None
    # A ``stuck`` image (task_conventions): its tasks stay PENDING.
    stuck_image: str | None = None
    grace_seconds: float = 0.0
    exit: Exit | None = None
    # Container health checks of its task definition (container_health).
    health: Timing | None = None
    # Failures the breaker counted in stage 2 (health checks, exits after
    # RUNNING), for its wording; ``breaker_failures``: its failure count
    # (reset by a healthy task unless resetOnHealthyTask is false).
    health_failures: int = 0
    breaker_failures: int = 0
    status: str = "PRIMARY"
    rollout: str = IN_PROGRESS
    reason: str = ""
    updated_at: float = 0.0
    tasks: list[ServiceTask] = field(default_factory=list)
    failed_tasks: int = 0
    consecutive_failures: int = 0
    start_after: float = 0.0
    throttled: bool = False
    stalled: bool = False
    # A blue/green, canary or linear deployment (ecs_strategies): its run,
    # and whether the scheduler acted on its end (success or rollback).
    run: Run | None = None
    run_handled: bool = False
    # For a run: per load balancer entry, (production rule, test rule, blue
    # group, green group): the weights ECS moves (service_deployments).
    pairs: list[tuple[str, str, str, str]] = field(default_factory=list)
    # Its service deployment (DescribeServiceDeployments): the deployment it
    # replaced, when it ended, whether a newer one superseded it unfinished.
    source: "Deployment | None" = None
    finished_at: float | None = None
    stopped: bool = False

    def __post_init__(self) -> None:
        self.reason = self.reason or f"ECS deployment {self.id} in progress."
        self.updated_at = self.updated_at or self.created_at

    @property
    def running(self) -> list[ServiceTask]:
        """RUNNING tasks, draining ones included."""
        return [t for t in self.tasks if t.started_at is not None]

    @property
    def healthy(self) -> list[ServiceTask]:
        """RUNNING tasks that are not draining (health checks aside)."""
        return [t for t in self.tasks if t.started_at is not None and not t.draining]

    def healthy_by(self, at: float) -> list[ServiceTask]:
        """RUNNING tasks that are not draining and, behind load balancers, have passed
        their health checks: the ones minimumHealthyPercent counts."""
        return [t for t in self.tasks if t.is_healthy(at) and not t.draining]

    @property
    def draining(self) -> list[ServiceTask]:
        return [t for t in self.tasks if t.draining]

    @property
    def pending(self) -> list[ServiceTask]:
        return [t for t in self.tasks if t.started_at is None]


@dataclass
class ServiceState:
    name: str
    arn: str
    cluster_arn: str
    configuration: dict[str, Any]
    deployments: list[Deployment] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)
    next_tick: float | None = None
    events: list[dict[str, Any]] = field(default_factory=list)
    stopped: list[ServiceTask] = field(default_factory=list)
    last_completed: Deployment | None = None
    unsteady: bool = False
    deleted: bool = False
    tags: list[Any] = field(default_factory=list)
    propagate_tags: str = "NONE"
    grace_seconds: float = 0.0
    # Every deployment started, newest first (ListServiceDeployments), kept
    # after it left ``deployments``.
    history: list["Deployment"] = field(default_factory=list)

    @property
    def primary(self) -> Deployment:
        return self.deployments[0]

    @property
    def status(self) -> str:
        """ACTIVE; after DeleteService DRAINING while a task still runs, then INACTIVE."""
        if not self.deleted:
            return "ACTIVE"
        return "DRAINING" if any(d.tasks for d in self.deployments) else "INACTIVE"

    def record(self, at: float, message: str) -> None:
        self.events.insert(0, {"id": str(uuid.uuid4()), "createdAt": at, "message": message})
        del self.events[EVENTS_KEPT:]

    def task_arn(self, task: ServiceTask) -> str:
        prefix = self.arn.split(":service/", 1)[0]
        return f"{prefix}:task/{self.cluster_arn.rsplit('/', 1)[-1]}/{task.id}"

    def visible_stopped(self, now: float) -> list[ServiceTask]:
        return [t for t in self.stopped
                if t.stopped_at is not None and now - t.stopped_at < STOPPED_TASK_SECONDS]


def task_ip(task_id: str) -> str:
    """A task's private IPv4 address (the layer's, derived from its id)."""
    n = int(task_id[:6], 16) if re.fullmatch(r"[0-9a-f]{6,}", task_id[:6]) else hash(task_id)
    return f"10.{(n >> 16) % 256}.{(n >> 8) % 256}.{n % 254 + 1}"


def _new_deployment_id() -> str:
    return f"ecs-svc/{random.SystemRandom().randrange(10 ** 18, 10 ** 19)}"


def _record_stops(svc: "ServiceState", at: float, stopped: list["ServiceTask"],
                  draining: list["ServiceTask"]) -> None:
    """The service events of tasks the scheduler stopped or began draining at ``at``."""
    if stopped:
        svc.record(at, f"(service {svc.name}) has stopped {len(stopped)} running tasks: "
                       f"{_task_list(stopped)}.")
    if draining:
        svc.record(at, f"(service {svc.name}) has begun draining connections on "
                       f"{len(draining)} tasks.")


def run_event(svc: ServiceState, now: float) -> float | None:
    """When the PRIMARY's run succeeded or started rolling back, by ``now``, if the
    scheduler has not acted on it yet."""
    if not svc.deployments:
        return None
    primary = svc.primary
    if primary.run is None or primary.run_handled:
        return None
    view = primary.run.view(now)
    if view.rollback_at is not None:
        return view.rollback_at
    return view.finished_at if view.status == SUCCESSFUL else None


def _task_list(tasks: list[ServiceTask]) -> str:
    return " ".join(f"(task {t.id})" for t in tasks)


class Scheduler:
    """The ECS service scheduler, one step per ``interval`` seconds (see the module docstring)."""

    def __init__(self, interval: float,
                 new_task_id: Callable[[], str] = lambda: uuid.uuid4().hex,
                 new_deployment_id: Callable[[], str] = _new_deployment_id,
                 drain: float = TASK_DRAIN_DEFAULT,
                 registry: targets.Registry | None = None,
                 throttle_scale: float = THROTTLE_SCALE_DEFAULT,
                 start_check: Callable[[Deployment], str | None] | None = None):
        """``start_check``: why a task of the deployment cannot start now (a
        missing secret or log group, ``task_resources``), asked each time a
        task would reach RUNNING; None: nothing missing."""
        self.interval = interval
        self.new_task_id = new_task_id
        self.new_deployment_id = new_deployment_id
        self.drain = drain
        self.registry = registry if registry is not None else targets.Registry()
        self.throttle_scale = throttle_scale
        self.start_check = start_check

    # -- writes --------------------------------------------------------------------

    def wake(self, svc: ServiceState, now: float) -> None:
        """Something changed at ``now``: make sure a step comes."""
        if svc.deployments:
            svc.primary.stalled = False
        if svc.next_tick is None and not svc.deleted:
            svc.next_tick = now + self.interval

    def deploy(self, svc: ServiceState, task_definition: str | None, desired: int,
               failing: str | None, template: dict[str, Any], now: float,
               deployment_id: str | None = None, reason: str = "",
               load_balancers: list[dict[str, Any]] | None = None,
               unhealthy: str | None = None, grace_seconds: float = 0.0,
               exit: Exit | None = None, health: Timing | None = None,
               stuck: str | None = None, run: Run | None = None,
               pairs: list[tuple[str, str, str, str]] | None = None) -> Deployment:
        deployment = Deployment(id=deployment_id or self.new_deployment_id(),
                                task_definition=task_definition, desired=desired, created_at=now,
                                failing_image=failing, template=copy.deepcopy(template),
                                reason=reason,
                                load_balancers=copy.deepcopy(load_balancers or []),
                                unhealthy_image=unhealthy, grace_seconds=grace_seconds,
                                exit=exit, health=health, stuck_image=stuck, run=run,
                                pairs=list(pairs or []),
                                source=svc.primary if svc.deployments else None)
        for old in svc.deployments:
            if old.status == "PRIMARY":
                old.status = "ACTIVE"
                old.updated_at = now
                if old.rollout == IN_PROGRESS and old.finished_at is None:
                    old.stopped, old.finished_at = True, now  # superseded
        svc.deployments.insert(0, deployment)
        svc.history.insert(0, deployment)
        del svc.history[STOPPED_TASKS_KEPT:]
        svc.unsteady = False
        self.wake(svc, now)
        return deployment

    def scale(self, svc: ServiceState, desired: int, now: float) -> None:
        primary = svc.primary
        if desired != primary.desired:
            primary.desired = desired
            primary.updated_at = now
            svc.unsteady = True
        self.wake(svc, now)

    def delete(self, svc: ServiceState, now: float) -> None:
        """DeleteService: pending tasks stop now; RUNNING ones stop after the drain
        (at least one scheduler step), the service DRAINING until they have."""
        stopped = []
        draining = []
        reason = f"Scaling activity initiated by (deployment {svc.primary.id})"
        for deployment in svc.deployments:
            for task in list(deployment.tasks):
                if task.started_at is None:
                    self._stop(svc, deployment, task, now, "ServiceSchedulerInitiated", reason)
                    stopped.append(task)
                elif not task.draining:
                    self._begin_draining(deployment, task, now, "ServiceSchedulerInitiated",
                                         reason, max(self.drain, self.interval))
                    draining.append(task)
        _record_stops(svc, now, stopped, draining)
        svc.deleted = True
        svc.next_tick = None

    def stop_task(self, svc: ServiceState, task: ServiceTask, reason: str, now: float) -> None:
        """StopTask on a service task: it stops now; the scheduler replaces it."""
        for deployment in svc.deployments:
            if task in deployment.tasks:
                self._stop(svc, deployment, task, now, "UserInitiated", reason)
                if svc.primary.rollout == COMPLETED:
                    svc.unsteady = True
                self.wake(svc, now)
                return

    # -- time ------------------------------------------------------------------------

    def advance(self, svc: ServiceState, now: float) -> None:
        """Every step, every end of a drain and every exit due by ``now``, in order, each
        at its own time (at the same time: drains, then exits, then the step)."""
        while True:
            tick = None if svc.deleted else svc.next_tick
            drained = min((t.drained_at for d in svc.deployments for t in d.draining
                           if t.drained_at is not None), default=None)
            exits = min((t.exits_at for d in svc.deployments for t in d.tasks
                         if t.exits_at is not None and not t.draining), default=None)
            run_end = None if svc.deleted else run_event(svc, now)
            due = [at for at in (drained, exits, tick, run_end) if at is not None and at <= now]
            if not due:
                break
            first = min(due)
            if run_end is not None and run_end == first:
                self._finish_run(svc, run_end)
            elif drained is not None and drained == first:
                self._finish_draining(svc, drained)
            elif exits is not None and exits == first:
                self._finish_exits(svc, exits)
            else:
                svc.next_tick = self._step(svc, first)

    def _note_healthy(self, svc: ServiceState, at: float) -> None:
        """The breaker sees the PRIMARY's tasks that became healthy by ``at``: each
        resets its failure count, unless resetOnHealthyTask is false."""
        if not svc.deployments:
            return
        primary = svc.primary
        reset = resets_on_healthy_task(svc.configuration.get("deploymentCircuitBreaker"))
        for task in primary.tasks:
            if not task.healthy_seen and not task.draining and task.is_healthy(at):
                task.healthy_seen = True
                if reset:
                    primary.breaker_failures = 0

    def _finish_exits(self, svc: ServiceState, at: float) -> None:
        """Tasks whose essential container exits by ``at`` are STOPPED (EssentialContainerExited);
        each counts as a failed task, for the breaker too (stage 2, the stricter
        reading), but not for the throttle; the next step replaces them."""
        self._note_healthy(svc, at)
        for deployment in svc.deployments:
            for task in list(deployment.tasks):
                if task.exits_at is None or task.exits_at > at or task.draining:
                    continue
                task.exited = True
                self._stop(svc, deployment, task, task.exits_at, "EssentialContainerExited",
                           ESSENTIAL_EXITED)
                deployment.failed_tasks += 1
                deployment.health_failures += 1
                deployment.breaker_failures += 1
        if not svc.deleted:
            self._judge(svc, at)
            self.wake(svc, at)

    def _finish_draining(self, svc: ServiceState, at: float) -> None:
        """Draining tasks whose drain ends by ``at`` are STOPPED; the rollout may complete."""
        stopped = []
        for deployment in svc.deployments:
            for task in deployment.draining:
                if task.drained_at is not None and task.drained_at <= at:
                    self._stop(svc, deployment, task, at, task.stop_code or "ServiceSchedulerInitiated",
                               task.stopped_reason or "")
                    stopped.append(task)
        if stopped:
            svc.record(at, f"(service {svc.name}) has stopped {len(stopped)} running tasks: "
                           f"{_task_list(stopped)}.")
        if not svc.deleted:
            self._settle(svc, at)

    def _begin_draining(self, deployment: Deployment, task: ServiceTask, at: float, code: str,
                        reason: str, seconds: float | None = None) -> None:
        task.stopping_at = at
        task.drained_at = at + (self.drain if seconds is None else seconds)
        task.stop_code, task.stopped_reason = code, reason
        deployment.updated_at = at
        self._deregister(task, at)

    def _register(self, deployment: Deployment, task: ServiceTask, at: float) -> None:
        """The task is RUNNING: its targets go into its service's target groups."""
        task.started_at = at
        task.health = deployment.health
        if deployment.exit is not None:
            task.exit = deployment.exit
            task.exits_at = at + deployment.exit.after
        # Container health checks (container_health): the task counts as
        # healthy once its essential checked containers are; one that fails
        # them is replaced, no earlier than the grace period.
        health = deployment.health
        checks_pass_at = at if health is None or not health.checked else (
            None if health.healthy_after is None else at + health.healthy_after)
        grace = deployment.grace_seconds * self.registry.scale
        checks_fail_at = (None if health is None or health.fails_after is None
                          else max(at + health.fails_after, at + grace))
        if not deployment.load_balancers:
            task.healthy_at = checks_pass_at
            if checks_fail_at is not None:
                task.fails_health_at, task.fails_container_checks = checks_fail_at, True
            return
        passes = deployment.unhealthy_image is None
        task.ip = task_ip(task.id)
        for link in deployment.load_balancers:
            group = link.get("targetGroupArn")
            if isinstance(group, str):
                task.targets.append(self.registry.register(
                    group, task.ip, int(link.get("containerPort") or 0), at, passes))
        settles = max((t.settles_at for t in task.targets), default=at)
        if passes:
            task.healthy_at = None if checks_pass_at is None else max(settles, checks_pass_at)
        else:
            # Health checks that fail within the grace period do not count.
            task.fails_health_at = max(min((t.settles_at for t in task.targets), default=at),
                                       at + grace)
        if checks_fail_at is not None and (task.fails_health_at is None
                                           or checks_fail_at < task.fails_health_at):
            task.fails_health_at, task.fails_container_checks = checks_fail_at, True

    def _deregister(self, task: ServiceTask, at: float) -> None:
        for target in task.targets:
            self.registry.deregister(target, at)

    def _stop(self, svc: ServiceState, deployment: Deployment, task: ServiceTask, at: float,
              code: str, reason: str) -> None:
        deployment.tasks.remove(task)
        self._deregister(task, at)
        task.stopped_at, task.stop_code, task.stopped_reason = at, code, reason
        deployment.updated_at = at
        svc.stopped.insert(0, task)
        del svc.stopped[STOPPED_TASKS_KEPT:]

    def _cannot_start(self, deployment: Deployment) -> str | None:
        """Why a task of the deployment stops before RUNNING now, or None."""
        if deployment.failing_image is not None:
            return cannot_pull(deployment.failing_image)
        return self.start_check(deployment) if self.start_check is not None else None

    def _judge(self, svc: ServiceState, at: float) -> bool:
        """The circuit breaker: the PRIMARY IN_PROGRESS whose failure count reached the
        threshold is FAILED (and may roll back). True if it failed now."""
        primary = svc.primary
        breaker = svc.configuration.get("deploymentCircuitBreaker") or {}
        if (primary.rollout == IN_PROGRESS and breaker.get("enable")
                and primary.breaker_failures >= failure_threshold(primary.desired, breaker)):
            if primary.run is not None and breaker.get("rollback"):
                health = primary.health_failures * 2 > primary.failed_tasks
                what = "tasks failed health checks." if health else "tasks failed to start."
                primary.run.start_rollback(at, f"ECS deployment circuit breaker: {what}")
                self._finish_run(svc, at)
                return True
            self._fail(svc, primary, at, rollback=bool(breaker.get("rollback")))
            return True
        return False

    def _fail(self, svc: ServiceState, primary: Deployment, at: float, rollback: bool) -> Deployment:
        primary.rollout = FAILED
        primary.finished_at = at
        # Stage 1 (tasks that never reach RUNNING) or stage 2 (health checks).
        health = primary.health_failures * 2 > primary.failed_tasks
        what = "tasks failed health checks." if health else "tasks failed to start."
        primary.reason = f"ECS deployment circuit breaker: {what}"
        primary.updated_at = at
        svc.record(at, f"(service {svc.name}) (deployment {primary.id}) deployment failed: "
                       f"{what}")
        target = svc.last_completed
        if not rollback or target is None:
            return primary
        svc.record(at, f"(service {svc.name}) rolling back to deployment {target.id}.")
        svc.last_completed = None  # not eligible again until the rollback completes
        return self.deploy(svc, target.task_definition, primary.desired, target.failing_image,
                           target.template, at,
                           reason=("ECS deployment circuit breaker: rolling back to "
                                   f"deploymentId {target.id}."),
                           load_balancers=target.load_balancers,
                           unhealthy=target.unhealthy_image, grace_seconds=target.grace_seconds,
                           exit=target.exit, health=target.health, stuck=target.stuck_image)

    def _step(self, svc: ServiceState, at: float) -> float | None:
        """One scheduler step at time ``at``; returns when the next one is due."""
        config = svc.configuration
        primary = svc.primary

        # 1. Tasks launched at an earlier step are RUNNING, or failed to start.
        self._note_healthy(svc, at)
        new_failures = 0
        for deployment in svc.deployments:
            for task in deployment.pending:
                why = self._cannot_start(deployment)
                if why is not None:
                    self._stop(svc, deployment, task, at, "TaskFailedToStart", why)
                    deployment.failed_tasks += 1
                    deployment.breaker_failures += 1
                    deployment.consecutive_failures += 1
                    new_failures += deployment is primary
                elif deployment.stuck_image is not None:
                    continue  # its image pull never ends: PENDING until stopped
                else:
                    self._register(deployment, task, at)
                    deployment.consecutive_failures = 0
                    deployment.updated_at = at

        # 1b. RUNNING tasks that failed their ELB health checks stop (and
        # count as failed tasks; not for the throttle, which only counts
        # tasks that never reach RUNNING).
        stopped: list[ServiceTask] = []
        for deployment in svc.deployments:
            for task in list(deployment.tasks):
                if (task.fails_health_at is not None and task.fails_health_at <= at
                        and not task.draining):
                    groups = [t.group for t in task.targets]
                    if task.fails_container_checks:
                        self._stop(svc, deployment, task, at, "ServiceSchedulerInitiated",
                                   CONTAINER_CHECKS_FAILED)
                        svc.record(at, f"(service {svc.name}) (task {task.id}) failed container "
                                       "health checks.")
                    else:
                        self._stop(svc, deployment, task, at, "ServiceSchedulerInitiated",
                                   f"Task failed ELB health checks in (target-group {groups[0]})")
                    for group in groups if not task.fails_container_checks else []:
                        svc.record(at, f"(service {svc.name}) (task {task.id}) failed ELB health "
                                       f"checks in (target-group {group}).")
                    deployment.failed_tasks += 1
                    deployment.health_failures += 1
                    deployment.breaker_failures += 1
                    stopped.append(task)

        # 2. The circuit breaker (on its failure count), else the throttle.
        judged = self._judge(svc, at)
        primary = svc.primary
        if not judged and new_failures and primary.consecutive_failures >= THROTTLE_AFTER:
            if not primary.throttled:
                primary.throttled = True
                svc.record(at, f"(service {svc.name}) is unable to consistently start tasks "
                               "successfully.")
            primary.start_after = at + throttle_delay(primary.consecutive_failures,
                                                      self.throttle_scale, self.interval)

        # 3. Stop: the PRIMARY's tasks above its count, then older deployments'.
        desired = primary.desired
        reason = f"Scaling activity initiated by (deployment {primary.id})"
        excess = len(primary.tasks) - desired
        if excess > 0:
            for task in (primary.pending[::-1] + primary.running[::-1])[:excess]:
                self._stop(svc, primary, task, at, "ServiceSchedulerInitiated", reason)
                stopped.append(task)
        draining: list[ServiceTask] = []
        if primary.rollout != FAILED and (primary.run is None or primary.run_handled):
            older = svc.deployments[1:]
            for deployment in older:
                for task in deployment.pending:
                    self._stop(svc, deployment, task, at, "ServiceSchedulerInitiated", reason)
                    stopped.append(task)
            # Draining tasks are already on their way out: they count
            # neither as healthy nor as stoppable.
            budget = (sum(len(d.healthy_by(at)) for d in svc.deployments)
                      - min_healthy(desired, config))
            if primary.run is not None:  # CLEAN_UP: every old task goes
                budget = sum(len(d.healthy_by(at)) for d in older)
            for deployment in reversed(older):
                for task in deployment.healthy_by(at):
                    if budget <= 0:
                        break
                    if self.drain > 0:
                        self._begin_draining(deployment, task, at, "ServiceSchedulerInitiated",
                                             reason)
                        draining.append(task)
                    else:
                        self._stop(svc, deployment, task, at, "ServiceSchedulerInitiated", reason)
                        stopped.append(task)
                    budget -= 1
        _record_stops(svc, at, stopped, draining)

        # 4. Launch the PRIMARY's tasks, within maximumPercent.
        started: list[ServiceTask] = []
        if primary.rollout != FAILED and at >= primary.start_after:
            total = sum(len(d.tasks) for d in svc.deployments)
            count = min(desired - len(primary.tasks), max_tasks(desired, config) - total)
            if primary.run is not None:  # SCALE_UP: "scales up to 100%" beside blue
                count = desired - len(primary.tasks)
            for _ in range(max(count, 0)):
                placed = Counter(t.capacity_provider for t in primary.tasks if t.capacity_provider)
                task = ServiceTask(id=self.new_task_id(), deployment_id=primary.id,
                                   task_definition=primary.task_definition, created_at=at,
                                   launch_type=primary.template.get("launchType"),
                                   image=primary.failing_image or "",
                                   capacity_provider=place(
                                       primary.template.get("capacityProviderStrategy"), placed),
                                   exec_enabled=primary.template.get("enableExecuteCommand") is True)
                primary.tasks.append(task)
                started.append(task)
            if started:
                primary.updated_at = at
                svc.record(at, f"(service {svc.name}) has started {len(started)} tasks: "
                               f"{_task_list(started)}.")

        # 5. Completed, or steady again after a change of count.
        self._settle(svc, at)

        # When the next step is due, if any (a stuck task needs none: it stays
        # PENDING until a write stops it, and every write wakes the scheduler).
        if any(d.pending and d.stuck_image is None for d in svc.deployments):
            return at + self.interval
        if any(t.started_at is not None and not t.is_healthy(at) and not t.draining
               for d in svc.deployments for t in d.tasks):
            return at + self.interval  # health checks under way
        if primary.rollout == FAILED:
            return None
        if primary.rollout == IN_PROGRESS or svc.unsteady:
            if at < primary.start_after:
                return max(at + self.interval, primary.start_after)
            if not started and not stopped and not any(d.draining for d in svc.deployments):
                if primary.run is not None and not primary.run_handled:
                    return None  # its stages run on their own timers (run_event)
                if any(d.pending for d in svc.deployments):
                    return None  # stuck PENDING: waiting, not stalled by the configuration
                if not primary.stalled:
                    primary.stalled = True
                    svc.record(at, f"(service {svc.name}) was unable to stop or start tasks "
                                   "during a deployment because of the service deployment "
                                   "configuration. Update the minimumHealthyPercent or "
                                   "maximumPercent value and try again.")
                return None
            return at + self.interval
        return None

    def _finish_run(self, svc: ServiceState, at: float) -> None:
        """The PRIMARY's run ended at ``at``: after SUCCESSFUL the old revision's tasks
        stop (CLEAN_UP, at this step); after a rollback its own tasks stop and the
        previous deployment is PRIMARY again."""
        primary = svc.primary
        run = primary.run
        if run is None or primary.run_handled:
            return
        primary.run_handled = True
        view = run.view(at)
        if view.status == SUCCESSFUL:
            svc.next_tick = at  # CLEAN_UP now
            return
        reason = view.rollback_reason or "rolled back"
        primary.rollout, primary.reason = FAILED, f"ECS deployment {primary.id} rolled back: {reason}"
        primary.updated_at = at
        primary.finished_at = at
        stopped = list(primary.tasks)
        for task in stopped:
            self._stop(svc, primary, task, at, "ServiceSchedulerInitiated",
                       f"Scaling activity initiated by (deployment {primary.id})")
        svc.record(at, f"(service {svc.name}) (deployment {primary.id}) deployment failed: "
                       f"{reason}")
        _record_stops(svc, at, stopped, [])
        svc.deployments.remove(primary)
        if svc.deployments:
            previous = svc.deployments[0]
            previous.status, previous.rollout = "PRIMARY", COMPLETED
            previous.updated_at = at
            svc.record(at, f"(service {svc.name}) rolling back to deployment {previous.id}.")
            svc.last_completed = previous
        self.wake(svc, at)

    def _settle(self, svc: ServiceState, at: float) -> None:
        """The PRIMARY at its count with the older deployments gone: COMPLETED, or steady again."""
        primary = svc.primary
        older_busy = any(d.tasks for d in svc.deployments[1:])
        # A task whose container exits at this very time does not count.
        at_count = (len(primary.running) == primary.desired and not primary.pending
                    and all(t.is_healthy(at) and (t.exits_at is None or t.exits_at > at)
                            for t in primary.running))
        run = primary.run
        if run is not None and at_count and run.scaled_up_at is None:
            run.scaled_up_at = at
        if run is not None and not (primary.run_handled and run.view(at).status == SUCCESSFUL):
            return
        if primary.rollout == IN_PROGRESS and at_count and not older_busy:
            primary.rollout = COMPLETED
            primary.finished_at = at
            primary.reason = f"ECS deployment {primary.id} completed."
            primary.updated_at = at
            svc.deployments = [primary]
            svc.last_completed = primary
            svc.unsteady = False
            svc.record(at, f"(service {svc.name}) (deployment {primary.id}) deployment completed.")
            svc.record(at, f"(service {svc.name}) has reached a steady state.")
        elif primary.rollout == COMPLETED and svc.unsteady and at_count and not older_busy:
            svc.unsteady = False
            svc.record(at, f"(service {svc.name}) has reached a steady state.")


# -- one-off tasks ---------------------------------------------------------------------

@dataclass
class OneOffTask:
    arn: str
    created_at: float
    exit_code: int = 0
    failing_image: str | None = None
    user_stop: tuple[float, str] | None = None
    # For its log lines (tasklogs.py): the task definition, and each
    # container's command (its override, else the task definition's).
    task_definition: str | None = None
    commands: dict[str, Any] = field(default_factory=dict)
    # A missing secret or log group (task_resources), judged at RunTask;
    # an essential container's exit convention (task_conventions).
    start_failure: str | None = None
    exit: Exit | None = None
    # RunTask's capacity provider (ecs_capacity.place) and ECS Exec.
    capacity_provider: str | None = None
    exec_enabled: bool = False
    # A ``stuck`` image (task_conventions): PENDING until StopTask.
    stuck: bool = False


@dataclass(frozen=True)
class OneOffState:
    last_status: str
    desired_status: str
    started_at: float | None
    stopped_at: float | None
    stop_code: str | None
    stopped_reason: str | None
    exit_code: int | None
    container_reason: str | None
    # The container the exit code and reason are for (None: the first).
    exit_container: str | None = None


def one_off_state(task: OneOffTask, now: float, config: Settings) -> OneOffState:
    """Where a one-off task stands at ``now`` (see the module docstring)."""
    started = task.created_at + config.task_start_seconds
    cannot_start = (cannot_pull(task.failing_image) if task.failing_image is not None
                    else task.start_failure)
    container: str | None = None
    if cannot_start is None and task.stuck:
        if task.user_stop is not None and now >= task.user_stop[0]:
            return OneOffState("STOPPED", "STOPPED", None, task.user_stop[0], "UserInitiated",
                               task.user_stop[1], None, None)
        return OneOffState("PENDING", "RUNNING", None, None, None, None, None, None)
    if cannot_start is not None:
        stop_at, code = started, "TaskFailedToStart"
        reason: str = cannot_start
        code_out: int | None = None
        container_reason: str | None = reason
    elif task.exit is not None:  # the image's convention, not the command's
        stop_at, code = started + task.exit.after, "EssentialContainerExited"
        reason, code_out, container_reason = ESSENTIAL_EXITED, task.exit.code, task.exit.reason
        container = task.exit.container or None
    else:
        stop_at, code = started + config.task_run_seconds, "EssentialContainerExited"
        reason, code_out, container_reason = ESSENTIAL_EXITED, task.exit_code, None
    if task.user_stop is not None and task.user_stop[0] < stop_at:
        stop_at, code, reason = task.user_stop[0], "UserInitiated", task.user_stop[1]
        code_out, container_reason, container = None, None, None
    ran = cannot_start is None and started < stop_at
    if now >= stop_at:
        return OneOffState("STOPPED", "STOPPED", started if ran else None, stop_at, code, reason,
                           code_out, container_reason, container)
    if now >= started:
        return OneOffState("RUNNING", "RUNNING", started, None, None, None, None, None)
    return OneOffState("PENDING", "RUNNING", None, None, None, None, None, None)
