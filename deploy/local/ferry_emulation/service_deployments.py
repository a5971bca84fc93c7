"""ECS service deployments: starting a blue/green, canary or linear run, the weights
it writes into the listener rules, the alarms it watches, and the API that shows
and steers it (DescribeServiceDeployments, ListServiceDeployments,
ContinueServiceDeployment, StopServiceDeployment, DescribeServices'
``currentServiceDeployment``). moto 5.2.5 has none of these.

https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ServiceDeployment.html
  the fields rendered below (status: PENDING | SUCCESSFUL | STOPPED |
  STOP_REQUESTED | IN_PROGRESS | ROLLBACK_REQUESTED | ROLLBACK_IN_PROGRESS |
  ROLLBACK_SUCCESSFUL | ROLLBACK_FAILED; ``sourceServiceRevisions``,
  ``targetServiceRevision``, ``rollback``, ``deploymentCircuitBreaker``,
  ``alarms``, ``lifecycleStage``, ``lifecycleHookDetails``).
https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DescribeServiceDeployments.html
  serviceDeploymentArns: "The ARN of the service deployment. You can specify
  a maximum of 20 ARNs." Unknown ARNs are listed in ``failures``.
https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ListServiceDeployments.html
  "This API returns the values that you use for the request parameters in
  DescribeServiceDeployments"; newest first; status and createdAt
  (``before``/``after``) filters; maxResults 1-100 (default 20).
https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ContinueServiceDeployment.html
  and API_StopServiceDeployment.html (stopType ROLLBACK).
https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DeploymentAlarms.html
  with ``enable`` and ``rollback``, ECS rolls back when an alarm is in ALARM.

Rolling deployments have a service deployment too: IN_PROGRESS, then
SUCCESSFUL (COMPLETED), ROLLBACK_SUCCESSFUL (failed and rolled back by the
circuit breaker), STOPPED (failed without rollback, or replaced unfinished).

Which target group is blue. The API reference does not say what
DescribeServices shows in ``loadBalancers`` after ECS swapped the pair. The
layer shows the entries as configured and judges blue from the production
rule when a deployment starts: the group of the pair with the greater
weight (a tie: ``targetGroupArn``); green is the other. So a service
configured with the pair in either order deploys the right way, and the
next deployment after a success goes back the other way.

Switching strategies is an UpdateService of the same service
(https://docs.aws.amazon.com/AmazonECS/latest/developerguide/migrate-deployment-strategies.html);
from blue/green to rolling
(https://docs.aws.amazon.com/AmazonECS/latest/developerguide/update-bluegreen-to-rolling.html,
paraphrased): not while a deployment is in progress ("wait for any current
deployment to complete"); ECS keeps the revision that serves traffic and
the load balancer configuration. The layer refuses the switch to ROLLING
while the newest run is not final (InvalidParameterException, our
wording), and starts the next deployment as a rolling one.

The first deployment of a service created with a strategy has no blue
revision; the layer starts it as a rolling one into ``targetGroupArn``.

Events. We found no documented wording for ECS's events of the stages; the
layer adds one event per stage a run enters, the layer's own wording in
ECS's style: ``(service NAME) (deployment ID) entered lifecycle stage
STAGE.``, with ``production traffic N%, test traffic M%`` for the traffic
shifts and ``awaiting action on lifecycle hook HOOK-ID`` for a PAUSE hook,
and ``(service NAME) (deployment ID) rolled back: REASON.`` They are
derived from the run's timeline (the same whenever computed) and merged
into ``events`` by time, newest first.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable
from typing import Any

from . import ecs_strategy_links as links
from .ecs_model import COMPLETED, FAILED, IN_PROGRESS, Deployment, ServiceState
from .ecs_strategies import FINAL, Refused, Run, Strategy, missing_advanced_configuration
from .wire import AwsRequest, Response, json_error, json_response

MAX_DESCRIBE = 20
DEFAULT_PAGE, MAX_PAGE = 20, 100


def check(strategy: Strategy, load_balancers: list[Any]) -> str | None:
    """ECS's refusal of a strategy with these load balancer entries, or None."""
    return (missing_advanced_configuration(strategy.kind, load_balancers)
            or links.refusal(strategy.kind, load_balancers))


def switch_refusal(svc: ServiceState, configuration: Any, now: float) -> str | None:
    """The refusal of a switch to ROLLING while a blue/green, canary or linear
    deployment is in progress, or None."""
    if not isinstance(configuration, dict) or configuration.get("strategy") != "ROLLING":
        return None
    newest = svc.history[0] if svc.history else None
    if newest is None or newest.run is None or newest.stopped:
        return None
    if newest.run.view(now).status in FINAL:
        return None
    return ("The service has a deployment in progress. Wait for it to complete before "
            "changing the deployment strategy to ROLLING.")


