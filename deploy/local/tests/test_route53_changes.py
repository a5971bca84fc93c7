"""Route53 change status (PENDING, then INSYNC) and PriorRequestNotComplete.

Unit tests of ferry_emulation.route53.Changes on a fake clock, then boto3
against emulators with FERRY_EMULATOR_ROUTE53_SYNC_SECONDS. Against moto
alone every test fails: moto answers INSYNC at once, GetChange of any id,
and never PriorRequestNotComplete.
"""

from __future__ import annotations

import itertools
import time

import pytest
from botocore.exceptions import ClientError
from botocore.loaders import Loader
from botocore.model import ServiceModel
from botocore.parsers import RestXMLParser

from conftest import start_emulator
from ferry_emulation import route53
from ferry_emulation.route53 import Changes, change_keys, change_status
from test_route53 import new_zone

# FERRY_EMULATOR_ROUTE53_SYNC_SECONDS of the emulator below: long enough that
# two requests in a row fit in it on a loaded machine.
SYNC = 3.0
_zones = itertools.count()


class FakeClock:
    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now


# -- the model ---------------------------------------------------------------------

def test_a_change_is_pending_for_the_sync_time_then_insync():
    assert change_status(10.0, 10.0, 2.0) == "PENDING"
    assert change_status(10.0, 11.999, 2.0) == "PENDING"
    assert change_status(10.0, 12.0, 2.0) == "INSYNC"
    assert change_status(10.0, 10.0, 0.0) == "INSYNC"


def test_a_pending_change_blocks_its_records_only_then_nothing():
    clock = FakeClock()
    changes = Changes(2.0, "record", clock)
    web = change_keys("Z1", [("web.example.com.", "A", None)], "record")
    api = change_keys("Z1", [("api.example.com.", "A", None)], "record")
    web_elsewhere = change_keys("Z2", [("web.example.com.", "A", None)], "record")
    change_id = changes.submit(web)
    assert changes.status(change_id) == "PENDING"
    assert changes.blocked(web)
    assert not changes.blocked(api) and not changes.blocked(web_elsewhere)
    assert changes.blocked(web | api)  # a batch touching it anywhere
    clock.now += 2.0
    assert changes.status(change_id) == "INSYNC" and not changes.blocked(web)
    assert changes.status("CUNKNOWN") is None


def test_zone_scope_blocks_the_whole_zone():
    clock = FakeClock()
    changes = Changes(2.0, "zone", clock)
    changes.submit(change_keys("Z1", [("web.example.com.", "A", None)], "zone"))
    assert changes.blocked(change_keys("Z1", [("api.example.com.", "A", None)], "zone"))
    assert not changes.blocked(change_keys("Z2", [("api.example.com.", "A", None)], "zone"))


def test_set_identifiers_are_part_of_the_record():
    a = change_keys("Z1", [("w.example.com.", "A", "blue")], "record")
    b = change_keys("Z1", [("w.example.com.", "A", "green")], "record")
    assert not a & b


def test_prior_request_not_complete_parses_in_botocore():
    response = route53.prior_request_not_complete()
    model = ServiceModel(Loader().load_service_model("route53", "service-2"), "route53")
    shape = model.operation_model("ChangeResourceRecordSets").output_shape
    error = RestXMLParser().parse({"body": response.body, "status_code": response.status,
                                   "headers": dict(response.headers)}, shape)["Error"]
    assert response.status == 400
    assert (error["Code"], error["Message"]) == (
        "PriorRequestNotComplete",
        "The request was rejected because Route 53 was still processing a prior request.")


@pytest.mark.parametrize("env,sync,scope", [
    ({}, 1.0, "record"),
    ({"FERRY_EMULATOR_ROUTE53_SYNC_SECONDS": "0"}, 0.0, "record"),
    ({"FERRY_EMULATOR_ROUTE53_SYNC_SECONDS": "2.5",
      "FERRY_EMULATOR_ROUTE53_CONFLICT_SCOPE": "Zone"}, 2.5, "zone"),
])
def test_the_settings(env, sync, scope):
    assert (route53.sync_seconds(env), route53.conflict_scope(env)) == (sync, scope)


@pytest.mark.parametrize("env,variable", [
    ({"FERRY_EMULATOR_ROUTE53_SYNC_SECONDS": "-1"}, "FERRY_EMULATOR_ROUTE53_SYNC_SECONDS"),
    ({"FERRY_EMULATOR_ROUTE53_SYNC_SECONDS": "soon"}, "FERRY_EMULATOR_ROUTE53_SYNC_SECONDS"),
    ({"FERRY_EMULATOR_ROUTE53_SYNC_SECONDS": "nan"}, "FERRY_EMULATOR_ROUTE53_SYNC_SECONDS"),
    ({"FERRY_EMULATOR_ROUTE53_CONFLICT_SCOPE": "account"}, "FERRY_EMULATOR_ROUTE53_CONFLICT_SCOPE"),
])
def test_unusable_settings_are_refused(env, variable):
    with pytest.raises(ValueError, match=variable):
        route53.sync_seconds(env)
        route53.conflict_scope(env)


# -- end to end ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def emu(emulator_with):
    return emulator_with("r53changes", {"FERRY_EMULATOR_ROUTE53_SYNC_SECONDS": str(SYNC)})


@pytest.fixture
def zone(emu):
    return new_zone(emu, f"changes{next(_zones)}.example.com")


