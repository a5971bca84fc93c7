"""Application Auto Scaling, with boto3 against emulator.py.

Every test of the server here fails against moto alone;
ferry_emulation.autoscaling makes it pass. Each checks what the API
reference documents (quoted in that module).
"""

from __future__ import annotations

import itertools

import pytest
from botocore.exceptions import ClientError

from ferry_emulation import autoscaling

_names = itertools.count()
DIMENSION = "ecs:service:DesiredCount"
LABEL = "app/ferry-internal/50dc6c495c0c9188/targetgroup/acme-web-1a2b3c4d/73e2d6bc24d8a067"


@pytest.fixture(scope="module")
def emulator(unthrottled_emulator):
    """These tests register and page dozens of targets in a few seconds, far
    beyond the (conservative) Application Auto Scaling bucket; throttling is
    tested in test_throttling.py."""
    return unthrottled_emulator


@pytest.fixture(scope="module")
def cluster(emulator):
    ecs = emulator.client("ecs")
    ecs.create_cluster(clusterName="scaling")
    ecs.register_task_definition(family="scaling", containerDefinitions=[
        {"name": "web", "image": "acme:1", "memory": 512}])
    return ecs


def service(ecs) -> str:
    """A fresh ECS service; its scalable target's resource id."""
    name = f"svc{next(_names)}"
    ecs.create_service(cluster="scaling", serviceName=name, taskDefinition="scaling",
                       desiredCount=1)
    return f"service/scaling/{name}"


def register(aas, resource_id, **extra):
    return aas.register_scalable_target(ServiceNamespace="ecs", ResourceId=resource_id,
                                        ScalableDimension=DIMENSION, **extra)


def cpu_policy(aas, resource_id, name="cpu", **metric):
    return aas.put_scaling_policy(
        PolicyName=name, ServiceNamespace="ecs", ResourceId=resource_id,
        ScalableDimension=DIMENSION, PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={
            "TargetValue": 60.0,
            "PredefinedMetricSpecification": {
                "PredefinedMetricType": "ECSServiceAverageCPUUtilization", **metric}})


def alb_policy(aas, resource_id, label):
    spec = {"PredefinedMetricType": "ALBRequestCountPerTarget"}
    if label is not None:
        spec["ResourceLabel"] = label
    return aas.put_scaling_policy(
        PolicyName="requests", ServiceNamespace="ecs", ResourceId=resource_id,
        ScalableDimension=DIMENSION, PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={
            "TargetValue": 500.0, "PredefinedMetricSpecification": spec})


def code(raised) -> str:
    return raised.value.response["Error"]["Code"]


def test_tags_given_at_registration_are_listed_and_can_change(emulator, cluster):
    aas = emulator.client("application-autoscaling")
    resource_id = service(cluster)
    arn = register(aas, resource_id, MinCapacity=1, MaxCapacity=4,
                   Tags={"ferry:app": "acme", "ferry:managed-by": "ferry"})["ScalableTargetARN"]
    assert aas.list_tags_for_resource(ResourceARN=arn)["Tags"] == {
        "ferry:app": "acme", "ferry:managed-by": "ferry"}
    # Updating the range keeps the tags ("tag the scalable target when it is created").
    register(aas, resource_id, MinCapacity=2, MaxCapacity=5, Tags={"other": "x"})
    assert aas.list_tags_for_resource(ResourceARN=arn)["Tags"]["ferry:app"] == "acme"
    aas.tag_resource(ResourceARN=arn, Tags={"team": "web"})
    aas.untag_resource(ResourceARN=arn, TagKeys=["ferry:app"])
    assert aas.list_tags_for_resource(ResourceARN=arn)["Tags"] == {
        "ferry:managed-by": "ferry", "team": "web"}
    aas.deregister_scalable_target(ServiceNamespace="ecs", ResourceId=resource_id,
                                   ScalableDimension=DIMENSION)
    with pytest.raises(ClientError) as raised:
        aas.list_tags_for_resource(ResourceARN=arn)
    assert code(raised) == "ResourceNotFoundException"


def test_targets_and_policies_page_within_the_documented_limits(emulator, cluster):
    aas = emulator.client("application-autoscaling")
    ids = [service(cluster) for _ in range(7)]
    for resource_id in ids:
        register(aas, resource_id, MinCapacity=0, MaxCapacity=3)
    for n in range(12):
        cpu_policy(aas, ids[0], name=f"p{n}")
    seen, token = [], None
    while True:
        page = aas.describe_scalable_targets(
            ServiceNamespace="ecs", MaxResults=3, **({"NextToken": token} if token else {}))
        assert len(page["ScalableTargets"]) <= 3
        seen += [t["ResourceId"] for t in page["ScalableTargets"]]
        token = page.get("NextToken")
        if not token:
            break
    assert set(ids) <= set(seen) and len(seen) == len(set(seen))
    first = aas.describe_scaling_policies(ServiceNamespace="ecs", ResourceId=ids[0])
    assert len(first["ScalingPolicies"]) == 10, "the default page is 10"
    rest = aas.describe_scaling_policies(ServiceNamespace="ecs", ResourceId=ids[0],
                                         NextToken=first["NextToken"])
    assert len(rest["ScalingPolicies"]) == 2 and "NextToken" not in rest
    for call, limit in ((aas.describe_scalable_targets, 51), (aas.describe_scaling_policies, 11)):
        with pytest.raises(ClientError) as raised:
            call(ServiceNamespace="ecs", MaxResults=limit)
        assert code(raised) == "ValidationException"
        with pytest.raises(ClientError) as raised:
            call(ServiceNamespace="ecs", NextToken="not-a-token")
        assert code(raised) == "InvalidNextTokenException"


