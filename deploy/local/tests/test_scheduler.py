"""EventBridge Scheduler, with boto3 against emulator.py: validation moto
lacks, and schedules that fire ECS tasks.

The emulator runs its schedule clock 20 times as fast as real time
(FERRY_EMULATOR_SCHEDULE_TIME_SCALE=0.05): rate(1 minute) fires every 3 s.
"""

from __future__ import annotations

import time

import pytest
from botocore.exceptions import ClientError

from conftest import start_emulator

ROLE = "arn:aws:iam::123456789012:role/scheduler"


@pytest.fixture(scope="module")
def emu(emulator_with):
    return emulator_with("scheduler", {
        "FERRY_EMULATOR_SCHEDULE_TIME_SCALE": "0.05",
        "FERRY_EMULATOR_TASK_RUN_SECONDS": "30",
    })


@pytest.fixture(scope="module")
def cluster(emu):
    ecs = emu.client("ecs")
    arn = ecs.create_cluster(clusterName="sched")["cluster"]["clusterArn"]
    td = ecs.register_task_definition(
        family="acme_nightly", requiresCompatibilities=["FARGATE"], networkMode="awsvpc",
        cpu="256", memory="512",
        containerDefinitions=[{"name": "nightly", "image": "acme:1", "essential": True}],
    )["taskDefinition"]["taskDefinitionArn"]
    ec2 = emu.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    # moto's RunTask needs DNS hostnames for awsvpc tasks (bootstrap.py turns them on).
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.9.1.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName="tasks", Description="tasks", VpcId=vpc)["GroupId"]
    SUBNETS[:] = [subnet]
    GROUPS[:] = [group]
    return arn, td


SUBNETS: list[str] = []
GROUPS: list[str] = []


def target(cluster_arn, td, tags=None, **extra):
    return {"Arn": cluster_arn, "RoleArn": ROLE, "EcsParameters": {
        "TaskDefinitionArn": td, "LaunchType": "FARGATE", "Group": "ferry:schedule",
        "NetworkConfiguration": {"awsvpcConfiguration": {
            "Subnets": SUBNETS, "SecurityGroups": GROUPS, "AssignPublicIp": "DISABLED"}},
        "Tags": tags if tags is not None else [{"ferry:app": "acme"}, {"ferry:process": "nightly"}],
    }, **extra}


def code(excinfo) -> str:
    return excinfo.value.response["Error"]["Code"]


def test_a_group_that_exists_cannot_be_created_again(emu):
    scheduler = emu.client("scheduler")
    scheduler.create_schedule_group(Name="dup", Tags=[{"Key": "ferry:managed-by", "Value": "x"}])
    with pytest.raises(ClientError) as e:
        scheduler.create_schedule_group(Name="dup")
    assert code(e) == "ConflictException"
    tags = scheduler.list_tags_for_resource(
        ResourceArn=scheduler.get_schedule_group(Name="dup")["Arn"])["Tags"]
    assert tags == [{"Key": "ferry:managed-by", "Value": "x"}]


def test_a_schedule_in_a_missing_group_is_not_found(emu, cluster):
    with pytest.raises(ClientError) as e:
        emu.client("scheduler").create_schedule(
            Name="x", GroupName="nope", ScheduleExpression="rate(1 minute)",
            FlexibleTimeWindow={"Mode": "OFF"}, Target=target(*cluster))
    assert code(e) == "ResourceNotFoundException"


@pytest.mark.parametrize("changes", [
    {"ScheduleExpression": "rate(1 minutes)"},
    {"ScheduleExpression": "cron(0 3 * * * *)"},
    {"ScheduleExpressionTimezone": "Mars/Olympus"},
    {"Name": "has space"},
    {"Name": "x" * 65},
])
def test_invalid_schedules_are_refused(emu, cluster, changes):
    params = {"Name": "bad", "ScheduleExpression": "rate(1 minute)",
              "FlexibleTimeWindow": {"Mode": "OFF"}, "Target": target(*cluster), **changes}
    with pytest.raises(ClientError) as e:
        emu.client("scheduler").create_schedule(**params)
    assert code(e) == "ValidationException"


# botocore itself refuses the other shapes (a string, an empty value, a
# number); the unit tests cover them (test_schedule_delivery.py).
@pytest.mark.parametrize("tags", [
    [{"k" * 129: "v"}],
    [{f"t{i}": "v"} for i in range(51)],
])
def test_tags_must_be_string_to_string_maps(emu, cluster, tags):
    with pytest.raises(ClientError) as e:
        emu.client("scheduler").create_schedule(
            Name="tags", ScheduleExpression="rate(1 minute)", FlexibleTimeWindow={"Mode": "OFF"},
            Target=target(*cluster, tags=tags))
    assert code(e) == "ValidationException"


