"""The ECS service <-> target group link, with boto3 against emulator.py.

Emulated: the grace period on CreateService (moto drops it), the refusal of
a target group no listener or rule forwards to (moto takes any ARN), and
the VPC's default security group for awsvpc services that name none (moto:
HTTP 500). The rest is moto 5.2.5's own behaviour, pinned down here so a
moto upgrade that breaks it is noticed.
"""

from __future__ import annotations

import itertools

import pytest
from botocore.exceptions import ClientError

_names = itertools.count()


def network(emulator) -> dict:
    """A VPC with two subnets and an ALB with an HTTP listener."""
    ec2, elbv2 = emulator.client("ec2"), emulator.client("elbv2")
    vpc = ec2.create_vpc(CidrBlock="10.2.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.2.{i}.0/24",
                                 AvailabilityZone=f"us-east-1{az}")["Subnet"]["SubnetId"]
               for i, az in ((1, "a"), (2, "b"))]
    lb = elbv2.create_load_balancer(Name=f"lb-{next(_names)}", Subnets=subnets,
                                    Type="application")["LoadBalancers"][0]["LoadBalancerArn"]
    listener = elbv2.create_listener(
        LoadBalancerArn=lb, Protocol="HTTP", Port=80,
        DefaultActions=[{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "404"}}],
    )["Listeners"][0]["ListenerArn"]
    return {"vpc": vpc, "subnets": subnets, "listener": listener}


@pytest.fixture(scope="module")
def net(emulator) -> dict:
    return network(emulator)


_priorities = itertools.count(1)


def target_group(emulator, net: dict, routed: bool = True) -> str:
    """A target group; ``routed``: a rule of the listener forwards to it."""
    elbv2 = emulator.client("elbv2")
    arn = elbv2.create_target_group(Name=f"tg-{next(_names)}", Protocol="HTTP", Port=8080,
                                    VpcId=net["vpc"], TargetType="ip")["TargetGroups"][0]["TargetGroupArn"]
    if routed:
        n = next(_priorities)
        elbv2.create_rule(ListenerArn=net["listener"], Priority=n,
                          Conditions=[{"Field": "host-header",
                                       "HostHeaderConfig": {"Values": [f"h{n}.example"]}}],
                          Actions=[{"Type": "forward", "TargetGroupArn": arn}])
    return arn


def cluster_with_task(ecs) -> str:
    name = f"lb-{next(_names)}"
    ecs.create_cluster(clusterName=name)
    ecs.register_task_definition(family="web", containerDefinitions=[{
        "name": "web", "image": "nginx", "memory": 128,
        "portMappings": [{"containerPort": 8080}]}])
    return name


def describe(ecs, cluster: str, service: str) -> dict:
    (found,) = ecs.describe_services(cluster=cluster, services=[service])["services"]
    return found


def link(arn: str) -> list[dict]:
    return [{"targetGroupArn": arn, "containerName": "web", "containerPort": 8080}]


def test_create_service_keeps_load_balancers_and_grace_period(emulator, net):
    ecs = emulator.client("ecs")
    cluster = cluster_with_task(ecs)
    tg = target_group(emulator, net)
    created = ecs.create_service(cluster=cluster, serviceName="web", taskDefinition="web",
                                 desiredCount=1, loadBalancers=link(tg),
                                 healthCheckGracePeriodSeconds=60)["service"]
    assert created["loadBalancers"] == link(tg)  # moto
    assert created["healthCheckGracePeriodSeconds"] == 60  # emulated
    described = describe(ecs, cluster, "web")
    assert described["loadBalancers"] == link(tg)
    assert described["healthCheckGracePeriodSeconds"] == 60

    plain = ecs.create_service(cluster=cluster, serviceName="worker", taskDefinition="web",
                               desiredCount=1)["service"]
    assert plain["loadBalancers"] == [] and "healthCheckGracePeriodSeconds" not in plain


def test_update_service_changes_and_removes_the_link(emulator, net):  # moto
    ecs = emulator.client("ecs")
    cluster = cluster_with_task(ecs)
    tg, tg2 = target_group(emulator, net), target_group(emulator, net)
    ecs.create_service(cluster=cluster, serviceName="web", taskDefinition="web", desiredCount=1,
                       loadBalancers=link(tg), healthCheckGracePeriodSeconds=60)

    updated = ecs.update_service(cluster=cluster, service="web", loadBalancers=link(tg2),
                                 healthCheckGracePeriodSeconds=120)["service"]
    assert updated["loadBalancers"] == link(tg2)
    assert updated["healthCheckGracePeriodSeconds"] == 120
    assert describe(ecs, cluster, "web")["loadBalancers"] == link(tg2)

    ecs.update_service(cluster=cluster, service="web", desiredCount=2)  # leaves both alone
    described = describe(ecs, cluster, "web")
    assert described["loadBalancers"] == link(tg2)
    assert described["healthCheckGracePeriodSeconds"] == 120

    ecs.update_service(cluster=cluster, service="web", loadBalancers=[])
    assert describe(ecs, cluster, "web")["loadBalancers"] == []


