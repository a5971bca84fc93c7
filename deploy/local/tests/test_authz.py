"""The request log's ``authz``: the IAM authorizations AWS would make for
each request (ferry_emulation/authz.py), read off real SDK requests to the
emulator, with the resource tags of the emulator's state at the time.

Each expectation is one of the Service Authorization Reference's (see the
citations in authz.py): the resource ARN format, the condition keys, the
dependent actions (tag-on-create, iam:PassRole, the service-linked role,
target tracking's alarms).
"""

from __future__ import annotations

import json
import time

import pytest
from botocore.exceptions import ClientError

from ferry_emulation import authz
from ferry_emulation.wire import AwsRequest

ACCOUNT = "123456789012"
REGION = "us-east-1"
OWNER = [{"key": "ferry:managed-by", "value": "ferry"}, {"key": "ferry:app", "value": "web"}]
ROLE = f"arn:aws:iam::{ACCOUNT}:role/app-exec"


def logged(emulator, operation: str) -> list[dict]:
    return [r for r in emulator.requests() if r["operation"] == operation]


def by_action(line: dict) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for e in line["authz"]:
        out.setdefault(e["action"], []).append(e)
    return out


@pytest.fixture(scope="module")
def ecs(emulator):
    client = emulator.client("ecs")
    client.create_cluster(clusterName="authz")
    return client


def test_register_task_definition_tags_on_create_and_passes_roles(emulator, ecs):
    ecs.register_task_definition(
        family="authz_web", executionRoleArn=ROLE, tags=OWNER,
        containerDefinitions=[{"name": "web", "image": "nginx", "memory": 128}])
    line = logged(emulator, "RegisterTaskDefinition")[-1]
    actions = by_action(line)
    [register] = actions["ecs:RegisterTaskDefinition"]
    assert register["resource"] == f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/authz_web:1"
    assert register["context"]["aws:RequestTag/ferry:managed-by"] == "ferry"
    assert register["context"]["aws:TagKeys"] == ["ferry:app", "ferry:managed-by"]
    [tag] = actions["ecs:TagResource"]
    assert tag["context"]["ecs:CreateAction"] == "RegisterTaskDefinition"
    assert tag["resource"] == f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/authz_web:1"
    [passed] = actions["iam:PassRole"]
    assert passed == {"action": "iam:PassRole", "resource": ROLE,
                      "context": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}


def test_create_update_delete_service_carry_cluster_task_definition_and_tags(emulator, ecs):
    ecs.create_service(cluster="authz", serviceName="web_web", taskDefinition="authz_web",
                       desiredCount=0, tags=OWNER)
    service_arn = f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/authz/web_web"
    cluster_arn = f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/authz"
    actions = by_action(logged(emulator, "CreateService")[-1])
    [create] = actions["ecs:CreateService"]
    assert create["resource"] == service_arn
    assert create["context"]["ecs:cluster"] == cluster_arn
    assert create["context"]["ecs:task-definition"] == f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/authz_web:1"
    assert "aws:ResourceTag/ferry:managed-by" not in create["context"]
    [tag] = actions["ecs:TagResource"]
    assert tag["context"]["ecs:CreateAction"] == "CreateService"

    ecs.update_service(cluster="authz", service="web_web", desiredCount=1)
    [update] = logged(emulator, "UpdateService")[-1]["authz"]
    assert update["action"] == "ecs:UpdateService" and update["resource"] == service_arn
    # The service's tags as they were when the request arrived.
    assert update["context"]["aws:ResourceTag/ferry:managed-by"] == "ferry"
    assert update["context"]["ecs:cluster"] == cluster_arn

    ecs.describe_services(cluster="authz", services=["web_web", "other"])
    described = logged(emulator, "DescribeServices")[-1]["authz"]
    assert [e["resource"] for e in described] == [service_arn, service_arn.replace("web_web", "other")]
    assert "aws:ResourceTag/ferry:managed-by" not in described[1]["context"]

    ecs.delete_service(cluster="authz", service="web_web", force=True)
    [delete] = logged(emulator, "DeleteService")[-1]["authz"]
    assert delete["context"]["aws:ResourceTag/ferry:managed-by"] == "ferry"


