#!/usr/bin/env python3
"""Create Ferry's base AWS environment in the local emulator, idempotently.

    bootstrap.py --endpoint URL --env-file PATH [--region us-east-1] [--table NAME]

Creates (or finds, when a previous run made them):

* ECS cluster ``ferry-local``, with the FARGATE and FARGATE_SPOT capacity providers;
* VPC 10.0.0.0/16 with two subnets in two availability zones and a
  security group;
* CloudWatch Logs group ``/ferry/local``;
* the SSM parameters the demo manifests (manifests/*.yaml) name as secrets
  (``DEMO_PARAMETERS``, placeholder values): the emulator stops a task
  whose secret does not exist before it runs, as ECS does
  (ferry_emulation/task_resources.py);
* IAM task execution role ``ferry-local-execution``;
* IAM role ``ferry-local-scheduler``, assumed by EventBridge Scheduler to
  run scheduled processes' tasks (``FERRY_SCHEDULER_ROLE_ARN``);
* IAM role ``ferry-local-ecs-infrastructure``, trusted by ECS, with which
  it shifts load balancer traffic in blue/green, canary and linear
  deployments (``FERRY_ECS_INFRASTRUCTURE_ROLE_ARN``), as ferry.yaml's
  ``EcsInfrastructureRole``;
* SQS queue ``ferry-<table>-schedule-dlq``, the schedules' dead-letter
  queue (``FERRY_SCHEDULE_DLQ_ARN``), as deploy/cloudformation/ferry.yaml's
  ``ScheduleDeadLetterQueue``: one per installation, named after the table
  (--table, default $FERRY_TABLE or ``ferry``);
* ALBs ``ferry-internal`` (internal) and ``ferry-public`` (internet-facing),
  each with an HTTP:80 listener (production) and an HTTP:9080 test listener
  (``FERRY_INTERNAL_TEST_LISTENER_ARN``, ``FERRY_PUBLIC_TEST_LISTENER_ARN``,
  as environment.yaml's ``TestListenerPort``) whose default actions are a
  fixed 404;
* Route53 private zone ``ferry.internal`` (associated with the VPC) and
  public zone ``example.com``.

Then writes ``export KEY=value`` lines to --env-file (values shell-quoted
only when needed), atomically. Everything is looked up by name or tag
before it is created, because moto does not make these creates idempotent:
a second CreateLoadBalancer or CreateListener with the same name or port,
or a second CreateHostedZone, makes a second resource.

The base resources carry the tag ``ferry-local=base``, never the
``ferry:*`` ownership tags: Ferry must treat them as not its own.

Every request carries ``X-Ferry-Emulator-Faults: off``: the emulator's
fault injection (ferry_emulation/faults.py) leaves the base environment
alone, which is set up for a test, not under test. (A connection reset
after a create would make moto's non-idempotent creates make a second
resource.)
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import shlex
import sys
import uuid
from urllib.parse import urlparse

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

CLUSTER = "ferry-local"
VPC_CIDR = "10.0.0.0/16"
SUBNET_CIDRS = ["10.0.0.0/20", "10.0.16.0/20"]
NAME = "ferry-local"
LOG_GROUP = "/ferry/local"
EXECUTION_ROLE = "ferry-local-execution"
SCHEDULER_ROLE = "ferry-local-scheduler"
INFRASTRUCTURE_ROLE = "ferry-local-ecs-infrastructure"
# ferry.yaml's TestListenerPort default: the port of the listener on which
# ECS sends a blue/green, canary or linear deployment's test traffic.
TEST_LISTENER_PORT = 9080
# ferry.yaml's ScheduleDeadLetterQueue: standard (Scheduler takes no FIFO
# dead-letter queue), SSE-SQS, 14 days' retention.
# https://docs.aws.amazon.com/scheduler/latest/UserGuide/configuring-schedule-dlq.html
DLQ_ATTRIBUTES = {"MessageRetentionPeriod": str(14 * 24 * 3600), "SqsManagedSseEnabled": "true"}
INTERNAL_ALB = "ferry-internal"
PUBLIC_ALB = "ferry-public"
INTERNAL_DOMAIN = "ferry.internal"
PUBLIC_DOMAINS = ["example.com"]
BASE_TAG = {"Key": "ferry-local", "Value": "base"}

FIXED_404 = [{
    "Type": "fixed-response",
    "FixedResponseConfig": {"StatusCode": "404", "ContentType": "text/plain",
                            "MessageBody": "no route"},
}]

ECS_TASKS_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow",
                   "Principal": {"Service": "ecs-tasks.amazonaws.com"},
                   "Action": "sts:AssumeRole"}],
}
# https://docs.aws.amazon.com/scheduler/latest/UserGuide/setting-up.html#setting-up-execution-role
SCHEDULER_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow",
                   "Principal": {"Service": "scheduler.amazonaws.com"},
                   "Action": "sts:AssumeRole"}],
}
# ferry.yaml's EcsInfrastructureRole: ECS assumes it to shift a load
# balancer's traffic in blue/green, canary and linear deployments. The
# trust policy is AWS's own ("Creating the Amazon ECS infrastructure role
# for load balancers"), which documents no aws:SourceAccount or
# aws:SourceArn condition for it; who may hand the role to ECS is limited
# by iam:PassRole instead (the controller's policy).
# https://docs.aws.amazon.com/AmazonECS/latest/developerguide/AmazonECSInfrastructureRolePolicyForLoadBalancers.html
ECS_INFRASTRUCTURE_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Sid": "AllowAccessToECSForInfrastructureManagement", "Effect": "Allow",
                   "Principal": {"Service": "ecs.amazonaws.com"},
                   "Action": "sts:AssumeRole"}],
}
INFRASTRUCTURE_POLICY_ARN = "arn:aws:iam::aws:policy/AmazonECSInfrastructureRolePolicyForLoadBalancers"
# What the scheduler needs to start a task (the CloudFormation template's
# SchedulerRole scopes it to the cluster; the local one need not).
SCHEDULER_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": ["ecs:RunTask", "ecs:TagResource"], "Resource": "*"},
        {"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*",
         "Condition": {"StringLike": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}},
        # Scheduler sends a failed invocation to the dead-letter queue with
        # the schedule's execution role.
        {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*"},
    ],
}
# The permissions of the AWS managed AmazonECSTaskExecutionRolePolicy
# (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_execution_IAM_role.html),
# inline, because moto does not load AWS managed policies by default.
EXECUTION_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Resource": "*", "Action": [
        "ecr:GetAuthorizationToken", "ecr:BatchCheckLayerAvailability",
        "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage",
        "logs:CreateLogStream", "logs:PutLogEvents",
        "ssm:GetParameters", "secretsmanager:GetSecretValue",
    ]}],
}


def log(msg: str) -> None:
    print(f"bootstrap: {msg}", file=sys.stderr, flush=True)


def clients(endpoint: str, region: str) -> dict[str, object]:
    # A developer's profile (perhaps one that does not exist here) must not
    # leak into the local environment: the keys below are all we use.
    for var in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        os.environ.pop(var, None)
    session = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test",
                                    region_name=region)
    cfg = Config(retries={"max_attempts": 3, "mode": "standard"},
                 connect_timeout=5, read_timeout=60)
    made = {name: session.client(name, endpoint_url=endpoint, config=cfg)
            for name in ("ecs", "ec2", "logs", "iam", "elbv2", "route53", "sqs", "ssm")}
    for client in made.values():
        client.meta.events.register("before-sign", _no_faults)
    return made


# The emulator's fault injection skips requests with this header (faults.EXEMPT_HEADER).
NO_FAULTS_HEADER = "X-Ferry-Emulator-Faults"


def _no_faults(request, **_kwargs) -> None:
    request.headers[NO_FAULTS_HEADER] = "off"


# -- ECS ---------------------------------------------------------------------

CAPACITY_PROVIDERS = ["FARGATE", "FARGATE_SPOT"]


def ensure_cluster(ecs) -> str:
    # CreateCluster is idempotent on AWS and in moto. Both Fargate capacity
    # providers, as environment.yaml gives its cluster: a process with
    # ``capacity`` runs by a capacity provider strategy, which may name only
    # providers associated with the cluster (API_CreateService.html).
    arn = ecs.create_cluster(clusterName=CLUSTER)["cluster"]["clusterArn"]
    ecs.put_cluster_capacity_providers(cluster=CLUSTER, capacityProviders=CAPACITY_PROVIDERS,
                                       defaultCapacityProviderStrategy=[])
    log(f"cluster {CLUSTER} (capacity providers {', '.join(CAPACITY_PROVIDERS)})")
    return arn


# -- network -----------------------------------------------------------------

def _tag_spec(resource_type: str, name: str) -> list[dict]:
    return [{"ResourceType": resource_type, "Tags": [{"Key": "Name", "Value": name}, BASE_TAG]}]


def ensure_vpc(ec2) -> str:
    found = ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": [NAME]},
                                      {"Name": "cidr", "Values": [VPC_CIDR]}])["Vpcs"]
    if found:
        return found[0]["VpcId"]
    vpc_id = ec2.create_vpc(CidrBlock=VPC_CIDR,
                            TagSpecifications=_tag_spec("vpc", NAME))["Vpc"]["VpcId"]
    # Private hosted zones resolve only in VPCs with DNS support and hostnames.
    ec2.modify_vpc_attribute(VpcId=vpc_id, EnableDnsSupport={"Value": True})
    ec2.modify_vpc_attribute(VpcId=vpc_id, EnableDnsHostnames={"Value": True})
    log(f"created vpc {vpc_id}")
    return vpc_id


def ensure_subnets(ec2, vpc_id: str) -> list[str]:
    zones = sorted(z["ZoneName"] for z in ec2.describe_availability_zones(
        Filters=[{"Name": "state", "Values": ["available"]}])["AvailabilityZones"])
    if len(zones) < 2:
        raise RuntimeError(f"need two availability zones, found {zones}")
    existing = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Subnets"]
    by_cidr = {s["CidrBlock"]: s["SubnetId"] for s in existing}
    ids = []
    for cidr, zone in zip(SUBNET_CIDRS, zones[:2]):
        if cidr not in by_cidr:
            by_cidr[cidr] = ec2.create_subnet(
                VpcId=vpc_id, CidrBlock=cidr, AvailabilityZone=zone,
                TagSpecifications=_tag_spec("subnet", f"{NAME}-{zone}"),
            )["Subnet"]["SubnetId"]
            log(f"created subnet {by_cidr[cidr]} in {zone}")
        ids.append(by_cidr[cidr])
    return ids


def ensure_security_group(ec2, vpc_id: str) -> str:
    found = ec2.describe_security_groups(Filters=[
        {"Name": "vpc-id", "Values": [vpc_id]}, {"Name": "group-name", "Values": [NAME]},
    ])["SecurityGroups"]
    if found:
        return found[0]["GroupId"]
    group_id = ec2.create_security_group(
        GroupName=NAME, Description="Ferry local: load balancers and tasks", VpcId=vpc_id,
        TagSpecifications=_tag_spec("security-group", NAME),
    )["GroupId"]
    ec2.authorize_security_group_ingress(GroupId=group_id, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80,
         "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
        {"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": group_id}]},
    ])
    log(f"created security group {group_id}")
    return group_id


# -- logs and IAM --------------------------------------------------------------

def ensure_log_group(logs) -> str:
    groups = logs.describe_log_groups(logGroupNamePrefix=LOG_GROUP)["logGroups"]
    if not any(g["logGroupName"] == LOG_GROUP for g in groups):
        try:
            logs.create_log_group(logGroupName=LOG_GROUP, tags={"ferry-local": "base"})
            log(f"created log group {LOG_GROUP}")
        except ClientError as e:
            if e.response["Error"]["Code"] != "ResourceAlreadyExistsException":
                raise
    return LOG_GROUP


# manifests/api.yaml's DATABASE_URL; a test checks every manifest's
# SSM secret is here (tests/test_task_crashes.py).
DEMO_PARAMETERS = ("/ferry/api/database-url",)


def ensure_demo_parameters(ssm) -> None:
    for name in DEMO_PARAMETERS:
        try:
            ssm.put_parameter(Name=name, Value="local-placeholder", Type="SecureString",
                              Tags=[BASE_TAG])
            log(f"created parameter {name}")
        except ClientError as e:
            if e.response["Error"]["Code"] != "ParameterAlreadyExists":
                raise


def ensure_role(iam, name: str, trust: dict, description: str) -> str:
    """The ARN of role ``name``, created with ``trust`` if it does not exist."""
    try:
        return iam.get_role(RoleName=name)["Role"]["Arn"]
    except ClientError as e:
        if e.response["Error"]["Code"] != "NoSuchEntity":
            raise
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust),
                          Description=description, Tags=[BASE_TAG])["Role"]["Arn"]
    log(f"created role {name}")
    return arn


def ensure_execution_role(iam) -> str:
    arn = ensure_role(iam, EXECUTION_ROLE, ECS_TASKS_TRUST, "Ferry local: ECS task execution role")
    # PutRolePolicy replaces the policy of that name: idempotent.
    iam.put_role_policy(RoleName=EXECUTION_ROLE, PolicyName="ecs-task-execution",
                        PolicyDocument=json.dumps(EXECUTION_POLICY))
    return arn


def ensure_infrastructure_role(iam) -> str:
    """The role ECS shifts load balancer traffic with (FERRY_ECS_INFRASTRUCTURE_ROLE_ARN).
    The managed policy is attached when the emulator knows it (moto loads
    AWS managed policies only when asked to); the local ECS does not assume
    the role, so its permissions are the template's, not checked here."""
    arn = ensure_role(iam, INFRASTRUCTURE_ROLE, ECS_INFRASTRUCTURE_TRUST,
                      "Ferry local: ECS infrastructure role for load balancers")
    try:
        iam.attach_role_policy(RoleName=INFRASTRUCTURE_ROLE, PolicyArn=INFRASTRUCTURE_POLICY_ARN)
    except ClientError as e:
        if e.response["Error"]["Code"] != "NoSuchEntity":
            raise
    return arn


