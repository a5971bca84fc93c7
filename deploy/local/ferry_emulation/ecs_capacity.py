"""Capacity provider strategies on CreateService, UpdateService and RunTask,
and ``enableExecuteCommand`` on services, as ECS keeps them.

Pure parts: ``strategy_refusal`` (what ECS refuses) and ``place`` (which
provider a task runs on). The handlers (registered after ``deployments``,
so they sit between its handlers and moto) refuse before moto and, on
CreateService, write onto moto's Service object what moto drops.

https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CreateService.html
  capacityProviderStrategy: "If a capacityProviderStrategy is specified, the
  launchType parameter must be omitted." (RunTask says the same.) A
  capacity provider "must be associated with the cluster to be used in a
  capacity provider strategy". ECS answers both mistakes with
  InvalidParameterException; the wordings below are the ones ECS returns as
  publicly quoted ("Specifying both a launch type and capacity provider
  strategy is not supported. Remove one and try again.", and "The specified
  capacity provider strategy cannot contain a capacity provider that is not
  associated with the cluster. Associate the capacity provider with the
  cluster or specify a valid capacity provider and try again.").
https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CapacityProviderStrategyItem.html
  base: "Only one capacity provider in a capacity provider strategy can have
  a base defined ... Base value characteristics: ... Range: 0-100000";
  weight: "Range: 0-1000"; "If no weight value is specified, the default
  value of 0 is used" and tasks are placed only on providers with a weight
  above zero, so the layer refuses a strategy whose weights are all 0 (the
  stricter reading: nothing could place a task beyond the base).
  "When multiple capacity providers are specified within a capacity provider
  strategy, at least one of the capacity providers must have a weight value
  greater than zero" (Amazon ECS developer guide, capacity providers).
  Placement: "the base value designates how many tasks, at a minimum, run on
  the specified capacity provider"; after the base "the weight value
  designates the relative percentage of the total number of launched tasks
  that should use the specified capacity provider". ``place`` fills the
  base first, then picks the provider furthest below its share (ties: the
  strategy's order), so a strategy {FARGATE base 1, FARGATE_SPOT weight 1}
  runs the first task on FARGATE and every further one on FARGATE_SPOT.
  A task placed by a strategy has ``capacityProviderName`` and launchType
  FARGATE (for the FARGATE and FARGATE_SPOT providers, the only ones the
  local ECS has).
https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_UpdateService.html
  capacityProviderStrategy: "Update the Auto Scaling group or Fargate
  capacity provider back to the launch type. Pass an empty list in the
  capacityProviderStrategy parameter." "This parameter doesn't trigger a
  new service deployment": the service shows the new strategy at once; its
  tasks use it from the next deployment (``deployments.py`` copies it into
  a new deployment only). A service sent back to the launch type gets
  launchType FARGATE (the launch type of the Fargate providers; ECS does
  not document which launch type it takes, the layer's choice).
  enableExecuteCommand: kept and returned; a task takes its service's value
  when it starts (``ecs_exec.py``).

moto: CreateService drops capacityProviderStrategy and enableExecuteCommand
and answers launchType EC2 when none is given; UpdateService keeps both (it
sets any attribute it is given); RunTask puts the first provider's name on
every task (``deployments.py`` places each one with ``place``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .wire import AwsRequest, Response, json_answer, json_error

BOTH = ("Specifying both a launch type and capacity provider strategy is not supported. "
        "Remove one and try again.")
NOT_ASSOCIATED = ("The specified capacity provider strategy cannot contain a capacity provider "
                  "that is not associated with the cluster. Associate the capacity provider with "
                  "the cluster or specify a valid capacity provider and try again.")
WEIGHT_MAX, BASE_MAX = 1000, 100000
FARGATE_PROVIDERS = ("FARGATE", "FARGATE_SPOT")
BACK_TO_LAUNCH_TYPE = "FARGATE"


def _number(item: Mapping[str, Any], key: str) -> int | None:
    value = item.get(key, 0)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def strategy_refusal(params: Mapping[str, Any], associated: list[str] | None) -> str | None:
    """Why ECS refuses the request's capacityProviderStrategy, or None.

    ``associated``: the cluster's capacity providers (None: the cluster is
    unknown, left to moto's ClusterNotFoundException)."""
    strategy = params.get("capacityProviderStrategy")
    if strategy is None or strategy == []:
        return None
    if params.get("launchType"):
        return BOTH
    if not isinstance(strategy, list) or not all(isinstance(i, dict) for i in strategy):
        return "capacityProviderStrategy must be a list of capacity provider strategy items."
    names = [item.get("capacityProvider") for item in strategy]
    if len(set(names)) != len(names):
        return "A capacity provider can be specified only once in a capacity provider strategy."
    if associated is not None and any(name not in associated for name in names):
        return NOT_ASSOCIATED
    bases = [_number(item, "base") for item in strategy]
    weights = [_number(item, "weight") for item in strategy]
    if any(b is None or not 0 <= b <= BASE_MAX for b in bases):
        return f"The base of a capacity provider strategy item must be between 0 and {BASE_MAX}."
    if any(w is None or not 0 <= w <= WEIGHT_MAX for w in weights):
        return f"The weight of a capacity provider strategy item must be between 0 and {WEIGHT_MAX}."
    if sum(1 for b in bases if b) > 1:
        return "Only one capacity provider in a capacity provider strategy can have a base defined."
    if not any(weights):
        return ("At least one capacity provider in a capacity provider strategy must have a "
                "weight greater than zero.")
    return None


