"""Ferry's CloudFormation templates: their contract, checked statically, then
deployed into the local AWS (moto behind deploy/local's emulation layer),
and a ferry-controller configured only from ferry.yaml's outputs converging
manifests/.

Run (scripts/test builds target/debug/ferry and ferry-controller first):
    .ferry/venv/bin/python -m pytest deploy/cloudformation/tests

moto's CloudFormation skips resource types it does not know without failing
the stack, so the deploy test checks every resource of each template through
the service's own API, not the stack status alone. What moto accepts but
drops (see README.md, "What the local AWS cannot check") is asserted on the
template instead.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from cfnlint.decode import cfn_yaml

from cfn_render import Stack, policies

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE.parent
ROOT = TEMPLATES.parent.parent
LOCAL = ROOT / "deploy" / "local"
# Where cargo put them: $CARGO_TARGET_DIR when set, as the other tests read it.
TARGET = Path(os.environ.get("CARGO_TARGET_DIR") or ROOT / "target")
FERRY = TARGET / "debug" / "ferry"
CONTROLLER = TARGET / "debug" / "ferry-controller"
CONFIG_RS = ROOT / "crates" / "ferry-controller" / "src" / "config.rs"
REGION = "us-east-1"
TABLE = "ferry-cfn"

# deploy/local/tests/conftest.py starts the emulator the way every local
# test does (free loopback port, stopped by pid); bootstrap.py makes the VPC.
sys.path.insert(0, str(LOCAL))
_spec = importlib.util.spec_from_file_location("ferry_local_conftest", LOCAL / "tests" / "conftest.py")
local_conftest = importlib.util.module_from_spec(_spec)
sys.modules["ferry_local_conftest"] = local_conftest
_spec.loader.exec_module(local_conftest)
import bootstrap  # noqa: E402  (deploy/local/bootstrap.py)


def load(name: str) -> dict:
    return cfn_yaml.load(str(TEMPLATES / name))


@pytest.fixture(scope="module")
def ferry_template() -> dict:
    return load("ferry.yaml")


@pytest.fixture(scope="module")
def environment_template() -> dict:
    return load("environment.yaml")


# Settings the templates pass that the controller's code (issue 18, written
# alongside) does not read yet: a controller that does not know one ignores
# it. Remove each once config.rs reads it (the test below says when).
PENDING_SETTINGS: dict[str, str] = {}


def controller_env_names() -> set[str]:
    """Every environment variable ferry-controller's Config reads."""
    names = set(re.findall(r'env\s*=\s*"([A-Z0-9_]+)"', CONFIG_RS.read_text()))
    assert {"FERRY_TABLE", "FERRY_CLUSTER", "FERRY_SUBNETS"} <= names, names
    return names


def statements(template: dict, logical_id: str) -> list[dict]:
    """A policy's statements, each `Fn::If [cond, statement, NoValue]`
    taken as its statement."""
    out = []
    for statement in template["Resources"][logical_id]["Properties"]["PolicyDocument"]["Statement"]:
        if "Fn::If" in statement:
            statement = statement["Fn::If"][1]
        out.append(statement)
    return out


def actions(statement: dict) -> list[str]:
    action = statement["Action"]
    return [action] if isinstance(action, str) else list(action)


def container(template: dict) -> dict:
    [definition] = template["Resources"]["TaskDefinition"]["Properties"]["ContainerDefinitions"]
    return definition


def environment_names(template: dict) -> list[str]:
    names = []
    for entry in container(template)["Environment"]:
        if "Fn::If" in entry:
            entry = entry["Fn::If"][1]
        names.append(entry["Name"])
    return names


# -- the template's contract, statically --------------------------------------

def test_the_table_is_the_one_ferry_init_creates(ferry_template):
    table = ferry_template["Resources"]["Table"]
    props = table["Properties"]
    assert props["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"},
                                  {"AttributeName": "sk", "KeyType": "RANGE"}]
    assert props["AttributeDefinitions"] == [{"AttributeName": "pk", "AttributeType": "S"},
                                             {"AttributeName": "sk", "AttributeType": "S"}]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["DeletionProtectionEnabled"] is True
    assert table["DeletionPolicy"] == "Retain"
    # ferry init's key schema, from the store itself.
    store = (ROOT / "crates" / "ferry-store" / "src" / "table.rs").read_text()
    assert 'key_element("pk", KeyType::Hash)' in store and 'key_element("sk", KeyType::Range)' in store


def test_the_stop_timeout_leaves_room_for_the_shutdown_timeout(ferry_template):
    allowed = ferry_template["Parameters"]["ShutdownTimeout"]["AllowedValues"]
    mapping = ferry_template["Mappings"]["StopTimeout"]
    assert set(mapping) == set(allowed)
    for shutdown in allowed:
        stop = mapping[shutdown]["Seconds"]
        assert int(shutdown) + 10 <= stop <= 120, (shutdown, stop)
    assert container(ferry_template)["StopTimeout"] == {
        "Fn::FindInMap": ["StopTimeout", {"Ref": "ShutdownTimeout"}, "Seconds"]}
    env = {e["Name"]: e["Value"] for e in container(ferry_template)["Environment"] if "Name" in e}
    assert env["FERRY_SHUTDOWN_TIMEOUT"] == {"Fn::Sub": "${ShutdownTimeout}s"}


def test_the_controller_service_is_two_fargate_replicas_that_roll(ferry_template):
    resources = ferry_template["Resources"]
    service = resources["Service"]["Properties"]
    assert service["LaunchType"] == "FARGATE"
    assert ferry_template["Parameters"]["DesiredCount"]["Default"] == 2
    deployment = service["DeploymentConfiguration"]
    assert deployment["DeploymentCircuitBreaker"] == {"Enable": True, "Rollback": True}
    # New replicas start before an old one stops: the lease hands over.
    assert deployment["MinimumHealthyPercent"] == 100 and deployment["MaximumPercent"] == 200
    task = resources["TaskDefinition"]["Properties"]
    assert task["NetworkMode"] == "awsvpc" and task["RequiresCompatibilities"] == ["FARGATE"]
    assert task["TaskRoleArn"] == {"Fn::GetAtt": ["ControllerTaskRole", "Arn"]}
    ctr = container(ferry_template)
    assert ctr["HealthCheck"]["Command"] == ["CMD", "/usr/local/bin/ferry-controller", "health"]
    assert ctr["LogConfiguration"]["LogDriver"] == "awslogs"
    assert ctr["PortMappings"][0]["ContainerPort"] == 9090


def test_the_admin_port_is_open_to_the_vpc_only(ferry_template):
    ingress = ferry_template["Resources"]["ControllerSecurityGroup"]["Properties"]["SecurityGroupIngress"]
    assert ingress == [{"IpProtocol": "tcp", "FromPort": 9090, "ToPort": 9090,
                        "CidrIp": {"Ref": "VpcCidr"}, "Description": "/healthz, /readyz and /metrics"}]


