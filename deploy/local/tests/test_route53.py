"""Route53 records, with boto3 against emulator.py.

Every test here fails against moto alone; ferry_emulation.route53 makes it
pass. (moto's own listing order and paging are covered along the way.)
"""

from __future__ import annotations

import itertools

import pytest
from botocore.exceptions import ClientError

_zones = itertools.count()

ELB_ZONE = "Z35SXDOTRQ7X7K"  # us-east-1 ALBs' canonical hosted zone


@pytest.fixture(scope="module")
def emulator(emulator_with):
    """These tests change one record several times in a row: changes are
    INSYNC at once here (PENDING and PriorRequestNotComplete are tested in
    test_route53_changes.py)."""
    return emulator_with("route53", {"FERRY_EMULATOR_ROUTE53_SYNC_SECONDS": "0"})


def new_zone(emu, name: str):
    """A public zone ``name``: (route53 client, zone id, zone name without dot)."""
    route53 = emu.client("route53")
    zone_id = route53.create_hosted_zone(Name=name, CallerReference=name)["HostedZone"]["Id"]
    return route53, zone_id.split("/")[-1], name


@pytest.fixture
def zone(emulator):
    """A fresh public zone: (route53 client, zone id, zone name without dot)."""
    return new_zone(emulator, f"zone{next(_zones)}.example.com")


def alias(action, name, dns="web-1.us-east-1.elb.amazonaws.com", evaluate=False, zone_id=ELB_ZONE):
    return {"Action": action, "ResourceRecordSet": {
        "Name": name, "Type": "A",
        "AliasTarget": {"HostedZoneId": zone_id, "DNSName": dns, "EvaluateTargetHealth": evaluate}}}


def txt(action, name, *values, ttl=300):
    return {"Action": action, "ResourceRecordSet": {
        "Name": name, "Type": "TXT", "TTL": ttl,
        "ResourceRecords": [{"Value": v} for v in values]}}


def change(route53, zone_id, *changes):
    return route53.change_resource_record_sets(HostedZoneId=zone_id,
                                               ChangeBatch={"Changes": list(changes)})


def records(route53, zone_id) -> dict[tuple[str, str], dict]:
    """Every record set but the zone's own NS and SOA, by (name, type)."""
    found = {}
    for page in route53.get_paginator("list_resource_record_sets").paginate(HostedZoneId=zone_id):
        for rrset in page["ResourceRecordSets"]:
            if rrset["Type"] not in ("NS", "SOA"):
                key = (rrset["Name"], rrset["Type"])
                assert key not in found, f"two record sets {key}"
                found[key] = rrset
    return found


def invalid_change_batch(route53, zone_id, *changes) -> str:
    with pytest.raises(ClientError) as err:
        change(route53, zone_id, *changes)
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert err.value.response["Error"]["Code"] == "InvalidChangeBatch"
    message = err.value.response["Error"]["Message"]
    assert message.startswith("[") and message.endswith("]")
    return message


# -- CREATE --------------------------------------------------------------------

def test_create_of_an_existing_name_and_type_fails(zone):
    route53, zone_id, name = zone
    change(route53, zone_id, alias("CREATE", f"web.{name}"), txt("CREATE", f"web.{name}", '"a"'))
    before = records(route53, zone_id)

    message = invalid_change_batch(route53, zone_id, alias("CREATE", f"web.{name}",
                                                           dns="other-2.elb.amazonaws.com"))
    assert message == (f"[Tried to create resource record set [name='web.{name}.', type='A'] "
                       "but it already exists]")
    # Same values, other case, trailing dot: still the same record set.
    invalid_change_batch(route53, zone_id, txt("CREATE", f"WEB.{name}.", '"a"'))
    invalid_change_batch(route53, zone_id, txt("CREATE", f"web.{name}", '"b"'))
    assert records(route53, zone_id) == before

    # Two CREATEs of one record set in one batch: the second fails.
    invalid_change_batch(route53, zone_id, txt("CREATE", f"twice.{name}", '"1"'),
                         txt("CREATE", f"twice.{name}", '"2"'))
    assert (f"twice.{name}.", "TXT") not in records(route53, zone_id)


# -- DELETE --------------------------------------------------------------------

