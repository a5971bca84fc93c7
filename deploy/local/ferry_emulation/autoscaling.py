"""Application Auto Scaling behaviours that moto does not model.

moto 5.2.5 serves RegisterScalableTarget, DescribeScalableTargets,
PutScalingPolicy, DescribeScalingPolicies, DeleteScalingPolicy and
DeregisterScalableTarget, but Ferry depends on more than it models. The
API reference says, and this module makes the local AWS do (each check
stricter than moto, never kinder):

Tags. https://docs.aws.amazon.com/autoscaling/application/APIReference/API_RegisterScalableTarget.html
  "Tags: Assigns one or more tags to the scalable target. Use this
  parameter to tag the scalable target when it is created. To tag an
  existing scalable target, use the TagResource operation."
moto drops ``Tags`` and has no ListTagsForResource, TagResource or
UntagResource (API_ListTagsForResource.html, API_TagResource.html,
API_UntagResource.html; an unknown ARN is ResourceNotFoundException). The
layer keeps the tags of each target by its ARN, from the creating
RegisterScalableTarget, and answers the three tagging operations itself.
Deregistering a target forgets its tags.

Pagination. API_DescribeScalableTargets.html: "MaxResults: The maximum
number of scalable targets. This value can be between 1 and 50. The
default value is 50." API_DescribeScalingPolicies.html: "This value can be
between 1 and 10. The default value is 10." moto's DescribeScalableTargets
hands out a NextToken that points back into the first page (so a client
that follows it loops or misses targets), and both take any MaxResults.
moto's DescribeScalingPolicies also matches ``ResourceId`` as a substring
(``service/c/svc1`` finds the policies of ``service/c/svc12``); the
reference names one resource. The layer reads everything from moto, keeps
exact matches and pages it itself, with opaque tokens; a MaxResults out of range is a ValidationException, an unknown
token InvalidNextTokenException.

Policies need their target. API_PutScalingPolicy.html: "You cannot create
a scaling policy until you have registered the resource as a scalable
target." (ObjectNotFoundException; moto creates the policy anyway.)

Resource labels. API_PredefinedMetricSpecification.html: "You can't
specify a resource label unless the metric type is ALBRequestCountPerTarget
and there is a target group attached to the Spot Fleet or ECS service."
"The format of the resource label is:
app/my-alb/778d41231b141a0f/targetgroup/my-alb-target-group/943f017f100becff."
The layer refuses (ValidationException) an ALBRequestCountPerTarget policy
without a label of that form, and a label on any other metric. That the
target group is attached to the service is not checked.

Deregistering. API_DeregisterScalableTarget.html: "Deregistering a
scalable target deletes the scaling policies and the scheduled actions
that are associated with it." moto keeps the policies. The layer deletes
them first. Deregistering, or deleting a policy, that does not exist is
ObjectNotFoundException ("The specified object could not be found", the
error both operations list); moto answers ValidationException.

New targets. API_RegisterScalableTarget.html: "When you register a new
scalable target, you must specify values for the minimum and maximum
capacity." A new target without both, or any MinCapacity above
MaxCapacity, is a ValidationException.

Not emulated: "If the specified resource is not active in the target
service, this operation does not change the resource's current capacity.
Otherwise, it changes the resource's current capacity to a value that is
inside of this range" (RegisterScalableTarget moving an ECS service's
desired count into a new range), and scaling itself: no alarm fires, so
nothing ever changes a desired count but the caller. Tests play the
autoscaler with UpdateService.

Every Application Auto Scaling request runs under one lock.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from typing import Any

from . import locks
from .wire import AwsRequest, Response, json_error, json_response

SERVICE = "application-autoscaling"
MAX_TARGETS_PAGE = 50
MAX_POLICIES_PAGE = 10
ALB_REQUESTS = "ALBRequestCountPerTarget"
RESOURCE_LABEL = re.compile(
    r"^app/[A-Za-z0-9-]{1,32}/[0-9a-f]+/targetgroup/[A-Za-z0-9-]{1,32}/[0-9a-f]+$")
# moto never returns more than this in one answer when asked for it.
EVERYTHING = 1_000_000

Forward = Callable[[AwsRequest], Response]



def serialize(request: AwsRequest, forward: Forward) -> Response:
    with locks.AUTOSCALING:
        return forward(request)


# -- the pure model ----------------------------------------------------------------


class Tags:
    """Tags of scalable targets, by ARN."""

    def __init__(self) -> None:
        self._by_arn: dict[str, dict[str, str]] = {}

    def created(self, arn: str, tags: dict[str, str]) -> None:
        self._by_arn.setdefault(arn, dict(tags))

    def forget(self, arn: str) -> None:
        self._by_arn.pop(arn, None)

    def get(self, arn: str) -> dict[str, str] | None:
        found = self._by_arn.get(arn)
        return None if found is None else dict(found)

    def tag(self, arn: str, tags: dict[str, str]) -> bool:
        if arn not in self._by_arn:
            return False
        self._by_arn[arn].update(tags)
        return True

    def untag(self, arn: str, keys: list[str]) -> bool:
        if arn not in self._by_arn:
            return False
        for key in keys:
            self._by_arn[arn].pop(key, None)
        return True


def page(items: list[Any], max_results: Any, token: Any, limit: int
         ) -> tuple[list[Any], str | None] | str:
    """One page of ``items`` and the next token, or the error message."""
    if max_results is None:
        size = limit
    elif isinstance(max_results, int) and 1 <= max_results <= limit:
        size = max_results
    else:
        return (f"1 validation error detected: Value '{max_results}' at 'maxResults' failed "
                f"to satisfy constraint: Member must have value between 1 and {limit}")
    start = 0
    if token is not None:
        try:
            start = int(base64.b64decode(str(token), validate=True).decode())
        except (ValueError, UnicodeDecodeError):
            start = -1
        if start < 0 or start > len(items):
            return "invalid-token"
    end = start + size
    following = base64.b64encode(str(end).encode()).decode() if end < len(items) else None
    return items[start:end], following


def policy_problem(params: dict[str, Any]) -> str | None:
    """Why PutScalingPolicy's target tracking configuration is refused, if it is."""
    configuration = params.get("TargetTrackingScalingPolicyConfiguration") or {}
    predefined = configuration.get("PredefinedMetricSpecification")
    if not isinstance(predefined, dict):
        return None
    metric = predefined.get("PredefinedMetricType")
    label = predefined.get("ResourceLabel")
    if metric == ALB_REQUESTS:
        if not isinstance(label, str) or not RESOURCE_LABEL.match(label):
            return (f"Invalid resource label {label!r} for {ALB_REQUESTS}: expected "
                    "app/<load-balancer-name>/<load-balancer-id>/targetgroup/"
                    "<target-group-name>/<target-group-id>")
    elif label is not None:
        return f"A resource label can only be specified for {ALB_REQUESTS}, not {metric}"
    return None