def test_the_controller_gets_settings_it_reads_and_each_output_names_one(ferry_template):
    known = controller_env_names()
    names = environment_names(ferry_template)
    ferry_names = [n for n in names if n.startswith("FERRY_")]
    assert len(ferry_names) == len(set(ferry_names))
    assert set(ferry_names) <= known | set(PENDING_SETTINGS), set(ferry_names) - known
    # Every setting without a default, and every one an installation needs.
    assert {"FERRY_TABLE", "FERRY_CLUSTER", "FERRY_SUBNETS", "FERRY_SECURITY_GROUPS",
            "FERRY_EXECUTION_ROLE_ARN", "FERRY_LOG_GROUP", "FERRY_VPC_ID",
            "FERRY_INTERNAL_LISTENER_ARN", "FERRY_PUBLIC_LISTENER_ARN", "FERRY_INTERNAL_ZONE_ID",
            "FERRY_PUBLIC_ZONE_IDS", "FERRY_ADMIN_ADDR", "FERRY_SHUTDOWN_TIMEOUT"} <= set(ferry_names)
    # Replicas must differ: left to config.rs's default (host, pid, random).
    assert "FERRY_CONTROLLER_ID" not in names
    described = set()
    for key, output in ferry_template["Outputs"].items():
        first = output["Description"].split()[0]
        if first.startswith("FERRY_"):
            assert first in known | set(PENDING_SETTINGS), (key, first)
            described.add(first)
    # The controller started from the outputs gets what the task gets,
    # but for the settings that differ off ECS (admin address) or are tuning.
    assert set(ferry_names) - {"FERRY_ADMIN_ADDR", "FERRY_RESYNC_INTERVAL", "FERRY_LOG_FORMAT"} <= described
    assert "DeployerPolicyArn" in ferry_template["Outputs"]


def test_the_internal_zone_is_private_to_the_vpc(environment_template):
    zone = environment_template["Resources"]["InternalZone"]["Properties"]
    assert zone["Name"] == {"Ref": "InternalDomain"}
    assert zone["VPCs"] == [{"VPCId": {"Ref": "VpcId"}, "VPCRegion": {"Ref": "AWS::Region"}}]


def test_environment_outputs_name_ferry_yaml_parameters(environment_template, ferry_template):
    known = controller_env_names()
    for key, output in environment_template["Outputs"].items():
        first = output["Description"].split()[0]
        if first.startswith("FERRY_"):
            assert first in known | set(PENDING_SETTINGS), (key, first)
            param = re.search(r"ferry\.yaml's (\w+)", output["Description"]).group(1)
            assert param in ferry_template["Parameters"], (key, param)


CONTROLLER_ONLY_WRITES = {"ecs:CreateService", "ecs:UpdateService", "ecs:DeleteService",
                          "ecs:RegisterTaskDefinition", "ecs:DeregisterTaskDefinition"}


