"""ELBv2 target groups and listener rules, with boto3 against emulator.py.

Tests marked "emulated" fail against moto alone (ferry_emulation.elbv2 makes
them pass). Tests marked "moto" pin down what moto 5.2.5 already does like
AWS, so that a moto upgrade which breaks it is noticed.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import pytest
from botocore.exceptions import ClientError

from conftest import start_emulator

_names = itertools.count()


@pytest.fixture(scope="module")
def emulator(unthrottled_emulator):
    """Throttling off: these tests make about 15 load balancers and well over
    100 rules in a few seconds, far beyond ELBv2's documented buckets
    (CreateLoadBalancer: 10, then one every 5 s; mutating calls: 20, then
    3/s), with clients that retry once at most. They test the ELBv2 emulation."""
    return unthrottled_emulator


@dataclass
class Alb:
    elbv2: object
    vpc_id: str
    arn: str
    listeners: list[str]


def make_alb(emu, listeners: int = 1) -> Alb:
    """A fresh VPC, two subnets, an ALB and HTTP listeners on 80, 81, ..."""
    n = next(_names)
    ec2, elbv2 = emu.client("ec2"), emu.client("elbv2")
    vpc = ec2.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.1.{i}.0/24",
                                 AvailabilityZone=f"us-east-1{az}")["Subnet"]["SubnetId"]
               for i, az in ((1, "a"), (2, "b"))]
    lb = elbv2.create_load_balancer(Name=f"alb-{n}", Subnets=subnets,
                                    Type="application")["LoadBalancers"][0]["LoadBalancerArn"]
    arns = [elbv2.create_listener(
        LoadBalancerArn=lb, Protocol="HTTP", Port=80 + i,
        DefaultActions=[{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "404"}}],
    )["Listeners"][0]["ListenerArn"] for i in range(listeners)]
    return Alb(elbv2, vpc, lb, arns)


TG_SETTINGS = dict(Protocol="HTTP", Port=8080, TargetType="ip", HealthCheckPath="/healthz",
                   HealthCheckIntervalSeconds=10, HealthCheckTimeoutSeconds=5,
                   HealthyThresholdCount=2, UnhealthyThresholdCount=3,
                   Matcher={"HttpCode": "200-399"})


def target_group(alb: Alb, name: str | None = None, **overrides) -> dict:
    settings = dict(TG_SETTINGS, VpcId=alb.vpc_id, **overrides)
    return alb.elbv2.create_target_group(Name=name or f"tg-{next(_names)}",
                                         **settings)["TargetGroups"][0]


def host_rule(alb: Alb, listener: str, priority: int, host: str, tg_arn: str, **extra) -> dict:
    return alb.elbv2.create_rule(
        ListenerArn=listener, Priority=priority,
        Conditions=[{"Field": "host-header", "HostHeaderConfig": {"Values": [host]}}],
        Actions=[{"Type": "forward", "TargetGroupArn": tg_arn}], **extra)["Rules"][0]


def error_code(excinfo) -> str:
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    return excinfo.value.response["Error"]["Code"]


# -- rule quota (emulated) -----------------------------------------------------

def create_rule_calls(emu) -> list[dict]:
    return [r for r in emu.requests() if r["operation"] == "CreateRule"]


def test_rule_quota_is_100_per_load_balancer_without_default_rules(emulator):
    logged_before = len(create_rule_calls(emulator))
    alb = make_alb(emulator, listeners=2)
    tg = target_group(alb)["TargetGroupArn"]
    rules = [host_rule(alb, alb.listeners[i % 2], 1 + i, f"h{i}.example.com", tg)["RuleArn"]
             for i in range(100)]

    for listener in alb.listeners:
        with pytest.raises(ClientError) as err:
            host_rule(alb, listener, 500, "over.example.com", tg)
        assert error_code(err) == "TooManyRules"
        assert "limit on the number of rules" in err.value.response["Error"]["Message"]

    other = make_alb(emulator)  # the quota is per load balancer
    host_rule(other, other.listeners[0], 1, "a.example.com", target_group(other)["TargetGroupArn"])

    alb.elbv2.delete_rule(RuleArn=rules[0])
    host_rule(alb, alb.listeners[1], 500, "fits.example.com", tg)

    # One log line per client call; the layer's own reads of moto are not logged.
    creates = create_rule_calls(emulator)[logged_before:]
    assert [r["status"] for r in creates] == [200] * 100 + [400, 400, 200, 200]
    assert not any(r["operation"] == "DescribeListeners" for r in emulator.requests())


def test_rule_quota_is_configurable(tmp_path):
    emu = start_emulator(tmp_path, env={"FERRY_EMULATOR_ELB_RULE_QUOTA": "3"})
    try:
        alb = make_alb(emu)
        tg = target_group(alb)["TargetGroupArn"]
        for i in range(3):
            host_rule(alb, alb.listeners[0], 10 + i, f"h{i}.example.com", tg)
        with pytest.raises(ClientError) as err:
            host_rule(alb, alb.listeners[0], 20, "over.example.com", tg)
        assert error_code(err) == "TooManyRules"
    finally:
        emu.stop()


def test_an_invalid_rule_quota_stops_the_emulator(tmp_path):
    with pytest.raises(RuntimeError, match="FERRY_EMULATOR_ELB_RULE_QUOTA"):
        start_emulator(tmp_path, env={"FERRY_EMULATOR_ELB_RULE_QUOTA": "lots"})


# -- priorities ----------------------------------------------------------------

def test_priority_in_use_on_the_same_listener_only(emulator):  # moto
    alb = make_alb(emulator, listeners=2)
    tg = target_group(alb)["TargetGroupArn"]
    host_rule(alb, alb.listeners[0], 7, "a.example.com", tg)
    with pytest.raises(ClientError) as err:
        host_rule(alb, alb.listeners[0], 7, "b.example.com", tg)
    assert error_code(err) == "PriorityInUse"
    host_rule(alb, alb.listeners[1], 7, "b.example.com", tg)


def test_set_rule_priorities_swaps_and_judges_the_new_order(emulator):  # emulated
    alb = make_alb(emulator)
    tg = target_group(alb)["TargetGroupArn"]
    listener = alb.listeners[0]
    a = host_rule(alb, listener, 10, "a.example.com", tg)["RuleArn"]
    b = host_rule(alb, listener, 20, "b.example.com", tg)["RuleArn"]
    c = host_rule(alb, listener, 30, "c.example.com", tg)["RuleArn"]

    swapped = alb.elbv2.set_rule_priorities(RulePriorities=[
        {"RuleArn": a, "Priority": 20}, {"RuleArn": b, "Priority": 10}])["Rules"]
    assert {r["RuleArn"]: r["Priority"] for r in swapped} == {a: "20", b: "10"}
    # A rule may be given the priority it already has.
    alb.elbv2.set_rule_priorities(RulePriorities=[{"RuleArn": c, "Priority": 30}])

    with pytest.raises(ClientError) as err:  # c keeps 30
        alb.elbv2.set_rule_priorities(RulePriorities=[{"RuleArn": a, "Priority": 30}])
    assert error_code(err) == "PriorityInUse"

    rules = alb.elbv2.describe_rules(ListenerArn=listener)["Rules"]
    assert [(r["RuleArn"], r["Priority"]) for r in rules] == [
        (b, "10"), (a, "20"), (c, "30"), (rules[-1]["RuleArn"], "default")]

    with pytest.raises(ClientError) as err:
        alb.elbv2.set_rule_priorities(RulePriorities=[{"RuleArn": rules[-1]["RuleArn"],
                                                       "Priority": 5}])
    assert error_code(err) == "OperationNotPermitted"


# -- DescribeRules, ModifyRule, DeleteRule ---------------------------------------

def test_describe_rules_pages_in_priority_order(emulator):  # emulated
    alb = make_alb(emulator)
    tg = target_group(alb)["TargetGroupArn"]
    listener = alb.listeners[0]
    created = {p: host_rule(alb, listener, p, f"p{p}.example.com", tg)["RuleArn"]
               for p in (50, 5, 40, 10, 30, 20, 60)}

    first = alb.elbv2.describe_rules(ListenerArn=listener, PageSize=3)
    assert [r["Priority"] for r in first["Rules"]] == ["5", "10", "20"]
    # A rule already served is deleted between pages: nothing repeats or is skipped.
    alb.elbv2.delete_rule(RuleArn=created[10])
    second = alb.elbv2.describe_rules(ListenerArn=listener, PageSize=3, Marker=first["NextMarker"])
    assert [r["Priority"] for r in second["Rules"]] == ["30", "40", "50"]
    last = alb.elbv2.describe_rules(ListenerArn=listener, PageSize=3, Marker=second["NextMarker"])
    assert [r["Priority"] for r in last["Rules"]] == ["60", "default"]
    assert "NextMarker" not in last

    everything = [r for page in alb.elbv2.get_paginator("describe_rules").paginate(
        ListenerArn=listener, PaginationConfig={"PageSize": 2}) for r in page["Rules"]]
    assert [r["Priority"] for r in everything] == ["5", "20", "30", "40", "50", "60", "default"]
    assert alb.elbv2.describe_rules(ListenerArn=listener)["Rules"] == everything


@pytest.mark.parametrize("kwargs,code", [
    ({"PageSize": 0}, "ValidationError"),
    ({"PageSize": 401}, "ValidationError"),
    ({"Marker": "not-a-marker"}, "ValidationError"),
])
def test_describe_rules_rejects_bad_paging(emulator, kwargs, code):  # emulated
    alb = make_alb(emulator)
    elbv2 = emulator.client("elbv2", parameter_validation=False)
    with pytest.raises(ClientError) as err:
        elbv2.describe_rules(ListenerArn=alb.listeners[0], **kwargs)
    assert error_code(err) == code


def test_modify_rule_replaces_conditions_and_actions(emulator):  # moto
    alb = make_alb(emulator)
    tg1, tg2 = target_group(alb)["TargetGroupArn"], target_group(alb)["TargetGroupArn"]
    rule = host_rule(alb, alb.listeners[0], 1, "a.example.com", tg1)["RuleArn"]
    conditions = [{"Field": "host-header",
                   "HostHeaderConfig": {"Values": ["b.example.com", "c.example.com"]}}]
    actions = [{"Type": "forward", "TargetGroupArn": tg2}]
    alb.elbv2.modify_rule(RuleArn=rule, Conditions=conditions, Actions=actions)
    (described,) = alb.elbv2.describe_rules(RuleArns=[rule])["Rules"]
    assert described["Conditions"] == conditions
    assert described["Actions"] == actions
    assert described["Priority"] == "1"


def test_delete_rule_needs_an_existing_non_default_rule(emulator):  # emulated
    alb = make_alb(emulator)
    rule = host_rule(alb, alb.listeners[0], 1, "a.example.com",
                     target_group(alb)["TargetGroupArn"])["RuleArn"]
    alb.elbv2.delete_rule(RuleArn=rule)
    with pytest.raises(ClientError) as err:
        alb.elbv2.delete_rule(RuleArn=rule)
    assert error_code(err) == "RuleNotFound"

    (default,) = alb.elbv2.describe_rules(ListenerArn=alb.listeners[0])["Rules"]
    assert default["IsDefault"]
    with pytest.raises(ClientError) as err:
        alb.elbv2.delete_rule(RuleArn=default["RuleArn"])
    assert error_code(err) == "OperationNotPermitted"


# -- tags ------------------------------------------------------------------------

def tags_of(elbv2, arns: list[str]) -> dict[str, dict[str, str]]:
    return {d["ResourceArn"]: {t["Key"]: t["Value"] for t in d["Tags"]}
            for d in elbv2.describe_tags(ResourceArns=arns)["TagDescriptions"]}


def test_tags_round_trip_on_rules_and_target_groups(emulator):  # moto
    alb = make_alb(emulator)
    owner = [{"Key": "ferry:app", "Value": "web"}, {"Key": "ferry:rule", "Value": "internal/web"}]
    tg = target_group(alb, Tags=owner[:1])["TargetGroupArn"]
    rule = host_rule(alb, alb.listeners[0], 1, "a.example.com", tg, Tags=owner)["RuleArn"]
    assert tags_of(alb.elbv2, [rule, tg]) == {
        rule: {"ferry:app": "web", "ferry:rule": "internal/web"}, tg: {"ferry:app": "web"}}

    alb.elbv2.add_tags(ResourceArns=[rule, tg], Tags=[{"Key": "x", "Value": "1"}])
    alb.elbv2.remove_tags(ResourceArns=[rule], TagKeys=["ferry:rule"])
    assert tags_of(alb.elbv2, [rule, tg]) == {
        rule: {"ferry:app": "web", "x": "1"}, tg: {"ferry:app": "web", "x": "1"}}


def test_describe_tags_of_deleted_resources_is_not_found(emulator):  # emulated
    alb = make_alb(emulator)
    tg = target_group(alb, Tags=[{"Key": "ferry:app", "Value": "web"}])["TargetGroupArn"]
    rule = host_rule(alb, alb.listeners[0], 1, "a.example.com", tg,
                     Tags=[{"Key": "ferry:app", "Value": "web"}])["RuleArn"]
    alb.elbv2.delete_rule(RuleArn=rule)
    with pytest.raises(ClientError) as err:
        alb.elbv2.describe_tags(ResourceArns=[rule])
    assert error_code(err) == "RuleNotFound"

    alb.elbv2.delete_target_group(TargetGroupArn=tg)
    with pytest.raises(ClientError) as err:
        alb.elbv2.describe_tags(ResourceArns=[tg])
    assert error_code(err) == "TargetGroupNotFound"


# -- target groups -----------------------------------------------------------------

SETTING_KEYS = ["TargetGroupName", "Protocol", "Port", "VpcId", "TargetType", "HealthCheckPath",
                "HealthCheckIntervalSeconds", "HealthCheckTimeoutSeconds",
                "HealthyThresholdCount", "UnhealthyThresholdCount", "Matcher"]


def test_target_group_settings_round_trip(emulator):  # moto
    alb = make_alb(emulator)
    created = target_group(alb, name="web-round-trip")
    expected = {"TargetGroupName": "web-round-trip", "VpcId": alb.vpc_id, **TG_SETTINGS}
    assert {k: created[k] for k in SETTING_KEYS} == expected
    (by_name,) = alb.elbv2.describe_target_groups(Names=["web-round-trip"])["TargetGroups"]
    (by_arn,) = alb.elbv2.describe_target_groups(
        TargetGroupArns=[created["TargetGroupArn"]])["TargetGroups"]
    assert by_name == by_arn
    assert {k: by_name[k] for k in SETTING_KEYS} == expected
    assert by_name["HealthCheckPort"] == "traffic-port"

    arn = created["TargetGroupArn"]
    alb.elbv2.modify_target_group(TargetGroupArn=arn, HealthCheckPath="/up",
                                  HealthCheckIntervalSeconds=30, HealthCheckTimeoutSeconds=6,
                                  HealthyThresholdCount=5, UnhealthyThresholdCount=2,
                                  Matcher={"HttpCode": "200"})
    (modified,) = alb.elbv2.describe_target_groups(TargetGroupArns=[arn])["TargetGroups"]
    assert (modified["HealthCheckPath"], modified["HealthCheckIntervalSeconds"],
            modified["HealthCheckTimeoutSeconds"], modified["HealthyThresholdCount"],
            modified["UnhealthyThresholdCount"], modified["Matcher"]) == (
        "/up", 30, 6, 5, 2, {"HttpCode": "200"})

    alb.elbv2.modify_target_group_attributes(TargetGroupArn=arn, Attributes=[
        {"Key": "deregistration_delay.timeout_seconds", "Value": "30"}])
    attributes = alb.elbv2.describe_target_group_attributes(TargetGroupArn=arn)["Attributes"]
    assert {"Key": "deregistration_delay.timeout_seconds", "Value": "30"} in attributes


def test_create_target_group_is_idempotent_for_the_same_settings(emulator):  # emulated
    alb = make_alb(emulator)
    first = target_group(alb, name="idem", Tags=[{"Key": "ferry:app", "Value": "web"}])
    again = target_group(alb, name="idem", Tags=[{"Key": "ferry:app", "Value": "web"}])
    assert again["TargetGroupArn"] == first["TargetGroupArn"]
    assert {k: again[k] for k in SETTING_KEYS} == {k: first[k] for k in SETTING_KEYS}

    # Settings left out count as their defaults: a default-only group matches
    # a request that spells the defaults out.
    plain = alb.elbv2.create_target_group(Name="idem-defaults", Protocol="HTTP", Port=80,
                                          VpcId=alb.vpc_id)["TargetGroups"][0]
    spelled = alb.elbv2.create_target_group(
        Name="idem-defaults", Protocol="HTTP", Port=80, VpcId=alb.vpc_id, TargetType="instance",
        HealthCheckPath="/", HealthCheckIntervalSeconds=30, Matcher={"HttpCode": "200"},
    )["TargetGroups"][0]
    assert spelled["TargetGroupArn"] == plain["TargetGroupArn"]

    for different in ({"HealthCheckPath": "/other"}, {"Port": 9090},
                      {"Matcher": {"HttpCode": "200"}}):
        with pytest.raises(ClientError) as err:
            target_group(alb, name="idem", **different)
        assert error_code(err) == "DuplicateTargetGroupName"
    with pytest.raises(ClientError) as err:  # HealthCheckPath left out: "/" differs
        alb.elbv2.create_target_group(Name="idem", **{
            k: v for k, v in dict(TG_SETTINGS, VpcId=alb.vpc_id).items() if k != "HealthCheckPath"})
    assert error_code(err) == "DuplicateTargetGroupName"
    assert len(alb.elbv2.describe_target_groups(Names=["idem"])["TargetGroups"]) == 1


def test_describe_target_groups_pages(emulator):  # emulated
    alb = make_alb(emulator)
    names = [f"page-{i}" for i in range(7)]
    for name in names:
        target_group(alb, name=name)

    first = alb.elbv2.describe_target_groups(Names=names, PageSize=3)
    assert [tg["TargetGroupName"] for tg in first["TargetGroups"]] == names[:3]
    # Deleting a group already served neither repeats nor skips the others.
    alb.elbv2.delete_target_group(TargetGroupArn=first["TargetGroups"][0]["TargetGroupArn"])
    pages, marker = [], first["NextMarker"]
    while marker:
        page = alb.elbv2.describe_target_groups(Names=names[1:], PageSize=3, Marker=marker)
        pages.append([tg["TargetGroupName"] for tg in page["TargetGroups"]])
        marker = page.get("NextMarker")
    assert pages == [names[3:6], names[6:]]

    everything = [tg["TargetGroupName"] for page in alb.elbv2.get_paginator(
        "describe_target_groups").paginate(PaginationConfig={"PageSize": 2})
        for tg in page["TargetGroups"]]
    assert len(everything) == len(set(everything))
    assert set(names[1:]) <= set(everything)
    assert everything == [tg["TargetGroupName"] for tg in
                          alb.elbv2.describe_target_groups()["TargetGroups"]]

    loose = emulator.client("elbv2", parameter_validation=False)
    for kwargs in ({"PageSize": 0}, {"PageSize": 401}, {"Marker": "garbage"}):
        with pytest.raises(ClientError) as err:
            loose.describe_target_groups(**kwargs)
        assert error_code(err) == "ValidationError"


def test_delete_target_group_in_use_by_a_rule(emulator):  # moto
    alb = make_alb(emulator)
    tg = target_group(alb)["TargetGroupArn"]
    rule = host_rule(alb, alb.listeners[0], 1, "a.example.com", tg)["RuleArn"]
    with pytest.raises(ClientError) as err:
        alb.elbv2.delete_target_group(TargetGroupArn=tg)
    assert error_code(err) == "ResourceInUse"
    alb.elbv2.delete_rule(RuleArn=rule)
    alb.elbv2.delete_target_group(TargetGroupArn=tg)
    assert tg not in {t["TargetGroupArn"] for t in
                      alb.elbv2.describe_target_groups()["TargetGroups"]}


# -- rule priorities 1..50000 (emulated) ------------------------------------------

@pytest.mark.parametrize("priority,bound", [
    (0, "greater than or equal to 1"), (50001, "less than or equal to 50000")])
def test_create_rule_priority_is_1_to_50000(emulator, priority, bound):
    # API_CreateRule / API_RulePriorityPair: "Valid Range: Minimum value of
    # 1. Maximum value of 50000." botocore itself refuses 0 (the model's
    # minimum), the Rust SDK does not: validation is off here so the
    # emulator is what answers.
    alb = make_alb(emulator)
    elbv2 = emulator.client("elbv2", parameter_validation=False)
    tg = target_group(alb)
    with pytest.raises(ClientError) as excinfo:
        elbv2.create_rule(
            ListenerArn=alb.listeners[0], Priority=priority,
            Conditions=[{"Field": "host-header", "HostHeaderConfig": {"Values": ["a.example"]}}],
            Actions=[{"Type": "forward", "TargetGroupArn": tg["TargetGroupArn"]}])
    assert error_code(excinfo) == "ValidationError"
    message = excinfo.value.response["Error"]["Message"]
    assert f"Value '{priority}' at 'priority'" in message and bound in message
    assert alb.elbv2.describe_rules(ListenerArn=alb.listeners[0])["Rules"][-1]["IsDefault"]
    assert len(alb.elbv2.describe_rules(ListenerArn=alb.listeners[0])["Rules"]) == 1
    for edge in (1, 50000):
        host_rule(alb, alb.listeners[0], edge, f"edge-{edge}.example", tg["TargetGroupArn"])


@pytest.mark.parametrize("priority", [0, 50001])
def test_set_rule_priorities_is_1_to_50000(emulator, priority):
    alb = make_alb(emulator)
    tg = target_group(alb)
    rule = host_rule(alb, alb.listeners[0], 5, "a.example", tg["TargetGroupArn"])
    elbv2 = emulator.client("elbv2", parameter_validation=False)
    with pytest.raises(ClientError) as excinfo:
        elbv2.set_rule_priorities(RulePriorities=[{"RuleArn": rule["RuleArn"], "Priority": priority}])
    assert error_code(excinfo) == "ValidationError"
    assert "rulePriorities.1.member.priority" in excinfo.value.response["Error"]["Message"]


# -- one load balancer per target group (emulated) ------------------------------------

def _association_refused(excinfo, tg_arn: str) -> None:
    assert error_code(excinfo) == "TargetGroupAssociationLimit"
    assert excinfo.value.response["Error"]["Message"] == (
        "The following target groups cannot be associated with more than one load "
        f"balancer: {tg_arn}")


def test_a_target_group_forwards_for_one_load_balancer_only(emulator):
    # ALB quotas: "Load balancers per target group": 1.
    first, second = make_alb(emulator, listeners=2), make_alb(emulator)
    tg = target_group(first)["TargetGroupArn"]
    host_rule(first, first.listeners[0], 10, "a.example", tg)
    # Another listener, and another rule, of the same load balancer: fine.
    host_rule(first, first.listeners[1], 10, "a.example", tg)
    host_rule(first, first.listeners[0], 11, "b.example", tg)

    with pytest.raises(ClientError) as excinfo:
        host_rule(second, second.listeners[0], 10, "a.example", tg)
    _association_refused(excinfo, tg)
    assert len(second.elbv2.describe_rules(ListenerArn=second.listeners[0])["Rules"]) == 1

    # ForwardConfig (weighted target groups) counts the same.
    with pytest.raises(ClientError) as excinfo:
        second.elbv2.create_rule(
            ListenerArn=second.listeners[0], Priority=10,
            Conditions=[{"Field": "host-header", "HostHeaderConfig": {"Values": ["a.example"]}}],
            Actions=[{"Type": "forward", "ForwardConfig": {"TargetGroups": [
                {"TargetGroupArn": tg, "Weight": 1}]}}])
    _association_refused(excinfo, tg)

    # A listener's default action, created or modified.
    forward_tg = [{"Type": "forward", "TargetGroupArn": tg}]
    with pytest.raises(ClientError) as excinfo:
        second.elbv2.create_listener(LoadBalancerArn=second.arn, Protocol="HTTP", Port=90,
                                     DefaultActions=forward_tg)
    _association_refused(excinfo, tg)
    with pytest.raises(ClientError) as excinfo:
        second.elbv2.modify_listener(ListenerArn=second.listeners[0], DefaultActions=forward_tg)
    _association_refused(excinfo, tg)

    # ModifyRule of a rule on the second load balancer.
    own = target_group(second)["TargetGroupArn"]
    rule = host_rule(second, second.listeners[0], 10, "a.example", own)
    with pytest.raises(ClientError) as excinfo:
        second.elbv2.modify_rule(RuleArn=rule["RuleArn"], Actions=forward_tg)
    _association_refused(excinfo, tg)
    (kept,) = second.elbv2.describe_rules(RuleArns=[rule["RuleArn"]])["Rules"]
    assert kept["Actions"][0]["TargetGroupArn"] == own


def test_a_target_group_is_free_again_once_nothing_forwards_to_it(emulator):
    first, second = make_alb(emulator), make_alb(emulator)
    tg = target_group(first)["TargetGroupArn"]
    rule = host_rule(first, first.listeners[0], 10, "a.example", tg)
    first.elbv2.delete_rule(RuleArn=rule["RuleArn"])
    host_rule(second, second.listeners[0], 10, "a.example", tg)  # now second's


def test_a_listener_default_action_associates_too(emulator):
    first, second = make_alb(emulator), make_alb(emulator)
    tg = target_group(first)["TargetGroupArn"]
    first.elbv2.modify_listener(ListenerArn=first.listeners[0],
                                DefaultActions=[{"Type": "forward", "TargetGroupArn": tg}])
    with pytest.raises(ClientError) as excinfo:
        host_rule(second, second.listeners[0], 10, "a.example", tg)
    _association_refused(excinfo, tg)