# -- load balancers ------------------------------------------------------------

def ensure_alb(elbv2, name: str, scheme: str, subnets: list[str], groups: list[str]) -> str:
    try:
        found = elbv2.describe_load_balancers(Names=[name])["LoadBalancers"]
    except ClientError as e:
        if e.response["Error"]["Code"] != "LoadBalancerNotFound":
            raise
        found = []
    if found:
        lb = found[0]
        if lb.get("Scheme") != scheme:
            raise RuntimeError(f"load balancer {name} exists with scheme {lb.get('Scheme')}, want {scheme}")
        return lb["LoadBalancerArn"]
    arn = elbv2.create_load_balancer(
        Name=name, Subnets=subnets, SecurityGroups=groups, Scheme=scheme,
        Type="application", IpAddressType="ipv4",
        Tags=[BASE_TAG, {"Key": "Name", "Value": name}],
    )["LoadBalancers"][0]["LoadBalancerArn"]
    log(f"created load balancer {name} ({scheme})")
    return arn


def ensure_http_listener(elbv2, lb_arn: str, port: int = 80) -> str:
    """The load balancer's HTTP listener on ``port`` (default action: a fixed
    404, as environment.yaml's listeners), created if missing. Port 80 is the
    production listener, TEST_LISTENER_PORT the test listener."""
    for listener in elbv2.describe_listeners(LoadBalancerArn=lb_arn)["Listeners"]:
        if listener["Port"] == port:
            return listener["ListenerArn"]
    arn = elbv2.create_listener(LoadBalancerArn=lb_arn, Protocol="HTTP", Port=port,
                                DefaultActions=FIXED_404)["Listeners"][0]["ListenerArn"]
    log(f"created listener HTTP:{port} on {lb_arn.rsplit('/', 2)[-2]}")
    return arn