def green_links(load_balancers: list[Any]) -> tuple[list[dict[str, Any]],
                                                     list[tuple[str, str, str, str]]]:
    """The new revision's ``loadBalancers`` (each on its green group) and the pairs
    (production rule, test rule, blue, green), blue judged from the production rule."""
    green: list[dict[str, Any]] = []
    pairs: list[tuple[str, str, str, str]] = []
    by_primary = {p.primary: p for p in links.pairs(load_balancers)}
    for entry in load_balancers:
        if not isinstance(entry, dict) or not isinstance(entry.get("targetGroupArn"), str):
            continue
        pair = by_primary.get(entry["targetGroupArn"])
        out = copy.deepcopy(entry)
        if pair is not None:
            weights = links.rule_weights(pair.production_rule) or {}
            blue = (pair.alternate if weights.get(pair.alternate, 0) > weights.get(pair.primary, 0)
                    else pair.primary)
            out["targetGroupArn"] = pair.alternate if blue == pair.primary else pair.primary
            pairs.append((pair.production_rule, pair.test_rule, blue, out["targetGroupArn"]))
        green.append(out)
    return green, pairs


def deployment_arn(svc: ServiceState, deployment: Deployment, kind: str) -> str:
    """``arn:aws:ecs:REGION:ACCOUNT:KIND/CLUSTER/SERVICE/ID`` (service-deployment or
    service-revision), the ID from the deployment's."""
    prefix = svc.arn.split(":service/", 1)[0]
    cluster = svc.cluster_arn.rsplit("/", 1)[-1]
    return f"{prefix}:{kind}/{cluster}/{svc.name}/{deployment.id.rsplit('/', 1)[-1]}"


def status_of(svc: ServiceState, deployment: Deployment, now: float) -> str:
    if deployment.run is not None:
        status = deployment.run.view(now).status
        return "STOPPED" if deployment.stopped and status not in FINAL else status
    if deployment.stopped:
        return "STOPPED"
    if deployment.rollout == COMPLETED:
        return "SUCCESSFUL"
    if deployment.rollout == FAILED:
        breaker = svc.configuration.get("deploymentCircuitBreaker") or {}
        return "ROLLBACK_SUCCESSFUL" if breaker.get("rollback") else "STOPPED"
    return IN_PROGRESS


def _revision(svc: ServiceState, deployment: Deployment, production: float,
              test: float) -> dict[str, Any]:
    return {"arn": deployment_arn(svc, deployment, "service-revision"),
            "requestedTaskCount": deployment.desired,
            "runningTaskCount": len(deployment.running),
            "pendingTaskCount": len(deployment.pending),
            "requestedProductionTrafficWeight": production,
            "requestedTestTrafficWeight": test}


def render(svc: ServiceState, deployment: Deployment, now: float) -> dict[str, Any]:
    """A ServiceDeployment (DescribeServiceDeployments)."""
    status = status_of(svc, deployment, now)
    out: dict[str, Any] = {
        "serviceDeploymentArn": deployment_arn(svc, deployment, "service-deployment"),
        "serviceArn": svc.arn, "clusterArn": svc.cluster_arn,
        "createdAt": deployment.created_at, "startedAt": deployment.created_at,
        "updatedAt": deployment.updated_at, "status": status,
        "statusReason": deployment.reason,
        "deploymentConfiguration": copy.deepcopy(svc.configuration),
    }
    run = deployment.run
    view = run.view(now) if run is not None else None
    production = view.production if view is not None else (100.0 if status == "SUCCESSFUL" else 0.0)
    test = view.test if view is not None else production
    out["targetServiceRevision"] = _revision(svc, deployment, production, test)
    if deployment.source is not None:
        out["sourceServiceRevisions"] = [_revision(svc, deployment.source, 100.0 - production,
                                                   100.0 - test)]
    finished = view.finished_at if view is not None else deployment.finished_at
    if status in FINAL and finished is not None:
        out["finishedAt"] = finished
    breaker = svc.configuration.get("deploymentCircuitBreaker") or {}
    out["deploymentCircuitBreaker"] = {
        "status": ("DISABLED" if not breaker.get("enable")
                   else "TRIGGERED" if deployment.breaker_failures and deployment.rollout == FAILED
                   else "MONITORING"),
        "failureCount": deployment.breaker_failures}
    if run is None or view is None:
        return out
    out["updatedAt"] = max(view.updated_at, deployment.updated_at)
    out["lifecycleStage"] = view.stage
    names = list(run.strategy.rollback_alarms)
    if names:
        out["alarms"] = {"status": "TRIGGERED" if run.triggered_alarms else "MONITORING",
                         "alarmNames": names, "triggeredAlarmNames": list(run.triggered_alarms)}
    if view.rollback_at is not None:
        out["rollback"] = {"reason": view.rollback_reason, "startedAt": view.rollback_at,
                           "serviceRevisionArn": (deployment_arn(svc, deployment.source,
                                                                 "service-revision")
                                                  if deployment.source is not None else None)}
        out["statusReason"] = view.rollback_reason
    out["lifecycleHookDetails"] = _hooks(run, now)
    return out


