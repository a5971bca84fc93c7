"""Amazon ECS over time: the handlers that keep the layer's ECS model
(``ecs_model.py``) and write it into moto's answers.


moto 5.2.5 answers the ECS API but nothing ever runs. A service's single
deployment stays IN_PROGRESS with every task pending, UpdateService never
adds a deployment (it re-labels the one there is), ``events`` is always
empty, CreateService drops ``deploymentConfiguration``, and a RunTask task
advances one state per DescribeTasks call with exit code 0 and no stop
code. This module keeps, in the layer, what ECS would have done by now and
writes it into moto's answers. Time is wall-clock time; the state is
computed lazily, when a request looks at it, and is the same whenever it
is computed for the same times (no background threads).

What ECS does over time (deployments, events, the circuit breaker,
service and one-off tasks) is described and cited in ``ecs_model.py``;
the image and command conventions in ``task_conventions.py``; the
settings in ``ecs_settings.py``. Here: parse the request, call the model,
render the response.

https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ListTasks.html
  desiredStatus: "The default status filter is RUNNING". moto lists every
  task whatever its status, and ignores serviceName (it returns the
  cluster's one-off tasks for any service); the layer filters.


moto's RunTask fails with HTTP 500 for a task definition whose containers
have no container-level ``memory`` or ``memoryReservation`` (valid on
Fargate, where the task-level memory counts; Ferry registers those). For
the duration of moto's RunTask, under the ECS lock, the layer gives such
containers ``memoryReservation`` 0 on moto's task definition object and
removes it again; nothing else can read it in between.


Writes to moto's backend
------------------------
* RunTask: the temporary ``memoryReservation`` above.
* The service's ``task_definition`` attribute: set to the PRIMARY
  deployment's task definition ARN when moto's differs (after a rollback,
  and after UpdateService with ``family`` or ``family:revision``), so that
  moto and every later call agree.

Everything else is the layer's own state, keyed by cluster and service ARN
(and task ARN), and patched into moto's answers. Internal reads
(DescribeTaskDefinition, ListTasks) go through ``forward`` and are not
logged. Every ECS request runs under ``ecs.serialize``'s lock.
"""

from __future__ import annotations

import copy
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from . import (consistency, container_health, ecs, ecs_exec, locks, service_deployments,
               targets, task_resources, tasklogs)
from .task_containers import render_containers
from .ecs_capacity import place
from .ecs_model import (DEFAULT_DEPLOYMENT_CONFIGURATION, EVENTS_KEPT, STOPPED_TASK_SECONDS,
                        Deployment, OneOffTask, Scheduler, ServiceState, ServiceTask, merge_configuration,
                        one_off_state)
from .ecs_settings import Settings, settings
from .ecs_strategies import ROLLING, Refused, Run, Strategy, strategy_of
from .task_conventions import (essential_exit, exit_code, failing_image, stuck_image,
                               unhealthy_image)
from .wire import AwsRequest, Response, json_answer, json_error, json_object, json_response

SERVICE = "ecs"

Forward = Callable[[AwsRequest], Response]


# -- rendering one-off tasks -------------------------------------------------------------

_STOP_FIELDS = ("stopCode", "stoppedReason", "stoppingAt", "stoppedAt", "executionStoppedAt")


def render_one_off(task_json: dict[str, Any], task: OneOffTask, now: float, config: Settings,
                   definition: Mapping[str, Any] | None = None) -> None:
    """Write a one-off task's state into moto's description of it."""
    state = one_off_state(task, now, config)
    task_json["lastStatus"] = state.last_status
    task_json["desiredStatus"] = state.desired_status
    task_json["createdAt"] = task.created_at
    task_json.pop("startedAt", None)
    if state.started_at is not None:
        task_json["startedAt"] = state.started_at
    for name in _STOP_FIELDS:
        task_json.pop(name, None)
    if state.stopped_at is not None:
        task_json["stopCode"] = state.stop_code
        task_json["stoppedReason"] = state.stopped_reason
        for name in ("stoppingAt", "stoppedAt", "executionStoppedAt"):
            task_json[name] = state.stopped_at
    for i, container in enumerate(task_json.get("containers") or []):
        if not isinstance(container, dict):
            continue
        container["lastStatus"] = state.last_status
        container["taskArn"] = task.arn  # moto puts the task definition's ARN here
        container.pop("exitCode", None)
        container.pop("reason", None)
        # The exit is the exiting container's (an image convention's), else the first's.
        exiting = (container.get("name") == state.exit_container if state.exit_container
                   else i == 0)
        if exiting and state.exit_code is not None:
            container["exitCode"] = state.exit_code
        if state.container_reason is not None and (exiting or state.exit_code is None):
            container["reason"] = state.container_reason
    render_containers(task_json, definition, task.capacity_provider, task.exec_enabled)
    if state.started_at is not None:
        running_for: float | None = (state.stopped_at if state.stopped_at is not None
                                     else now) - state.started_at
    else:
        running_for = None
    container_health.render(task_json, container_health.timing(definition, config.health_time_scale),
                            running_for)