# -- Route53 -------------------------------------------------------------------

def _zone_id(full_id: str) -> str:
    return full_id.rsplit("/", 1)[-1]


def _find_zone(route53, domain: str, private: bool) -> str | None:
    fqdn = domain.rstrip(".") + "."
    zones = route53.list_hosted_zones_by_name(DNSName=fqdn, MaxItems="100")["HostedZones"]
    for zone in zones:
        if zone["Name"] == fqdn and bool(zone.get("Config", {}).get("PrivateZone")) == private:
            return _zone_id(zone["Id"])
    return None


def ensure_private_zone(route53, domain: str, vpc_id: str, region: str) -> str:
    zone_id = _find_zone(route53, domain, private=True)
    if zone_id is None:
        zone_id = _zone_id(route53.create_hosted_zone(
            Name=domain, CallerReference=f"ferry-local-{domain}-{uuid.uuid4()}",
            VPC={"VPCRegion": region, "VPCId": vpc_id},
            HostedZoneConfig={"Comment": "Ferry local: internal names", "PrivateZone": True},
        )["HostedZone"]["Id"])
        log(f"created private zone {domain} ({zone_id})")
    vpcs = route53.get_hosted_zone(Id=zone_id).get("VPCs", [])
    if not any(v.get("VPCId") == vpc_id for v in vpcs):
        route53.associate_vpc_with_hosted_zone(HostedZoneId=zone_id,
                                               VPC={"VPCRegion": region, "VPCId": vpc_id})
        log(f"associated {domain} with {vpc_id}")
    return zone_id


