"""Target health (ferry_emulation/targets.py, deployments.py), with boto3 against
emulator.py: ECS service tasks registered in their target groups, their
health over time, the ``unhealthy`` image-tag convention and the circuit
breaker's health-check stage. One emulator for the module, with short
scheduler steps and a time scale that makes health checks take tenths of a
second.
"""

from __future__ import annotations

import itertools
import time

import pytest

from conftest import start_emulator
from ferry_emulation import targets

STEP = 0.2  # FERRY_EMULATOR_TASK_START_SECONDS
SCALE = 0.05  # FERRY_EMULATOR_HEALTH_TIME_SCALE: 5 s x 2 checks = 0.5 s
TIMEOUT = 20.0

_names = itertools.count()


@pytest.fixture(scope="module")
def emu(emulator_with):
    return emulator_with("health", {
        "FERRY_EMULATOR_TASK_START_SECONDS": str(STEP),
        "FERRY_EMULATOR_HEALTH_TIME_SCALE": str(SCALE)})


@pytest.fixture(scope="module")
def net(emu) -> dict:
    ec2, elbv2 = emu.client("ec2"), emu.client("elbv2")
    vpc = ec2.create_vpc(CidrBlock="10.3.0.0/16")["Vpc"]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.3.{i}.0/24",
                                 AvailabilityZone=f"us-east-1{az}")["Subnet"]["SubnetId"]
               for i, az in ((1, "a"), (2, "b"))]
    group = ec2.create_security_group(GroupName="health", Description="h", VpcId=vpc)["GroupId"]
    lb = elbv2.create_load_balancer(Name="lb-health", Subnets=subnets,
                                    Type="application")["LoadBalancers"][0]["LoadBalancerArn"]
    listener = elbv2.create_listener(
        LoadBalancerArn=lb, Protocol="HTTP", Port=80,
        DefaultActions=[{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "404"}}],
    )["Listeners"][0]["ListenerArn"]
    return {"vpc": vpc, "listener": listener, "awsvpc": {"awsvpcConfiguration": {
        "subnets": subnets[:1], "securityGroups": [group], "assignPublicIp": "DISABLED"}}}


class Env:
    def __init__(self, emu, net):
        self.ecs, self.elbv2, self.net = emu.client("ecs"), emu.client("elbv2"), net
        n = next(_names)
        self.cluster, self.family = f"health-{n}", f"app-{n}"
        self.ecs.create_cluster(clusterName=self.cluster)
        self.group = self.elbv2.create_target_group(
            Name=f"tg-health-{n}", Protocol="HTTP", Port=8080, VpcId=net["vpc"], TargetType="ip",
            HealthCheckIntervalSeconds=5, HealthyThresholdCount=2, UnhealthyThresholdCount=3,
        )["TargetGroups"][0]["TargetGroupArn"]
        self.elbv2.modify_target_group_attributes(TargetGroupArn=self.group, Attributes=[
            {"Key": "deregistration_delay.timeout_seconds", "Value": "10"}])  # 0.5 s scaled
        self.elbv2.create_rule(
            ListenerArn=net["listener"], Priority=n + 1,
            Conditions=[{"Field": "host-header", "HostHeaderConfig": {"Values": [f"h{n}.example"]}}],
            Actions=[{"Type": "forward", "TargetGroupArn": self.group}])

    def task_definition(self, image: str) -> str:
        return self.ecs.register_task_definition(
            family=self.family, networkMode="awsvpc", requiresCompatibilities=["FARGATE"],
            cpu="256", memory="512",
            containerDefinitions=[{"name": "app", "image": image, "essential": True,
                                   "portMappings": [{"containerPort": 8080}]}],
        )["taskDefinition"]["taskDefinitionArn"]

    def create(self, td: str, desired: int = 1, **kwargs) -> None:
        self.ecs.create_service(
            cluster=self.cluster, serviceName="web", taskDefinition=td, desiredCount=desired,
            launchType="FARGATE", networkConfiguration=self.net["awsvpc"],
            loadBalancers=[{"targetGroupArn": self.group, "containerName": "app",
                            "containerPort": 8080}], **kwargs)

    def describe(self) -> dict:
        return self.ecs.describe_services(cluster=self.cluster, services=["web"])["services"][0]

    def health(self) -> list[tuple[str, int, str]]:
        found = self.elbv2.describe_target_health(TargetGroupArn=self.group)
        return [(d["Target"]["Id"], d["Target"]["Port"], d["TargetHealth"]["State"])
                for d in found["TargetHealthDescriptions"]]

    def wait(self, probe, predicate, timeout: float = TIMEOUT):
        deadline = time.monotonic() + timeout
        while True:
            value = probe()
            if predicate(value):
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out; last: {value}")
            time.sleep(0.05)


@pytest.fixture
def env(emu, net) -> Env:
    return Env(emu, net)


def messages(service: dict) -> list[str]:
    return [e["message"] for e in service["events"]]