def test_run_task_is_authorized_on_the_task_definition_and_passes_its_roles(emulator, ecs):
    started = ecs.run_task(cluster="authz", taskDefinition="authz_web", launchType="FARGATE", tags=OWNER,
                           networkConfiguration={"awsvpcConfiguration": {"subnets": ["subnet-1"]}})
    actions = by_action(logged(emulator, "RunTask")[-1])
    [run] = actions["ecs:RunTask"]
    assert run["resource"] == f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/authz_web:1"
    assert run["context"]["ecs:cluster"] == f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/authz"
    assert run["context"]["aws:RequestTag/ferry:managed-by"] == "ferry"
    [tag] = actions["ecs:TagResource"]
    assert tag["context"]["ecs:CreateAction"] == "RunTask"
    assert [p["resource"] for p in actions["iam:PassRole"]] == [ROLE]

    # The task it started carries its tags: StopTask and DescribeTasks see them.
    task_arn = started["tasks"][0]["taskArn"]
    ecs.describe_tasks(cluster="authz", tasks=[task_arn.rsplit("/", 1)[-1]])
    [described] = logged(emulator, "DescribeTasks")[-1]["authz"]
    assert described["resource"] == f"arn:aws:ecs:{REGION}:{ACCOUNT}:task/authz/{task_arn.rsplit('/', 1)[-1]}"
    assert described["context"]["aws:ResourceTag/ferry:managed-by"] == "ferry"
    ecs.stop_task(cluster="authz", task=task_arn)
    [stop] = logged(emulator, "StopTask")[-1]["authz"]
    assert stop["context"]["aws:ResourceTag/ferry:app"] == "web"
    assert stop["context"]["ecs:cluster"] == f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/authz"


def test_elbv2_target_group_and_rule_tag_on_create(emulator):
    elbv2 = emulator.client("elbv2")
    ec2 = emulator.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    elbv2.create_target_group(Name="authz-tg", Protocol="HTTP", Port=80, VpcId=vpc, TargetType="ip",
                              Tags=[{"Key": "ferry:managed-by", "Value": "ferry"}])
    actions = by_action(logged(emulator, "CreateTargetGroup")[-1])
    [create] = actions["elasticloadbalancing:CreateTargetGroup"]
    assert create["resource"] == f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:targetgroup/authz-tg/{authz.NEW}"
    [tag] = actions["elasticloadbalancing:AddTags"]
    assert tag["context"]["elasticloadbalancing:CreateAction"] == "CreateTargetGroup"
    assert tag["context"]["aws:RequestTag/ferry:managed-by"] == "ferry"

    [group] = elbv2.describe_target_groups(Names=["authz-tg"])["TargetGroups"]
    elbv2.modify_target_group(TargetGroupArn=group["TargetGroupArn"], HealthCheckPath="/up")
    [modify] = logged(emulator, "ModifyTargetGroup")[-1]["authz"]
    assert modify["resource"] == group["TargetGroupArn"]
    assert modify["context"] == {"aws:ResourceTag/ferry:managed-by": "ferry"}