def test_a_policy_needs_its_target(emulator, cluster):
    aas = emulator.client("application-autoscaling")
    with pytest.raises(ClientError) as raised:
        cpu_policy(aas, service(cluster))
    assert code(raised) == "ObjectNotFoundException"


@pytest.mark.parametrize("label", [None, "targetgroup/x/1", "app/lb/1/targetgroup/tg"])
def test_request_count_policies_need_a_valid_resource_label(emulator, cluster, label):
    aas = emulator.client("application-autoscaling")
    resource_id = service(cluster)
    register(aas, resource_id, MinCapacity=1, MaxCapacity=3)
    with pytest.raises(ClientError) as raised:
        alb_policy(aas, resource_id, label)
    assert code(raised) == "ValidationException"
    alb_policy(aas, resource_id, LABEL)
    (policy,) = aas.describe_scaling_policies(ServiceNamespace="ecs",
                                              ResourceId=resource_id)["ScalingPolicies"]
    spec = policy["TargetTrackingScalingPolicyConfiguration"]["PredefinedMetricSpecification"]
    assert spec["ResourceLabel"] == LABEL
    with pytest.raises(ClientError) as raised:
        cpu_policy(aas, resource_id, ResourceLabel=LABEL)
    assert code(raised) == "ValidationException", "a label only for ALBRequestCountPerTarget"


def test_deregistering_deletes_the_policies_and_twice_is_not_found(emulator, cluster):
    aas = emulator.client("application-autoscaling")
    resource_id = service(cluster)
    register(aas, resource_id, MinCapacity=1, MaxCapacity=3)
    cpu_policy(aas, resource_id)
    aas.deregister_scalable_target(ServiceNamespace="ecs", ResourceId=resource_id,
                                   ScalableDimension=DIMENSION)
    assert aas.describe_scaling_policies(ServiceNamespace="ecs",
                                         ResourceId=resource_id)["ScalingPolicies"] == []
    for call in (lambda: aas.deregister_scalable_target(
                     ServiceNamespace="ecs", ResourceId=resource_id, ScalableDimension=DIMENSION),
                 lambda: aas.delete_scaling_policy(
                     PolicyName="cpu", ServiceNamespace="ecs", ResourceId=resource_id,
                     ScalableDimension=DIMENSION)):
        with pytest.raises(ClientError) as raised:
            call()
        assert code(raised) == "ObjectNotFoundException"


def test_a_new_target_needs_both_bounds_in_order(emulator, cluster):
    aas = emulator.client("application-autoscaling")
    resource_id = service(cluster)
    for bounds in ({"MinCapacity": 1}, {"MaxCapacity": 3}, {"MinCapacity": 4, "MaxCapacity": 3}):
        with pytest.raises(ClientError) as raised:
            register(aas, resource_id, **bounds)
        assert code(raised) == "ValidationException", bounds
    register(aas, resource_id, MinCapacity=1, MaxCapacity=3)
    register(aas, resource_id, MaxCapacity=5)  # an update may name one bound
    (target,) = aas.describe_scalable_targets(ServiceNamespace="ecs",
                                              ResourceIds=[resource_id])["ScalableTargets"]
    assert (target["MinCapacity"], target["MaxCapacity"]) == (1, 5)


# -- the pure model ------------------------------------------------------------------


def test_pages_and_tokens():
    items = list(range(7))
    first = autoscaling.page(items, 3, None, 50)
    assert first[0] == [0, 1, 2]
    second = autoscaling.page(items, 3, first[1], 50)
    third = autoscaling.page(items, 3, second[1], 50)
    assert (second[0], third) == ([3, 4, 5], ([6], None))
    assert isinstance(autoscaling.page(items, 0, None, 50), str)
    assert autoscaling.page(items, None, "garbage!", 50) == "invalid-token"


def test_policy_and_capacity_problems():
    def params(metric, label=None):
        spec = {"PredefinedMetricType": metric}
        if label is not None:
            spec["ResourceLabel"] = label
        return {"TargetTrackingScalingPolicyConfiguration": {"PredefinedMetricSpecification": spec}}

    assert autoscaling.policy_problem(params("ALBRequestCountPerTarget", LABEL)) is None
    assert autoscaling.policy_problem(params("ALBRequestCountPerTarget"))
    assert autoscaling.policy_problem(params("ECSServiceAverageCPUUtilization", LABEL))
    assert autoscaling.policy_problem(params("ECSServiceAverageCPUUtilization")) is None
    assert autoscaling.capacity_problem({"MinCapacity": 1}, exists=False)
    assert autoscaling.capacity_problem({"MinCapacity": 1}, exists=True) is None
    assert autoscaling.capacity_problem({"MinCapacity": 3, "MaxCapacity": 2}, exists=True)