def ensure_public_zone(route53, domain: str) -> str:
    zone_id = _find_zone(route53, domain, private=False)
    if zone_id is None:
        zone_id = _zone_id(route53.create_hosted_zone(
            Name=domain, CallerReference=f"ferry-local-{domain}-{uuid.uuid4()}",
            HostedZoneConfig={"Comment": "Ferry local: public names", "PrivateZone": False},
        )["HostedZone"]["Id"])
        log(f"created public zone {domain} ({zone_id})")
    return zone_id


# -- env file ------------------------------------------------------------------

def render_env(values: dict[str, str]) -> str:
    return "".join(f"export {k}={shlex.quote(v)}\n" for k, v in values.items())


def write_env_file(path: str, values: dict[str, str]) -> None:
    path = os.path.abspath(path)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w") as f:
        f.write(render_env(values))
    os.replace(tmp, path)


def check_loopback(endpoint: str) -> None:
    host = urlparse(endpoint).hostname or ""
    if host == "localhost":
        return
    try:
        if ipaddress.ip_address(host).is_loopback:
            return
    except ValueError:
        pass
    raise ValueError(f"endpoint {endpoint} is not a loopback address")


def ensure_scheduler_role(iam) -> str:
    arn = ensure_role(iam, SCHEDULER_ROLE, SCHEDULER_TRUST, "Ferry local: EventBridge Scheduler runs tasks")
    iam.put_role_policy(RoleName=SCHEDULER_ROLE, PolicyName="run-tasks",
                        PolicyDocument=json.dumps(SCHEDULER_POLICY))
    return arn