def normalized(strategy: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The strategy as DescribeServices returns it: base and weight 0 where left out."""
    return [{"capacityProvider": i["capacityProvider"], "weight": i.get("weight") or 0,
             "base": i.get("base") or 0} for i in strategy]


def place(strategy: Any, placed: Mapping[str, int]) -> str | None:
    """The provider the next task runs on, given how many tasks each already has
    (None without a strategy)."""
    if not isinstance(strategy, list) or not strategy:
        return None
    items = [i for i in strategy if isinstance(i, dict) and isinstance(i.get("capacityProvider"), str)]
    for item in items:
        if (item.get("base") or 0) > placed.get(item["capacityProvider"], 0):
            return item["capacityProvider"]
    weighted = [i for i in items if (i.get("weight") or 0) > 0]
    if not weighted:
        return items[0]["capacityProvider"] if items else None

    def beyond_base(item: Mapping[str, Any]) -> float:
        name = item["capacityProvider"]
        return max(placed.get(name, 0) - (item.get("base") or 0), 0) / item["weight"]

    return min(weighted, key=beyond_base)["capacityProvider"]


def moto_cluster_providers(account: str, region: str, cluster: Any) -> list[str] | None:
    """moto's capacity providers of a cluster (None if the cluster is unknown)."""
    from moto.ecs.models import ecs_backends

    name = str(cluster or "default").rsplit("/", 1)[-1]
    found = ecs_backends[account][region].clusters.get(name)
    return list(found.capacity_providers or []) if found is not None else None


def _account(params: Mapping[str, Any]) -> str:
    """The cluster's account: from its ARN, else moto's default account."""
    from moto.core import DEFAULT_ACCOUNT_ID

    cluster = params.get("cluster")
    parts = cluster.split(":") if isinstance(cluster, str) else []
    return parts[4] if len(parts) > 5 and parts[4] else DEFAULT_ACCOUNT_ID


class CapacityEmulation:
    def __init__(self, find_providers: Callable[[str, str, Any], list[str] | None]
                 = moto_cluster_providers,
                 find_service: Callable[[str, str], Any] | None = None):
        from . import ecs

        self.find_providers = find_providers
        self.find_service = find_service or ecs.moto_service

    def _refusal(self, request: AwsRequest) -> Response | None:
        params = request.json()
        associated = (self.find_providers(_account(params), request.region, params.get("cluster"))
                      if params.get("capacityProviderStrategy") else None)
        why = strategy_refusal(params, associated)
        return json_error(400, "InvalidParameterException", why) if why is not None else None

    def refuse(self, request: AwsRequest, forward: Callable[[AwsRequest], Response]) -> Response:
        return self._refusal(request) or forward(request)

    def completing(self, complete: Callable[[dict[str, Any], dict[str, Any], Any], None]
                    ) -> Callable[[AwsRequest, Callable[[AwsRequest], Response]], Response]:
        """A handler: refusals first, then moto, then ``complete(params, service,
        moto's Service object or None)`` writes what moto left out."""
        def handler(request: AwsRequest, forward: Callable[[AwsRequest], Response]) -> Response:
            refused = self._refusal(request)
            if refused is not None:
                return refused
            response = forward(request)
            payload = response.json() if response.status == 200 else None
            service = payload.get("service") if isinstance(payload, dict) else None
            if not isinstance(service, dict):
                return response
            complete(request.json(), service,
                     self.find_service(str(service.get("serviceArn")), str(service.get("clusterArn"))))
            return json_answer(response, payload)

        return handler

    @staticmethod
    def keep_on_create(params: dict[str, Any], service: dict[str, Any], moto_obj: Any) -> None:
        """CreateService: the strategy and enableExecuteCommand kept (moto drops both)."""
        strategy = normalized(params.get("capacityProviderStrategy") or [])
        execute = params.get("enableExecuteCommand") is True
        if moto_obj is not None:
            moto_obj.enable_execute_command = execute
        service["enableExecuteCommand"] = execute
        if strategy:
            if moto_obj is not None:
                moto_obj.capacity_provider_strategy = strategy
                moto_obj.launch_type = None
            service["capacityProviderStrategy"] = strategy
            service.pop("launchType", None)
            for deployment in service.get("deployments") or []:
                if isinstance(deployment, dict):
                    deployment.pop("launchType", None)
                    deployment["capacityProviderStrategy"] = strategy

    @staticmethod
    def keep_on_update(params: dict[str, Any], service: dict[str, Any], moto_obj: Any) -> None:
        """UpdateService: a strategy replaces the launch type; an empty one sends the
        service back to launch type FARGATE."""
        strategy = params.get("capacityProviderStrategy")
        if strategy is None:
            return
        if strategy:
            strategy = normalized(strategy)
            if moto_obj is not None:
                moto_obj.launch_type = None
                moto_obj.capacity_provider_strategy = strategy
            service["capacityProviderStrategy"] = strategy
            service.pop("launchType", None)
        else:
            if moto_obj is not None:
                moto_obj.capacity_provider_strategy = None
                moto_obj.launch_type = moto_obj.launch_type or BACK_TO_LAUNCH_TYPE
            service.pop("capacityProviderStrategy", None)
            service["launchType"] = service.get("launchType") or BACK_TO_LAUNCH_TYPE


def register(layer: Any) -> None:
    """In ``MODULES`` after ``deployments``: its handlers see what these write."""
    emulation = CapacityEmulation()
    layer.register("ecs", "CreateService", emulation.completing(emulation.keep_on_create))
    layer.register("ecs", "UpdateService", emulation.completing(emulation.keep_on_update))
    layer.register("ecs", "RunTask", emulation.refuse)