def _hooks(run: Run, now: float) -> list[dict[str, Any]]:
    segments, _, _ = run.timeline(now)
    view = run.view(now)
    out = []
    for segment in segments:
        if segment.hook is None:
            continue
        decision = next((d for d in run.decisions if d.hook_id == segment.hook_id), None)
        if view.awaiting is not None and view.awaiting.hook_id == segment.hook_id:
            status = "AWAITING_ACTION"
        elif segment.hook_id in view.timed_out:
            status = "TIMED_OUT"
        elif decision is not None:
            status = "SUCCEEDED" if decision.action == "CONTINUE" else "FAILED"
        else:
            status = "IN_PROGRESS"
        out.append({"hookId": segment.hook_id, "targetType": "PAUSE", "status": status,
                    "expiresAt": segment.expires_at, "timeoutAction": segment.hook.timeout_action})
    return out


def stage_events(svc: ServiceState, now: float) -> list[dict[str, Any]]:
    """The events of the stages the service's runs entered by ``now``, newest first."""
    out: list[dict[str, Any]] = []
    for deployment in reversed(svc.history):
        run = deployment.run
        if run is None:
            continue
        head = f"(service {svc.name}) (deployment {deployment.id})"
        segments, _, _ = run.timeline(now)
        view = run.view(now)
        for segment in segments:
            if view.rollback_at is not None and segment.start > view.rollback_at:
                break
            message = f"{head} entered lifecycle stage {segment.stage}"
            if segment.stage in ("TEST_TRAFFIC_SHIFT", "PRODUCTION_TRAFFIC_SHIFT"):
                message += (f": production traffic {segment.production:g}%, "
                            f"test traffic {segment.test:g}%")
            if segment.hook is not None:
                message += f", awaiting action on lifecycle hook {segment.hook_id}"
            out.append(_event(run.arn, segment.start, message + "."))
        if view.rollback_at is not None:
            out.append(_event(run.arn, view.rollback_at,
                              f"{head} rolled back: {view.rollback_reason}."))
    return out[::-1]


def _event(arn: str, at: float, message: str) -> dict[str, Any]:
    # The same id whenever computed: from the deployment, the time and the message.
    return {"id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{arn}/{at!r}/{message}")),
            "createdAt": at, "message": message}


def brief(svc: ServiceState, deployment: Deployment, now: float) -> dict[str, Any]:
    """A ServiceDeploymentBrief (ListServiceDeployments)."""
    full = render(svc, deployment, now)
    out = {k: full[k] for k in ("serviceDeploymentArn", "serviceArn", "clusterArn", "createdAt",
                                "startedAt", "status", "statusReason", "finishedAt") if k in full}
    out["targetServiceRevisionArn"] = full["targetServiceRevision"]["arn"]
    return out


def sync(svc: ServiceState, now: float, advance: Callable[[ServiceState, float], None]) -> None:
    """At ``now``: an alarm in ALARM rolls the PRIMARY's run back; then the newest run's
    weights go into its production and test rules (when they changed)."""
    advance(svc, now)
    if svc.deployments and svc.primary.run is not None:
        run = svc.primary.run
        triggered = links.alarms_in_alarm(run.strategy.rollback_alarms, svc.arn)
        if triggered and run.start_rollback(now, "Alarm(s) in ALARM state: " + ", ".join(triggered),
                                            triggered):
            advance(svc, now)
    newest = svc.history[0] if svc.history else None
    if newest is None or newest.run is None:
        return
    view = newest.run.view(now)
    for production_rule, test_rule, blue, green in newest.pairs:
        for rule, weight in ((production_rule, view.production), (test_rule, view.test)):
            wanted = {green: round(weight), blue: 100 - round(weight)}
            if rule and links.rule_weights(rule) != wanted:
                links.write_weights(rule, wanted)


# -- the handlers ------------------------------------------------------------------------

