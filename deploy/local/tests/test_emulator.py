"""The emulator as a process: boto3 on the wire against emulator.py."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time

import pytest
from botocore.exceptions import ClientError

from conftest import BOOTSTRAP, EMULATOR, REGION


def wait_for(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.05)


@pytest.fixture(scope="module")
def emulator(unthrottled_emulator):
    """Throttling off: the ListServices paging tests create 60 services within
    a couple of seconds, beyond ECS's service modify bucket (50, then 5/s),
    with clients that retry once at most. They test paging."""
    return unthrottled_emulator


def create_services(ecs, cluster: str, count: int) -> set[str]:
    ecs.create_cluster(clusterName=cluster)
    return {
        ecs.create_service(cluster=cluster, serviceName=f"svc-{i:02d}", desiredCount=0)
        ["service"]["serviceArn"]
        for i in range(count)
    }


# -- request log ---------------------------------------------------------------

def test_request_log_records_every_operation(emulator):
    emulator.client("ecs").list_clusters()
    emulator.client("dynamodb").list_tables()
    emulator.client("elbv2").describe_load_balancers()
    emulator.client("route53").list_hosted_zones()
    with pytest.raises(ClientError):
        emulator.client("ecs").delete_cluster(cluster="no-such-cluster")

    expected = [("ecs", "ListClusters"), ("dynamodb", "ListTables"),
                ("elbv2", "DescribeLoadBalancers"), ("route53", "ListHostedZones")]

    def logged():
        seen = {(r["service"], r["operation"]) for r in emulator.requests()}
        return all(e in seen for e in expected)

    assert wait_for(logged), emulator.requests()
    for record in emulator.requests():
        # authz (or authz_unknown): the IAM authorizations, see test_authz.py.
        assert set(record) - {"authz", "authz_unknown"} == {
            "t", "received", "signed", "service", "operation", "status"}
        assert ("authz" in record) != ("authz_unknown" in record), record
        assert isinstance(record["t"], float) and abs(record["t"] - time.time()) < 600
        assert record["received"] <= record["t"], "answered after it arrived"
        # X-Amz-Date has whole seconds: signed within the second before arrival.
        assert isinstance(record["signed"], int)
        assert record["signed"] <= record["received"] < record["signed"] + 60
        assert isinstance(record["status"], int)
    statuses = {(r["service"], r["operation"]): r["status"] for r in emulator.requests()}
    assert statuses[("ecs", "ListClusters")] == 200
    assert statuses[("ecs", "DeleteCluster")] == 400


# -- DescribeServices limit ----------------------------------------------------

def test_describe_services_rejects_more_than_ten(emulator):
    ecs = emulator.client("ecs")
    create_services(ecs, "describe-limit", 11)
    names = [f"svc-{i:02d}" for i in range(11)]

    with pytest.raises(ClientError) as err:
        ecs.describe_services(cluster="describe-limit", services=names)
    assert err.value.response["Error"]["Code"] == "InvalidParameterException"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert "at most 10" in err.value.response["Error"]["Message"]

    ok = ecs.describe_services(cluster="describe-limit", services=names[:10])
    assert sorted(s["serviceName"] for s in ok["services"]) == names[:10]
    assert ok["failures"] == []

    ops = [(r["operation"], r["status"]) for r in emulator.requests() if r["service"] == "ecs"]
    assert ("DescribeServices", 400) in ops and ("DescribeServices", 200) in ops


# -- ListServices pagination ---------------------------------------------------

def test_list_services_pages_by_max_results(emulator):
    ecs = emulator.client("ecs")
    created = create_services(ecs, "paging", 25)

    seen, pages, token = [], [], None
    while True:
        kwargs = {"cluster": "paging", "maxResults": 10}
        if token:
            kwargs["nextToken"] = token
        page = ecs.list_services(**kwargs)
        pages.append(len(page["serviceArns"]))
        seen += page["serviceArns"]
        token = page.get("nextToken")
        if not token:
            break
    assert pages == [10, 10, 5]
    assert len(seen) == len(set(seen)) == 25
    assert set(seen) == created


def test_list_services_default_page_is_ten_and_paginator_sees_all(emulator):
    ecs = emulator.client("ecs")
    created = create_services(ecs, "paging-default", 23)
    first = ecs.list_services(cluster="paging-default")
    assert len(first["serviceArns"]) == 10 and "nextToken" in first

    arns = [a for p in ecs.get_paginator("list_services").paginate(cluster="paging-default")
            for a in p["serviceArns"]]
    assert sorted(arns) == sorted(created)

    big = ecs.list_services(cluster="paging-default", maxResults=100)
    assert len(big["serviceArns"]) == 23 and "nextToken" not in big


def test_list_services_token_survives_deletes_between_pages(emulator):
    ecs = emulator.client("ecs")
    created = create_services(ecs, "paging-churn", 12)
    first = ecs.list_services(cluster="paging-churn", maxResults=5)
    # Delete a service already served: later pages must neither skip nor repeat.
    ecs.delete_service(cluster="paging-churn", service="svc-00", force=True)
    rest = ecs.list_services(cluster="paging-churn", maxResults=100, nextToken=first["nextToken"])
    assert not set(first["serviceArns"]) & set(rest["serviceArns"])
    # moto keeps INACTIVE services in ListServices (a documented gap Ferry must
    # handle), and the emulation layer deliberately does not hide them.
    assert set(first["serviceArns"]) | set(rest["serviceArns"]) == created


@pytest.mark.parametrize("max_results", [0, 101])
def test_list_services_rejects_max_results_out_of_range(emulator, max_results):
    ecs = emulator.client("ecs", parameter_validation=False)
    ecs.create_cluster(clusterName="paging-bad")
    with pytest.raises(ClientError) as err:
        ecs.list_services(cluster="paging-bad", maxResults=max_results)
    assert err.value.response["Error"]["Code"] == "InvalidParameterException"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_list_services_rejects_a_foreign_token(emulator):
    ecs = emulator.client("ecs")
    ecs.create_cluster(clusterName="paging-token")
    with pytest.raises(ClientError) as err:
        ecs.list_services(cluster="paging-token", nextToken="not-a-token")
    assert err.value.response["Error"]["Code"] == "InvalidParameterException"


def test_list_services_passes_moto_errors_through(emulator):
    with pytest.raises(ClientError) as err:
        emulator.client("ecs").list_services(cluster="no-such-cluster")
    assert err.value.response["Error"]["Code"] == "ClusterNotFoundException"


# -- bootstrap -----------------------------------------------------------------

def parse_env(path) -> dict[str, str]:
    values = {}
    for line in path.read_text().splitlines():
        assert line.startswith("export "), line
        key, _, raw = line[len("export "):].partition("=")
        (value,) = shlex.split(raw) or [""]
        values[key] = value
    return values


def run_bootstrap(emulator, env_file):
    return subprocess.run(
        [sys.executable, str(BOOTSTRAP), "--endpoint", emulator.url, "--env-file", str(env_file),
         "--region", REGION],
        capture_output=True, text=True, timeout=120,
    )


BOOTSTRAP_KEYS = {
    "AWS_ENDPOINT_URL", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY", "FERRY_CLUSTER", "FERRY_SUBNETS", "FERRY_SECURITY_GROUPS",
    "FERRY_EXECUTION_ROLE_ARN", "FERRY_LOG_GROUP", "FERRY_INTERNAL_DOMAIN",
    "FERRY_INTERNAL_LISTENER_ARN", "FERRY_PUBLIC_LISTENER_ARN", "FERRY_INTERNAL_ZONE_ID",
    "FERRY_PUBLIC_ZONE_IDS", "FERRY_VPC_ID", "FERRY_SCHEDULER_ROLE_ARN", "FERRY_SCHEDULE_DLQ_ARN",
    "FERRY_INTERNAL_TEST_LISTENER_ARN", "FERRY_PUBLIC_TEST_LISTENER_ARN",
    "FERRY_ECS_INFRASTRUCTURE_ROLE_ARN",
}


def test_bootstrap_creates_the_base_environment_idempotently(fresh_emulator, tmp_path):
    emu = fresh_emulator
    first = run_bootstrap(emu, tmp_path / "first.env")
    assert first.returncode == 0, first.stderr
    env = parse_env(tmp_path / "first.env")
    assert set(env) == BOOTSTRAP_KEYS
    assert env["AWS_ENDPOINT_URL"] == emu.url
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == REGION
    assert env["AWS_ACCESS_KEY_ID"] == env["AWS_SECRET_ACCESS_KEY"] == "test"
    assert env["FERRY_INTERNAL_DOMAIN"] == "ferry.internal"

    second = run_bootstrap(emu, tmp_path / "second.env")
    assert second.returncode == 0, second.stderr
    assert (tmp_path / "second.env").read_text() == (tmp_path / "first.env").read_text()
    assert "created" not in second.stderr

    ecs, ec2, elbv2 = emu.client("ecs"), emu.client("ec2"), emu.client("elbv2")
    route53, logs, iam = emu.client("route53"), emu.client("logs"), emu.client("iam")

    (cluster,) = ecs.describe_clusters(clusters=[env["FERRY_CLUSTER"]])["clusters"]
    assert cluster["clusterName"] == "ferry-local" and cluster["status"] == "ACTIVE"
    assert cluster["capacityProviders"] == ["FARGATE", "FARGATE_SPOT"]

    (vpc,) = ec2.describe_vpcs(VpcIds=[env["FERRY_VPC_ID"]])["Vpcs"]
    assert vpc["CidrBlock"] == "10.0.0.0/16"
    subnet_ids = env["FERRY_SUBNETS"].split(",")
    subnets = ec2.describe_subnets(SubnetIds=subnet_ids)["Subnets"]
    assert len(subnets) == 2 and {s["VpcId"] for s in subnets} == {vpc["VpcId"]}
    assert len({s["AvailabilityZone"] for s in subnets}) == 2
    assert len(ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["Subnets"]) == 2
    (group,) = ec2.describe_security_groups(GroupIds=env["FERRY_SECURITY_GROUPS"].split(","))["SecurityGroups"]
    assert group["VpcId"] == vpc["VpcId"]
    assert len(ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": ["ferry-local"]}])["Vpcs"]) == 1

    groups = logs.describe_log_groups(logGroupNamePrefix=env["FERRY_LOG_GROUP"])["logGroups"]
    assert [g["logGroupName"] for g in groups] == ["/ferry/local"]

    role = iam.get_role(RoleName="ferry-local-execution")["Role"]
    assert role["Arn"] == env["FERRY_EXECUTION_ROLE_ARN"]
    scheduler_role = iam.get_role(RoleName="ferry-local-scheduler")["Role"]
    assert scheduler_role["Arn"] == env["FERRY_SCHEDULER_ROLE_ARN"]
    trust = scheduler_role["AssumeRolePolicyDocument"]
    assert trust["Statement"][0]["Principal"] == {"Service": "scheduler.amazonaws.com"}
    infrastructure_role = iam.get_role(RoleName="ferry-local-ecs-infrastructure")["Role"]
    assert infrastructure_role["Arn"] == env["FERRY_ECS_INFRASTRUCTURE_ROLE_ARN"]
    (statement,) = infrastructure_role["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "ecs.amazonaws.com"}
    assert statement["Action"] == "sts:AssumeRole" and "Condition" not in statement

    # The schedules' dead-letter queue, as ferry.yaml makes it, named after
    # the default table; one after two runs.
    sqs = emu.client("sqs")
    assert env["FERRY_SCHEDULE_DLQ_ARN"].endswith(":ferry-ferry-schedule-dlq")
    (url,) = sqs.list_queues(QueueNamePrefix="ferry-")["QueueUrls"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["QueueArn"] == env["FERRY_SCHEDULE_DLQ_ARN"]
    assert attributes["MessageRetentionPeriod"] == "1209600"
    assert attributes["SqsManagedSseEnabled"] == "true"

    lbs = {lb["LoadBalancerName"]: lb for lb in elbv2.describe_load_balancers()["LoadBalancers"]}
    assert sorted(lbs) == ["ferry-internal", "ferry-public"]  # not four after two runs
    assert lbs["ferry-internal"]["Scheme"] == "internal"
    assert lbs["ferry-public"]["Scheme"] == "internet-facing"
    for name, key, test_key in [
            ("ferry-internal", "FERRY_INTERNAL_LISTENER_ARN", "FERRY_INTERNAL_TEST_LISTENER_ARN"),
            ("ferry-public", "FERRY_PUBLIC_LISTENER_ARN", "FERRY_PUBLIC_TEST_LISTENER_ARN")]:
        lb = lbs[name]
        assert lb["Type"] == "application" and lb["VpcId"] == vpc["VpcId"]
        listeners = elbv2.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]
        by_port = {listener["Port"]: listener for listener in listeners}
        assert sorted(by_port) == [80, 9080]  # not four after two runs
        assert by_port[80]["ListenerArn"] == env[key]
        assert by_port[9080]["ListenerArn"] == env[test_key]
        for listener in listeners:
            assert listener["Protocol"] == "HTTP"
            (action,) = listener["DefaultActions"]
            assert action["Type"] == "fixed-response"
            assert action["FixedResponseConfig"]["StatusCode"] == "404"

    zones = route53.list_hosted_zones()["HostedZones"]
    assert sorted(z["Name"] for z in zones) == ["example.com.", "ferry.internal."]
    internal = route53.get_hosted_zone(Id=env["FERRY_INTERNAL_ZONE_ID"])
    assert internal["HostedZone"]["Name"] == "ferry.internal."
    assert internal["HostedZone"]["Config"]["PrivateZone"] is True
    assert [v["VPCId"] for v in internal["VPCs"]] == [vpc["VpcId"]]
    (public_id,) = env["FERRY_PUBLIC_ZONE_IDS"].split(",")
    public = route53.get_hosted_zone(Id=public_id)["HostedZone"]
    assert public["Name"] == "example.com." and public["Config"]["PrivateZone"] is False


def test_the_dead_letter_queue_is_named_after_the_table(fresh_emulator, tmp_path):
    import bootstrap  # deploy/local/bootstrap.py (conftest puts deploy/local on the path)

    assert bootstrap.dead_letter_queue_name("ferry") == "ferry-ferry-schedule-dlq"
    assert bootstrap.dead_letter_queue_name("a.b") == "ferry-a-b-schedule-dlq"
    assert len(bootstrap.dead_letter_queue_name("t" * 255)) == 80
    result = subprocess.run(
        [sys.executable, str(BOOTSTRAP), "--endpoint", fresh_emulator.url, "--env-file",
         str(tmp_path / "env"), "--region", REGION, "--table", "staging"],
        capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert parse_env(tmp_path / "env")["FERRY_SCHEDULE_DLQ_ARN"].endswith(":ferry-staging-schedule-dlq")


def test_bootstrap_refuses_a_non_loopback_endpoint(tmp_path):
    result = subprocess.run(
        [sys.executable, str(BOOTSTRAP), "--endpoint", "http://192.0.2.1:4566",
         "--env-file", str(tmp_path / "env")],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode != 0 and "loopback" in result.stderr
    assert not (tmp_path / "env").exists()


# -- process lifecycle ---------------------------------------------------------

def test_emulator_stops_on_sigterm_by_pid(fresh_emulator):
    fresh_emulator.client("ecs").list_clusters()
    assert fresh_emulator.stop(timeout=10) == 0
    assert fresh_emulator.proc.poll() == 0


def test_emulator_refuses_a_non_loopback_host(tmp_path):
    result = subprocess.run(
        [sys.executable, str(EMULATOR), "--host", "0.0.0.0", "--port", "0",
         "--port-file", str(tmp_path / "port")],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 2 and "loopback" in result.stderr
    assert not (tmp_path / "port").exists()


def test_emulator_prints_its_address(fresh_emulator):
    out = (fresh_emulator.stderr_path.parent / "emulator.stdout").read_text()
    assert out == f"listening on http://127.0.0.1:{fresh_emulator.port}\n"
    assert os.path.exists(fresh_emulator.stderr_path)
