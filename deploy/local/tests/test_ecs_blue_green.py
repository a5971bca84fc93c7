"""ECS blue/green, canary and linear deployments with boto3 against emulator.py:
the refusals, the weights written into the rules, the service deployment API,
alarm rollback, hooks, stop, and switching strategies both ways.

A small time scale (a minute is 3 s) and fast task starts and health checks
keep each deployment to a few seconds.
"""

from __future__ import annotations

import itertools
import json
import time

import pytest
from botocore.exceptions import ClientError

ENV = {"FERRY_EMULATOR_DEPLOYMENT_TIME_SCALE": "0.05", "FERRY_EMULATOR_TASK_START_SECONDS": "0.2",
       "FERRY_EMULATOR_HEALTH_TIME_SCALE": "0.005"}
_names = itertools.count()


@pytest.fixture(scope="module")
def emu(emulator_with):
    return emulator_with("bluegreen", ENV)


@pytest.fixture
def app(emu) -> dict:
    """A cluster, two task definitions, an ALB with a production and a test listener,
    the blue and green target groups, a rule on each listener forwarding to the
    pair (blue 100), and the infrastructure role; no service yet."""
    n = next(_names)
    ec2, elbv2, ecs, iam = (emu.client(s) for s in ("ec2", "elbv2", "ecs", "iam"))
    vpc = ec2.create_vpc(CidrBlock="10.3.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.3.{i}.0/24",
                                 AvailabilityZone=f"us-east-1{az}")["Subnet"]["SubnetId"]
               for i, az in ((1, "a"), (2, "b"))]
    lb = elbv2.create_load_balancer(Name=f"bg-{n}", Subnets=subnets,
                                    Type="application")["LoadBalancers"][0]["LoadBalancerArn"]
    groups = [elbv2.create_target_group(Name=f"bg-{n}-{c}", Protocol="HTTP", Port=8080, VpcId=vpc,
                                       TargetType="ip")["TargetGroups"][0]["TargetGroupArn"]
              for c in ("blue", "green")]
    rules = []
    for port in (80, 8080):
        listener = elbv2.create_listener(
            LoadBalancerArn=lb, Protocol="HTTP", Port=port,
            DefaultActions=[{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "404"}}],
        )["Listeners"][0]["ListenerArn"]
        rules.append(elbv2.create_rule(
            ListenerArn=listener, Priority=1,
            Conditions=[{"Field": "host-header", "HostHeaderConfig": {"Values": ["web.example"]}}],
            Actions=[{"Type": "forward", "ForwardConfig": {"TargetGroups": [
                {"TargetGroupArn": groups[0], "Weight": 100},
                {"TargetGroupArn": groups[1], "Weight": 0}]}}])["Rules"][0]["RuleArn"])
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "ecs.amazonaws.com"},
        "Action": "sts:AssumeRole"}]}
    role = iam.create_role(RoleName=f"ecs-infra-{n}",
                           AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    cluster = f"bg-{n}"
    ecs.create_cluster(clusterName=cluster)
    for image in ("nginx:1", "nginx:2"):
        ecs.register_task_definition(family=f"web{n}", containerDefinitions=[{
            "name": "web", "image": image, "memory": 128,
            "portMappings": [{"containerPort": 8080}]}])
    return {"ecs": ecs, "elbv2": elbv2, "iam": iam, "cloudwatch": emu.client("cloudwatch"),
            "cluster": cluster, "family": f"web{n}", "blue": groups[0], "green": groups[1],
            "production": rules[0], "test": rules[1], "role": role, "n": n}


def plain_link(app: dict) -> list[dict]:
    return [{"targetGroupArn": app["blue"], "containerName": "web", "containerPort": 8080}]


def advanced_link(app: dict, **overrides) -> list[dict]:
    advanced = {"alternateTargetGroupArn": app["green"], "productionListenerRule": app["production"],
                "testListenerRule": app["test"], "roleArn": app["role"], **overrides}
    return [{**plain_link(app)[0], "advancedConfiguration": advanced}]


def wait_for(check, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.1)


def service(app: dict) -> dict:
    (found,) = app["ecs"].describe_services(cluster=app["cluster"], services=["web"])["services"]
    return found


def current(app: dict) -> dict:
    arn = service(app)["currentServiceDeployment"]
    (found,) = app["ecs"].describe_service_deployments(
        serviceDeploymentArns=[arn])["serviceDeployments"]
    return found


def weights(app: dict, rule: str) -> dict:
    (found,) = app["elbv2"].describe_rules(RuleArns=[app[rule]])["Rules"]
    return {g["TargetGroupArn"]: g["Weight"]
            for g in found["Actions"][0]["ForwardConfig"]["TargetGroups"]}


def steady_rolling(app: dict) -> None:
    app["ecs"].create_service(cluster=app["cluster"], serviceName="web",
                              taskDefinition=f"{app['family']}:1", desiredCount=1,
                              loadBalancers=plain_link(app))
    wait_for(lambda: current(app)["status"] == "SUCCESSFUL")


def to_blue_green(app: dict, revision: int = 2, **configuration) -> dict:
    configuration = {"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 1, **configuration}
    app["ecs"].update_service(cluster=app["cluster"], service="web",
                              taskDefinition=f"{app['family']}:{revision}",
                              loadBalancers=advanced_link(app),
                              deploymentConfiguration=configuration)
    return current(app)


def test_blue_green_moves_test_then_production_traffic_and_bakes(app):
    steady_rolling(app)
    started = to_blue_green(app)
    assert started["status"] == "IN_PROGRESS"
    assert started["deploymentConfiguration"]["strategy"] == "BLUE_GREEN"
    described = service(app)
    assert described["deploymentConfiguration"]["bakeTimeInMinutes"] == 1
    assert described["loadBalancers"] == advanced_link(app)  # as configured
    baking = wait_for(lambda: (d := current(app))["lifecycleStage"] == "BAKE_TIME" and d)
    assert baking["targetServiceRevision"]["requestedProductionTrafficWeight"] == 100
    assert baking["sourceServiceRevisions"][0]["runningTaskCount"] == 1  # blue still runs
    assert weights(app, "production") == {app["green"]: 100, app["blue"]: 0}
    assert weights(app, "test") == {app["green"]: 100, app["blue"]: 0}
    messages = [e["message"] for e in service(app)["events"]]
    shift = next(m for m in messages if "PRODUCTION_TRAFFIC_SHIFT:" in m)
    assert shift.endswith("production traffic 100%, test traffic 100%.")
    assert messages.index(shift) < next(i for i, m in enumerate(messages)
                                        if "stage TEST_TRAFFIC_SHIFT" in m)  # newest first
    done = wait_for(lambda: (d := current(app))["status"] == "SUCCESSFUL" and d)
    assert done["finishedAt"]
    final = wait_for(lambda: (s := service(app))["deployments"][0]["rolloutState"] == "COMPLETED"
                     and s)
    assert [d["taskDefinition"].rsplit("/", 1)[-1] for d in final["deployments"]] == [
        f"{app['family']}:2"]
    listed = app["ecs"].list_service_deployments(cluster=app["cluster"], service="web")
    assert [b["status"] for b in listed["serviceDeployments"]] == ["SUCCESSFUL", "SUCCESSFUL"]
    assert listed["serviceDeployments"][0]["serviceDeploymentArn"] == done["serviceDeploymentArn"]
    # The next deployment goes the other way: blue is the green of the last one.
    to_blue_green(app, revision=1)
    wait_for(lambda: current(app)["lifecycleStage"] == "BAKE_TIME")
    assert weights(app, "production") == {app["blue"]: 100, app["green"]: 0}


def test_an_alarm_rolls_back(app):
    steady_rolling(app)
    cloudwatch = app["cloudwatch"]
    alarm = f"web-5xx-{app['n']}"
    cloudwatch.put_metric_alarm(AlarmName=alarm, MetricName="x", Namespace="y", Statistic="Sum",
                                Period=60, EvaluationPeriods=1, Threshold=1,
                                ComparisonOperator="GreaterThanThreshold")
    to_blue_green(app, bakeTimeInMinutes=10,
                  alarms={"alarmNames": [alarm], "enable": True, "rollback": True})
    wait_for(lambda: current(app)["lifecycleStage"] == "BAKE_TIME")
    cloudwatch.set_alarm_state(AlarmName=alarm, StateValue="ALARM", StateReason="test")
    rolled = wait_for(lambda: (d := current(app))["status"] == "ROLLBACK_SUCCESSFUL" and d)
    assert rolled["alarms"] == {"status": "TRIGGERED", "alarmNames": [alarm],
                                "triggeredAlarmNames": [alarm]}
    assert alarm in rolled["rollback"]["reason"]
    assert weights(app, "production") == {app["green"]: 0, app["blue"]: 100}
    assert service(app)["taskDefinition"].endswith(f"{app['family']}:1")


def test_a_pause_hook_waits_for_continue(app):
    steady_rolling(app)
    to_blue_green(app, lifecycleHooks=[{"targetType": "PAUSE",
                                        "lifecycleStages": ["POST_TEST_TRAFFIC_SHIFT"]}])
    paused = wait_for(lambda: (d := current(app)).get("lifecycleHookDetails") and d)
    (hook,) = paused["lifecycleHookDetails"]
    assert (hook["status"], hook["targetType"], hook["timeoutAction"]) == (
        "AWAITING_ACTION", "PAUSE", "ROLLBACK")
    assert weights(app, "test") == {app["green"]: 100, app["blue"]: 0}
    assert weights(app, "production") == {app["green"]: 0, app["blue"]: 100}
    ecs = app["ecs"]
    with pytest.raises(ClientError, match="not awaiting action"):
        ecs.continue_service_deployment(serviceDeploymentArn=paused["serviceDeploymentArn"],
                                        hookId="nope", action="CONTINUE")
    ecs.continue_service_deployment(serviceDeploymentArn=paused["serviceDeploymentArn"],
                                    hookId=hook["hookId"], action="CONTINUE")
    assert current(app)["lifecycleHookDetails"][0]["status"] == "SUCCEEDED"
    wait_for(lambda: current(app)["status"] == "SUCCESSFUL")


def test_stop_rolls_back_and_is_refused_once_final(app):
    steady_rolling(app)
    started = to_blue_green(app, bakeTimeInMinutes=10)
    ecs = app["ecs"]
    ecs.stop_service_deployment(serviceDeploymentArn=started["serviceDeploymentArn"],
                                stopType="ROLLBACK")
    wait_for(lambda: current(app)["status"] == "ROLLBACK_SUCCESSFUL")
    with pytest.raises(ClientError, match="terminal state"):
        ecs.stop_service_deployment(serviceDeploymentArn=started["serviceDeploymentArn"],
                                    stopType="ROLLBACK")


def test_describe_limits_and_failures(app):
    steady_rolling(app)
    ecs = app["ecs"]
    arn = service(app)["currentServiceDeployment"]
    missing = arn.rsplit("/", 1)[0] + "/123"
    found = ecs.describe_service_deployments(serviceDeploymentArns=[arn, missing])
    assert [d["serviceDeploymentArn"] for d in found["serviceDeployments"]] == [arn]
    assert found["failures"] == [{"arn": missing, "reason": "MISSING"}]
    with pytest.raises(ClientError, match="at most 20"):
        ecs.describe_service_deployments(serviceDeploymentArns=[arn] * 21)
    page = ecs.list_service_deployments(cluster=app["cluster"], service="web", maxResults=1)
    assert len(page["serviceDeployments"]) == 1 and "nextToken" not in page
    ecs.update_service(cluster=app["cluster"], service="web", forceNewDeployment=True)
    first = ecs.list_service_deployments(cluster=app["cluster"], service="web", maxResults=1)
    assert first["serviceDeployments"][0]["status"] == "IN_PROGRESS"  # newest first
    second = ecs.list_service_deployments(cluster=app["cluster"], service="web", maxResults=1,
                                          nextToken=first["nextToken"])
    assert second["serviceDeployments"][0]["serviceDeploymentArn"] == arn
    assert "nextToken" not in second
    done = ecs.list_service_deployments(cluster=app["cluster"], service="web",
                                        status=["SUCCESSFUL"])["serviceDeployments"]
    assert [d["serviceDeploymentArn"] for d in done] == [arn]
    with pytest.raises(ClientError, match="maxResults"):
        ecs.list_service_deployments(cluster=app["cluster"], service="web", maxResults=101)


@pytest.mark.parametrize("change,message", [
    (lambda app: {"loadBalancers": plain_link(app)}, "advancedConfiguration is required"),
    (lambda app: {"loadBalancers": advanced_link(app, testListenerRule=None)}, "testListenerRule"),
    (lambda app: {"loadBalancers": advanced_link(app, roleArn=app["role"] + "-gone")},
     "does not exist"),
    (lambda app: {"deploymentConfiguration": {"strategy": "CANARY", "canaryConfiguration": {
        "canaryPercent": 0}}}, "canaryPercent"),
])
def test_refusals(app, change, message):
    steady_rolling(app)
    request = {"loadBalancers": advanced_link(app),
               "deploymentConfiguration": {"strategy": "BLUE_GREEN"}}
    request.update(change(app))
    if request["loadBalancers"][0].get("advancedConfiguration", {}).get("testListenerRule", 1) is None:
        del request["loadBalancers"][0]["advancedConfiguration"]["testListenerRule"]
    with pytest.raises(ClientError, match=message) as raised:
        app["ecs"].update_service(cluster=app["cluster"], service="web",
                                  taskDefinition=f"{app['family']}:2", **request)
    assert raised.value.response["Error"]["Code"] == "InvalidParameterException"


def test_a_role_ecs_cannot_assume_and_a_rule_that_does_not_only_forward_are_refused(app):
    steady_rolling(app)
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
        "Action": "sts:AssumeRole"}]}
    other = app["iam"].create_role(RoleName=f"not-ecs-{app['n']}",
                                   AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    ecs = app["ecs"]
    with pytest.raises(ClientError, match="cannot be assumed by ecs.amazonaws.com"):
        ecs.update_service(cluster=app["cluster"], service="web",
                           loadBalancers=advanced_link(app, roleArn=other),
                           deploymentConfiguration={"strategy": "BLUE_GREEN"})
    app["elbv2"].modify_rule(RuleArn=app["test"], Actions=[
        {"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "503"}}])
    with pytest.raises(ClientError, match="single forward action"):
        ecs.update_service(cluster=app["cluster"], service="web",
                           loadBalancers=advanced_link(app),
                           deploymentConfiguration={"strategy": "BLUE_GREEN"})


def test_switching_back_to_rolling(app):
    steady_rolling(app)
    to_blue_green(app, bakeTimeInMinutes=0, lifecycleHooks=[
        {"targetType": "PAUSE", "lifecycleStages": ["PRE_SCALE_UP"]}])
    with pytest.raises(ClientError, match="deployment in progress"):  # not while one runs
        app["ecs"].update_service(cluster=app["cluster"], service="web",
                                  loadBalancers=plain_link(app),
                                  deploymentConfiguration={"strategy": "ROLLING"})
    (hook,) = current(app)["lifecycleHookDetails"]
    app["ecs"].continue_service_deployment(
        serviceDeploymentArn=current(app)["serviceDeploymentArn"], hookId=hook["hookId"],
        action="CONTINUE")
    wait_for(lambda: current(app)["status"] == "SUCCESSFUL")
    app["ecs"].update_service(cluster=app["cluster"], service="web",
                              loadBalancers=[{**plain_link(app)[0], "targetGroupArn": app["green"]}],
                              deploymentConfiguration={"strategy": "ROLLING"})
    done = wait_for(lambda: (d := current(app))["status"] == "SUCCESSFUL" and d)
    assert "lifecycleStage" not in done
    assert service(app)["deploymentConfiguration"]["strategy"] == "ROLLING"


def test_canary_writes_its_percent_into_the_production_rule(app):
    steady_rolling(app)
    to_blue_green(app, strategy="CANARY", bakeTimeInMinutes=0,
                  canaryConfiguration={"canaryPercent": 20, "canaryBakeTimeInMinutes": 1})
    canary = wait_for(lambda: (d := current(app))["lifecycleStage"] == "PRODUCTION_TRAFFIC_SHIFT"
                      and d)
    assert canary["targetServiceRevision"]["requestedProductionTrafficWeight"] == 20
    assert canary["sourceServiceRevisions"][0]["requestedProductionTrafficWeight"] == 80
    assert weights(app, "production") == {app["green"]: 20, app["blue"]: 80}
    assert weights(app, "test") == {app["green"]: 100, app["blue"]: 0}
    wait_for(lambda: current(app)["status"] == "SUCCESSFUL")
    assert weights(app, "production") == {app["green"]: 100, app["blue"]: 0}