def test_elbv2_rules_are_created_on_their_listener_and_changed_with_their_tags(emulator):
    elbv2 = emulator.client("elbv2")
    ec2 = emulator.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.8.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.8.{i}.0/24", AvailabilityZone=f"us-east-1{z}")
               ["Subnet"]["SubnetId"] for i, z in ((1, "a"), (2, "b"))]
    lb = elbv2.create_load_balancer(Name="authz-lb", Subnets=subnets)["LoadBalancers"][0]["LoadBalancerArn"]
    listener = elbv2.create_listener(LoadBalancerArn=lb, Protocol="HTTP", Port=80, DefaultActions=[
        {"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "404"}}])["Listeners"][0]["ListenerArn"]
    owner = [{"Key": "ferry:managed-by", "Value": "ferry"}]
    rule = elbv2.create_rule(ListenerArn=listener, Priority=10, Tags=owner,
                             Conditions=[{"Field": "host-header", "Values": ["web.example"]}],
                             Actions=[{"Type": "fixed-response",
                                       "FixedResponseConfig": {"StatusCode": "200"}}])["Rules"][0]["RuleArn"]
    actions = by_action(logged(emulator, "CreateRule")[-1])
    assert actions["elasticloadbalancing:CreateRule"][0]["resource"] == listener
    [tag] = actions["elasticloadbalancing:AddTags"]
    assert tag["resource"].startswith(listener.replace(":listener/", ":listener-rule/"))
    assert tag["context"]["elasticloadbalancing:CreateAction"] == "CreateRule"
    elbv2.modify_rule(RuleArn=rule, Conditions=[{"Field": "host-header", "Values": ["api.example"]}])
    [modify] = logged(emulator, "ModifyRule")[-1]["authz"]
    assert modify["resource"] == rule
    assert modify["context"] == {"aws:ResourceTag/ferry:managed-by": "ferry"}


def test_route53_changes_carry_actions_types_and_normalized_names(emulator):
    route53 = emulator.client("route53")
    zone = route53.create_hosted_zone(Name="authz.example", CallerReference="authz")["HostedZone"]["Id"]
    zone_id = zone.rsplit("/", 1)[-1]
    route53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": [
        {"Action": "UPSERT", "ResourceRecordSet": {"Name": "Web.Authz.Example.", "Type": "TXT", "TTL": 60,
                                                   "ResourceRecords": [{"Value": '"x"'}]}},
        {"Action": "CREATE", "ResourceRecordSet": {"Name": "api.authz.example", "Type": "A", "TTL": 60,
                                                   "ResourceRecords": [{"Value": "10.0.0.1"}]}}]})
    [change] = logged(emulator, "ChangeResourceRecordSets")[-1]["authz"]
    assert change["resource"] == f"arn:aws:route53:::hostedzone/{zone_id}"
    assert change["context"] == {
        "route53:ChangeResourceRecordSetsActions": ["UPSERT", "CREATE"],
        "route53:ChangeResourceRecordSetsRecordTypes": ["TXT", "A"],
        "route53:ChangeResourceRecordSetsNormalizedRecordNames": ["web.authz.example", "api.authz.example"],
    }


def test_dynamodb_items_carry_leading_keys_and_transactions_are_split(emulator):
    dynamodb = emulator.client("dynamodb")
    dynamodb.create_table(TableName="authz", BillingMode="PAY_PER_REQUEST",
                          KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                                     {"AttributeName": "sk", "KeyType": "RANGE"}],
                          AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                                {"AttributeName": "sk", "AttributeType": "S"}])
    table = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/authz"
    dynamodb.put_item(TableName="authz", Item={"pk": {"S": "app"}, "sk": {"S": "web"}})
    [put] = logged(emulator, "PutItem")[-1]["authz"]
    assert put == {"action": "dynamodb:PutItem", "resource": table, "context": {"dynamodb:LeadingKeys": ["app"]}}
    dynamodb.transact_write_items(TransactItems=[
        {"ConditionCheck": {"TableName": "authz", "Key": {"pk": {"S": "app"}, "sk": {"S": "web"}},
                            "ConditionExpression": "attribute_exists(pk)"}},
        {"Put": {"TableName": "authz", "Item": {"pk": {"S": "release#web"}, "sk": {"S": "1"}}}}])
    entries = logged(emulator, "TransactWriteItems")[-1]["authz"]
    assert [(e["action"], e["context"]["dynamodb:LeadingKeys"]) for e in entries] == [
        ("dynamodb:ConditionCheckItem", ["app"]), ("dynamodb:PutItem", ["release#web"])]
    dynamodb.query(TableName="authz", KeyConditionExpression="#p = :p",
                   ExpressionAttributeNames={"#p": "pk"}, ExpressionAttributeValues={":p": {"S": "app"}})
    [query] = logged(emulator, "Query")[-1]["authz"]
    assert query["context"] == {"dynamodb:LeadingKeys": ["app"]}