def capacity_problem(params: dict[str, Any], exists: bool) -> str | None:
    low, high = params.get("MinCapacity"), params.get("MaxCapacity")
    if not exists and (low is None or high is None):
        return "MinCapacity and MaxCapacity are required to register a new scalable target"
    if isinstance(low, int) and isinstance(high, int) and low > high:
        return f"Minimum capacity {low} cannot be greater than maximum capacity {high}"
    return None


# -- glue -------------------------------------------------------------------------


def _invalid(message: str) -> Response:
    return json_error(400, "ValidationException", message)


def _not_found(message: str = "The specified object could not be found") -> Response:
    return json_error(400, "ObjectNotFoundException", message)


def _targets(request: AwsRequest, forward: Forward, namespace: str,
             resource_ids: list[str] | None = None, dimension: str | None = None) -> list[dict]:
    params: dict[str, Any] = {"ServiceNamespace": namespace, "MaxResults": EVERYTHING}
    if resource_ids:
        params["ResourceIds"] = resource_ids
    if dimension:
        params["ScalableDimension"] = dimension
    answer = forward(request.with_operation("DescribeScalableTargets", params))
    if answer.status != 200:
        return []
    return list((answer.json() or {}).get("ScalableTargets") or [])


def _policies(request: AwsRequest, forward: Forward, namespace: str,
              resource_id: str | None = None) -> list[dict]:
    params: dict[str, Any] = {"ServiceNamespace": namespace, "MaxResults": EVERYTHING}
    if resource_id:
        params["ResourceId"] = resource_id
    answer = forward(request.with_operation("DescribeScalingPolicies", params))
    if answer.status != 200:
        return []
    found = list((answer.json() or {}).get("ScalingPolicies") or [])
    # moto matches ResourceId as a substring (svc1 finds svc12's policies).
    return [p for p in found if resource_id is None or p.get("ResourceId") == resource_id]