@pytest.mark.parametrize("extra", [
    {"RetryPolicy": {"MaximumRetryAttempts": 186}},
    {"RetryPolicy": {"MaximumEventAgeInSeconds": 86401}},
    {"DeadLetterConfig": {"Arn": "arn:aws:sns:us-east-1:123456789012:topic"}},
])
def test_retry_policy_and_dead_letter_queue_are_checked(emu, cluster, extra):
    with pytest.raises(ClientError) as e:
        emu.client("scheduler").create_schedule(
            Name="policy", ScheduleExpression="rate(1 minute)", FlexibleTimeWindow={"Mode": "OFF"},
            Target=target(*cluster, **extra))
    assert code(e) == "ValidationException"


def dead_letters(emu, url, want=1, timeout=20.0):
    sqs = emu.client("sqs")
    got = []
    deadline = time.monotonic() + timeout
    while len(got) < want and time.monotonic() < deadline:
        got += sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1,
                                   MessageAttributeNames=["All"]).get("Messages", [])
    return got


def test_ecs_shaped_tag_maps_fail_every_run_into_the_dead_letter_queue(emu, cluster):
    """What Ferry sent before issue 18: one {"key", "value"} map per tag.

    Scheduler reads each map's entries as tags, so three maps make three
    tags named key (and three named value): ECS refuses the RunTask, the
    retries fail the same way, and the dead letter says why.
    """
    cluster_arn, td = cluster
    sqs = emu.client("sqs")
    url = sqs.create_queue(QueueName="legacy-dlq")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]
    legacy = [{"key": k, "value": v} for k, v in
              (("ferry:app", "acme"), ("ferry:process", "legacy"), ("ferry:managed-by", "ferry"))]
    scheduler = emu.client("scheduler")
    scheduler.create_schedule(
        Name="acme_legacy", ScheduleExpression="rate(1 minute)", FlexibleTimeWindow={"Mode": "OFF"},
        Target=target(cluster_arn, td, tags=legacy,
                      RetryPolicy={"MaximumRetryAttempts": 2, "MaximumEventAgeInSeconds": 300},
                      DeadLetterConfig={"Arn": queue_arn}))
    try:
        messages = dead_letters(emu, url)
        assert messages, "rate(1 minute) at scale 0.05 fails into the queue within ~3 s"
        attributes = {k: v["StringValue"] for k, v in messages[0]["MessageAttributes"].items()}
        assert attributes["ERROR_CODE"] == "InvalidParameterException"
        assert attributes["ERROR_MESSAGE"] == "Multiple tags contain the same key."
        assert attributes["RETRY_ATTEMPTS"] == "2"
        assert attributes["EXHAUSTED_RETRY_CONDITION"] == "MaximumRetryAttempts"
        assert attributes["SCHEDULE_ARN"].endswith(":schedule/default/acme_legacy")
        assert attributes["TARGET_ARN"] == cluster_arn
        assert attributes["IS_PAYLOAD_TRUNCATED"] == "false"
        assert attributes["EXECUTION_ID"]
        assert attributes["SCHEDULED_TIME"].endswith("Z")
        assert scheduled_tasks(emu, cluster_arn, "acme_legacy") == []
    finally:
        scheduler.delete_schedule(Name="acme_legacy")


def test_a_failure_without_a_dead_letter_queue_is_dropped_after_its_retries(emu, cluster):
    cluster_arn, td = cluster
    scheduler = emu.client("scheduler")
    legacy = [{"key": "a", "value": "1"}, {"key": "b", "value": "2"}]
    scheduler.create_schedule(
        Name="acme_nodlq", ScheduleExpression="rate(1 minute)", FlexibleTimeWindow={"Mode": "OFF"},
        Target=target(cluster_arn, td, tags=legacy, RetryPolicy={"MaximumRetryAttempts": 0}))
    time.sleep(4)
    assert scheduled_tasks(emu, cluster_arn, "acme_nodlq") == []
    scheduler.delete_schedule(Name="acme_nodlq")


def test_update_without_state_enables_again(emu, cluster):
    scheduler = emu.client("scheduler")
    scheduler.create_schedule(Name="state", ScheduleExpression="rate(1 day)", State="DISABLED",
                              FlexibleTimeWindow={"Mode": "OFF"}, Target=target(*cluster))
    scheduler.update_schedule(Name="state", ScheduleExpression="rate(2 days)",
                              FlexibleTimeWindow={"Mode": "OFF"}, Target=target(*cluster))
    assert scheduler.get_schedule(Name="state")["State"] == "ENABLED"
    scheduler.delete_schedule(Name="state")