def test_autoscaling_needs_the_service_linked_role_once_and_target_tracking_alarms(emulator, ecs):
    aas = emulator.client("application-autoscaling")
    target = dict(ServiceNamespace="ecs", ResourceId="service/authz/web_web",
                  ScalableDimension="ecs:service:DesiredCount")
    aas.register_scalable_target(**target, MinCapacity=1, MaxCapacity=3,
                                 Tags={"ferry:managed-by": "ferry"})
    actions = by_action(logged(emulator, "RegisterScalableTarget")[-1])
    [register] = actions["application-autoscaling:RegisterScalableTarget"]
    assert register["context"]["application-autoscaling:service-namespace"] == "ecs"
    assert register["context"]["application-autoscaling:scalable-dimension"] == "ecs:service:DesiredCount"
    assert register["context"]["aws:RequestTag/ferry:managed-by"] == "ferry"
    assert "application-autoscaling:TagResource" in actions
    [slr] = actions["iam:CreateServiceLinkedRole"]
    assert slr["context"] == {"iam:AWSServiceName": "ecs.application-autoscaling.amazonaws.com"}

    aas.register_scalable_target(**target, MinCapacity=1, MaxCapacity=4)
    again = by_action(logged(emulator, "RegisterScalableTarget")[-1])
    assert "iam:CreateServiceLinkedRole" not in again
    [update] = again["application-autoscaling:RegisterScalableTarget"]
    assert update["resource"].startswith(f"arn:aws:application-autoscaling:{REGION}:{ACCOUNT}:scalable-target/")
    assert authz.NEW not in update["resource"]
    assert update["context"]["aws:ResourceTag/ferry:managed-by"] == "ferry"

    aas.put_scaling_policy(**target, PolicyName="cpu", PolicyType="TargetTrackingScaling",
                           TargetTrackingScalingPolicyConfiguration={
                               "TargetValue": 60.0, "PredefinedMetricSpecification": {
                                   "PredefinedMetricType": "ECSServiceAverageCPUUtilization"}})
    actions = by_action(logged(emulator, "PutScalingPolicy")[-1])
    assert actions["application-autoscaling:PutScalingPolicy"][0]["context"][
        "aws:ResourceTag/ferry:managed-by"] == "ferry"
    for action in ("cloudwatch:PutMetricAlarm", "cloudwatch:DescribeAlarms", "cloudwatch:DeleteAlarms"):
        for alarm in actions[action]:
            assert alarm["resource"].startswith(
                f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:TargetTracking-service/authz/web_web-Alarm")
    aas.deregister_scalable_target(**target)
    actions = by_action(logged(emulator, "DeregisterScalableTarget")[-1])
    assert {"cloudwatch:DescribeAlarms", "cloudwatch:DeleteAlarms"} <= set(actions)


def test_scheduler_passes_the_target_role_and_tags_its_group(emulator):
    scheduler = emulator.client("scheduler")
    scheduler.create_schedule_group(Name="ferry-authz", Tags=[{"Key": "ferry:managed-by", "Value": "ferry"}])
    actions = by_action(logged(emulator, "CreateScheduleGroup")[-1])
    group = f"arn:aws:scheduler:{REGION}:{ACCOUNT}:schedule-group/ferry-authz"
    assert actions["scheduler:CreateScheduleGroup"][0]["resource"] == group
    assert actions["scheduler:TagResource"][0]["context"]["aws:RequestTag/ferry:managed-by"] == "ferry"
    role = f"arn:aws:iam::{ACCOUNT}:role/scheduler"
    scheduler.create_schedule(Name="web-nightly", GroupName="ferry-authz", ScheduleExpression="rate(1 day)",
                              FlexibleTimeWindow={"Mode": "OFF"},
                              Target={"Arn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/authz", "RoleArn": role})
    actions = by_action(logged(emulator, "CreateSchedule")[-1])
    assert actions["scheduler:CreateSchedule"][0]["resource"] == \
        f"arn:aws:scheduler:{REGION}:{ACCOUNT}:schedule/ferry-authz/web-nightly"
    assert actions["iam:PassRole"] == [{"action": "iam:PassRole", "resource": role,
                                        "context": {"iam:PassedToService": "scheduler.amazonaws.com"}}]
    scheduler.get_schedule(Name="web-nightly", GroupName="ferry-authz")
    [get] = logged(emulator, "GetSchedule")[-1]["authz"]
    assert get["resource"] == f"arn:aws:scheduler:{REGION}:{ACCOUNT}:schedule/ferry-authz/web-nightly"


def test_sqs_reads_are_authorized_on_the_queue_with_its_tags(emulator):
    sqs = emulator.client("sqs")
    url = sqs.create_queue(QueueName="authz-dlq", tags={"ferry:managed-by": "ferry"})["QueueUrl"]
    sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0)
    [receive] = logged(emulator, "ReceiveMessage")[-1]["authz"]
    assert receive == {"action": "sqs:ReceiveMessage", "resource": f"arn:aws:sqs:{REGION}:{ACCOUNT}:authz-dlq",
                       "context": {"aws:ResourceTag/ferry:managed-by": "ferry"}}
    sqs.get_queue_url(QueueName="authz-dlq")
    [get] = logged(emulator, "GetQueueUrl")[-1]["authz"]
    assert get["resource"] == f"arn:aws:sqs:{REGION}:{ACCOUNT}:authz-dlq"


