"""CloudWatch alarms in the local AWS (ferry_emulation/cloudwatch.py), in
both protocols it is called with: RPC v2 CBOR (the Rust SDK's, which
Ferry's controller uses; spoken here with botocore's CBOR codec) and JSON
1.0 (boto3's): the `alarms: default` alarm's shape (metric math over a
target-group pair), tags, prefixes, pagination, SetAlarmState, and
PutMetricAlarm's validation.
"""

from __future__ import annotations

import urllib.error
import urllib.request

import botocore.session
import pytest
from botocore import xform_name
from botocore.exceptions import ClientError
from botocore.parsers import RpcV2CBORParser
from botocore.serialize import RpcV2CBORSerializer

from ferry_emulation.cloudwatch import alarm_problems

ACCOUNT = "123456789012"
REGION = "us-east-1"
OWNER_TAGS = [{"Key": "ferry:managed-by", "Value": "ferry"}, {"Key": "ferry:app", "Value": "web"},
              {"Key": "ferry:process", "Value": "web"}]


def five_xx_alarm(name: str = "ferry-ferry-web-web-5xx") -> dict:
    """The alarm `alarms: default` asks for (issue 23): 5xx rate over a pair."""
    def stat(metric_id: str, metric: str, group: str) -> dict:
        return {"Id": metric_id, "ReturnData": False, "MetricStat": {
            "Metric": {"Namespace": "AWS/ApplicationELB", "MetricName": metric, "Dimensions": [
                {"Name": "TargetGroup", "Value": group},
                {"Name": "LoadBalancer", "Value": "app/ferry-internal/50dc6c495c0c9188"}]},
            "Period": 60, "Stat": "Sum"}}
    return dict(
        AlarmName=name, ComparisonOperator="GreaterThanThreshold", Threshold=5.0,
        EvaluationPeriods=3, DatapointsToAlarm=2, TreatMissingData="notBreaching",
        Tags=OWNER_TAGS,
        Metrics=[
            stat("e5xx_a", "HTTPCode_Target_5XX_Count", "targetgroup/web-a/1"),
            stat("e5xx_b", "HTTPCode_Target_5XX_Count", "targetgroup/web-b/2"),
            stat("req_a", "RequestCount", "targetgroup/web-a/1"),
            stat("req_b", "RequestCount", "targetgroup/web-b/2"),
            {"Id": "rate", "ReturnData": True, "Label": "5xx %",
             "Expression": "100 * (FILL(e5xx_a, 0) + FILL(e5xx_b, 0)) / (FILL(req_a, 0) + FILL(req_b, 0))"},
        ])


class CborClient:
    """A CloudWatch client over RPC v2 CBOR, as the Rust SDK calls it:
    ``client.put_metric_alarm(**params)`` like boto3's."""

    def __init__(self, url: str):
        self.url = url
        self.model = botocore.session.get_session().get_service_model("cloudwatch")
        self.operations = {xform_name(name): name for name in self.model.operation_names}

    def __getattr__(self, method: str):
        operation = self.model.operation_model(self.operations[method])

        def call(**params):
            request = RpcV2CBORSerializer().serialize_to_request(params, operation)
            headers = dict(request["headers"])
            assert headers["smithy-protocol"] == "rpc-v2-cbor"
            headers["Authorization"] = ("AWS4-HMAC-SHA256 Credential=test/20261206/us-east-1/monitoring/"
                                        "aws4_request, SignedHeaders=host, Signature=0")
            sent = urllib.request.Request(self.url + request["url_path"], data=request["body"],
                                          headers=headers, method="POST")
            try:
                with urllib.request.urlopen(sent) as answer:
                    status, answer_headers, body = answer.status, dict(answer.headers), answer.read()
            except urllib.error.HTTPError as error:
                status, answer_headers, body = error.code, dict(error.headers), error.read()
            assert answer_headers.get("smithy-protocol") == "rpc-v2-cbor", (status, body[:200])
            parsed = RpcV2CBORParser().parse(
                {"status_code": status, "headers": {k.lower(): v for k, v in answer_headers.items()},
                 "body": body}, operation.output_shape)
            if status >= 300:
                raise ClientError(parsed, operation.name)
            return parsed
        return call


@pytest.fixture(scope="module", params=["cbor", "json"])
def cloudwatch(emulator, request):
    if request.param == "cbor":
        return CborClient(emulator.url)
    client = emulator.client("cloudwatch")
    return client