def _no_load_balancer(excinfo, arn: str) -> None:
    error = excinfo.value.response["Error"]
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert error["Code"] == "InvalidParameterException"
    assert error["Message"] == (f"The target group with targetGroupArn {arn} does not have an "
                                "associated load balancer.")


def test_a_target_group_without_a_load_balancer_is_refused(emulator, net):  # emulated
    ecs = emulator.client("ecs")
    cluster = cluster_with_task(ecs)
    lonely = target_group(emulator, net, routed=False)
    with pytest.raises(ClientError) as excinfo:
        ecs.create_service(cluster=cluster, serviceName="web", taskDefinition="web",
                           desiredCount=1, loadBalancers=link(lonely))
    _no_load_balancer(excinfo, lonely)
    assert ecs.describe_services(cluster=cluster, services=["web"])["services"] == []

    routed = target_group(emulator, net)
    ecs.create_service(cluster=cluster, serviceName="web", taskDefinition="web",
                       desiredCount=1, loadBalancers=link(routed))
    with pytest.raises(ClientError) as excinfo:
        ecs.update_service(cluster=cluster, service="web", loadBalancers=link(lonely))
    _no_load_balancer(excinfo, lonely)
    assert describe(ecs, cluster, "web")["loadBalancers"] == link(routed)

    # Once a rule forwards to it, the same target group is accepted.
    elbv2 = emulator.client("elbv2")
    elbv2.create_rule(ListenerArn=net["listener"], Priority=40000,
                      Conditions=[{"Field": "path-pattern",
                                   "PathPatternConfig": {"Values": ["/lonely"]}}],
                      Actions=[{"Type": "forward", "TargetGroupArn": lonely}])
    ecs.update_service(cluster=cluster, service="web", loadBalancers=link(lonely))
    assert describe(ecs, cluster, "web")["loadBalancers"] == link(lonely)

    missing = lonely.rsplit("/", 1)[0] + "/0000000000000000"
    with pytest.raises(ClientError) as excinfo:
        ecs.update_service(cluster=cluster, service="web", loadBalancers=link(missing))
    _no_load_balancer(excinfo, missing)


def test_awsvpc_without_security_groups_gets_the_vpc_default(emulator, net):  # emulated
    ecs, ec2 = emulator.client("ecs"), emulator.client("ec2")
    cluster = f"sg-{next(_names)}"
    ecs.create_cluster(clusterName=cluster)
    ecs.register_task_definition(
        family="fg", networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256",
        memory="512", containerDefinitions=[{"name": "fg", "image": "nginx"}])
    (default,) = ec2.describe_security_groups(Filters=[
        {"Name": "vpc-id", "Values": [net["vpc"]]},
        {"Name": "group-name", "Values": ["default"]}])["SecurityGroups"]
    for groups in (None, []):
        vpc_config = {"subnets": net["subnets"]}
        if groups is not None:
            vpc_config["securityGroups"] = groups
        name = f"fg-{next(_names)}"
        created = ecs.create_service(
            cluster=cluster, serviceName=name, taskDefinition="fg", desiredCount=1,
            launchType="FARGATE", networkConfiguration={"awsvpcConfiguration": vpc_config})["service"]
        assert created["networkConfiguration"]["awsvpcConfiguration"]["securityGroups"] == [
            default["GroupId"]]
        updated = ecs.update_service(
            cluster=cluster, service=name,
            networkConfiguration={"awsvpcConfiguration": {"subnets": net["subnets"][:1]}})["service"]
        assert updated["networkConfiguration"]["awsvpcConfiguration"]["securityGroups"] == [
            default["GroupId"]]

    # Unknown subnets are still moto's to refuse (400, not 500).
    with pytest.raises(ClientError) as excinfo:
        ecs.create_service(cluster=cluster, serviceName="nosubnet", taskDefinition="fg",
                           desiredCount=1, launchType="FARGATE", networkConfiguration={
                               "awsvpcConfiguration": {"subnets": ["subnet-00000000"]}})
    assert excinfo.value.response["Error"]["Code"] == "InvalidParameterException"