# -- rendering services and service tasks ----------------------------------------------------

TEMPLATE_KEYS = ("launchType", "platformFamily", "platformVersion", "capacityProviderStrategy")
# The service settings whose change starts a new deployment (with the task definition).
DEPLOYING_SETTINGS = ("networkConfiguration", "loadBalancers", "serviceRegistries",
                      "platformVersion")


def deployment_template(service: Mapping[str, Any], base: Mapping[str, Any]) -> dict[str, Any]:
    """The fields a new deployment copies from the service (launch type, network, ...)."""
    out = {k: copy.deepcopy(base[k]) for k in TEMPLATE_KEYS if base.get(k) is not None}
    for key in ("launchType", "platformVersion", "capacityProviderStrategy"):
        if service.get(key):
            out[key] = copy.deepcopy(service[key])
    # A deployment has a launch type or a capacity provider strategy, as
    # its service has now (ecs_capacity: one or the other, never both).
    if service.get("capacityProviderStrategy"):
        out.pop("launchType", None)
    elif service.get("launchType"):
        out.pop("capacityProviderStrategy", None)
    # Not rendered in ``deployments``: what its tasks take when they start.
    out["enableExecuteCommand"] = service.get("enableExecuteCommand") is True
    network = service.get("networkConfiguration")
    if network:
        out["networkConfiguration"] = copy.deepcopy(network)
    return out