def test_a_task_registers_turns_healthy_and_drains_when_it_stops(env):
    env.create(env.task_definition("acme/web:1"))
    (target,) = env.wait(env.health, lambda h: len(h) == 1)
    ip, port, state = target
    assert port == 8080 and state == "initial"
    # Not COMPLETED while its one task is still initial in its target group.
    assert env.describe()["deployments"][0]["rolloutState"] == "IN_PROGRESS"
    env.wait(env.health, lambda h: h == [(ip, 8080, "healthy")])
    done = env.wait(env.describe, lambda s: s["deployments"][0]["rolloutState"] == "COMPLETED")
    assert done["runningCount"] == 1

    (arn,) = env.ecs.list_tasks(cluster=env.cluster, serviceName="web")["taskArns"]
    (task,) = env.ecs.describe_tasks(cluster=env.cluster, tasks=[arn])["tasks"]
    assert task["attachments"][0]["details"] == [{"name": "privateIPv4Address", "value": ip}]
    assert task["containers"][0]["networkInterfaces"][0]["privateIpv4Address"] == ip

    described = env.elbv2.describe_target_health(
        TargetGroupArn=env.group, Targets=[{"Id": ip, "Port": 8080}])["TargetHealthDescriptions"]
    assert [d["TargetHealth"] for d in described] == [{"State": "healthy"}]

    env.ecs.update_service(cluster=env.cluster, service="web", desiredCount=0)
    (draining,) = env.wait(env.health, lambda h: h and h[0][2] == "draining")
    assert draining == (ip, 8080, "draining")
    env.wait(env.health, lambda h: h == [])  # 10 s x 0.05 later


def test_an_unhealthy_image_fails_its_checks_and_the_breaker_rolls_back(env):
    good = env.task_definition("acme/web:1")
    env.create(good, deploymentConfiguration={
        "deploymentCircuitBreaker": {"enable": True, "rollback": True},
        "minimumHealthyPercent": 100, "maximumPercent": 200})
    first = env.wait(env.describe, lambda s: s["deployments"][0]["rolloutState"] == "COMPLETED")
    first_id = first["deployments"][0]["id"]
    (healthy_ip, _, _), = env.health()

    bad = env.task_definition("acme/web:unhealthy-no-route")
    env.ecs.update_service(cluster=env.cluster, service="web", taskDefinition=bad)
    seen = env.wait(env.health, lambda h: any(s == "unhealthy" for _, _, s in h))
    assert (healthy_ip, 8080, "healthy") in seen  # the old task keeps serving (min 100%)

    def rolled_back(s):
        return any(d["rolloutState"] == "FAILED" for d in s["deployments"]) or (
            s["deployments"][0]["taskDefinition"] == good and len(s["deployments"]) == 1
            and s["deployments"][0]["id"] != first_id)
    service = env.wait(env.describe, rolled_back)
    failed = next((d for d in service["deployments"] if d["taskDefinition"] == bad), None)
    if failed is not None:
        assert failed["failedTasks"] >= 3
        assert failed["rolloutStateReason"] == ("ECS deployment circuit breaker: tasks failed "
                                                "health checks.")
    text = messages(service)
    assert any(m.endswith(f"failed ELB health checks in (target-group {env.group}).")
               and m.startswith("(service web) (task ") for m in text)
    assert any("deployment failed: tasks failed health checks." in m for m in text)
    assert f"(service web) rolling back to deployment {first_id}." in text
    assert not any("unable to consistently start tasks" in m for m in text)  # no throttle

    done = env.wait(env.describe, lambda s: len(s["deployments"]) == 1
                    and s["deployments"][0]["rolloutState"] == "COMPLETED"
                    and s["deployments"][0]["taskDefinition"] == good)
    assert done["taskDefinition"] == good

    stopped = env.ecs.list_tasks(cluster=env.cluster, serviceName="web",
                                 desiredStatus="STOPPED")["taskArns"]
    reasons = {t["stoppedReason"] for t in env.ecs.describe_tasks(
        cluster=env.cluster, tasks=stopped)["tasks"]}
    assert f"Task failed ELB health checks in (target-group {env.group})" in reasons


def test_the_grace_period_delays_when_failing_checks_count(env):
    env.create(env.task_definition("acme/web:unhealthy"), healthCheckGracePeriodSeconds=40)
    env.wait(env.health, lambda h: h and h[0][2] == "unhealthy")  # 5 s x 3 x 0.05 = 0.75 s
    started = time.monotonic()
    service = env.wait(env.describe, lambda s: s["deployments"][0]["failedTasks"] >= 1)
    assert time.monotonic() - started > 0.8  # 40 s x 0.05 = 2 s after the task started
    assert service["runningCount"] + service["pendingCount"] <= 1


def test_a_service_without_load_balancers_registers_nothing(env):
    env.ecs.create_service(cluster=env.cluster, serviceName="plain",
                           taskDefinition=env.task_definition("acme/web:unhealthy"),
                           desiredCount=1, launchType="FARGATE",
                           networkConfiguration=env.net["awsvpc"])
    service = env.wait(lambda: env.ecs.describe_services(cluster=env.cluster,
                                                         services=["plain"])["services"][0],
                       lambda s: s["deployments"][0]["rolloutState"] == "COMPLETED")
    assert service["runningCount"] == 1
    assert env.health() == []


def test_the_time_scale_is_validated():
    assert targets.health_scale({}) == 0.02
    assert targets.health_scale({"FERRY_EMULATOR_HEALTH_TIME_SCALE": "0"}) == 0.0
    for bad in ("fast", "-1", "nan", "inf"):
        with pytest.raises(ValueError, match="FERRY_EMULATOR_HEALTH_TIME_SCALE must be"):
            targets.health_scale({"FERRY_EMULATOR_HEALTH_TIME_SCALE": bad})


def test_a_bad_time_scale_stops_the_emulator(tmp_path):
    with pytest.raises(RuntimeError,
                       match="exited 2: emulator: FERRY_EMULATOR_HEALTH_TIME_SCALE must be"):
        start_emulator(tmp_path, env={"FERRY_EMULATOR_HEALTH_TIME_SCALE": "soon"})