def _target_of(request: AwsRequest, forward: Forward, params: dict[str, Any]) -> dict | None:
    resource_id, dimension = params.get("ResourceId"), params.get("ScalableDimension")
    for target in _targets(request, forward, params.get("ServiceNamespace", ""), [resource_id]):
        if target.get("ScalableDimension") == dimension and target.get("ResourceId") == resource_id:
            return target
    return None


def handlers(tags: Tags) -> dict[str, Callable[[AwsRequest, Forward], Response]]:
    def register_scalable_target(request: AwsRequest, forward: Forward) -> Response:
        params = request.json()
        existing = _target_of(request, forward, params)
        problem = capacity_problem(params, existing is not None)
        if problem:
            return _invalid(problem)
        answer = forward(request)
        if answer.status == 200 and existing is None:
            arn = (answer.json() or {}).get("ScalableTargetARN")
            if isinstance(arn, str):
                given = params.get("Tags") or {}
                tags.created(arn, {str(k): str(v) for k, v in given.items()})
        return answer

    def describe_scalable_targets(request: AwsRequest, forward: Forward) -> Response:
        params = request.json()
        everything = _targets(request, forward, params.get("ServiceNamespace", ""),
                              params.get("ResourceIds"), params.get("ScalableDimension"))
        result = page(everything, params.get("MaxResults"), params.get("NextToken"),
                      MAX_TARGETS_PAGE)
        if result == "invalid-token":
            return json_error(400, "InvalidNextTokenException", "Invalid NextToken")
        if isinstance(result, str):
            return _invalid(result)
        items, following = result
        body: dict[str, Any] = {"ScalableTargets": items}
        if following:
            body["NextToken"] = following
        return json_response(200, body)

    def describe_scaling_policies(request: AwsRequest, forward: Forward) -> Response:
        params = request.json()
        everything = _policies(request, forward, params.get("ServiceNamespace", ""),
                               params.get("ResourceId"))
        names = params.get("PolicyNames")
        if names:
            everything = [p for p in everything if p.get("PolicyName") in names]
        dimension = params.get("ScalableDimension")
        if dimension:
            everything = [p for p in everything if p.get("ScalableDimension") == dimension]
        result = page(everything, params.get("MaxResults"), params.get("NextToken"),
                      MAX_POLICIES_PAGE)
        if result == "invalid-token":
            return json_error(400, "InvalidNextTokenException", "Invalid NextToken")
        if isinstance(result, str):
            return _invalid(result)
        items, following = result
        body = {"ScalingPolicies": items}
        if following:
            body["NextToken"] = following
        return json_response(200, body)

    def put_scaling_policy(request: AwsRequest, forward: Forward) -> Response:
        params = request.json()
        if _target_of(request, forward, params) is None:
            return _not_found(
                "No scalable target registered for service namespace: "
                f"{params.get('ServiceNamespace')}, resource ID: {params.get('ResourceId')}, "
                f"scalable dimension: {params.get('ScalableDimension')}")
        problem = policy_problem(params)
        if problem:
            return _invalid(problem)
        return forward(request)

    def delete_scaling_policy(request: AwsRequest, forward: Forward) -> Response:
        params = request.json()
        found = [p for p in _policies(request, forward, params.get("ServiceNamespace", ""),
                                      params.get("ResourceId"))
                 if p.get("PolicyName") == params.get("PolicyName")
                 and p.get("ScalableDimension") == params.get("ScalableDimension")
                 and p.get("ResourceId") == params.get("ResourceId")]
        if not found:
            return _not_found("No scaling policy found for service namespace: "
                              f"{params.get('ServiceNamespace')}, resource ID: "
                              f"{params.get('ResourceId')}, policy name: "
                              f"{params.get('PolicyName')}")
        return forward(request)

    def deregister_scalable_target(request: AwsRequest, forward: Forward) -> Response:
        params = request.json()
        target = _target_of(request, forward, params)
        if target is None:
            return _not_found("No scalable target found for service namespace: "
                              f"{params.get('ServiceNamespace')}, resource ID: "
                              f"{params.get('ResourceId')}")
        for policy in _policies(request, forward, params.get("ServiceNamespace", ""),
                                params.get("ResourceId")):
            if (policy.get("ResourceId") == params.get("ResourceId")
                    and policy.get("ScalableDimension") == params.get("ScalableDimension")):
                forward(request.with_operation("DeleteScalingPolicy", {
                    "PolicyName": policy.get("PolicyName"),
                    "ServiceNamespace": params.get("ServiceNamespace"),
                    "ResourceId": params.get("ResourceId"),
                    "ScalableDimension": params.get("ScalableDimension"),
                }))
        answer = forward(request)
        if answer.status == 200 and isinstance(target.get("ScalableTargetARN"), str):
            tags.forget(target["ScalableTargetARN"])
        return answer

    def list_tags_for_resource(request: AwsRequest, _forward: Forward) -> Response:
        arn = request.json().get("ResourceARN", "")
        found = tags.get(arn)
        if found is None:
            return json_error(400, "ResourceNotFoundException",
                              f"Scalable target with ARN {arn} not found")
        return json_response(200, {"Tags": found})

    def tag_resource(request: AwsRequest, _forward: Forward) -> Response:
        params = request.json()
        given = params.get("Tags") or {}
        if not tags.tag(params.get("ResourceARN", ""), {str(k): str(v) for k, v in given.items()}):
            return json_error(400, "ResourceNotFoundException",
                              f"Scalable target with ARN {params.get('ResourceARN')} not found")
        return json_response(200, {})

    def untag_resource(request: AwsRequest, _forward: Forward) -> Response:
        params = request.json()
        if not tags.untag(params.get("ResourceARN", ""), list(params.get("TagKeys") or [])):
            return json_error(400, "ResourceNotFoundException",
                              f"Scalable target with ARN {params.get('ResourceARN')} not found")
        return json_response(200, {})

    return {
        "RegisterScalableTarget": register_scalable_target,
        "DescribeScalableTargets": describe_scalable_targets,
        "DescribeScalingPolicies": describe_scaling_policies,
        "PutScalingPolicy": put_scaling_policy,
        "DeleteScalingPolicy": delete_scaling_policy,
        "DeregisterScalableTarget": deregister_scalable_target,
        "ListTagsForResource": list_tags_for_resource,
        "TagResource": tag_resource,
        "UntagResource": untag_resource,
    }


def register(layer: Any) -> None:
    tags = Tags()
    # authz.py reads the targets' tags (aws:ResourceTag) from here.
    layer.autoscaling_tags = tags
    layer.register(SERVICE, "*", serialize)
    for operation, handler in handlers(tags).items():
        layer.register(SERVICE, operation, handler)
