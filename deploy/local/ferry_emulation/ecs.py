"""Amazon ECS behaviours that moto does not model.

Each handler follows one page of the ECS API reference and is a plain
function of (request, forward), so it can be unit-tested with a fake
``forward`` and no server.

Every ECS request runs under one lock (``serialize``, registered first, so
it is outermost for every ECS handler, including those of
``deployments.py``): the deployment state the layer keeps, the reads of
moto it is computed from and the narrow writes it makes to moto's backend
then happen with no other ECS request in between, as in AWS each call is
atomic. moto's own ECS backend takes no lock.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any

from . import consistency, ecs_containers, ecs_idempotency, ecs_taskdefs, elbv2, locks, paging
from .wire import AwsRequest, Response, json_answer, json_error

SERVICE = "ecs"


def serialize(request: AwsRequest, forward: Any) -> Response:
    with locks.ECS:
        return forward(request)


# --------------------------------------------------------------------------
# DescribeServices: at most 10 services per call; DescribeTasks: 100 tasks.
#
# https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DescribeServices.html
#   services: "A list of services to describe. You may specify up to 10
#   services to describe in a single operation."
# https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DescribeTasks.html
#   tasks: "A list of up to 100 task IDs or full ARN entries."
# AWS answers more with HTTP 400, InvalidParameterException, message
# "service names can have at most 10 items." (the wording AWS returns, as
# quoted in many public bug reports); the tasks' message is worded alike
# (we found no authoritative quote). moto describes any number.
# --------------------------------------------------------------------------

DESCRIBE_SERVICES_MAX = 10
DESCRIBE_TASKS_MAX = 100


def describe_limit(key: str, maximum: int, what: str) -> Callable[[AwsRequest, Any], Response]:
    """A handler refusing a Describe* call that names more than ``maximum`` ``key``."""
    def refuse_above(request: AwsRequest, forward: Any) -> Response:
        named = request.json().get(key)
        if isinstance(named, list) and len(named) > maximum:
            return json_error(400, "InvalidParameterException",
                              f"{what} can have at most {maximum} items.")
        return forward(request)
    return refuse_above


describe_services_limit = describe_limit("services", DESCRIBE_SERVICES_MAX, "service names")
describe_tasks_limit = describe_limit("tasks", DESCRIBE_TASKS_MAX, "tasks")


# --------------------------------------------------------------------------
# ListServices (and ListTasks, ListTaskDefinitions, ...): pagination by
# maxResults and nextToken, at AWS's documented page sizes: paging.py (the
# names below are kept for the existing callers and tests).
# --------------------------------------------------------------------------

LIST_SERVICES_DEFAULT = paging.LIST_SERVICES.default
LIST_SERVICES_MAX = paging.LIST_SERVICES.maximum
encode_token = paging.encode_token
decode_token = paging.decode_token
paginate = paging.paginate
list_services_pagination = paging.list_services_pagination


# --------------------------------------------------------------------------
# CreateService: healthCheckGracePeriodSeconds is kept.
#
# https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CreateService.html
#   healthCheckGracePeriodSeconds: "The period of time, in seconds, that the
#   Amazon ECS service scheduler ignores unhealthy Elastic Load Balancing,
#   VPC Lattice, and container health checks after a task has first
#   started." DescribeServices returns it (API_Service.html).
#
# moto's CreateService drops the parameter (its UpdateService keeps it, and
# keeps loadBalancers, including an empty list). After moto created the
# service, the value is set on moto's Service object: the one attribute
# moto's own UpdateService would set (health_check_grace_period_seconds),
# which moto's serializer then returns in DescribeServices. The
# CreateService response gets the same field.
# --------------------------------------------------------------------------

def moto_service(service_arn: str, cluster_arn: str) -> Any:
    """moto's Service object for an ARN, or None."""
    from moto.ecs.models import ecs_backends

    try:
        _, _, _, region, account, resource = service_arn.split(":", 5)
    except ValueError:
        return None
    service_name = resource.rsplit("/", 1)[-1]
    cluster_name = cluster_arn.rsplit("/", 1)[-1]
    backend = ecs_backends[account][region]
    return backend.services.get(f"{cluster_name}:{service_name}")


def create_service_grace_period(request: AwsRequest, forward: Any,
                                find_service: Any = None) -> Response:
    grace = request.json().get("healthCheckGracePeriodSeconds")
    response = forward(request)
    if response.status != 200 or not isinstance(grace, int) or isinstance(grace, bool):
        return response
    payload = response.json()
    service = payload.get("service") if isinstance(payload, dict) else None
    if not isinstance(service, dict):
        return response
    moto_obj = (find_service or moto_service)(service.get("serviceArn", ""),
                                              service.get("clusterArn", ""))
    if moto_obj is None:
        return response
    moto_obj.health_check_grace_period_seconds = grace
    service["healthCheckGracePeriodSeconds"] = grace
    return json_answer(response, payload)


