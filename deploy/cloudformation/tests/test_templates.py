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
    assert set(ferry_names) <= known, set(ferry_names) - known
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
            assert first in known, (key, first)
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
            assert first in known, (key, first)
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
                # Every other ECS and ELBv2 call is a write: created with the
                # owner tag, or allowed only on resources that carry it.
                condition = json.dumps(statement.get("Condition", {}))
                assert (f"aws:RequestTag/{tag}" in condition or f"aws:ResourceTag/{tag}" in condition), \
                    (policy, action)
                assert '"Ref": "TableName"' in condition, (policy, action)
            if "iam:PassRole" in actions(statement):
                # The apps' execution role to ECS tasks, or the scheduler
                # role to EventBridge Scheduler: nothing else, to no one else.
                assert (statement["Condition"], statement["Resource"]) in [
                    ({"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
                     {"Ref": "AppExecutionRoleArn"}),
                    ({"StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}},
                     {"Fn::GetAtt": ["SchedulerRole", "Arn"]}),
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
    # `run` starts a task (tagged), `run` and `stop` stop one: no other ECS write.
    assert {a for a in granted if a.startswith("ecs:") and not a.split(":")[1].startswith(("Describe", "List"))} \
        == {"ecs:RunTask", "ecs:TagResource", "ecs:StopTask"}
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


# -- deployed into the local AWS ---------------------------------------------------

@pytest.fixture(scope="module")
def emulator(tmp_path_factory):
    emu = local_conftest.start_emulator(tmp_path_factory.mktemp("emulator"))
    try:
        yield emu
    finally:
        emu.stop()


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
        "arn:aws:ssm:us-east-1:123456789012:parameter/ferry/*",
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:ferry/*"]


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
    [service] = ecs.describe_services(cluster=TABLE, services=["ferry-controller"])["services"]
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
        "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/*",
        out["InternalListenerArns"], out["PublicListenerArns"]}
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