def test_the_progress_ticks_stopped_task_reads_and_log_tail(emulator, ecs):
    # Issue 22: ListTasks on "*" with ecs:cluster (no resource type Ferry
    # could name), DescribeTasks on each task, GetLogEvents on the stream.
    cluster = f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/authz"
    ecs.list_tasks(cluster="authz", desiredStatus="STOPPED")
    [listing] = logged(emulator, "ListTasks")[-1]["authz"]
    assert listing == {"action": "ecs:ListTasks", "resource": "*",
                       "context": {"ecs:cluster": cluster}}
    ecs.describe_tasks(cluster="authz", tasks=["0123abcd"])
    [described] = logged(emulator, "DescribeTasks")[-1]["authz"]
    assert (described["resource"], described["context"]["ecs:cluster"]) == (
        f"arn:aws:ecs:{REGION}:{ACCOUNT}:task/authz/0123abcd", cluster)
    logs = emulator.client("logs")
    logs.create_log_group(logGroupName="/authz/apps")
    logs.create_log_stream(logGroupName="/authz/apps", logStreamName="shop/web/0123abcd")
    logs.get_log_events(logGroupName="/authz/apps", logStreamName="shop/web/0123abcd",
                        startFromHead=False, limit=5)
    [tail] = logged(emulator, "GetLogEvents")[-1]["authz"]
    assert tail == {"action": "logs:GetLogEvents", "resource":
                    f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/authz/apps:"
                    "log-stream:shop/web/0123abcd", "context": {}}


def test_an_unmapped_operation_is_marked_unknown_never_empty(emulator):
    emulator.client("ec2").describe_vpcs()
    line = logged(emulator, "DescribeVpcs")[-1]
    assert "authz" not in line
    assert "ec2" in line["authz_unknown"]


def test_get_caller_identity_needs_nothing(emulator):
    emulator.client("sts").get_caller_identity()
    line = logged(emulator, "GetCallerIdentity")[-1]
    assert line["authz"] == []


def test_a_mapping_error_is_unknown_not_allowed():
    class Broken(authz.State):
        def task_definition(self, region, ref):
            raise RuntimeError("boom")

    body = json.dumps({"cluster": "c", "taskDefinition": "f"}).encode()
    request = AwsRequest(environ={}, body=body, service="ecs", operation="RunTask", region=REGION)
    fields = authz.log_fields(request, Broken())
    assert "authz" not in fields and "boom" in fields["authz_unknown"]


