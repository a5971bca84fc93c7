"""The ELBv2, Route53 and ECS load-balancer handlers' pieces, without a server."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest
from botocore.model import ServiceModel
from botocore.loaders import Loader
from botocore.parsers import QueryParser, RestXMLParser

from ferry_emulation import ecs, elbv2, route53
from ferry_emulation.wire import (AwsRequest, form_list, form_structs, json_response,
                                  query_error, rest_xml_error)


def botocore_error(parser, response, service: str, operation: str) -> dict:
    model = ServiceModel(Loader().load_service_model(service, "service-2"), service)
    shape = model.operation_model(operation).output_shape
    return parser().parse({"body": response.body, "status_code": response.status,
                           "headers": dict(response.headers)}, shape)["Error"]


# -- wire ------------------------------------------------------------------------

def test_query_errors_parse_in_botocore():
    response = query_error(400, "PriorityInUse", "The specified priority is in use.", elbv2.NS)
    assert response.status == 400
    assert botocore_error(QueryParser, response, "elbv2", "CreateRule") == {
        "Type": "Sender", "Code": "PriorityInUse", "Message": "The specified priority is in use."}


def test_route53_errors_parse_in_botocore():
    message = "[Tried to create resource record set [name='a.example.com.', type='A'] but it <x>]"
    response = rest_xml_error(400, "InvalidChangeBatch", message, route53.NS)
    root = ET.fromstring(response.body)
    assert root.tag == f"{{{route53.NS}}}ErrorResponse"
    assert botocore_error(RestXMLParser, response, "route53", "ChangeResourceRecordSets") == {
        "Type": "Sender", "Code": "InvalidChangeBatch", "Message": message}


def test_form_lists_and_structs():
    params = {"Names.member.2": "b", "Names.member.1": "a", "Names.member.x": "?",
              "RulePriorities.member.2.RuleArn": "r2", "RulePriorities.member.1.RuleArn": "r1",
              "RulePriorities.member.1.Priority": "5", "Other": "o"}
    assert form_list(params, "Names") == ["a", "b"]
    assert form_structs(params, "RulePriorities") == [{"RuleArn": "r1", "Priority": "5"},
                                                      {"RuleArn": "r2"}]


# -- ELBv2 -----------------------------------------------------------------------

def test_rule_quota_from_the_environment():
    assert elbv2.rule_quota({}) == 100
    assert elbv2.rule_quota({elbv2.RULE_QUOTA_ENV: " 7 "}) == 7
    assert elbv2.rule_quota({elbv2.RULE_QUOTA_ENV: "0"}) == 0
    for bad in ("-1", "ten", "1.5"):
        with pytest.raises(ValueError, match=elbv2.RULE_QUOTA_ENV):
            elbv2.rule_quota({elbv2.RULE_QUOTA_ENV: bad})


def test_arns_of_listeners_and_rules():
    base = "arn:aws:elasticloadbalancing:us-east-1:123456789012"
    listener = f"{base}:listener/app/web/50dc6c495c0c9188/f2f7dc8efc522ab2"
    rule = f"{base}:listener-rule/app/web/50dc6c495c0c9188/f2f7dc8efc522ab2/9683b2d02a6cabee"
    assert elbv2.load_balancer_of(listener, "listener") == (
        f"{base}:loadbalancer/app/web/50dc6c495c0c9188")
    assert elbv2.listener_of_rule(rule) == listener


def element(tag: str, **children: str) -> ET.Element:
    el = ET.Element(elbv2.q(tag))
    for name, value in children.items():
        ET.SubElement(el, elbv2.q(name)).text = value
    return el


def test_paginate_walks_every_item_once_and_rejects_foreign_markers():
    items = [(name, element("member", Name=name)) for name in "gcaefbd"]
    seen, marker = [], None
    while True:
        result = elbv2.paginate(items, 3, marker)
        assert result is not None
        page, marker = result
        seen += [elbv2.text(item, "Name") for item in page]
        if marker is None:
            break
    assert seen == list("abcdefg")
    assert elbv2.paginate(items, 3, "garbage") is None
    rule_marker = elbv2.encode_marker([0, 5, "arn"])
    assert elbv2.paginate(items, 3, rule_marker) is None  # another operation's marker


def test_rules_sort_by_priority_with_the_default_last():
    rules = [element("member", RuleArn=arn, Priority=p)
             for arn, p in (("a", "default"), ("b", "20"), ("c", "3"))]
    assert [elbv2.text(r, "RuleArn") for r in sorted(rules, key=elbv2.rule_key)] == ["c", "b", "a"]


def test_page_size_bounds():
    assert elbv2.page_size({}) == 400
    assert elbv2.page_size({"PageSize": "1"}) == 1
    for bad in ("0", "401", "x"):
        response = elbv2.page_size({"PageSize": bad})
        assert not isinstance(response, int) and response.status == 400


def existing_group(**settings: str) -> ET.Element:
    group = element("member", TargetGroupName="web", Protocol="HTTP", Port="8080",
                    VpcId="vpc-1", TargetType="ip", ProtocolVersion="HTTP1",
                    IpAddressType="ipv4", HealthCheckProtocol="HTTP",
                    HealthCheckPort="traffic-port", HealthCheckEnabled="true",
                    HealthCheckPath="/", HealthCheckIntervalSeconds="30",
                    HealthCheckTimeoutSeconds="5", HealthyThresholdCount="5",
                    UnhealthyThresholdCount="2")
    ET.SubElement(ET.SubElement(group, elbv2.q("Matcher")), elbv2.q("HttpCode")).text = "200"
    for name, value in settings.items():
        group.find(elbv2.q(name)).text = value
    return group


def test_same_target_group_compares_given_settings_and_defaults():
    request = {"Name": "web", "Protocol": "HTTP", "Port": "8080", "VpcId": "vpc-1",
               "TargetType": "ip"}
    assert elbv2.same_target_group(request, existing_group())
    assert elbv2.same_target_group(dict(request, HealthCheckEnabled="True"), existing_group())
    assert not elbv2.same_target_group(dict(request, Port="80"), existing_group())
    assert not elbv2.same_target_group(dict(request, **{"Matcher.HttpCode": "200-399"}),
                                       existing_group())
    # Left out, a setting is its default: "/" is not "/healthz".
    assert not elbv2.same_target_group(request, existing_group(HealthCheckPath="/healthz"))
    assert elbv2.same_target_group(dict(request, HealthCheckPath="/healthz"),
                                   existing_group(HealthCheckPath="/healthz"))


# -- Route53 ------------------------------------------------------------------------

def rrset_xml(name: str, rtype: str, ttl: str | None = None, values=(), alias=None) -> ET.Element:
    ns = route53.q
    rrset = ET.Element(ns("ResourceRecordSet"))
    ET.SubElement(rrset, ns("Name")).text = name
    ET.SubElement(rrset, ns("Type")).text = rtype
    if ttl is not None:
        ET.SubElement(rrset, ns("TTL")).text = ttl
    if values:
        records = ET.SubElement(rrset, ns("ResourceRecords"))
        for value in values:
            ET.SubElement(ET.SubElement(records, ns("ResourceRecord")), ns("Value")).text = value
    if alias:
        target = ET.SubElement(rrset, ns("AliasTarget"))
        for tag, value in zip(("HostedZoneId", "DNSName", "EvaluateTargetHealth"), alias):
            ET.SubElement(target, ns(tag)).text = value
    return rrset


def record(*args, **kwargs) -> route53.RecordSet:
    return route53.RecordSet.from_xml(rrset_xml(*args, **kwargs))


def test_record_sets_normalize_names_and_value_order():
    a = record("Web.Example.com", "TXT", "300", ['"b"', '"a"'])
    assert a == record("web.example.com.", "TXT", "300", ['"a"', '"b"'])
    assert a.key == ("web.example.com.", "TXT", None)
    assert a != record("web.example.com.", "TXT", "60", ['"a"', '"b"'])
    assert record("w.example.com", "A", alias=("Z1", "LB-1.elb.amazonaws.com", "false")).alias == (
        "Z1", "lb-1.elb.amazonaws.com.", False)


def test_replay_checks_each_change_against_the_state_before_it():
    zone = "example.com."
    old = record("a.example.com", "TXT", "300", ['"1"'])
    existing = {old.key: old}
    new = record("a.example.com", "TXT", "300", ['"2"'])

    failures, final = route53.replay(existing, [("DELETE", old), ("CREATE", new)], zone)
    assert failures == [] and final == {new.key: new}
    assert existing == {old.key: old}  # the input is not modified

    failures, _ = route53.replay(existing, [
        ("CREATE", new), ("DELETE", new), ("DELETE", old), ("DELETE", old),
        ("UPSERT", record("b.example.org", "TXT", "1", ['"x"'])),
    ], zone)
    assert failures == [
        "Tried to create resource record set [name='a.example.com.', type='TXT'] "
        "but it already exists",
        "Tried to delete resource record set [name='a.example.com.', type='TXT'] "
        "but the values provided do not match the current values",
        "Tried to delete resource record set [name='a.example.com.', type='TXT'] "
        "but it was not found",
        "RRSet with DNS name b.example.org. is not permitted in zone example.com.",
    ]


def test_net_batch_deletes_with_stored_values_and_upserts_writes():
    kept, gone = record("k.example.com", "TXT", "1", ['"k"']), record("g.example.com", "A",
                                                                    alias=("Z", "x.", "false"))
    stored = {kept.key: rrset_xml("k.example.com.", "TXT", "1", ['"k"']),
              gone.key: rrset_xml("g.example.com.", "A", alias=("Z", "x.", "false"))}
    fresh = record("n.example.com", "TXT", "1", ['"n"'])
    batch = route53.net_batch(stored, {kept.key: kept, fresh.key: fresh},
                              {fresh.key: rrset_xml("n.example.com.", "TXT", "1", ['"n"'])})
    assert batch is not None
    changes = [(c.find(route53.q("Action")).text,
                c.find(route53.q("ResourceRecordSet/Name")).text)
               for c in batch.findall(route53.q("ChangeBatch/Changes/Change"))]
    assert changes == [("DELETE", "g.example.com."), ("UPSERT", "n.example.com.")]
    assert route53.net_batch(stored, {kept.key: kept, gone.key: gone}, {}) is None


# -- ECS ---------------------------------------------------------------------------

def ecs_request(params: dict) -> AwsRequest:
    return AwsRequest(environ={}, body=json.dumps(params).encode(), service="ecs",
                      operation="CreateService")


def test_create_service_grace_period_is_set_on_moto_and_answered():
    class Service:
        pass

    moto_service = Service()
    created = {"service": {"serviceArn": "arn:aws:ecs:us-east-1:1:service/c/web",
                           "clusterArn": "arn:aws:ecs:us-east-1:1:cluster/c"}}
    lookups = []

    def find(service_arn, cluster_arn):
        lookups.append((service_arn, cluster_arn))
        return moto_service

    response = ecs.create_service_grace_period(
        ecs_request({"healthCheckGracePeriodSeconds": 45}),
        lambda r: json_response(200, created), find)
    assert response.json()["service"]["healthCheckGracePeriodSeconds"] == 45
    assert moto_service.health_check_grace_period_seconds == 45
    assert lookups == [(created["service"]["serviceArn"], created["service"]["clusterArn"])]

    untouched = json_response(200, created)
    assert ecs.create_service_grace_period(ecs_request({}), lambda r: untouched,
                                           find) is untouched
    failed = json_response(400, {"__type": "ClusterNotFoundException"})
    assert ecs.create_service_grace_period(ecs_request({"healthCheckGracePeriodSeconds": 1}),
                                           lambda r: failed, find) is failed