# --------------------------------------------------------------------------
# The layer's reads of other services' state (EC2, ELBv2), for ECS checks.
#
# An ECS handler's ``forward`` leads to moto's ECS backend only. For what
# ECS itself looks up elsewhere (a subnet's VPC, a target group's load
# balancer) the layer calls moto directly (``call_moto``, not logged, no
# throttling or faults: AWS's own calls on your behalf are not yours), with
# a copy of the client's request signed for that service: moto picks the
# backend from the SigV4 credential scope, and checks no signature.
# --------------------------------------------------------------------------

_SCOPE = re.compile(r"(Credential=[^/,\s]+/\d{8}/[^/,\s]+/)[^/,\s]+(/aws4_request)")


def signed_for(request: AwsRequest, signing_name: str, service: str) -> AwsRequest:
    """An empty query-protocol request like ``request``, signed for another service."""
    environ = dict(request.environ)
    environ.pop("HTTP_X_AMZ_TARGET", None)
    environ["HTTP_AUTHORIZATION"] = _SCOPE.sub(rf"\g<1>{signing_name}\g<2>",
                                               environ.get("HTTP_AUTHORIZATION", ""))
    return AwsRequest(environ=environ, body=b"", service=service, operation="",
                      region=request.region)


EC2_VERSION = "2016-11-15"


def _ec2(request: AwsRequest, call_moto: Any, params: dict[str, str]) -> ET.Element | None:
    ec2_request = signed_for(request, "ec2", "ec2").with_form({"Version": EC2_VERSION, **params})
    response = call_moto(ec2_request)
    if response.status != 200:
        return None
    try:
        return ET.fromstring(response.body)
    except ET.ParseError:
        return None


def _local(element: ET.Element, name: str) -> list[ET.Element]:
    return [e for e in element.iter() if e.tag.rsplit("}", 1)[-1] == name]


def default_security_group(request: AwsRequest, call_moto: Any, subnets: list[str]) -> str | None:
    """The default security group of the VPC of ``subnets`` (None if unknown or ambiguous)."""
    params = {f"SubnetId.{i}": subnet for i, subnet in enumerate(subnets, 1)}
    found = _ec2(request, call_moto, {"Action": "DescribeSubnets", **params})
    if found is None:
        return None
    vpcs = {e.text for e in _local(found, "vpcId") if e.text}
    if len(vpcs) != 1:
        return None
    groups = _ec2(request, call_moto, {
        "Action": "DescribeSecurityGroups",
        "Filter.1.Name": "vpc-id", "Filter.1.Value.1": vpcs.pop(),
        "Filter.2.Name": "group-name", "Filter.2.Value.1": "default"})
    if groups is None:
        return None
    ids = [e.text for e in _local(groups, "groupId") if e.text]
    return ids[0] if len(ids) == 1 else None


# --------------------------------------------------------------------------
# CreateService / UpdateService: awsvpc without security groups.
#
# https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_AwsVpcConfiguration.html
#   securityGroups: "The IDs of the security groups associated with the
#   task or service. If you don't specify a security group, the default
#   security group for the VPC is used."
#
# moto answers such a request with HTTP 500 (KeyError 'securityGroups').
# Here the layer looks up the subnets' VPC and its security group named
# ``default`` (EC2 DescribeSubnets and DescribeSecurityGroups) and writes
# it into the request before moto sees it, so the service's
# networkConfiguration then names it. Subnets moto does not know (or in
# several VPCs) are left to moto, which answers with its own
# InvalidParameterException.
# --------------------------------------------------------------------------

def default_security_groups(call_moto: Any) -> Any:
    def fill_default_security_group(request: AwsRequest, forward: Any) -> Response:
        params = request.json()
        network = params.get("networkConfiguration")
        vpc = network.get("awsvpcConfiguration") if isinstance(network, dict) else None
        if not isinstance(vpc, dict) or vpc.get("securityGroups"):
            return forward(request)
        subnets = vpc.get("subnets")
        if not isinstance(subnets, list) or not subnets or not all(isinstance(s, str) for s in subnets):
            return forward(request)
        group = default_security_group(request, call_moto, subnets)
        if group is None:
            return forward(request)
        rewritten = json.loads(json.dumps(params))
        rewritten["networkConfiguration"]["awsvpcConfiguration"]["securityGroups"] = [group]
        return forward(request.with_json(rewritten))

    return fill_default_security_group


# --------------------------------------------------------------------------
# CreateService / UpdateService: a target group must have a load balancer.
#
# https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_LoadBalancer.html
#   targetGroupArn: the ARN of the Elastic Load Balancing target group
#   associated with the service; tasks register to and deregister from the
#   load balancer through it. A target group reaches a load balancer only
#   through a listener or a rule that forwards to it.
# ECS refuses a service whose target group no listener or rule forwards to
# with HTTP 400 InvalidParameterException "The target group with
# targetGroupArn ARN does not have an associated load balancer." (the
# wording AWS returns, as quoted in hashicorp/terraform#32908 and
# cloudposse/terraform-aws-ecs-web-app#226: the classic mistake of creating
# the service before the listener rule). moto accepts any ARN. Here each
# ``loadBalancers[].targetGroupArn`` must be forwarded to by some listener
# or rule (read under the ELBv2 lock: ECS's lock, then ELBv2's, never the
# other way round). A target group that does not exist gets the same
# answer (it has no load balancer; AWS's wording for that case is not
# published).
# --------------------------------------------------------------------------