def scheduled_tasks(emu, cluster_arn, name):
    ecs = emu.client("ecs")
    arns = ecs.list_tasks(cluster=cluster_arn, startedBy=f"chronos-schedule/{name}")["taskArns"]
    if not arns:
        return []
    return ecs.describe_tasks(cluster=cluster_arn, tasks=arns, include=["TAGS"])["tasks"]


def first_scheduled_task(emu, cluster_arn, name) -> dict:
    deadline = time.monotonic() + 20
    tasks = []
    while not tasks and time.monotonic() < deadline:
        time.sleep(0.5)
        tasks = scheduled_tasks(emu, cluster_arn, name)
    assert tasks, "rate(1 minute) at scale 0.05 should fire within ~3 s"
    return tasks[0]


def test_an_enabled_rate_schedule_runs_its_task(emu, cluster):
    cluster_arn, td = cluster
    scheduler = emu.client("scheduler")
    scheduler.create_schedule_group(Name="fire")
    scheduler.create_schedule(Name="acme_nightly", GroupName="fire",
                              ScheduleExpression="rate(1 minute)",
                              FlexibleTimeWindow={"Mode": "OFF"}, Target=target(cluster_arn, td))
    task = first_scheduled_task(emu, cluster_arn, "acme_nightly")
    assert task["taskDefinitionArn"] == td
    assert task["startedBy"] == "chronos-schedule/acme_nightly"
    assert {"key": "ferry:app", "value": "acme"} in task["tags"]
    assert {"key": "ferry:process", "value": "nightly"} in task["tags"]
    assert task["group"] == "ferry:schedule", "EcsParameters.Group is the task's group"
    runs = [r for r in emu.requests() if r["operation"] == "RunTask"]
    assert runs and runs[-1].get("agent") == "eventbridge-scheduler"
    scheduler.delete_schedule(Name="acme_nightly", GroupName="fire")


def test_a_disabled_schedule_does_not_fire(emu, cluster):
    cluster_arn, td = cluster
    scheduler = emu.client("scheduler")
    scheduler.create_schedule(Name="off", ScheduleExpression="rate(1 minute)", State="DISABLED",
                              FlexibleTimeWindow={"Mode": "OFF"}, Target=target(cluster_arn, td))
    time.sleep(4)
    assert scheduled_tasks(emu, cluster_arn, "off") == []
    scheduler.delete_schedule(Name="off")


def test_a_bad_time_scale_stops_the_emulator(tmp_path):
    with pytest.raises(RuntimeError, match="FERRY_EMULATOR_SCHEDULE_TIME_SCALE"):
        start_emulator(tmp_path, env={"FERRY_EMULATOR_SCHEDULE_TIME_SCALE": "0"})


def spot_target(cluster_arn, td, **ecs_extra):
    spot = target(cluster_arn, td)
    del spot["EcsParameters"]["LaunchType"]
    spot["EcsParameters"].update(
        CapacityProviderStrategy=[{"capacityProvider": "FARGATE_SPOT", "weight": 1}],
        EnableExecuteCommand=True, **ecs_extra)
    return spot


def test_a_schedule_on_spot_runs_its_task_on_fargate_spot_with_exec(emu, cluster):
    _, td = cluster
    spot_cluster = emu.client("ecs").create_cluster(
        clusterName="sched-spot", capacityProviders=["FARGATE", "FARGATE_SPOT"])["cluster"]["clusterArn"]
    scheduler = emu.client("scheduler")
    scheduler.create_schedule_group(Name="spot")
    scheduler.create_schedule(Name="acme_spot", GroupName="spot", ScheduleExpression="rate(1 minute)",
                              FlexibleTimeWindow={"Mode": "OFF"}, Target=spot_target(spot_cluster, td))
    task = first_scheduled_task(emu, spot_cluster, "acme_spot")
    assert task["capacityProviderName"] == "FARGATE_SPOT"
    assert task["launchType"] == "FARGATE"
    assert task["enableExecuteCommand"] is True
    scheduler.delete_schedule(Name="acme_spot", GroupName="spot")


def test_launch_type_and_capacity_provider_strategy_together_are_refused(emu, cluster):
    cluster_arn, td = cluster
    scheduler = emu.client("scheduler")
    scheduler.create_schedule_group(Name="both")
    with pytest.raises(ClientError) as refused:
        scheduler.create_schedule(Name="both", GroupName="both", ScheduleExpression="rate(1 minute)",
                                  FlexibleTimeWindow={"Mode": "OFF"},
                                  Target=spot_target(cluster_arn, td, LaunchType="FARGATE"))
    assert code(refused) == "ValidationException"