def test_policies_name_every_action_and_scope_writes_to_the_owner_tag(ferry_template):
    tag = "ferry:managed-by"
    for policy in ("ControllerTaskPolicy", "DeployerPolicy"):
        sids = set()
        for statement in statements(ferry_template, policy):
            assert statement["Effect"] == "Allow"
            assert statement["Sid"] not in sids
            sids.add(statement["Sid"])
            for action in actions(statement):
                assert "*" not in action, (policy, action)
                service, _, name = action.partition(":")
                if service not in ("ecs", "elasticloadbalancing"):
                    continue
                if name.startswith(("Describe", "List")) or action == "ecs:DeregisterTaskDefinition":
                    continue
                # ExecuteCommand is authorized on the cluster too (the
                # stack's cluster carries ferry:installation, not the owner
                # tag); its statement on the tasks carries the owner tag
                # (test_the_deployer_execs_only_in_the_installations_tasks).
                if statement["Sid"] == "EcsExecInCluster":
                    continue
                # Service deployments carry no tags of Ferry's: continuing
                # or rolling back what ECS runs is bounded by the cluster
                # (their ARNs hold it), and changes no service's spec.
                if statement["Sid"] == "EcsServiceDeployments":
                    assert action in ("ecs:ContinueServiceDeployment", "ecs:StopServiceDeployment"), action
                    continue
                # Every other ECS and ELBv2 call is a write: created with the
                # owner tag, or allowed only on resources that carry it.
                condition = json.dumps(statement.get("Condition", {}))
                assert (f"aws:RequestTag/{tag}" in condition or f"aws:ResourceTag/{tag}" in condition), \
                    (policy, action)
                assert '"Ref": "TableName"' in condition, (policy, action)
            if "iam:PassRole" in actions(statement):
                # The apps' execution role or the roles under AppRolePath to
                # ECS tasks, the scheduler role to EventBridge Scheduler, or
                # the ECS infrastructure role to ECS: nothing else, to no
                # one else.
                assert (statement["Condition"], statement["Resource"]) in [
                    ({"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
                     {"Ref": "AppExecutionRoleArn"}),
                    ({"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
                     {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:role${AppRolePath}*"}),
                    ({"StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}},
                     {"Fn::GetAtt": ["SchedulerRole", "Arn"]}),
                    ({"StringEquals": {"iam:PassedToService": "ecs.amazonaws.com"}},
                     {"Fn::GetAtt": ["EcsInfrastructureRole", "Arn"]}),
                ], statement["Sid"]
            if any(a.startswith("dynamodb:") for a in actions(statement)):
                assert statement["Resource"] == {"Fn::GetAtt": ["Table", "Arn"]}, (policy, statement["Sid"])


def test_the_deployer_cannot_do_what_only_the_controller_does(ferry_template):
    granted = {a for s in statements(ferry_template, "DeployerPolicy") for a in actions(s)}
    assert not granted & CONTROLLER_ONLY_WRITES
    assert "dynamodb:CreateTable" not in granted
    assert "dynamodb:ConditionCheckItem" not in granted
    assert not {a for a in granted if a.startswith(("elasticloadbalancing:", "route53:"))
                and not a.split(":")[1].startswith(("Describe", "List", "Get"))}
    # `run` starts a task (tagged), `run` and `stop` stop one, `exec` opens a
    # session in one, `rollout continue|abort` approve or roll back a
    # service deployment ECS runs: no other ECS write (no service change).
    assert {a for a in granted if a.startswith("ecs:") and not a.split(":")[1].startswith(("Describe", "List"))} \
        == {"ecs:RunTask", "ecs:TagResource", "ecs:StopTask", "ecs:ExecuteCommand",
            "ecs:ContinueServiceDeployment", "ecs:StopServiceDeployment"}
    for statement in statements(ferry_template, "DeployerPolicy"):
        writes = {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"} & set(actions(statement))
        if writes:
            [(operator, keys)] = statement["Condition"].items()
            assert operator.startswith("ForAllValues:")
            allowed = keys["dynamodb:LeadingKeys"]
            assert set(allowed) <= {"app", "release#*", "domain", "meta"}, allowed
            assert "lease" not in allowed and "status" not in allowed


def test_each_policy_cites_the_service_authorization_reference():
    text = (TEMPLATES / "ferry.yaml").read_text()
    for page in ("list_amazondynamodb", "list_amazonelasticcontainerservice",
                 "list_awselasticloadbalancingv2", "list_amazonroute53",
                 "list_awsidentityandaccessmanagementiam"):
        assert f"https://docs.aws.amazon.com/service-authorization/latest/reference/{page}.html" in text


# -- issue 18: what only a real account would refuse, rendered offline -------------

ACCOUNT = "123456789012"
SAMPLE = {
    "Image": "ferry:v1", "VpcId": "vpc-0123456789abcdef0", "VpcCidr": "10.0.0.0/16",
    "Subnets": "subnet-a,subnet-b", "AppSecurityGroups": "sg-0123456789abcdef0",
    "AppExecutionRoleArn": f"arn:aws:iam::{ACCOUNT}:role/apps-execution",
    "AppLogGroup": "/ferry/prod/apps", "InternalZoneId": "Z0INTERNAL0000",
    "InternalListenerArns": f"arn:aws:elasticloadbalancing:us-east-1:{ACCOUNT}:listener/app/i/50dc6c495c0c9188/f2f7dc8efc522ab2",
}
ENVIRONMENT_SAMPLE = {"VpcId": "vpc-0123456789abcdef0", "VpcCidr": "10.0.0.0/16",
                      "PrivateSubnets": "subnet-a,subnet-b", "PublicSubnets": "subnet-c,subnet-d"}


def render(template: dict, **parameters: str) -> Stack:
    return Stack(template, {**SAMPLE, **parameters})


def rendered_statements(stack: Stack, resource: str) -> dict[str, dict]:
    """The statements of one resource's policies (inline ones included), by Sid."""
    return {s["Sid"]: s for p in policies(stack) if p.resource == resource and not p.trust
            for s in p.statements}


def listed(value) -> list:
    return [value] if isinstance(value, (str, dict)) else list(value)


def schedule_group(table: str) -> str:
    """crates/ferry-core/src/names.rs `schedule_group` for a table the
    TableName pattern allows (letters, digits, `-`, `_`, at most 58)."""
    names = (ROOT / "crates" / "ferry-core" / "src" / "names.rs").read_text()
    assert 'format!("ferry-{clean}")' in names and "MAX_SCHEDULE_NAME_LEN: usize = 64" in names
    return f"ferry-{table}"


@pytest.mark.parametrize("table", ["ferry", "prod_2"])
def test_scheduler_assumes_its_role_for_the_installations_schedule_group(ferry_template, table):
    # Scheduler sets aws:SourceArn to the schedule group's ARN; a schedule
    # ARN pattern never matches it (issue 18 item 2).
    # https://docs.aws.amazon.com/scheduler/latest/UserGuide/cross-service-confused-deputy-prevention.html
    stack = render(ferry_template, TableName=table)
    [trust] = [p for p in policies(stack) if p.resource == "SchedulerRole" and p.trust]
    [statement] = trust.statements
    assert statement["Principal"] == {"Service": "scheduler.amazonaws.com"}
    source_arns = [value for operator, keys in statement["Condition"].items()
                   if operator in ("StringEquals", "ArnEquals") for key, value in keys.items()
                   if key == "aws:SourceArn"]
    assert source_arns == [f"arn:aws:scheduler:us-east-1:{ACCOUNT}:schedule-group/{schedule_group(table)}"]
    assert statement["Condition"]["StringEquals"]["aws:SourceAccount"] == ACCOUNT
    assert ":schedule/" not in json.dumps(statement)


def test_one_encrypted_dead_letter_queue_per_installation(ferry_template):
    stack = render(ferry_template, TableName="prod")
    resources = stack.resources()
    queue = resources["ScheduleDeadLetterQueue"]
    assert queue["Type"] == "AWS::SQS::Queue"
    props = queue["Properties"]
    # Scheduler takes standard queues only; SSE-SQS; SQS's longest retention.
    assert props["SqsManagedSseEnabled"] is True and "FifoQueue" not in props
    assert props["MessageRetentionPeriod"] == 14 * 24 * 3600
    arn = f"arn:aws:sqs:us-east-1:{ACCOUNT}:ferry-prod-schedule-dlq"
    assert stack.outputs()["ScheduleDeadLetterQueueArn"] == arn
    env = {e["Name"]: e["Value"] for e in resources["TaskDefinition"]["Properties"]["ContainerDefinitions"][0]["Environment"]}
    assert env["FERRY_SCHEDULE_DLQ_ARN"] == arn
    # Scheduler sends with the schedule's execution role; the controller
    # resolves, receives and deletes; nobody else touches the queue.
    grants = {}
    for policy in policies(stack):
        for statement in policy.statements:
            for action in listed(statement.get("Action", [])):
                if action.startswith("sqs:"):
                    assert listed(statement["Resource"]) == [arn], (policy.where, statement)
                    grants.setdefault(policy.resource, set()).add(action)
    assert grants == {"SchedulerRole": {"sqs:SendMessage"},
                      "ControllerTaskPolicy": {"sqs:GetQueueUrl", "sqs:GetQueueAttributes",
                                               "sqs:ReceiveMessage", "sqs:DeleteMessage"}}


@pytest.mark.parametrize("cluster", ["", "shared-cluster"])
def test_the_controller_may_manage_its_target_tracking_alarms(ferry_template, cluster):
    # Application Auto Scaling checks the caller's own permission on the
    # alarms of target tracking (issue 18 item 4).
    # https://docs.aws.amazon.com/autoscaling/application/userguide/security_iam_permission_validation.html
    stack = render(ferry_template, TableName="prod", ExistingClusterName=cluster)
    alarms = f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:TargetTracking-service/{cluster or 'prod'}/*"
    statement = rendered_statements(stack, "ControllerTaskPolicy")["TargetTrackingAlarms"]
    assert sorted(listed(statement["Action"])) == [
        "cloudwatch:DeleteAlarms", "cloudwatch:DescribeAlarms", "cloudwatch:PutMetricAlarm"]
    assert listed(statement["Resource"]) == [alarms]
    assert "Condition" not in statement


def test_rollout_alarms_are_the_installations_by_name_and_created_with_the_owner_tag(ferry_template):
    # `alarms: default` (issue 23): ferry-<owner>-<app>-<process>-5xx.
    stack = render(ferry_template, TableName="prod")
    alarms = f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:ferry-prod-*"
    by_sid = rendered_statements(stack, "ControllerTaskPolicy")
    put = by_sid["RolloutAlarmsPut"]
    assert sorted(listed(put["Action"])) == ["cloudwatch:PutMetricAlarm", "cloudwatch:TagResource"]
    assert listed(put["Resource"]) == [alarms]
    assert put["Condition"] == {"StringEquals": {"aws:RequestTag/ferry:managed-by": "prod"}}
    change = by_sid["RolloutAlarmsChange"]
    assert sorted(listed(change["Action"])) == ["cloudwatch:DeleteAlarms", "cloudwatch:ListTagsForResource"]
    assert listed(change["Resource"]) == [alarms]
    # Every other statement's CloudWatch write is target tracking's.
    writes = {sid for sid, s in by_sid.items() for a in listed(s["Action"])
              if a.startswith("cloudwatch:") and a not in ("cloudwatch:DescribeAlarms",
                                                          "cloudwatch:ListTagsForResource")}
    assert writes == {"RolloutAlarmsPut", "RolloutAlarmsChange", "TargetTrackingAlarms"}


def test_the_infrastructure_role_is_ecs_with_the_load_balancer_policy_only(ferry_template):
    # https://docs.aws.amazon.com/AmazonECS/latest/developerguide/AmazonECSInfrastructureRolePolicyForLoadBalancers.html
    role = ferry_template["Resources"]["EcsInfrastructureRole"]["Properties"]
    (statement,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "ecs.amazonaws.com"}
    assert statement["Action"] == "sts:AssumeRole"
    assert role["ManagedPolicyArns"] == [
        {"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/AmazonECSInfrastructureRolePolicyForLoadBalancers"}]
    assert "Policies" not in role
    # Only the controller hands it over, to ECS only.
    passes = [s for s in statements(ferry_template, "ControllerTaskPolicy")
              if s["Resource"] == {"Fn::GetAtt": ["EcsInfrastructureRole", "Arn"]}]
    assert [(s["Action"], s["Condition"]) for s in passes] == [
        ("iam:PassRole", {"StringEquals": {"iam:PassedToService": "ecs.amazonaws.com"}})]
    assert not [s for s in statements(ferry_template, "DeployerPolicy")
                if "EcsInfrastructureRole" in json.dumps(s)]


def test_the_test_listener_port_is_not_a_production_port(environment_template):
    base = ENVIRONMENT_SAMPLE
    assert not Stack(environment_template, base).failed_rules()
    assert not Stack(environment_template, dict(base, TestListenerPort="8080")).failed_rules()
    for port in ("80", "443"):
        assert Stack(environment_template, dict(base, TestListenerPort=port)).failed_rules(), port


def test_test_listeners_answer_404_and_the_public_one_only_the_vpc(environment_template):
    resources = environment_template["Resources"]
    for name, balancer in (("InternalTestListener", "InternalLoadBalancer"),
                           ("PublicTestListener", "PublicLoadBalancer")):
        listener = resources[name]["Properties"]
        assert listener["LoadBalancerArn"] == {"Ref": balancer}
        assert (listener["Protocol"], listener["Port"]) == ("HTTP", {"Ref": "TestListenerPort"})
        [action] = listener["DefaultActions"]
        assert action["FixedResponseConfig"]["StatusCode"] == "404"
    for group in ("InternalLoadBalancerSecurityGroup", "PublicLoadBalancerSecurityGroup"):
        test_ingress = [r for r in resources[group]["Properties"]["SecurityGroupIngress"]
                        if r["FromPort"] == {"Ref": "TestListenerPort"}]
        assert [(r["ToPort"], r["CidrIp"]) for r in test_ingress] == [({"Ref": "TestListenerPort"},
                                                                       {"Ref": "VpcCidr"})], group


AUTOSCALING_ECS = {"application-autoscaling:service-namespace": "ecs",
                   "application-autoscaling:scalable-dimension": "ecs:service:DesiredCount"}


def test_autoscaling_writes_reach_ecs_desired_counts_only(ferry_template):
    # Issue 18 item 5: a target of another service tagged as Ferry's stays
    # out of reach. TagResource supports neither key (the static IAM check
    # refuses it there).
    stack = render(ferry_template, TableName="prod")
    writes = 0
    for sid, statement in rendered_statements(stack, "ControllerTaskPolicy").items():
        for action in listed(statement["Action"]):
            if not action.startswith("application-autoscaling:"):
                continue
            name = action.split(":")[1]
            if name.startswith(("Describe", "List")) or name == "TagResource":
                continue
            writes += 1
            equals = statement["Condition"]["StringEquals"]
            assert {k: equals.get(k) for k in AUTOSCALING_ECS} == AUTOSCALING_ECS, (sid, action)
    assert writes == 5  # Register (create, change), Put/DeleteScalingPolicy, Deregister


def test_the_deployer_runs_and_stops_only_the_installations_tasks(ferry_template):
    stack = render(ferry_template, TableName="prod")
    statements = rendered_statements(stack, "DeployerPolicy")
    for sid, action in (("EcsRunTask", "ecs:RunTask"), ("EcsStopOwnTasks", "ecs:StopTask")):
        statement = statements[sid]
        assert listed(statement["Action"]) == [action]
        assert statement["Condition"]["StringEquals"]["aws:ResourceTag/ferry:managed-by"] == "prod", sid
    # RunTask's resource is the task definition: a revision Ferry registered
    # (tagged) in this installation, started in its cluster, tagged on start.
    run = statements["EcsRunTask"]
    assert run["Condition"]["ArnEquals"]["ecs:cluster"] == f"arn:aws:ecs:us-east-1:{ACCOUNT}:cluster/prod"
    assert run["Condition"]["StringEquals"]["aws:RequestTag/ferry:managed-by"] == "prod"


# Name limits of what the table's name is part of, from each API reference:
# CreateCluster clusterName and RegisterTaskDefinition family ("Up to 255
# letters (uppercase and lowercase), numbers, underscores, and hyphens"),
# CreateService serviceName (the same), CreateScheduleGroup Name (1-64 of
# [0-9a-zA-Z-_.]), CreateQueue QueueName (up to 80 alphanumerics, hyphens
# and underscores), CreateTable TableName (3-255 of [a-zA-Z0-9_.-]),
# CreateLogGroup (up to 512), CreatePolicy PolicyName (1-128 of [\w+=,.@-]).
NAME_LIMITS = {
    "cluster": r"[a-zA-Z0-9_-]{1,255}",
    "family": r"[a-zA-Z0-9_-]{1,255}",
    "service": r"[a-zA-Z0-9_-]{1,255}",
    "schedule group": r"[0-9a-zA-Z_.-]{1,64}",
    "queue": r"[a-zA-Z0-9_-]{1,80}",
    "table": r"[a-zA-Z0-9_.-]{3,255}",
    "log group": r"[\.\-_/#A-Za-z0-9]{1,512}",
    "managed policy": r"[\w+=,.@-]{1,128}",
}


def derived_names(ferry_template: dict, table: str) -> dict[str, str]:
    stack = render(ferry_template, TableName=table)
    resources = stack.resources()
    return {
        "cluster": resources["Cluster"]["Properties"]["ClusterName"],
        "family": resources["TaskDefinition"]["Properties"]["Family"],
        "service": resources["Service"]["Properties"]["ServiceName"],
        "schedule group": schedule_group(table),
        "queue": resources["ScheduleDeadLetterQueue"]["Properties"]["QueueName"],
        "table": resources["Table"]["Properties"]["TableName"],
        "log group": resources["ControllerLogGroup"]["Properties"]["LogGroupName"],
        "managed policy": resources["DeployerPolicy"]["Properties"]["ManagedPolicyName"],
    }


def test_the_table_name_allows_only_names_every_derived_name_takes(ferry_template):
    # Issue 18 item 11: `.` (which cluster and family names refuse) and
    # lengths that overflow the schedule group or the queue are refused.
    pattern = ferry_template["Parameters"]["TableName"]["AllowedPattern"]
    allowed = lambda name: re.fullmatch(pattern, name) is not None  # noqa: E731
    for good in ("fer", "ferry", "ferry-cfn", "Prod_2-eu", "t" * 58):
        assert allowed(good), good
        for kind, name in derived_names(ferry_template, good).items():
            assert re.fullmatch(NAME_LIMITS[kind], name), (good, kind, name)
    for bad in ("ab", "t" * 59, "ferry.prod", "ferry prod", "ferry/x", "ferry:x", ""):
        assert not allowed(bad), bad


# https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-tasks-services.html#fargate-tasks-size
FARGATE_MEMORY = {
    256: {512, 1024, 2048},
    512: set(range(1024, 4096 + 1, 1024)),
    1024: set(range(2048, 8192 + 1, 1024)),
}


def test_rules_refuse_the_cpu_and_memory_fargate_refuses(ferry_template):
    parameters = ferry_template["Parameters"]
    cpus = parameters["ControllerCpu"]["AllowedValues"]
    memories = parameters["ControllerMemory"]["AllowedValues"]
    assert set(cpus) <= set(FARGATE_MEMORY)
    for cpu in cpus:
        for memory in memories:
            failed = render(ferry_template, ControllerCpu=str(cpu), ControllerMemory=str(memory)).failed_rules()
            assert (not failed) == (memory in FARGATE_MEMORY[cpu]), (cpu, memory, failed)
    default = render(ferry_template)
    assert not default.failed_rules()


def test_the_service_starts_after_its_permissions_and_is_named_per_installation(ferry_template):
    service = ferry_template["Resources"]["Service"]
    depends = listed(service.get("DependsOn", []))
    assert {"ControllerTaskPolicy", "ControllerTaskRole"} <= set(depends)
    names = {render(ferry_template, TableName=t).resources()["Service"]["Properties"]["ServiceName"]
             for t in ("staging", "production")}
    assert names == {"ferry-controller-staging", "ferry-controller-production"}


def test_plain_http_redirects_to_https_when_a_certificate_is_given(environment_template):
    certificate = f"arn:aws:acm:us-east-1:{ACCOUNT}:certificate/11111111-2222-3333-4444-555555555555"
    https = Stack(environment_template, {**ENVIRONMENT_SAMPLE, "PublicCertificateArn": certificate})
    resources = https.resources()
    [action] = resources["PublicHttpListener"]["Properties"]["DefaultActions"]
    assert action["Type"] == "redirect"
    assert {k: action["RedirectConfig"][k] for k in ("Protocol", "Port", "StatusCode")} == {
        "Protocol": "HTTPS", "Port": "443", "StatusCode": "HTTP_301"}
    # Ferry's host rules go on the HTTPS listener only: a rule on the HTTP
    # one would serve the app in plain HTTP ahead of the redirect.
    https_listener = https.attribute("PublicHttpsListener", "Ref")
    assert https.outputs()["PublicListenerArns"] == https_listener
    plain = Stack(environment_template, ENVIRONMENT_SAMPLE)
    [action] = plain.resources()["PublicHttpListener"]["Properties"]["DefaultActions"]
    assert action["Type"] == "fixed-response"
    assert plain.outputs()["PublicListenerArns"] == plain.attribute("PublicHttpListener", "Ref")


@pytest.mark.parametrize("prefix,shared", [("ferry/", "shared/"), ("teams/prod/", "common/")])
def test_the_apps_read_secrets_of_the_documented_layout_only(environment_template, ferry_template, prefix, shared):
    stack = Stack(environment_template, {**ENVIRONMENT_SAMPLE, "SecretsPrefix": prefix,
                                         "SharedSecretsPrefix": shared})
    statements = rendered_statements(stack, "AppExecutionRole")
    region = f"us-east-1:{ACCOUNT}"
    assert listed(statements["ReadParameters"]["Resource"]) == [
        f"arn:aws:ssm:{region}:parameter/{prefix}*/*", f"arn:aws:ssm:{region}:parameter/{prefix}{shared}*"]
    assert listed(statements["ReadSecrets"]["Resource"]) == [
        f"arn:aws:secretsmanager:{region}:secret:{prefix}*/*",
        f"arn:aws:secretsmanager:{region}:secret:{prefix}{shared}*"]
    outputs = stack.outputs()
    assert (outputs["SecretsPrefix"], outputs["SharedSecretsPrefix"]) == (prefix, shared)
    # The controller gets the same prefixes from ferry.yaml.
    ferry = render(ferry_template, SecretsPrefix=prefix, SharedSecretsPrefix=shared)
    env = {e["Name"]: e["Value"] for e in
           ferry.resources()["TaskDefinition"]["Properties"]["ContainerDefinitions"][0]["Environment"]}
    assert (env["FERRY_SECRETS_PREFIX"], env["FERRY_SHARED_SECRETS_PREFIX"]) == (prefix, shared)


def test_the_guides_say_to_delete_the_apps_before_the_stack():
    for path in (TEMPLATES / "README.md", ROOT / "docs" / "operating.md"):
        text = " ".join(path.read_text().split())
        assert "## Deleting Ferry" in path.read_text() or "## Uninstall" in path.read_text(), path
        assert "ferry delete" in text and "before" in text and "delete-stack" in text, path


# -- deployed into the local AWS ---------------------------------------------------

# The settings the controller below runs with (the stack's outputs), kept
# with the request log for the IAM replay (test_replay.py).
REPLAY_ENV: dict[str, str] = {}


@pytest.fixture(scope="module")
def emulator(tmp_path_factory):
    emu = local_conftest.start_emulator(tmp_path_factory.mktemp("emulator"))
    try:
        yield emu
    finally:
        emu.stop()
        keep_request_log(emu.request_log, REPLAY_ENV)


def keep_request_log(log: Path, env: dict[str, str]) -> None:
    """With FERRY_REQUEST_LOG_DIR set, the request log and its settings go
    there, as the end-to-end harness keeps its own (tests/support/lib.rs)."""
    target = os.environ.get("FERRY_REQUEST_LOG_DIR")
    if not target or not env or not log.exists():
        return
    directory = Path(target)
    directory.mkdir(parents=True, exist_ok=True)
    stem = f"cloudformation-{os.getpid()}-{time.time_ns()}"
    (directory / f"{stem}.requests.jsonl").write_bytes(log.read_bytes())
    (directory / f"{stem}.env.json").write_text(json.dumps(env, indent=2))


def create_stack(cf, name: str, template: str, parameters: dict[str, str]) -> dict:
    cf.create_stack(StackName=name, TemplateBody=(TEMPLATES / template).read_text(),
                    Capabilities=["CAPABILITY_NAMED_IAM"],
                    Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()])
    deadline = time.monotonic() + 60
    while True:
        stack = cf.describe_stacks(StackName=name)["Stacks"][0]
        if not stack["StackStatus"].endswith("_IN_PROGRESS") or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert stack["StackStatus"] == "CREATE_COMPLETE", stack.get("StackStatusReason")
    # moto skips resource types it does not know: every resource must be there.
    listed = {r["LogicalResourceId"]: r for r in
              cf.list_stack_resources(StackName=name)["StackResourceSummaries"]}
    return stack, listed


@pytest.fixture(scope="module")
def stacks(emulator):
    """environment.yaml in a bootstrap-made VPC, then ferry.yaml from its
    outputs plus a public zone of the account's own (bring your own)."""
    c = bootstrap.clients(emulator.url, REGION)
    vpc_id = bootstrap.ensure_vpc(c["ec2"])
    subnets = bootstrap.ensure_subnets(c["ec2"], vpc_id)
    public_zone = bootstrap.ensure_public_zone(c["route53"], "example.com")
    cf = emulator.client("cloudformation")
    env_stack, env_resources = create_stack(cf, "ferry-environment", "environment.yaml", {
        "EnvironmentName": "cfn", "VpcId": vpc_id, "VpcCidr": bootstrap.VPC_CIDR,
        "PrivateSubnets": ",".join(subnets), "PublicSubnets": ",".join(subnets),
        "PublicZoneIds": public_zone,
    })
    env_out = {o["OutputKey"]: o["OutputValue"] for o in env_stack["Outputs"]}
    ferry_stack, ferry_resources = create_stack(cf, "ferry", "ferry.yaml", {
        "TableName": TABLE, "Image": "ferry-controller:test", "VpcId": vpc_id,
        "VpcCidr": bootstrap.VPC_CIDR, "Subnets": ",".join(subnets),
        "AppSubnets": env_out["AppSubnets"], "AppSecurityGroups": env_out["AppSecurityGroup"],
        "AppExecutionRoleArn": env_out["AppExecutionRoleArn"], "AppLogGroup": env_out["AppLogGroup"],
        "InternalListenerArns": env_out["InternalListenerArns"],
        "PublicListenerArns": env_out["PublicListenerArns"],
        "InternalTestListenerArn": env_out["InternalTestListenerArn"],
        "PublicTestListenerArn": env_out["PublicTestListenerArn"],
        "InternalZoneId": env_out["InternalZoneId"], "PublicZoneIds": env_out["PublicZoneIds"],
    })
    return {"env": (env_stack, env_resources), "ferry": (ferry_stack, ferry_resources),
            "vpc": vpc_id, "subnets": subnets, "public_zone": public_zone}


def document(value) -> dict:
    """A policy document as IAM returns it: a dict, URL-encoded JSON, or
    (moto, for some documents CloudFormation made) a Python dict's repr."""
    if isinstance(value, str):
        text = urllib.parse.unquote(value)
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            value = ast.literal_eval(text)
    return value


def outputs(stack: dict) -> dict[str, str]:
    return {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}


def test_every_resource_of_both_templates_is_created(stacks, ferry_template, environment_template):
    # No certificate was given: the HTTPS listeners are left out (their
    # properties are checked in test_https_listeners_need_a_certificate).
    off = {"InternalHttps", "PublicHttps"}
    for key, template in (("env", environment_template), ("ferry", ferry_template)):
        _, listed = stacks[key]
        expected = {name for name, r in template["Resources"].items() if r.get("Condition") not in off}
        # moto also lists a nameless entry per listener (its default action).
        assert set(listed) - {""} == expected, key
        for logical_id, resource in listed.items():
            assert resource["ResourceStatus"] == "CREATE_COMPLETE", (key, logical_id)


def test_https_listeners_need_a_certificate(environment_template):
    resources = environment_template["Resources"]
    for name, condition, certificate in (("InternalHttpsListener", "InternalHttps", "InternalCertificateArn"),
                                         ("PublicHttpsListener", "PublicHttps", "PublicCertificateArn")):
        listener = resources[name]
        assert listener["Condition"] == condition
        assert environment_template["Conditions"][condition] == {
            "Fn::Not": [{"Fn::Equals": [{"Ref": certificate}, ""]}]}
        props = listener["Properties"]
        assert props["Protocol"] == "HTTPS" and props["Port"] == 443
        assert props["Certificates"] == [{"CertificateArn": {"Ref": certificate}}]
        output = environment_template["Outputs"][name.replace("HttpsListener", "ListenerArns")]
        assert output["Value"]["Fn::If"][0] == condition


def test_the_environment_exists_as_its_outputs_say(emulator, stacks):
    out = outputs(stacks["env"][0])
    elbv2 = emulator.client("elbv2")
    for key, scheme in (("InternalListenerArns", "internal"), ("PublicListenerArns", "internet-facing")):
        [listener] = elbv2.describe_listeners(ListenerArns=out[key].split(","))["Listeners"]
        assert listener["Port"] == 80 and listener["Protocol"] == "HTTP"
        assert listener["DefaultActions"][0]["Type"] == "fixed-response"
        [lb] = elbv2.describe_load_balancers(LoadBalancerArns=[listener["LoadBalancerArn"]])["LoadBalancers"]
        assert lb["Scheme"] == scheme and lb["VpcId"] == stacks["vpc"]
    zone = emulator.client("route53").get_hosted_zone(Id=out["InternalZoneId"])
    # moto keeps the name as given, without the trailing dot AWS adds.
    assert zone["HostedZone"]["Name"].rstrip(".") == "ferry.internal"
    # moto's CloudFormation drops the zone's VPCs, making it a public zone
    # (see README.md): what makes it private is checked on the template in
    # test_the_internal_zone_is_private_to_the_vpc.
    groups = emulator.client("logs").describe_log_groups(logGroupNamePrefix=out["AppLogGroup"])["logGroups"]
    assert [g["logGroupName"] for g in groups] == [out["AppLogGroup"]]
    iam = emulator.client("iam")
    role = out["AppExecutionRoleArn"].rsplit("/", 1)[1]
    trust = document(iam.get_role(RoleName=role)["Role"]["AssumeRolePolicyDocument"])
    assert trust["Statement"][0]["Principal"] == {"Service": "ecs-tasks.amazonaws.com"}
    secrets = document(iam.get_role_policy(RoleName=role, PolicyName="app-secrets")["PolicyDocument"])
    assert [s["Resource"] for s in secrets["Statement"]] == [
        ["arn:aws:ssm:us-east-1:123456789012:parameter/ferry/*/*",
         "arn:aws:ssm:us-east-1:123456789012:parameter/ferry/shared/*"],
        ["arn:aws:secretsmanager:us-east-1:123456789012:secret:ferry/*/*",
         "arn:aws:secretsmanager:us-east-1:123456789012:secret:ferry/shared/*"]]


def test_ferry_yaml_creates_the_table_cluster_controller_and_policies(emulator, stacks):
    out = outputs(stacks["ferry"][0])
    assert out["TableName"] == TABLE and out["ClusterName"] == TABLE
    table = emulator.client("dynamodb").describe_table(TableName=TABLE)["Table"]
    assert table["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"},
                                  {"AttributeName": "sk", "KeyType": "RANGE"}]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert table["DeletionProtectionEnabled"] is True
    # Point-in-time recovery: moto's CloudFormation leaves it off (see
    # README.md); checked on the template in
    # test_the_table_is_the_one_ferry_init_creates.
    ecs = emulator.client("ecs")
    [cluster] = ecs.describe_clusters(clusters=[TABLE])["clusters"]
    assert cluster["status"] == "ACTIVE"
    [service] = ecs.describe_services(cluster=TABLE, services=[f"ferry-controller-{TABLE}"])["services"]
    assert out["ControllerServiceName"] == f"ferry-controller-{TABLE}"
    # moto's CloudFormation drops the service's LaunchType, network and
    # deployment configuration (see README.md): checked on the template in
    # test_the_controller_service_is_two_fargate_replicas_that_roll.
    assert service["desiredCount"] == 2
    td = ecs.describe_task_definition(taskDefinition=service["taskDefinition"])["taskDefinition"]
    [ctr] = td["containerDefinitions"]
    assert ctr["healthCheck"]["command"] == ["CMD", "/usr/local/bin/ferry-controller", "health"]
    assert ctr["stopTimeout"] == 30
    env = {e["name"]: e["value"] for e in ctr["environment"]}
    assert env["FERRY_TABLE"] == TABLE and env["FERRY_SHUTDOWN_TIMEOUT"] == "20s"
    assert env["FERRY_INTERNAL_LISTENER_ARN"] == out["InternalListenerArns"]
    iam = emulator.client("iam")
    deployer = iam.get_policy(PolicyArn=out["DeployerPolicyArn"])["Policy"]
    version = iam.get_policy_version(PolicyArn=out["DeployerPolicyArn"],
                                     VersionId=deployer["DefaultVersionId"])["PolicyVersion"]
    deployer_document = document(version["Document"])
    zone_arns = {f"arn:aws:route53:::hostedzone/{out['InternalZoneId']}",
                 f"arn:aws:route53:::hostedzone/{stacks['public_zone']}"}
    [route53] = [s for s in deployer_document["Statement"] if s["Sid"] == "Route53Read"]
    assert set(route53["Resource"]) == zone_arns
    role = out["ControllerTaskRoleArn"].rsplit("/", 1)[1]
    [name] = iam.list_role_policies(RoleName=role)["PolicyNames"]
    policy = document(iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"])
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    assert set(by_sid["Route53Records"]["Resource"]) == zone_arns
    assert set(by_sid["ElbCreateRule"]["Resource"]) == {
        out["InternalListenerArns"], out["PublicListenerArns"],
        out["InternalTestListenerArn"], out["PublicTestListenerArn"]}
    # The test listeners and the infrastructure role reach the controller.
    assert env["FERRY_INTERNAL_TEST_LISTENER_ARN"] == out["InternalTestListenerArn"]
    assert env["FERRY_PUBLIC_TEST_LISTENER_ARN"] == out["PublicTestListenerArn"]
    assert env["FERRY_ECS_INFRASTRUCTURE_ROLE_ARN"] == out["EcsInfrastructureRoleArn"]
    assert by_sid["PassEcsInfrastructureRole"]["Resource"] == out["EcsInfrastructureRoleArn"]
    # The schedules' dead-letter queue exists as the outputs and the task say.
    sqs = emulator.client("sqs")
    queue_name = out["ScheduleDeadLetterQueueArn"].rsplit(":", 1)[1]
    assert queue_name == f"ferry-{TABLE}-schedule-dlq"
    url = sqs.get_queue_url(QueueName=queue_name)["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["QueueArn"] == out["ScheduleDeadLetterQueueArn"] == env["FERRY_SCHEDULE_DLQ_ARN"]
    assert attributes["MessageRetentionPeriod"] == "1209600"
    assert by_sid["ScheduleDeadLetters"]["Resource"] == out["ScheduleDeadLetterQueueArn"]
    assert by_sid["PassExecutionRole"]["Resource"] == out["ExecutionRoleArn"]


# -- a controller configured from the outputs converges manifests/ -----------------

def env_from_outputs(stack: dict) -> dict[str, str]:
    """The variable each output's description names, set to its value."""
    env = {}
    for output in stack["Outputs"]:
        first = output["Description"].split()[0]
        if first.startswith(("FERRY_", "AWS_")):
            env[first] = output["OutputValue"]
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def leading(admin: str) -> bool:
    try:
        with urllib.request.urlopen(f"{admin}/metrics", timeout=2) as r:
            text = r.read().decode()
    except OSError:
        return False
    return re.search(r"^leader_election_master_status(\{[^}]*\})? 1$", text, re.M) is not None


def test_a_controller_from_the_outputs_converges_the_manifests(emulator, stacks, tmp_path):
    for binary in (FERRY, CONTROLLER):
        assert binary.exists(), f"{binary} is missing: run cargo build --workspace --bins"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FERRY_", "AWS_"))}
    env.update(env_from_outputs(stacks["ferry"][0]))
    REPLAY_ENV.update({k: v for k, v in env.items() if k.startswith(("FERRY_", "AWS_REGION"))})
    assert {"FERRY_TABLE", "FERRY_CLUSTER", "FERRY_SUBNETS", "FERRY_SECURITY_GROUPS",
            "FERRY_INTERNAL_LISTENER_ARN", "FERRY_INTERNAL_ZONE_ID", "AWS_REGION"} <= set(env)
    admin = f"127.0.0.1:{free_port()}"
    env.update({"AWS_ENDPOINT_URL": emulator.url, "AWS_ACCESS_KEY_ID": "test",
                "AWS_SECRET_ACCESS_KEY": "test", "AWS_EC2_METADATA_DISABLED": "true",
                "FERRY_ADMIN_ADDR": admin, "FERRY_RESYNC_INTERVAL": "5s"})
    log = tmp_path / "controller.log"
    with open(log, "w") as out:
        controller = subprocess.Popen([str(CONTROLLER)], env=env, stdout=out, stderr=subprocess.STDOUT,
                                      stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not leading(f"http://{admin}"):
            assert controller.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.5)
        # The secret manifests/api.yaml names, which an operator creates
        # before deploying the app (a task whose secret is missing fails to
        # start, as on AWS).
        bootstrap.ensure_demo_parameters(emulator.client("ssm"))
        apply = subprocess.run([str(FERRY), "apply", "-f", "manifests", "--wait", "--timeout", "240s",
                                "-m", "cloudformation test"], cwd=ROOT, env=env,
                               capture_output=True, text=True, timeout=300)
        assert apply.returncode == 0, apply.stderr + log.read_text()[-3000:]
        for app in ("router", "web", "api", "worker"):
            status = subprocess.run([str(FERRY), "status", app, "-o", "json"], cwd=ROOT, env=env,
                                    capture_output=True, text=True, timeout=60)
            assert status.returncode == 0, status.stderr
            ready = [c for c in json.loads(status.stdout)["conditions"] if c["type"] == "Ready"]
            assert ready and ready[0]["status"] == "True", (app, status.stdout)
        # The apps' traffic went where the stacks said: rules on the
        # environment's listeners, records in its zones.
        env_out = outputs(stacks["env"][0])
        elbv2 = emulator.client("elbv2")
        internal_rules = elbv2.describe_rules(ListenerArn=env_out["InternalListenerArns"])["Rules"]
        public_rules = elbv2.describe_rules(ListenerArn=env_out["PublicListenerArns"])["Rules"]
        assert any(not r["IsDefault"] for r in internal_rules)
        assert any(not r["IsDefault"] for r in public_rules)
        route53 = emulator.client("route53")
        internal = {r["Name"] for r in route53.list_resource_record_sets(
            HostedZoneId=env_out["InternalZoneId"])["ResourceRecordSets"]}
        assert "web.ferry.internal." in internal, internal
        public = {r["Name"] for r in route53.list_resource_record_sets(
            HostedZoneId=stacks["public_zone"])["ResourceRecordSets"]}
        assert "router.example.com." in public, public
        ecs = emulator.client("ecs")
        services = ecs.list_services(cluster=env["FERRY_CLUSTER"])["serviceArns"]
        assert any(arn.endswith("/web_web") for arn in services), services
    finally:
        if controller.poll() is None:
            os.kill(controller.pid, signal.SIGTERM)
            try:
                controller.wait(timeout=40)
            except subprocess.TimeoutExpired:
                os.kill(controller.pid, signal.SIGKILL)
                controller.wait(timeout=5)


# Issue 21: the roles apps name (`role`, `executionRole`) are passed by the
# controller (RegisterTaskDefinition), Scheduler (RunTask of a scheduled
# process) and `ferry run` (RunTask), to ECS tasks only and only under the
# installation's AppRolePath.
# https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-iam-roles.html
def test_app_roles_are_passed_only_under_the_path_and_only_to_ecs_tasks(ferry_template):
    stack = render(ferry_template, TableName="prod", AppRolePath="/teams/apps/")
    for resource in ("ControllerTaskPolicy", "SchedulerRole", "DeployerPolicy"):
        statement = rendered_statements(stack, resource)["PassAppRoles"]
        assert listed(statement["Action"]) == ["iam:PassRole"]
        assert statement["Resource"] == f"arn:aws:iam::{ACCOUNT}:role/teams/apps/*", resource
        assert statement["Condition"] == {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}
    env = {e["Name"]: e["Value"] for e in container(ferry_template)["Environment"] if "Name" in e}
    assert env["FERRY_APP_ROLE_PATH"] == {"Ref": "AppRolePath"}
    parameter = ferry_template["Parameters"]["AppRolePath"]
    assert parameter["Default"] == "/ferry-apps/"
    allowed = lambda path: re.fullmatch(parameter["AllowedPattern"], path) is not None  # noqa: E731
    for good in ("/ferry-apps/", "/teams/apps/", "/a/"):
        assert allowed(good), good
    # "/" would let every role of the account be passed; "*" or "?" would
    # widen the ARN pattern; a path must begin and end with "/".
    for bad in ("/", "ferry-apps/", "/ferry-apps", "/ferry*/", "/a?/", "//", ""):
        assert not allowed(bad), bad


def test_the_deployer_execs_only_in_the_installations_tasks(ferry_template):
    statements = rendered_statements(render(ferry_template, TableName="prod"), "DeployerPolicy")
    execs = {sid: s for sid, s in statements.items() if "ecs:ExecuteCommand" in listed(s["Action"])}
    assert set(execs) == {"EcsExecInCluster", "EcsExecOwnTasks"}
    assert listed(execs["EcsExecInCluster"]["Resource"]) == [f"arn:aws:ecs:us-east-1:{ACCOUNT}:cluster/prod"]
    tasks = execs["EcsExecOwnTasks"]
    assert listed(tasks["Resource"]) == [f"arn:aws:ecs:us-east-1:{ACCOUNT}:task/prod/*"]
    assert tasks["Condition"] == {"StringEquals": {"aws:ResourceTag/ferry:managed-by": "prod"}}


def test_the_stacks_cluster_has_both_fargate_capacity_providers(ferry_template):
    cluster = render(ferry_template, TableName="prod").resources()["Cluster"]["Properties"]
    assert cluster["CapacityProviders"] == ["FARGATE", "FARGATE_SPOT"]
    assert "DefaultCapacityProviderStrategy" not in cluster  # no strategy: launch type FARGATE