def test_delete_needs_the_record_and_exactly_its_values(zone):
    route53, zone_id, name = zone
    change(route53, zone_id, alias("CREATE", f"web.{name}"),
           txt("CREATE", f"web.{name}", '"owner=ferry"', '"app=web"'))
    before = records(route53, zone_id)

    message = invalid_change_batch(route53, zone_id, txt("DELETE", f"nope.{name}", '"x"'))
    assert message == (f"[Tried to delete resource record set [name='nope.{name}.', "
                       "type='TXT'] but it was not found]")
    mismatch = (f"[Tried to delete resource record set [name='web.{name}.', type='TXT'] "
                "but the values provided do not match the current values]")
    assert invalid_change_batch(route53, zone_id,
                                txt("DELETE", f"web.{name}", '"owner=ferry"')) == mismatch
    assert invalid_change_batch(route53, zone_id, txt(
        "DELETE", f"web.{name}", '"owner=ferry"', '"app=web"', ttl=60)) == mismatch
    for wrong in (alias("DELETE", f"web.{name}", dns="other-1.us-east-1.elb.amazonaws.com"),
                  alias("DELETE", f"web.{name}", evaluate=True),
                  alias("DELETE", f"web.{name}", zone_id="Z1234567890")):
        invalid_change_batch(route53, zone_id, wrong)
    assert records(route53, zone_id) == before

    # Exactly the values (record values in any order, names in any case): deleted.
    change(route53, zone_id, txt("DELETE", f"Web.{name}", '"app=web"', '"owner=ferry"'),
           alias("DELETE", f"web.{name}.", dns="WEB-1.us-east-1.elb.amazonaws.com."))
    assert records(route53, zone_id) == {}
    message = invalid_change_batch(route53, zone_id, alias("DELETE", f"web.{name}"))
    assert "but it was not found" in message

    # Deleting a record set twice in one batch fails.
    change(route53, zone_id, txt("CREATE", f"once.{name}", '"1"'))
    invalid_change_batch(route53, zone_id, txt("DELETE", f"once.{name}", '"1"'),
                         txt("DELETE", f"once.{name}", '"1"'))
    assert (f"once.{name}.", "TXT") in records(route53, zone_id)


def test_a_deleted_record_can_be_created_again(zone):
    route53, zone_id, name = zone
    change(route53, zone_id, txt("CREATE", f"zz.{name}", '"sorts after"'))
    for _ in range(2):
        change(route53, zone_id, txt("CREATE", f"again.{name}", '"1"'))
        change(route53, zone_id, txt("DELETE", f"again.{name}", '"1"'))
    assert set(records(route53, zone_id)) == {(f"zz.{name}.", "TXT")}


# -- batches ---------------------------------------------------------------------

def test_a_batch_is_all_or_nothing(zone, emulator):
    route53, zone_id, name = zone
    change(route53, zone_id, txt("CREATE", f"keep.{name}", '"1"'))
    before = records(route53, zone_id)
    logged = len(emulator.requests())

    message = invalid_change_batch(
        route53, zone_id,
        txt("CREATE", f"new.{name}", '"1"'),
        alias("UPSERT", f"up.{name}"),
        txt("DELETE", f"keep.{name}", '"1"'),
        txt("DELETE", f"gone.{name}", '"x"'),
        txt("CREATE", "elsewhere.example.org", '"x"'),
    )
    # Every failure is reported, in order.
    assert message == (
        f"[Tried to delete resource record set [name='gone.{name}.', type='TXT'] but it was "
        f"not found, RRSet with DNS name elsewhere.example.org. is not permitted in zone "
        f"{name}.]")
    # One log line for the call; the layer's own reads of moto are not logged.
    assert [(r["operation"], r["status"]) for r in emulator.requests()[logged:]] == [
        ("ChangeResourceRecordSets", 400)]
    assert records(route53, zone_id) == before


def test_delete_and_create_in_one_batch_replace_a_record(zone):
    route53, zone_id, name = zone
    change(route53, zone_id, txt("CREATE", f"r.{name}", '"old"'))
    change(route53, zone_id, txt("DELETE", f"r.{name}", '"old"'),
           txt("CREATE", f"r.{name}", '"new"'))
    assert records(route53, zone_id)[(f"r.{name}.", "TXT")]["ResourceRecords"] == [
        {"Value": '"new"'}]
    # A CREATE and a DELETE of one record set cancel out.
    change(route53, zone_id, txt("CREATE", f"tmp.{name}", '"1"'),
           txt("DELETE", f"tmp.{name}", '"1"'))
    assert set(records(route53, zone_id)) == {(f"r.{name}.", "TXT")}


def test_upsert_creates_then_replaces(zone):
    route53, zone_id, name = zone
    change(route53, zone_id, alias("UPSERT", f"u.{name}"))
    change(route53, zone_id, alias("UPSERT", f"u.{name}", dns="next-1.us-east-1.elb.amazonaws.com",
                                   evaluate=True))
    change(route53, zone_id, alias("UPSERT", f"u.{name}", dns="next-1.us-east-1.elb.amazonaws.com",
                                   evaluate=True))  # the same again: no change, no error
    assert records(route53, zone_id) == {(f"u.{name}.", "A"): {
        "Name": f"u.{name}.", "Type": "A",
        "AliasTarget": {"HostedZoneId": ELB_ZONE,
                        "DNSName": "next-1.us-east-1.elb.amazonaws.com.",
                        "EvaluateTargetHealth": True}}}
    # The values an UPSERT left are the values a DELETE must give.
    invalid_change_batch(route53, zone_id, alias("DELETE", f"u.{name}"))
    change(route53, zone_id, alias("DELETE", f"u.{name}", dns="next-1.us-east-1.elb.amazonaws.com",
                                   evaluate=True))
    assert records(route53, zone_id) == {}