def upsert(client, zone_id, name, value):
    return client.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": [
        {"Action": "UPSERT", "ResourceRecordSet": {
            "Name": name, "Type": "TXT", "TTL": 60, "ResourceRecords": [{"Value": f'"{value}"'}]}}]})


def values(client, zone_id, name):
    sets = client.list_resource_record_sets(HostedZoneId=zone_id, StartRecordName=name,
                                            StartRecordType="TXT")["ResourceRecordSets"]
    return [r["ResourceRecords"][0]["Value"] for r in sets
            if r["Name"] == name + "." and r["Type"] == "TXT"]


def test_a_change_is_pending_then_insync(zone):
    client, zone_id, name = zone
    before = time.monotonic()  # the change is submitted after this...
    info = upsert(client, zone_id, f"a.{name}", "1")["ChangeInfo"]
    after = time.monotonic()  # ...and before this
    assert info["Status"] == "PENDING" and info["Id"].startswith("/change/C")
    statuses = []
    while time.monotonic() < after + SYNC + 0.1:
        status = client.get_change(Id=info["Id"])["ChangeInfo"]["Status"]
        if time.monotonic() < before + SYNC:  # answered before it could be in sync
            assert status == "PENDING"
        statuses.append(status)
        time.sleep(0.2)
    assert "PENDING" in statuses
    assert client.get_change(Id=info["Id"])["ChangeInfo"]["Status"] == "INSYNC"
    assert values(client, zone_id, f"a.{name}") == ['"1"']  # applied all along


def test_get_change_of_an_unknown_id_is_no_such_change(zone):
    client, _, _ = zone
    with pytest.raises(ClientError) as err:
        client.get_change(Id="/change/CNOSUCHCHANGE")
    assert err.value.response["Error"]["Code"] == "NoSuchChange"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_a_second_change_to_a_pending_record_is_refused_and_applies_nothing(zone):
    client, zone_id, name = zone
    upsert(client, zone_id, f"b.{name}", "1")
    with pytest.raises(ClientError) as err:
        client.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": [
            {"Action": "UPSERT", "ResourceRecordSet": {
                "Name": f"other.{name}", "Type": "TXT", "TTL": 60,
                "ResourceRecords": [{"Value": '"x"'}]}},
            {"Action": "UPSERT", "ResourceRecordSet": {
                "Name": f"b.{name}", "Type": "TXT", "TTL": 60,
                "ResourceRecords": [{"Value": '"2"'}]}}]})
    assert err.value.response["Error"]["Code"] == "PriorRequestNotComplete"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert values(client, zone_id, f"b.{name}") == ['"1"']
    assert values(client, zone_id, f"other.{name}") == []  # all or nothing
    # Another record of the same zone is free meanwhile.
    assert upsert(client, zone_id, f"c.{name}", "1")["ChangeInfo"]["Status"] == "PENDING"
    time.sleep(SYNC + 0.1)
    assert upsert(client, zone_id, f"b.{name}", "2")["ChangeInfo"]["Status"] == "PENDING"
    assert values(client, zone_id, f"b.{name}") == ['"2"']


def test_a_refused_batch_starts_no_change(zone):
    client, zone_id, name = zone
    upsert(client, zone_id, f"d.{name}", "1")
    time.sleep(SYNC + 0.1)
    with pytest.raises(ClientError) as err:  # InvalidChangeBatch: creating what exists
        client.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": [
            {"Action": "CREATE", "ResourceRecordSet": {
                "Name": f"d.{name}", "Type": "TXT", "TTL": 60,
                "ResourceRecords": [{"Value": '"1"'}]}}]})
    assert err.value.response["Error"]["Code"] == "InvalidChangeBatch"
    assert upsert(client, zone_id, f"d.{name}", "2")["ChangeInfo"]["Status"] == "PENDING"


def test_zone_scope_and_no_sync(tmp_path):
    (tmp_path / "zone").mkdir()
    emu = start_emulator(tmp_path / "zone", env={"FERRY_EMULATOR_ROUTE53_SYNC_SECONDS": "5",
                                                 "FERRY_EMULATOR_ROUTE53_CONFLICT_SCOPE": "zone"})
    try:
        client, zone_id, _ = new_zone(emu, "z.example.com")
        upsert(client, zone_id, "a.z.example.com", "1")
        with pytest.raises(ClientError) as err:
            upsert(client, zone_id, "b.z.example.com", "1")
        assert err.value.response["Error"]["Code"] == "PriorRequestNotComplete"
    finally:
        emu.stop()
    (tmp_path / "off").mkdir()
    emu = start_emulator(tmp_path / "off", env={"FERRY_EMULATOR_ROUTE53_SYNC_SECONDS": "0"})
    try:
        client, zone_id, _ = new_zone(emu, "o.example.com")
        info = upsert(client, zone_id, "a.o.example.com", "1")["ChangeInfo"]
        assert info["Status"] == "INSYNC"
        assert upsert(client, zone_id, "a.o.example.com", "2")["ChangeInfo"]["Status"] == "INSYNC"
        assert client.get_change(Id=info["Id"])["ChangeInfo"]["Status"] == "INSYNC"
    finally:
        emu.stop()


def test_an_unusable_setting_stops_the_emulator(tmp_path):
    with pytest.raises(RuntimeError, match="exited 2: .*FERRY_EMULATOR_ROUTE53_SYNC_SECONDS"):
        start_emulator(tmp_path, env={"FERRY_EMULATOR_ROUTE53_SYNC_SECONDS": "later"})