def test_task_role_and_execution_role_are_both_passed_at_registration_and_run(emulator, ecs):
    task_role = f"arn:aws:iam::{ACCOUNT}:role/ferry-apps/shop"
    ecs.register_task_definition(
        family="authz_roles", taskRoleArn=task_role, executionRoleArn=ROLE,
        containerDefinitions=[{"name": "web", "image": "nginx", "memory": 128}])
    passed = by_action(logged(emulator, "RegisterTaskDefinition")[-1])["iam:PassRole"]
    assert sorted(p["resource"] for p in passed) == sorted([task_role, ROLE])
    assert {p["context"]["iam:PassedToService"] for p in passed} == {"ecs-tasks.amazonaws.com"}
    ecs.run_task(cluster="authz", taskDefinition="authz_roles", launchType="FARGATE",
                 networkConfiguration={"awsvpcConfiguration": {"subnets": ["subnet-1"]}})
    passed = by_action(logged(emulator, "RunTask")[-1])["iam:PassRole"]
    assert sorted(p["resource"] for p in passed) == sorted([task_role, ROLE])


def test_execute_command_is_authorized_on_the_cluster_and_the_task(emulator, ecs):
    cluster = f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/authz"
    task = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task/authz/0123456789abcdef"
    with pytest.raises(Exception):  # no such task: refused, and authorized all the same
        ecs.execute_command(cluster="authz", task="0123456789abcdef", container="web",
                            command="sh", interactive=True)
    entries = logged(emulator, "ExecuteCommand")[-1]["authz"]
    assert [(e["action"], e["resource"]) for e in entries] == [
        ("ecs:ExecuteCommand", cluster), ("ecs:ExecuteCommand", task)]
    for e in entries:
        assert e["context"] == {"ecs:cluster": cluster, "ecs:task": task, "ecs:container-name": "web"}


def test_a_service_tasks_tags_reach_execute_command(emulator, ecs):
    # Service tasks exist in the layer only: their tags (the service's, with
    # propagateTags SERVICE) must still be aws:ResourceTag, or the deployer's
    # tag-scoped ecs:ExecuteCommand would never match them.
    ec2 = emulator.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.12.0.0/16")["Vpc"]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.12.1.0/24")["Subnet"]["SubnetId"]
    ecs.create_service(cluster="authz", serviceName="tagged", taskDefinition="authz_web",
                       desiredCount=1, launchType="FARGATE", tags=OWNER, propagateTags="SERVICE",
                       networkConfiguration={"awsvpcConfiguration": {"subnets": [subnet]}})
    arns = []
    for _ in range(100):
        arns = ecs.list_tasks(cluster="authz", serviceName="tagged")["taskArns"]
        if arns:
            break
        time.sleep(0.05)
    assert arns
    with pytest.raises(Exception):  # not RUNNING yet, or no exec: refused either way
        ecs.execute_command(cluster="authz", task=arns[0], container="web", command="sh",
                            interactive=True)
    _, on_task = logged(emulator, "ExecuteCommand")[-1]["authz"]
    assert on_task["resource"] == arns[0]
    assert on_task["context"]["aws:ResourceTag/ferry:managed-by"] == "ferry"


# -- issue 23: service deployments, the infrastructure role, CloudWatch alarms ------------

DEPLOYMENT = f"arn:aws:ecs:{REGION}:{ACCOUNT}:service-deployment/authz/web_web/dep-0123"
INFRASTRUCTURE_ROLE = f"arn:aws:iam::{ACCOUNT}:role/ferry-ecs-infrastructure"


def call_ignoring_errors(call, **params):
    """The request is logged with its authorization whether or not the
    emulator serves the operation."""
    try:
        call(**params)
    except ClientError:
        pass