def dead_letter_queue_name(table: str) -> str:
    """ferry.yaml's QueueName, ``ferry-<table>-schedule-dlq``; a local table
    name with characters SQS refuses (``.``) has them replaced by ``-``,
    and the name is cut to SQS's 80 characters, keeping the suffix."""
    clean = "".join(c if c.isascii() and (c.isalnum() or c in "-_") else "-" for c in table)
    suffix = "-schedule-dlq"
    return f"ferry-{clean}"[: 80 - len(suffix)] + suffix


def ensure_dead_letter_queue(sqs, table: str) -> str:
    name = dead_letter_queue_name(table)
    try:
        url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
    except ClientError as e:
        if e.response["Error"]["Code"] not in ("AWS.SimpleQueueService.NonExistentQueue",
                                               "QueueDoesNotExist"):
            raise
        url = sqs.create_queue(QueueName=name, Attributes=DLQ_ATTRIBUTES,
                               tags={"ferry-local": "base"})["QueueUrl"]
        log(f"created queue {name}")
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def bootstrap(endpoint: str, region: str, table: str = "ferry") -> dict[str, str]:
    c = clients(endpoint, region)
    ensure_cluster(c["ecs"])
    vpc_id = ensure_vpc(c["ec2"])
    subnets = ensure_subnets(c["ec2"], vpc_id)
    group = ensure_security_group(c["ec2"], vpc_id)
    log_group = ensure_log_group(c["logs"])
    ensure_demo_parameters(c["ssm"])
    role_arn = ensure_execution_role(c["iam"])
    scheduler_role_arn = ensure_scheduler_role(c["iam"])
    infrastructure_role_arn = ensure_infrastructure_role(c["iam"])
    dead_letter_queue = ensure_dead_letter_queue(c["sqs"], table)
    internal_lb = ensure_alb(c["elbv2"], INTERNAL_ALB, "internal", subnets, [group])
    public_lb = ensure_alb(c["elbv2"], PUBLIC_ALB, "internet-facing", subnets, [group])
    internal_listener = ensure_http_listener(c["elbv2"], internal_lb)
    public_listener = ensure_http_listener(c["elbv2"], public_lb)
    internal_test_listener = ensure_http_listener(c["elbv2"], internal_lb, TEST_LISTENER_PORT)
    public_test_listener = ensure_http_listener(c["elbv2"], public_lb, TEST_LISTENER_PORT)
    internal_zone = ensure_private_zone(c["route53"], INTERNAL_DOMAIN, vpc_id, region)
    public_zones = [ensure_public_zone(c["route53"], d) for d in PUBLIC_DOMAINS]
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "FERRY_CLUSTER": CLUSTER,
        "FERRY_VPC_ID": vpc_id,
        "FERRY_SUBNETS": ",".join(subnets),
        "FERRY_SECURITY_GROUPS": group,
        "FERRY_EXECUTION_ROLE_ARN": role_arn,
        "FERRY_SCHEDULER_ROLE_ARN": scheduler_role_arn,
        "FERRY_SCHEDULE_DLQ_ARN": dead_letter_queue,
        "FERRY_LOG_GROUP": log_group,
        "FERRY_INTERNAL_DOMAIN": INTERNAL_DOMAIN,
        "FERRY_INTERNAL_LISTENER_ARN": internal_listener,
        "FERRY_PUBLIC_LISTENER_ARN": public_listener,
        "FERRY_INTERNAL_TEST_LISTENER_ARN": internal_test_listener,
        "FERRY_PUBLIC_TEST_LISTENER_ARN": public_test_listener,
        "FERRY_ECS_INFRASTRUCTURE_ROLE_ARN": infrastructure_role_arn,
        "FERRY_INTERNAL_ZONE_ID": internal_zone,
        "FERRY_PUBLIC_ZONE_IDS": ",".join(public_zones),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--endpoint", required=True, help="emulator URL, e.g. http://127.0.0.1:4566")
    parser.add_argument("--env-file", required=True, help="where to write the export lines")
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--table", default=os.environ.get("FERRY_TABLE") or "ferry",
                        help="the installation's table, which names its dead-letter queue "
                             "(default: $FERRY_TABLE, else ferry)")
    args = parser.parse_args(argv)
    endpoint = args.endpoint.rstrip("/")
    try:
        check_loopback(endpoint)
        values = bootstrap(endpoint, args.region, args.table)
        write_env_file(args.env_file, values)
    except (ClientError, BotoCoreError, RuntimeError, ValueError, OSError) as e:
        print(f"bootstrap: {' '.join(str(e).split())}", file=sys.stderr)
        return 1
    log(f"wrote {args.env_file}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