class ServiceDeploymentApi:
    """The four service deployment operations over the layer's services."""

    def __init__(self, services: Callable[[], list[ServiceState]], clock: Callable[[], float],
                 advance: Callable[[ServiceState, float], None]):
        self.services = services
        self.clock = clock
        self.advance = advance

    def _find(self, arn: Any, now: float) -> tuple[ServiceState, Deployment] | None:
        for svc in self.services():
            for deployment in svc.history:
                if deployment_arn(svc, deployment, "service-deployment") == arn:
                    sync(svc, now, self.advance)
                    return svc, deployment
        return None

    def describe(self, request: AwsRequest, forward: Any) -> Response:
        now = self.clock()
        arns = request.json().get("serviceDeploymentArns")
        if not isinstance(arns, list) or not arns:
            return json_error(400, "InvalidParameterException",
                              "serviceDeploymentArns can not be empty.")
        if len(arns) > MAX_DESCRIBE:
            return json_error(400, "InvalidParameterException",
                              f"serviceDeploymentArns can have at most {MAX_DESCRIBE} items.")
        found, failures = [], []
        for arn in arns:
            hit = self._find(arn, now)
            if hit is None:
                failures.append({"arn": arn, "reason": "MISSING"})
            else:
                found.append(render(hit[0], hit[1], now))
        return json_response(200, {"serviceDeployments": found, "failures": failures})

    def list(self, request: AwsRequest, forward: Any) -> Response:
        now = self.clock()
        params = request.json()
        reference, cluster = params.get("service"), params.get("cluster")
        svc = next((s for s in self.services()
                    if reference in (s.name, s.arn)
                    and (not cluster or cluster in (s.cluster_arn,
                                                    s.cluster_arn.rsplit("/", 1)[-1]))), None)
        if svc is None:
            return json_error(400, "ServiceNotFoundException", "Service not found.")
        size = params.get("maxResults", DEFAULT_PAGE)
        if not isinstance(size, int) or not 1 <= size <= MAX_PAGE:
            return json_error(400, "InvalidParameterException",
                              f"maxResults must be between 1 and {MAX_PAGE}.")
        sync(svc, now, self.advance)
        wanted = params.get("status") or []
        created = params.get("createdAt") or {}
        rows = [brief(svc, d, now) for d in svc.history]
        rows = [r for r in rows if (not wanted or r["status"] in wanted)
                and (created.get("before") is None or r["createdAt"] <= created["before"])
                and (created.get("after") is None or r["createdAt"] >= created["after"])]
        token = params.get("nextToken")
        start = int(token) if isinstance(token, str) and token.isdigit() else 0
        page = rows[start:start + size]
        out: dict[str, Any] = {"serviceDeployments": page}
        if start + size < len(rows):
            out["nextToken"] = str(start + size)
        return json_response(200, out)

    def continue_(self, request: AwsRequest, forward: Any) -> Response:
        now = self.clock()
        params = request.json()
        hit = self._find(params.get("serviceDeploymentArn"), now)
        if hit is None:
            return json_error(400, "ServiceDeploymentNotFoundException",
                              "The service deployment does not exist.")
        svc, deployment = hit
        if deployment.run is None:
            return json_error(400, "InvalidParameterException",
                              "The service deployment has no lifecycle hook awaiting action.")
        try:
            deployment.run.decide(str(params.get("hookId")), str(params.get("action") or "CONTINUE"),
                                  now)
        except Refused as refused:
            return json_error(400, "InvalidParameterException", str(refused))
        sync(svc, now, self.advance)
        return json_response(200, {"serviceDeploymentArn": params["serviceDeploymentArn"]})

    def stop(self, request: AwsRequest, forward: Any) -> Response:
        now = self.clock()
        params = request.json()
        if params.get("stopType", "ROLLBACK") != "ROLLBACK":
            return json_error(400, "InvalidParameterException", "stopType must be ROLLBACK.")
        hit = self._find(params.get("serviceDeploymentArn"), now)
        if hit is None:
            return json_error(400, "ServiceDeploymentNotFoundException",
                              "The service deployment does not exist.")
        svc, deployment = hit
        if deployment.run is None or deployment is not svc.history[0]:
            return json_error(400, "InvalidParameterException",
                              "Only a blue/green, canary or linear service deployment in "
                              "progress can be stopped.")
        try:
            deployment.run.stop(now)
        except Refused as refused:
            return json_error(400, "ConflictException", str(refused))
        sync(svc, now, self.advance)
        return json_response(200, {"serviceDeploymentArn": params["serviceDeploymentArn"]})