def test_the_default_alarm_is_stored_with_its_metric_math_and_tags(emulator, cloudwatch):
    cloudwatch.put_metric_alarm(**five_xx_alarm())
    [alarm] = cloudwatch.describe_alarms(AlarmNames=["ferry-ferry-web-web-5xx"])["MetricAlarms"]
    assert alarm["AlarmArn"] == f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:ferry-ferry-web-web-5xx"
    assert alarm["StateUpdatedTimestamp"].year >= 2024  # a CBOR timestamp, decoded
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanThreshold", 5.0)
    assert (alarm["EvaluationPeriods"], alarm["DatapointsToAlarm"]) == (3, 2)
    assert alarm["TreatMissingData"] == "notBreaching"
    by_id = {m["Id"]: m for m in alarm["Metrics"]}
    assert sorted(by_id) == ["e5xx_a", "e5xx_b", "rate", "req_a", "req_b"]
    assert by_id["rate"]["Expression"].startswith("100 * (FILL(e5xx_a, 0)")
    assert by_id["rate"]["ReturnData"] is True
    dimensions = {d["Name"]: d["Value"] for d in by_id["req_b"]["MetricStat"]["Metric"]["Dimensions"]}
    assert dimensions == {"TargetGroup": "targetgroup/web-b/2",
                          "LoadBalancer": "app/ferry-internal/50dc6c495c0c9188"}
    tags = cloudwatch.list_tags_for_resource(ResourceARN=alarm["AlarmArn"])["Tags"]
    assert {t["Key"]: t["Value"] for t in tags} == {t["Key"]: t["Value"] for t in OWNER_TAGS}


def test_describe_by_prefix_pages_and_delete_removes(cloudwatch):
    names = [f"ferry-paged-web-p{i:02d}-5xx" for i in range(7)]
    for name in names:
        cloudwatch.put_metric_alarm(**five_xx_alarm(name))
    cloudwatch.put_metric_alarm(**five_xx_alarm("someone-else-5xx"))
    seen, token, pages = [], None, 0
    while True:
        page = cloudwatch.describe_alarms(AlarmNamePrefix="ferry-paged-", MaxRecords=3,
                                          **({"NextToken": token} if token else {}))
        seen += [a["AlarmName"] for a in page["MetricAlarms"]]
        pages += 1
        token = page.get("NextToken")
        if not token:
            break
    assert seen == names and pages == 3  # name order, 3 + 3 + 1
    with pytest.raises(ClientError) as refused:
        cloudwatch.describe_alarms(AlarmNamePrefix="ferry-paged-", MaxRecords=101)
    assert refused.value.response["Error"]["Code"] == "ValidationError"
    cloudwatch.delete_alarms(AlarmNames=names[:2])
    left = cloudwatch.describe_alarms(AlarmNamePrefix="ferry-paged-")["MetricAlarms"]
    assert sorted(a["AlarmName"] for a in left) == names[2:]


def test_tag_resource_and_set_alarm_state(cloudwatch):
    cloudwatch.put_metric_alarm(**five_xx_alarm("ferry-ferry-state-web-5xx"))
    arn = f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:ferry-ferry-state-web-5xx"
    cloudwatch.tag_resource(ResourceARN=arn, Tags=[{"Key": "team", "Value": "payments"}])
    tags = {t["Key"]: t["Value"] for t in cloudwatch.list_tags_for_resource(ResourceARN=arn)["Tags"]}
    assert tags["team"] == "payments" and tags["ferry:managed-by"] == "ferry"
    cloudwatch.set_alarm_state(AlarmName="ferry-ferry-state-web-5xx", StateValue="ALARM",
                               StateReason="test: force the alarm")
    [alarm] = cloudwatch.describe_alarms(AlarmNames=["ferry-ferry-state-web-5xx"])["MetricAlarms"]
    assert alarm["StateValue"] == "ALARM"


@pytest.mark.parametrize("case,change,expected", [(i, *c) for i, c in enumerate([
    (lambda a: a.update(MetricName="RequestCount"), "mutually exclusive"),
    (lambda a: a["Metrics"][4].update(ReturnData=False), "ReturnData"),
    (lambda a: a["Metrics"][4].update(Expression="100 * e5xx_c / req_a"), "unknown ids"),
    (lambda a: a["Metrics"][0].update(Id="E5xx"), "lower-case"),
    (lambda a: a["Metrics"][0]["MetricStat"].update(Period=90), "Period"),
    (lambda a: a.update(DatapointsToAlarm=4), "DatapointsToAlarm"),
    (lambda a: a.update(TreatMissingData="zero"), "TreatMissingData"),
    (lambda a: a["Metrics"][1].update(Expression="e5xx_a"), "exactly one of MetricStat and Expression"),
])])
def test_put_metric_alarm_refuses_what_cloudwatch_refuses(cloudwatch, case, change, expected):
    name = f"ferry-ferry-bad{case}-web-5xx"
    alarm = five_xx_alarm(name)
    change(alarm)
    with pytest.raises(ClientError) as refused:
        cloudwatch.put_metric_alarm(**alarm)
    assert refused.value.response["Error"]["Code"] == "ValidationError"
    assert expected in refused.value.response["Error"]["Message"]
    assert not cloudwatch.describe_alarms(AlarmNames=[name])["MetricAlarms"]


def test_the_default_alarm_has_no_problem():
    params = five_xx_alarm()
    assert alarm_problems(params) == []