def _links(service: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A service's ``loadBalancers`` entries that name a target group."""
    return [copy.deepcopy(e) for e in service.get("loadBalancers") or []
            if isinstance(e, dict) and isinstance(e.get("targetGroupArn"), str)]


def _grace(value: Any, default: float) -> float:
    return float(value) if isinstance(value, (int, float)) and value >= 0 else default


def deploying_settings(service: Mapping[str, Any]) -> dict[str, Any]:
    return {key: copy.deepcopy(service.get(key)) for key in DEPLOYING_SETTINGS}


def render_deployment(deployment: Deployment) -> dict[str, Any]:
    out: dict[str, Any] = {"id": deployment.id, "status": deployment.status}
    if deployment.task_definition:
        out["taskDefinition"] = deployment.task_definition
    out.update(desiredCount=deployment.desired, pendingCount=len(deployment.pending),
               runningCount=len(deployment.running), failedTasks=deployment.failed_tasks,
               createdAt=deployment.created_at, updatedAt=deployment.updated_at)
    out.update({k: copy.deepcopy(v) for k, v in deployment.template.items()
                if k in TEMPLATE_KEYS})
    out.update(rolloutState=deployment.rollout, rolloutStateReason=deployment.reason)
    return out


def render_service(service: dict[str, Any], svc: ServiceState, now: float) -> None:
    """Write the layer's state of a service at ``now`` into moto's description of it."""
    service["deployments"] = [render_deployment(d) for d in svc.deployments]
    service["runningCount"] = sum(len(d.running) for d in svc.deployments)
    service["pendingCount"] = sum(len(d.pending) for d in svc.deployments)
    events = copy.deepcopy(svc.events) + service_deployments.stage_events(svc, now)
    events.sort(key=lambda e: e["createdAt"], reverse=True)  # stable: same-time order kept
    service["events"] = events[:EVENTS_KEPT]
    if svc.deployments:
        service["currentServiceDeployment"] = service_deployments.deployment_arn(
            svc, svc.history[0] if svc.history else svc.primary, "service-deployment")
    service["deploymentConfiguration"] = copy.deepcopy(svc.configuration)
    if svc.deleted:
        service["status"] = svc.status
    if svc.deployments and svc.primary.task_definition:
        service["taskDefinition"] = svc.primary.task_definition


def render_service_task(svc: ServiceState, task: ServiceTask, definition: Mapping[str, Any] | None,
                        include_tags: bool, now: float | None = None) -> dict[str, Any]:
    """A DescribeTasks entry for a service task (moto has none)."""
    arn = svc.task_arn(task)
    status = task.last_status
    containers = []
    for container in (definition or {}).get("containerDefinitions") or []:
        if not isinstance(container, dict):
            continue
        entry: dict[str, Any] = {  # containerArn: render_containers
            "taskArn": arn, "name": container.get("name"), "image": container.get("image"),
            "lastStatus": status,
        }
        if task.stop_code == "TaskFailedToStart":
            entry["reason"] = task.stopped_reason
        if task.exited and task.exit is not None and task.exit.container == container.get("name"):
            entry["exitCode"] = task.exit.code
            if task.exit.reason:
                entry["reason"] = task.exit.reason
        containers.append(entry)
    out: dict[str, Any] = {
        "taskArn": arn, "clusterArn": svc.cluster_arn, "group": f"service:{svc.name}",
        "startedBy": task.deployment_id, "lastStatus": status,
        "desiredStatus": task.desired_status,
        "createdAt": task.created_at, "containers": containers,
        "overrides": {"containerOverrides": [], "inferenceAcceleratorOverrides": []},
    }
    if task.task_definition:
        out["taskDefinitionArn"] = task.task_definition
    if task.launch_type:
        out["launchType"] = task.launch_type
    for key in ("cpu", "memory"):
        if definition and definition.get(key):
            out[key] = definition[key]
    if task.started_at is not None:
        out["startedAt"] = task.started_at
    if task.ip:  # behind a load balancer: the ENI ECS attaches (awsvpc)
        attachment = str(uuid.uuid5(uuid.NAMESPACE_URL, arn + "/eni"))
        out["attachments"] = [{"id": attachment, "type": "ElasticNetworkInterface",
                               "status": "ATTACHED" if task.stopped_at is None else "DELETED",
                               "details": [{"name": "privateIPv4Address", "value": task.ip}]}]
        for entry in containers:
            entry["networkInterfaces"] = [{"attachmentId": attachment,
                                           "privateIpv4Address": task.ip}]
    if task.stopped_at is not None:
        out["stopCode"] = task.stop_code
        out["stoppedReason"] = task.stopped_reason
        for name in ("stoppingAt", "stoppedAt", "executionStoppedAt"):
            out[name] = task.stopped_at
    if task.stopping_at is not None:  # drained, or draining (RUNNING, desired STOPPED)
        out["stopCode"] = task.stop_code
        out["stoppedReason"] = task.stopped_reason
        out["stoppingAt"] = task.stopping_at
    if include_tags:
        out["tags"] = copy.deepcopy(svc.tags) if svc.propagate_tags == "SERVICE" else []
    render_containers(out, definition, task.capacity_provider, task.exec_enabled)
    if task.health is not None and task.started_at is not None:
        until = task.stopped_at if task.stopped_at is not None else now
        container_health.render(out, task.health,
                                None if until is None else until - task.started_at)
    else:
        container_health.render(out, container_health.Timing((), 1.0), None)
    return out


def cluster_matches(cluster_arn: str, reference: Any) -> bool:
    reference = reference if isinstance(reference, str) and reference else "default"
    return cluster_arn == reference or cluster_arn.endswith(f":cluster/{reference}")


def moto_task_definition(arn: str) -> Any:
    """moto's TaskDefinition object for an ARN, or None."""
    from moto.ecs.models import ecs_backends

    try:
        _, _, _, region, account, _ = arn.split(":", 5)
        return ecs_backends[account][region].describe_task_definition(arn)
    except Exception:  # noqa: BLE001 - anything moto raises means "not there"
        return None


_MEMORY_KEYS = ("memory", "memoryReservation", "Memory", "MemoryReservation")


# -- the handlers ------------------------------------------------------------------------

class DeploymentEmulation:
    """The layer's ECS state and the handlers that keep and show it."""

    def __init__(self, config: Settings, clock: Callable[[], float] = time.time,
                 find_service: Callable[[str, str], Any] = ecs.moto_service,
                 find_task_definition: Callable[[str], Any] = moto_task_definition,
                 scheduler: Scheduler | None = None,
                 find_start_failure: Callable[[Mapping[str, Any] | None], str | None]
                 = task_resources.moto_start_failure):
        self.config = config
        self.clock = clock
        self.find_service = find_service
        self.find_task_definition = find_task_definition
        self.find_start_failure = find_start_failure
        self.scheduler = scheduler or Scheduler(
            config.task_start_seconds, drain=config.task_drain_seconds,
            registry=targets.Registry(config.health_time_scale),
            throttle_scale=config.throttle_scale, start_check=self._start_check)
        self.services: dict[tuple[str, str], ServiceState] = {}
        self.one_offs: dict[str, OneOffTask] = {}
        self.definitions: dict[str, dict[str, Any]] = {}

    # -- helpers -----------------------------------------------------------------------

    def _start_check(self, deployment: Deployment) -> str | None:
        """A missing secret or log group of the deployment's task definition, now
        (asked by the scheduler, under the ECS lock, as each task would start)."""
        if not deployment.task_definition:
            return None
        definition = self.definitions.get(deployment.task_definition)
        return self.find_start_failure(definition) if definition is not None else None

    def task_definition(self, request: AwsRequest, forward: Forward,
                        reference: Any) -> dict[str, Any] | None:
        """A task definition by ARN or family[:revision], read through moto (not logged)."""
        if not isinstance(reference, str) or not reference:
            return None
        if reference in self.definitions:
            return self.definitions[reference]
        response = forward(request.with_operation("DescribeTaskDefinition",
                                                  {"taskDefinition": reference}))
        if response.status != 200:
            return None
        found = response.json().get("taskDefinition")
        if not isinstance(found, dict) or not isinstance(found.get("taskDefinitionArn"), str):
            return None
        self.definitions[found["taskDefinitionArn"]] = found  # immutable once registered
        return found

    def _resolve(self, request: AwsRequest, forward: Forward, reference: Any) -> str | None:
        if not isinstance(reference, str) or not reference:
            return None
        definition = self.task_definition(request, forward, reference)
        return definition["taskDefinitionArn"] if definition else reference

    def _services_in(self, cluster: Any, now: float) -> list[ServiceState]:
        found = []
        for (cluster_arn, _), svc in self.services.items():
            if cluster_matches(cluster_arn, cluster):
                self.scheduler.advance(svc, now)
                found.append(svc)
        return found

    def _service_task(self, cluster: Any, reference: Any,
                      now: float) -> tuple[ServiceState, ServiceTask] | None:
        if not isinstance(reference, str) or not reference:
            return None
        task_id = reference.rsplit("/", 1)[-1]
        for svc in self._services_in(cluster, now):
            for task in [t for d in svc.deployments for t in d.tasks] + svc.visible_stopped(now):
                if task.id == task_id:
                    return svc, task
        return None

    def service_task_tags(self, arn: str) -> dict[str, str] | None:
        """The tags DescribeTasks shows for a service's task (its service's, with
        propagateTags SERVICE), or None for a task no service has; for ``authz``'s
        aws:ResourceTag. Reads without ECS's lock (the authorizer runs before
        any handler, and must never wait on a lock a handler may hold): over
        copies, so a concurrent write gives at worst the tags of a moment ago."""
        task_id = arn.rsplit("/", 1)[-1]
        for svc in list(self.services.values()):
            tasks = [t for d in list(svc.deployments) for t in list(d.tasks)] + list(svc.stopped)
            if any(t.id == task_id and svc.task_arn(t) == arn for t in tasks):
                tags = list(svc.tags) if svc.propagate_tags == "SERVICE" else []
                return {str(t.get("key")): str(t.get("value")) for t in tags if isinstance(t, dict)}
        return None

    def task_created_at(self, arn: str) -> float | None:
        """When the task ``arn`` was created, if the layer started it (a service's
        task or a one-off); for ``consistency``, which must not take a task that has
        long existed for a new one. Called under ``locks.ECS``."""
        if arn in self.one_offs:
            return self.one_offs[arn].created_at
        task_id = arn.rsplit("/", 1)[-1]
        for svc in self.services.values():
            for task in [t for d in svc.deployments for t in d.tasks] + svc.stopped:
                if task.id == task_id:
                    return task.created_at
        return None

    def _respond(self, response: Response, payload: Any,
                 described: list[tuple[dict[str, Any], ServiceState]], now: float) -> Response:
        for service, svc in described:
            moto_definition = service.get("taskDefinition")
            render_service(service, svc, now)
            wanted = service.get("taskDefinition")
            if wanted and wanted != moto_definition:
                moto_obj = self.find_service(svc.arn, svc.cluster_arn)
                if moto_obj is not None:
                    moto_obj.task_definition = wanted
        return json_answer(response, payload)

    @staticmethod
    def _service_payload(response: Response) -> tuple[Any, dict[str, Any]] | None:
        payload = json_object(response)
        service = payload.get("service") if payload is not None else None
        if (not isinstance(service, dict) or not isinstance(service.get("serviceArn"), str)
                or not isinstance(service.get("clusterArn"), str)):
            return None
        return payload, service

    def _lookup(self, service: Mapping[str, Any]) -> ServiceState | None:
        return self.services.get((str(service.get("clusterArn")), str(service.get("serviceArn"))))

    @staticmethod
    def _refusal(configuration: Mapping[str, Any], load_balancers: list[Any]) -> str | None:
        """ECS's InvalidParameterException message for a deployment configuration and
        load balancers (strategy, ranges, hooks, advancedConfiguration), or None."""
        try:
            strategy: Strategy = strategy_of(configuration)
        except Refused as refused:
            return str(refused)
        return service_deployments.check(strategy, load_balancers)

    def all_services(self) -> list[ServiceState]:
        return list(self.services.values())

    # -- CreateService -------------------------------------------------------------------

    def create_service(self, request: AwsRequest, forward: Forward) -> Response:
        now = self.clock()
        params = request.json()
        name = params.get("serviceName")
        for svc in self._services_in(params.get("cluster"), now):
            if svc.name == name and svc.status == "DRAINING":
                return json_error(400, "InvalidParameterException",
                                  "Creation of service was not idempotent.")
        refused = self._refusal(params.get("deploymentConfiguration") or {},
                                params.get("loadBalancers") or [])
        if isinstance(refused, str):
            return json_error(400, "InvalidParameterException", refused)
        response = forward(request)
        found = self._service_payload(response)
        if found is None:
            return response
        payload, service = found
        if (service.get("deploymentController") or {}).get("type", "ECS") != "ECS":
            return response
        params = request.json()
        moto_deployments = service.get("deployments") or []
        first = moto_deployments[0] if moto_deployments and isinstance(moto_deployments[0], dict) else {}
        definition_arn = self._resolve(request, forward, service.get("taskDefinition"))
        svc = ServiceState(
            name=str(service.get("serviceName")), arn=service["serviceArn"],
            cluster_arn=service["clusterArn"],
            configuration=merge_configuration(DEFAULT_DEPLOYMENT_CONFIGURATION,
                                              params.get("deploymentConfiguration")),
            settings=deploying_settings(service),
            tags=copy.deepcopy(service.get("tags") or params.get("tags") or []),
            propagate_tags=str(service.get("propagateTags") or "NONE"),
        )
        svc.grace_seconds = _grace(params.get("healthCheckGracePeriodSeconds"), 0.0)
        definition = self.task_definition(request, forward, definition_arn)
        self.scheduler.deploy(
            svc, definition_arn, int(service.get("desiredCount") or 0),
            failing_image(definition),
            deployment_template(service, first), now, deployment_id=first.get("id"),
            load_balancers=_links(service), unhealthy=unhealthy_image(definition),
            grace_seconds=svc.grace_seconds, exit=essential_exit(definition),
            health=container_health.timing(definition, self.config.health_time_scale),
            stuck=stuck_image(definition))
        self.services[(svc.cluster_arn, svc.arn)] = svc
        return self._respond(response, payload, [(service, svc)], now)

    # -- UpdateService -------------------------------------------------------------------

    def update_service(self, request: AwsRequest, forward: Forward) -> Response:
        now = self.clock()
        params = request.json()
        reference = params.get("service")
        for svc in self._services_in(params.get("cluster"), now):
            if svc.deleted and reference in (svc.name, svc.arn):
                return json_error(400, "ServiceNotActiveException", "Service was not ACTIVE.")
            if reference in (svc.name, svc.arn):
                refused = self._refusal(
                    merge_configuration(svc.configuration, params.get("deploymentConfiguration")),
                    params["loadBalancers"] if isinstance(params.get("loadBalancers"), list)
                    else svc.settings.get("loadBalancers") or [])
                refused = refused or service_deployments.switch_refusal(
                    svc, params.get("deploymentConfiguration"), now)
                if isinstance(refused, str):
                    return json_error(400, "InvalidParameterException", refused)
        response = forward(request)
        found = self._service_payload(response)
        if found is None:
            return response
        payload, service = found
        svc = self._lookup(service)
        if svc is None:
            return response
        if svc.deleted:  # moto updates INACTIVE services; nothing runs any more
            return self._respond(response, payload, [(service, svc)], now)
        self.scheduler.advance(svc, now)
        params = request.json()
        if isinstance(params.get("deploymentConfiguration"), dict):
            svc.configuration = merge_configuration(svc.configuration,
                                                    params["deploymentConfiguration"])
        definition_arn = self._resolve(request, forward, service.get("taskDefinition"))
        svc.grace_seconds = _grace(params.get("healthCheckGracePeriodSeconds"), svc.grace_seconds)
        changed = deploying_settings(service)
        desired = int(service.get("desiredCount") or 0)
        if (params.get("forceNewDeployment") is True or changed != svc.settings
                or definition_arn != svc.primary.task_definition):
            definition = self.task_definition(request, forward, definition_arn)
            strategy = strategy_of(svc.configuration)  # checked before moto's write
            run, pairs, load_balancers = None, None, _links(service)
            if strategy.kind != ROLLING:
                load_balancers, pairs = service_deployments.green_links(load_balancers)
                run = Run("", strategy, now, self.config.deployment_time_scale,
                          reconcile=len(svc.deployments) > 1)
            deployment = self.scheduler.deploy(
                svc, definition_arn, desired, failing_image(definition),
                deployment_template(service, svc.primary.template), now,
                load_balancers=load_balancers, unhealthy=unhealthy_image(definition),
                grace_seconds=svc.grace_seconds, exit=essential_exit(definition),
                health=container_health.timing(definition, self.config.health_time_scale),
                stuck=stuck_image(definition), run=run, pairs=pairs)
            if run is not None:  # its hook ids derive from its ARN
                run.arn = service_deployments.deployment_arn(svc, deployment,
                                                             "service-deployment")
            svc.settings = changed
        else:
            self.scheduler.scale(svc, desired, now)
        if isinstance(service.get("tags"), list):
            svc.tags = copy.deepcopy(service["tags"])
        svc.propagate_tags = str(service.get("propagateTags") or svc.propagate_tags)
        return self._respond(response, payload, [(service, svc)], now)

    # -- DeleteService -------------------------------------------------------------------

    def delete_service(self, request: AwsRequest, forward: Forward) -> Response:
        now = self.clock()
        response = forward(request)
        found = self._service_payload(response)
        if found is None:
            return response
        payload, service = found
        svc = self._lookup(service)
        if svc is None:
            return response
        if not svc.deleted:
            self.scheduler.advance(svc, now)
            self.scheduler.delete(svc, now)
        return self._respond(response, payload, [(service, svc)], now)

    # -- ListServices --------------------------------------------------------------------

    def list_services(self, request: AwsRequest, forward: Forward) -> Response:
        """moto's full list without the DRAINING services (ecs.py pages what is left)."""
        now = self.clock()
        response = forward(request)
        if response.status != 200:
            return response
        payload = response.json()
        arns = payload.get("serviceArns") if isinstance(payload, dict) else None
        if not isinstance(arns, list):
            return response
        draining = {svc.arn for svc in self._services_in(request.json().get("cluster"), now)
                    if svc.status == "DRAINING"}
        payload["serviceArns"] = [arn for arn in arns if arn not in draining]
        return json_answer(response, payload)

    # -- DescribeServices ----------------------------------------------------------------

    def describe_services(self, request: AwsRequest, forward: Forward) -> Response:
        now = self.clock()
        response = forward(request)
        if response.status != 200:
            return response
        payload = response.json()
        services = payload.get("services") if isinstance(payload, dict) else None
        if not isinstance(services, list):
            return response
        described = []
        for service in services:
            svc = self._lookup(service) if isinstance(service, dict) else None
            if svc is not None:
                service_deployments.sync(svc, now, self.scheduler.advance)
                described.append((service, svc))
        if not described:
            return response
        return self._respond(response, payload, described, now)

    # -- RunTask -------------------------------------------------------------------------

    def _lend_container_memory(self, definition: Mapping[str, Any] | None) -> Callable[[], None]:
        """Give memory-less containers memoryReservation 0 on moto's object; returns the undo."""
        moto_obj = self.find_task_definition(definition["taskDefinitionArn"]) if definition else None
        lent = []
        for container in getattr(moto_obj, "container_definitions", None) or []:
            if isinstance(container, dict) and not any(k in container for k in _MEMORY_KEYS):
                container["memoryReservation"] = 0
                lent.append(container)

        def undo() -> None:
            for container in lent:
                container.pop("memoryReservation", None)

        return undo

    def run_task(self, request: AwsRequest, forward: Forward) -> Response:
        now = self.clock()
        params = request.json()
        definition = self.task_definition(request, forward, params.get("taskDefinition"))
        undo = self._lend_container_memory(definition)
        try:
            response = forward(request)
        finally:
            undo()
        if response.status != 200 or definition is None:
            return response
        payload = response.json()
        tasks = payload.get("tasks") if isinstance(payload, dict) else None
        if not isinstance(tasks, list):
            return response
        containers = [c for c in definition.get("containerDefinitions") or [] if isinstance(c, dict)]
        first = containers[0] if containers else {}
        overrides = [o for o in ((params.get("overrides") or {}).get("containerOverrides") or [])
                     if isinstance(o, dict)]
        override = next((o for o in overrides if o.get("name") == first.get("name")),
                        overrides[0] if overrides else {})
        command = override.get("command") if "command" in override else first.get("command")
        commands = {}
        for container in containers:
            named = next((o for o in overrides if o.get("name") == container.get("name")),
                         override if container is first else {})
            commands[str(container.get("name"))] = (named.get("command") if "command" in named
                                                    else container.get("command"))
        strategy = params.get("capacityProviderStrategy")
        placed: dict[str, int] = {}
        for task_json in tasks:
            if not isinstance(task_json, dict) or not isinstance(task_json.get("taskArn"), str):
                continue
            provider = place(strategy, placed)
            if provider is not None:
                placed[provider] = placed.get(provider, 0) + 1
            task = OneOffTask(arn=task_json["taskArn"], created_at=now, exit_code=exit_code(command),
                              capacity_provider=provider,
                              exec_enabled=params.get("enableExecuteCommand") is True,
                              failing_image=failing_image(definition),
                              task_definition=definition.get("taskDefinitionArn"),
                              commands=commands,
                              # Judged once, at RunTask (a second before the
                              # task would start): a one-off's state must not
                              # change with later reads.
                              start_failure=self.find_start_failure(definition),
                              exit=essential_exit(definition),
                              stuck=stuck_image(definition) is not None)
            self.one_offs[task.arn] = task
            render_one_off(task_json, task, now, self.config, definition)
        return json_answer(response, payload)

    # -- DescribeTasks -------------------------------------------------------------------

    def describe_tasks(self, request: AwsRequest, forward: Forward) -> Response:
        now = self.clock()
        params = request.json()
        references = params.get("tasks")
        if not isinstance(references, list) or not references:
            return forward(request)
        cluster = params.get("cluster")
        virtual = {}
        for reference in references:
            found = self._service_task(cluster, reference, now)
            if found is not None:
                virtual[reference] = found
        rest = [r for r in references if r not in virtual]
        content_type = "application/x-amz-json-1.1"
        payload: dict[str, Any] = {"tasks": [], "failures": []}
        if rest:
            response = forward(request.with_json({**params, "tasks": rest}))
            if response.status != 200:
                return response
            payload = response.json()
            content_type = response.header("Content-Type") or content_type
        tasks = payload.setdefault("tasks", [])
        failures = payload.setdefault("failures", [])
        for task_json in tasks:
            one = self.one_offs.get(task_json.get("taskArn")) if isinstance(task_json, dict) else None
            if one is not None:
                render_one_off(task_json, one, now, self.config,
                               self.definitions.get(one.task_definition or ""))
        include_tags = "TAGS" in (params.get("include") or [])
        for svc, task in virtual.values():
            tasks.append(render_service_task(
                svc, task, self.definitions.get(task.task_definition or ""), include_tags, now))
        # ECS lists every task it does not know as a failure; moto lists none.
        known = {str(t.get("taskArn", "")).rsplit("/", 1)[-1] for t in tasks if isinstance(t, dict)}
        reported = {f.get("arn") for f in failures if isinstance(f, dict)}
        for reference in rest:
            if (isinstance(reference, str) and reference.rsplit("/", 1)[-1] not in known
                    and reference not in reported):
                failures.append({"arn": reference, "reason": "MISSING"})
        return json_response(200, payload, content_type)

    # -- ListTasks -----------------------------------------------------------------------

    def list_tasks(self, request: AwsRequest, forward: Forward) -> Response:
        now = self.clock()
        params = request.json()
        wanted_status = params.get("desiredStatus") or "RUNNING"
        service_ref = params.get("serviceName")
        upstream = {k: v for k, v in params.items() if k not in ("desiredStatus", "serviceName")}
        response = forward(request.with_json(upstream))
        if response.status != 200:
            return response
        arns = [a for a in response.json().get("taskArns") or [] if isinstance(a, str)]
        listed: list[str] = []
        if service_ref is None:  # moto's tasks are never a service's
            untracked = [a for a in arns if a not in self.one_offs]
            moto_filtered: set[str] = set()
            if untracked:
                filtered = forward(request.with_json({**upstream, "desiredStatus": wanted_status}))
                if filtered.status == 200:
                    moto_filtered = set(filtered.json().get("taskArns") or [])
            for arn in arns:
                one = self.one_offs.get(arn)
                if one is not None:
                    state = one_off_state(one, now, self.config)
                    # Stopped tasks are listed for an hour, as a service's are.
                    gone = (state.stopped_at is not None
                            and now - state.stopped_at >= STOPPED_TASK_SECONDS)
                    if state.desired_status == wanted_status and not gone:
                        listed.append(arn)
                elif arn in moto_filtered:
                    listed.append(arn)
        if not params.get("containerInstance"):
            family = params.get("family")
            started_by = params.get("startedBy")
            launch_type = params.get("launchType")
            for svc in self._services_in(params.get("cluster"), now):
                if service_ref is not None and service_ref not in (svc.name, svc.arn):
                    continue
                live = [t for d in svc.deployments for t in d.tasks]
                for task in live + svc.visible_stopped(now):
                    status = task.desired_status
                    td_family = (task.task_definition or "").rsplit("/", 1)[-1].split(":")[0]
                    if (status != wanted_status or (family and family != td_family)
                            or (started_by and started_by != task.deployment_id)
                            or (launch_type and launch_type != task.launch_type)):
                        continue
                    listed.append(svc.task_arn(task))
        return json_answer(response, {"taskArns": listed})

    # -- log lines (tasklogs.py) --------------------------------------------------------

    def containers(self, now: float) -> list[tasklogs.Container]:
        """Every task's containers as they stand at ``now``, for their log lines.

        Takes ECS's lock: the scheduler advances every service to ``now``
        first, as any ECS request would.
        """
        found: list[tasklogs.Container] = []
        with locks.ECS:
            for svc in list(self.services.values()):
                self.scheduler.advance(svc, now)
                for task in ([t for d in svc.deployments for t in d.tasks]
                             + svc.visible_stopped(now)):
                    definition = self.definitions.get(task.task_definition or "")
                    for destination in tasklogs.destinations(definition):
                        container = _container(definition, destination.container)
                        exit_ = (task.exit if task.exited and task.exit is not None
                                 and task.exit.container == destination.container else None)
                        found.append(tasklogs.Container(svc.task_arn(task), destination, tasklogs.Run(
                            image=str(container.get("image") or ""), command=container.get("command"),
                            started_at=task.started_at,
                            stopped_at=task.stopped_at if task.started_at is not None else None,
                            exit_code=exit_.code if exit_ is not None else None,
                            stop_code=task.stop_code, stopped_reason=task.stopped_reason,
                            last_words=exit_.last_words if exit_ is not None else ())))
            for one in self.one_offs.values():
                definition = self.definitions.get(one.task_definition or "")
                state = one_off_state(one, now, self.config)
                for destination in tasklogs.destinations(definition):
                    container = _container(definition, destination.container)
                    exited = (state.stop_code == "EssentialContainerExited"
                              and state.exit_container in (None, destination.container))
                    # The image convention's exit (exit_container set), not ``exit N``.
                    by_convention = (exited and one.exit is not None
                                     and state.exit_container == destination.container)
                    found.append(tasklogs.Container(one.arn, destination, tasklogs.Run(
                        image=str(container.get("image") or ""),
                        command=one.commands.get(destination.container),
                        started_at=state.started_at, stopped_at=state.stopped_at,
                        exit_code=state.exit_code if exited else None,
                        stop_code=state.stop_code, stopped_reason=state.stopped_reason,
                        last_words=one.exit.last_words if by_convention and one.exit else ())))
        return found

    # -- StopTask ------------------------------------------------------------------------

    def stop_task(self, request: AwsRequest, forward: Forward) -> Response:
        now = self.clock()
        params = request.json()
        reason = params.get("reason") if isinstance(params.get("reason"), str) else None
        reason = reason or "Task stopped by user"
        found = self._service_task(params.get("cluster"), params.get("task"), now)
        if found is not None:
            svc, task = found
            if task.stopped_at is None:
                self.scheduler.stop_task(svc, task, reason, now)
            definition = self.definitions.get(task.task_definition or "")
            return json_response(200, {"task": render_service_task(svc, task, definition, False, now)})
        response = forward(request)
        if response.status != 200:
            return response
        payload = response.json()
        task_json = payload.get("task") if isinstance(payload, dict) else None
        one = self.one_offs.get(task_json.get("taskArn")) if isinstance(task_json, dict) else None
        if one is None:
            return response
        if one.user_stop is None and one_off_state(one, now, self.config).last_status != "STOPPED":
            one.user_stop = (now, reason)
        render_one_off(task_json, one, now, self.config,
                       self.definitions.get(one.task_definition or ""))
        return json_answer(response, payload)


def _container(definition: Mapping[str, Any] | None, name: str) -> dict[str, Any]:
    for container in (definition or {}).get("containerDefinitions") or []:
        if isinstance(container, dict) and container.get("name") == name:
            return container
    return {}


def register(layer: Any) -> None:
    from . import elbv2

    emulation = DeploymentEmulation(settings())
    layer.ecs_service_task_tags = emulation.service_task_tags  # for authz (registered last)
    consistency.know_task_births(emulation.task_created_at)
    tasklogs.attach(layer, emulation.containers, emulation.clock)
    registry = emulation.scheduler.registry
    answer_health = elbv2.describe_target_health(registry, emulation.clock)

    def describe_target_health(request: AwsRequest, forward: Forward) -> Response:
        # ECS state first (under ECS's lock, released before ELBv2's is taken:
        # this handler runs outside elbv2.serialize, as deployments registers
        # before elbv2), so targets reflect every task start and stop due.
        now = emulation.clock()
        with locks.ECS:
            for svc in list(emulation.services.values()):
                emulation.scheduler.advance(svc, now)
        return answer_health(request, forward)

    layer.register("elbv2", "DescribeTargetHealth", describe_target_health)
    layer.register(SERVICE, "CreateService", emulation.create_service)
    layer.register(SERVICE, "UpdateService", emulation.update_service)
    layer.register(SERVICE, "DeleteService", emulation.delete_service)
    layer.register(SERVICE, "DescribeServices", emulation.describe_services)
    layer.register(SERVICE, "ListServices", emulation.list_services)
    layer.register(SERVICE, "RunTask", emulation.run_task)
    layer.register(SERVICE, "DescribeTasks", emulation.describe_tasks)
    layer.register(SERVICE, "ListTasks", emulation.list_tasks)
    layer.register(SERVICE, "StopTask", emulation.stop_task)
    layer.register(SERVICE, "ExecuteCommand", ecs_exec.handler(emulation.describe_tasks))
    api = service_deployments.ServiceDeploymentApi(emulation.all_services, emulation.clock,
                                                   emulation.scheduler.advance)
    layer.register(SERVICE, "DescribeServiceDeployments", api.describe)
    layer.register(SERVICE, "ListServiceDeployments", api.list)
    layer.register(SERVICE, "ContinueServiceDeployment", api.continue_)
    layer.register(SERVICE, "StopServiceDeployment", api.stop)