def load_balancer_check(call_moto: Any) -> Any:
    def target_groups_have_load_balancers(request: AwsRequest, forward: Any) -> Response:
        entries = request.json().get("loadBalancers")
        groups = [e.get("targetGroupArn") for e in entries or []
                  if isinstance(e, dict) and isinstance(e.get("targetGroupArn"), str)] \
            if isinstance(entries, list) else []
        if not groups:
            return forward(request)
        elb_request = signed_for(request, "elasticloadbalancing", "elbv2")
        with locks.ELBV2:
            associations = elbv2.target_group_associations(elb_request, call_moto)
        for group in groups:
            if not associations.get(group):
                return json_error(400, "InvalidParameterException",
                                  f"The target group with targetGroupArn {group} does not have "
                                  "an associated load balancer.")
        return forward(request)

    return target_groups_have_load_balancers


# --------------------------------------------------------------------------
# RunTask / CreateService: client tokens.
#
# https://docs.aws.amazon.com/AmazonECS/latest/APIReference/ECS_Idempotency.html
#   "If you retry a request that completed successfully using the same client
#   token and the same parameters, the retry succeeds without performing any
#   further actions."  CreateService: "up to 36 ASCII characters in the range
#   of 33-126"; RunTask: up to 64.  "Requests with the same token in the same
#   cluster are idempotent"; a RunTask "in other clusters are considered
#   separate requests".
#   RunTask: "the original request's result is returned. If you retry a
#   successful request with the same client token, but one or more of the
#   parameters are changed (other than the Region or Availability Zone), then
#   the retry fails with a ConflictException." The token "has a time to live
#   (TTL) of 24 hours".
#
# moto ignores clientToken: a retried RunTask starts a second task. The layer
# remembers each successful answer by (operation, cluster, token) for 24 h
# and replays it for the same parameters; other parameters get
# ConflictException (the RunTask wording; the page names no other error for
# CreateService, and refusing is the stricter reading). A token out of the
# documented length or character range is refused as AWS validates it.
# Only successes are kept: a failed request performed nothing to replay.
# --------------------------------------------------------------------------

CLIENT_TOKEN_MAX = {"RunTask": 64, "CreateService": 36}
CLIENT_TOKEN_TTL = 24 * 3600.0


class ClientTokens:
    """Answers already given, by (operation, cluster, token)."""

    def __init__(self, clock: Any = None):
        import time
        self._clock = clock or time.time
        self._seen: dict[tuple[str, str, str], tuple[float, str, Response]] = {}

    def __call__(self, request: AwsRequest, forward: Any) -> Response:
        params = request.json()
        token = params.get("clientToken")
        if token is None:
            return forward(request)
        limit = CLIENT_TOKEN_MAX.get(request.operation, 64)
        if (not isinstance(token, str) or not 1 <= len(token) <= limit
                or any(not 33 <= ord(c) <= 126 for c in token)):
            return json_error(400, "InvalidParameterException",
                              f"clientToken must be 1-{limit} ASCII characters in the range 33-126.")
        cluster = str(params.get("cluster") or "default").rsplit("/", 1)[-1]
        key = (request.operation, cluster, token)
        rest = json.dumps({k: v for k, v in params.items() if k != "clientToken"}, sort_keys=True)
        now = self._clock()
        for old in [k for k, (at, _, _) in self._seen.items() if now - at > CLIENT_TOKEN_TTL]:
            del self._seen[old]
        if key in self._seen:
            _, first, answer = self._seen[key]
            if first != rest:
                # The error code is the documented one; the message is ours.
                return json_error(400, "ConflictException",
                                  f"The client token {token} was used before with other parameters.")
            return answer
        answer = forward(request)
        if 200 <= answer.status < 300:
            self._seen[key] = (now, rest, answer)
        return answer


def register(layer: Any) -> None:
    layer.register(SERVICE, "*", serialize)
    tokens = ClientTokens()
    layer.register(SERVICE, "RunTask", tokens)
    layer.register(SERVICE, "CreateService", tokens)
    layer.register(SERVICE, "DescribeServices", describe_services_limit)
    layer.register(SERVICE, "DescribeTasks", describe_tasks_limit)
    # Outer to inner: refusals first, then pages cut from what the
    # eventual-consistency view shows, then the rest (deployments after ecs).
    ecs_taskdefs.register(layer)
    ecs_containers.register(layer)
    ecs_idempotency.register(layer)
    paging.register(layer)
    consistency.register(layer)
    layer.register(SERVICE, "CreateService", load_balancer_check(layer.call_moto))
    layer.register(SERVICE, "UpdateService", load_balancer_check(layer.call_moto))
    layer.register(SERVICE, "CreateService", default_security_groups(layer.call_moto))
    layer.register(SERVICE, "UpdateService", default_security_groups(layer.call_moto))
    layer.register(SERVICE, "CreateService", create_service_grace_period)