def test_service_deployments_are_authorized_on_the_deployment_with_cluster_and_service(emulator, ecs):
    cluster = f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/authz"
    service = f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/authz/web_web"
    context = {"ecs:cluster": cluster, "ecs:service": service}
    call_ignoring_errors(ecs.describe_service_deployments, serviceDeploymentArns=[DEPLOYMENT])
    assert logged(emulator, "DescribeServiceDeployments")[-1]["authz"] == [
        {"action": "ecs:DescribeServiceDeployments", "resource": DEPLOYMENT, "context": context}]
    call_ignoring_errors(ecs.continue_service_deployment, serviceDeploymentArn=DEPLOYMENT,
                         hookId="hook-1", action="CONTINUE")
    assert logged(emulator, "ContinueServiceDeployment")[-1]["authz"] == [
        {"action": "ecs:ContinueServiceDeployment", "resource": DEPLOYMENT, "context": context}]
    call_ignoring_errors(ecs.stop_service_deployment, serviceDeploymentArn=DEPLOYMENT, stopType="ROLLBACK")
    assert logged(emulator, "StopServiceDeployment")[-1]["authz"] == [
        {"action": "ecs:StopServiceDeployment", "resource": DEPLOYMENT, "context": context}]
    # The history is listed on the service (ECS's example policy).
    call_ignoring_errors(ecs.list_service_deployments, cluster="authz", service="web_web")
    [listing] = logged(emulator, "ListServiceDeployments")[-1]["authz"]
    assert (listing["action"], listing["resource"], listing["context"]["ecs:cluster"]) == (
        "ecs:ListServiceDeployments", service, cluster)


def test_a_malformed_service_deployment_arn_is_unknown_not_allowed():
    body = json.dumps({"serviceDeploymentArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/authz/web"}).encode()
    request = AwsRequest(environ={}, body=body, service="ecs", operation="StopServiceDeployment",
                         region=REGION)
    fields = authz.log_fields(request, authz.State())
    assert "authz" not in fields and "service deployment" in fields["authz_unknown"]


def test_the_infrastructure_role_is_passed_to_ecs_by_create_and_update_service(emulator, ecs):
    tg = f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:targetgroup/web-a/0123456789abcdef"
    balancer = {"targetGroupArn": tg, "containerName": "web", "containerPort": 8080,
                "advancedConfiguration": {
                    "alternateTargetGroupArn": tg.replace("web-a", "web-b"),
                    "productionListenerRule": f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:listener-rule/app/i/1/2/3",
                    "testListenerRule": f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:listener-rule/app/i/1/4/5",
                    "roleArn": INFRASTRUCTURE_ROLE}}
    passed = {"action": "iam:PassRole", "resource": INFRASTRUCTURE_ROLE,
              "context": {"iam:PassedToService": "ecs.amazonaws.com"}}
    # Two load balancers naming the same role pass it once.
    call_ignoring_errors(ecs.create_service, cluster="authz", serviceName="bg_web", taskDefinition="authz_web",
                         desiredCount=0, tags=OWNER, loadBalancers=[balancer, dict(balancer, containerPort=8081)],
                         deploymentConfiguration={"strategy": "BLUE_GREEN"})
    assert by_action(logged(emulator, "CreateService")[-1])["iam:PassRole"] == [passed]
    call_ignoring_errors(ecs.update_service, cluster="authz", service="web_web", loadBalancers=[balancer])
    assert by_action(logged(emulator, "UpdateService")[-1])["iam:PassRole"] == [passed]
    # A rolling update names no role: nothing is passed.
    call_ignoring_errors(ecs.update_service, cluster="authz", service="web_web", desiredCount=0)
    assert "iam:PassRole" not in by_action(logged(emulator, "UpdateService")[-1])


ALARM = f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:ferry-ferry-shop-web-5xx"
ALARM_TAGS = [{"Key": "ferry:managed-by", "Value": "ferry"}, {"Key": "ferry:app", "Value": "shop"}]