# -- ListResourceRecordSets --------------------------------------------------------

def test_alias_and_txt_records_round_trip(zone):
    route53, zone_id, name = zone
    change(route53, zone_id,
           alias("CREATE", f"Web.{name}", dns="Ferry-Public-1.us-east-1.elb.amazonaws.com"),
           txt("CREATE", f"web.{name}", '"heritage=ferry,app=web"'))
    assert records(route53, zone_id) == {
        (f"web.{name}.", "A"): {
            "Name": f"web.{name}.", "Type": "A",
            # Route53 stores names lowercase and returns them fully qualified;
            # so it returns alias targets.
            "AliasTarget": {"HostedZoneId": ELB_ZONE,
                            "DNSName": "ferry-public-1.us-east-1.elb.amazonaws.com.",
                            "EvaluateTargetHealth": False}},
        (f"web.{name}.", "TXT"): {
            "Name": f"web.{name}.", "Type": "TXT", "TTL": 300,
            "ResourceRecords": [{"Value": '"heritage=ferry,app=web"'}]},
    }


def test_list_pages_by_name_and_type(zone):
    route53, zone_id, name = zone
    batch = []
    for i in range(7):
        batch += [alias("CREATE", f"p{i}.{name}"), txt("CREATE", f"p{i}.{name}", f'"{i}"')]
    change(route53, zone_id, *batch)

    pages, kwargs = [], {}
    while True:
        page = route53.list_resource_record_sets(HostedZoneId=zone_id, MaxItems="4", **kwargs)
        pages.append([(r["Name"], r["Type"]) for r in page["ResourceRecordSets"]])
        if not page["IsTruncated"]:
            assert "NextRecordName" not in page
            break
        kwargs = {"StartRecordName": page["NextRecordName"],
                  "StartRecordType": page["NextRecordType"]}
    assert [len(p) for p in pages] == [4, 4, 4, 4]
    served = [key for p in pages for key in p]
    expected = [(f"{name}.", "NS"), (f"{name}.", "SOA")] + [
        (f"p{i}.{name}.", t) for i in range(7) for t in ("A", "TXT")]
    assert served == expected

    start = route53.list_resource_record_sets(HostedZoneId=zone_id, StartRecordName=f"P3.{name}",
                                              StartRecordType="TXT", MaxItems="2")
    assert [(r["Name"], r["Type"]) for r in start["ResourceRecordSets"]] == [
        (f"p3.{name}.", "TXT"), (f"p4.{name}.", "A")]
    assert (start["IsTruncated"], start["NextRecordName"], start["NextRecordType"]) == (
        True, f"p4.{name}.", "TXT")


def test_list_returns_at_most_300_record_sets(zone):
    route53, zone_id, name = zone
    change(route53, zone_id, *[txt("CREATE", f"n{i:03d}.{name}", '"x"') for i in range(305)])
    page = route53.list_resource_record_sets(HostedZoneId=zone_id, MaxItems="1000")
    assert len(page["ResourceRecordSets"]) == 300 and page["IsTruncated"]
    assert len(records(route53, zone_id)) == 305


def test_a_cname_shares_its_name_with_nothing(zone):
    route53, zone_id, name = zone

    def cname(action, rname, target="elsewhere.example.net"):
        return {"Action": action, "ResourceRecordSet": {
            "Name": rname, "Type": "CNAME", "TTL": 60, "ResourceRecords": [{"Value": target}]}}

    change(route53, zone_id, cname("CREATE", f"taken.{name}"), txt("CREATE", f"web.{name}", '"1"'))
    message = invalid_change_batch(route53, zone_id, alias("CREATE", f"taken.{name}"),
                                   txt("UPSERT", f"taken.{name}", '"owner"'))
    assert message == (
        f"[RRSet of type A with DNS name taken.{name}. is not permitted because a conflicting "
        f"RRSet of type CNAME with the same DNS name already exists in zone {name}., "
        f"RRSet of type TXT with DNS name taken.{name}. is not permitted because a conflicting "
        f"RRSet of type CNAME with the same DNS name already exists in zone {name}.]")
    assert invalid_change_batch(route53, zone_id, cname("CREATE", f"web.{name}")) == (
        f"[RRSet of type CNAME with DNS name web.{name}. is not permitted as it conflicts with "
        f"other records with the same DNS name in zone {name}.]")
    # Replacing the CNAME in the same batch is fine; so is changing the CNAME itself.
    change(route53, zone_id, cname("UPSERT", f"taken.{name}", "other.example.net"))
    change(route53, zone_id, cname("DELETE", f"taken.{name}", "other.example.net"),
           alias("CREATE", f"taken.{name}"))
    assert set(records(route53, zone_id)) == {(f"taken.{name}.", "A"), (f"web.{name}.", "TXT")}