def test_cloudwatch_alarms_over_cbor_carry_their_arn_and_tags(emulator):
    cloudwatch = emulator.client("cloudwatch")
    cloudwatch.put_metric_alarm(
        AlarmName="ferry-ferry-shop-web-5xx", ComparisonOperator="GreaterThanThreshold", Threshold=5.0,
        EvaluationPeriods=3, DatapointsToAlarm=2, TreatMissingData="notBreaching", Tags=ALARM_TAGS,
        Metrics=[{"Id": "req", "ReturnData": True, "MetricStat": {
            "Metric": {"Namespace": "AWS/ApplicationELB", "MetricName": "RequestCount"},
            "Period": 60, "Stat": "Sum"}}])
    put = by_action(logged(emulator, "PutMetricAlarm")[-1])
    [created] = put["cloudwatch:PutMetricAlarm"]
    assert created["resource"] == ALARM
    assert created["context"]["aws:RequestTag/ferry:managed-by"] == "ferry"
    assert "aws:ResourceTag/ferry:managed-by" not in created["context"]  # new: no tags yet
    [tagged] = put["cloudwatch:TagResource"]
    assert tagged["resource"] == ALARM and tagged["context"]["aws:TagKeys"] == ["ferry:app", "ferry:managed-by"]

    cloudwatch.list_tags_for_resource(ResourceARN=ALARM)
    [listed] = logged(emulator, "ListTagsForResource")[-1]["authz"]
    assert (listed["action"], listed["resource"]) == ("cloudwatch:ListTagsForResource", ALARM)
    assert listed["context"]["aws:ResourceTag/ferry:managed-by"] == "ferry"

    cloudwatch.describe_alarms(AlarmNamePrefix="ferry-ferry-")
    assert logged(emulator, "DescribeAlarms")[-1]["authz"] == [
        {"action": "cloudwatch:DescribeAlarms", "resource": ALARM.rsplit(":", 1)[0] + ":*",
         "context": {}}]
    cloudwatch.describe_alarms(AlarmNames=["ferry-ferry-shop-web-5xx"])
    [named] = logged(emulator, "DescribeAlarms")[-1]["authz"]
    assert named["resource"] == ALARM

    cloudwatch.tag_resource(ResourceARN=ALARM, Tags=[{"Key": "team", "Value": "x"}])
    [tag] = logged(emulator, "TagResource")[-1]["authz"]
    assert (tag["action"], tag["context"]["aws:RequestTag/team"]) == ("cloudwatch:TagResource", "x")

    cloudwatch.set_alarm_state(AlarmName="ferry-ferry-shop-web-5xx", StateValue="ALARM", StateReason="test")
    [state] = logged(emulator, "SetAlarmState")[-1]["authz"]
    assert (state["action"], state["resource"]) == ("cloudwatch:SetAlarmState", ALARM)

    cloudwatch.delete_alarms(AlarmNames=["ferry-ferry-shop-web-5xx"])
    [deleted] = logged(emulator, "DeleteAlarms")[-1]["authz"]
    assert (deleted["action"], deleted["resource"]) == ("cloudwatch:DeleteAlarms", ALARM)
    assert deleted["context"]["aws:ResourceTag/ferry:managed-by"] == "ferry"


def test_cloudwatch_over_cbor_is_read_like_json(emulator):
    # The Rust SDK speaks RPC v2 CBOR to CloudWatch: the same entries.
    from test_cloudwatch import CborClient, five_xx_alarm

    CborClient(emulator.url).put_metric_alarm(**five_xx_alarm("ferry-ferry-cbor-web-5xx"))
    put = by_action(logged(emulator, "PutMetricAlarm")[-1])
    [created] = put["cloudwatch:PutMetricAlarm"]
    assert created["resource"] == f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:ferry-ferry-cbor-web-5xx"
    assert created["context"]["aws:RequestTag/ferry:managed-by"] == "ferry"
    assert put["cloudwatch:TagResource"]
    CborClient(emulator.url).delete_alarms(AlarmNames=["ferry-ferry-cbor-web-5xx"])
    [deleted] = logged(emulator, "DeleteAlarms")[-1]["authz"]
    assert deleted["resource"] == created["resource"]
    assert deleted["context"]["aws:ResourceTag/ferry:managed-by"] == "ferry"
