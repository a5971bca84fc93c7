"""Amazon Route 53 record behaviours that moto does not model.

moto 5.2.5's ChangeResourceRecordSets decides conflicts from a journal of
past changes instead of the records that exist: a CREATE of a name and type
that exists with other values adds a second record set, a DELETE with stale
values succeeds (and deletes), deleting twice succeeds, re-creating a
deleted record fails, and a batch is applied change by change, so a failing
change leaves the earlier ones applied. Route53 itself validates a batch
against the current records and applies all of it or nothing:

https://docs.aws.amazon.com/Route53/latest/APIReference/API_ChangeResourceRecordSets.html
  "Change batches are considered transactional changes. Route 53 validates
  the changes in the request and then either makes all or none of the
  changes in the change batch request."
  "To delete a resource record set, you must specify all the same values
  that you specified when you created it."
  "If you try to delete the same resource record set more than once in a
  single change batch, Route 53 returns an InvalidChangeBatch error."
  CREATE: "Creates a resource record set that has the specified values."
  UPSERT: "If a resource set doesn't exist, Route 53 creates it. If a
  resource set exists Route 53 updates it with the values in the request."

This module replays a batch, in order, over the zone's current records (read
from moto with ListResourceRecordSets) and collects every failure. Any
failure: HTTP 400 InvalidChangeBatch and nothing applied. None: the net
effect of the batch goes to moto as one batch its journal cannot refuse:
each record the batch removed is deleted with the values moto stored, each
record it created or upserted is upserted. A batch whose net effect is
nothing (a CREATE and a DELETE of the same record) is answered by the
layer. The checks cover plain record sets keyed by name, type and
SetIdentifier; the values compared are TTL, the record values (in any
order) and the alias target. Weight, region, failover, geolocation and
health-check settings are not compared. A CNAME cannot share its name with
records of other types (RFC 1034 section 3.6.2), in either order.

Names. "Amazon Route 53 stores alphabetic characters as lowercase letters
(a-z), regardless of how you specify them"
(https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/DomainNameFormat.html),
and returns names fully qualified. The layer lowercases record names and
alias target DNS names and gives both a trailing dot before moto stores
them, and lowercases ListResourceRecordSets' start name. That alias
targets come back lowercase with a trailing dot is what Route53 does
(reported by the Terraform AWS provider, hashicorp/terraform-provider-aws
#3119, and the ACK Route53 controller, aws-controllers-k8s/route53-controller
#120); a client comparing alias targets must normalize.

Error wire format. Route53 sends InvalidChangeBatch as a standard
``<ErrorResponse>`` whose message lists every failure in brackets,
``[first, second]`` (the Route53 API reference still shows an older
``<InvalidChangeBatch><Messages>`` body, which botocore cannot read a code
from; aws/aws-sdk-kotlin #1433 and #1435 quote the current form). The
failure messages are Route53's wording as quoted there and in moto.

ListResourceRecordSets: "returns up to 300 resource record sets at a time"
(API_ListResourceRecordSets.html); moto returns any MaxItems. The layer
caps it at 300.

Every Route53 request runs under one lock, so a batch is checked and
applied with nothing in between.
"""

from __future__ import annotations

import copy
import re
import threading
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qsl, urlencode

from .wire import AwsRequest, Response, rest_xml_error, xml_response

SERVICE = "route53"
NS = "https://route53.amazonaws.com/doc/2013-04-01/"
LIST_MAX_ITEMS = 300

Forward = Callable[[AwsRequest], Response]

_lock = threading.Lock()
_RRSET_PATH = re.compile(r"^/2013-04-01/hostedzone/([^/]+)/rrset/?$")


def serialize(request: AwsRequest, forward: Forward) -> Response:
    with _lock:
        return forward(request)


def q(path: str) -> str:
    return "/".join(f"{{{NS}}}{part}" for part in path.split("/"))


def text(element: ET.Element, path: str) -> str | None:
    found = element.find(q(path))
    if found is None:
        return None
    return found.text or ""


def fqdn(name: str) -> str:
    """Lowercase, with exactly one trailing dot."""
    return name.strip().lower().rstrip(".") + "."


# -- records -------------------------------------------------------------------

@dataclass(frozen=True)
class RecordSet:
    """A resource record set, normalized so that two equal ones compare equal."""

    name: str
    type: str
    set_identifier: str | None
    ttl: int | None
    values: tuple[str, ...]
    alias: tuple[str, str, bool] | None

    @property
    def key(self) -> tuple[str, str, str | None]:
        return (self.name, self.type, self.set_identifier)

    @property
    def label(self) -> str:
        ident = f", set-identifier='{self.set_identifier}'" if self.set_identifier else ""
        return f"[name='{self.name}', type='{self.type}'{ident}]"

    @classmethod
    def from_xml(cls, rrset: ET.Element) -> "RecordSet":
        ttl = text(rrset, "TTL")
        alias = rrset.find(q("AliasTarget"))
        return cls(
            name=fqdn(text(rrset, "Name") or ""),
            type=(text(rrset, "Type") or "").upper(),
            set_identifier=text(rrset, "SetIdentifier"),
            ttl=int(ttl) if ttl and ttl.strip().isdigit() else None,
            values=tuple(sorted(v.text or "" for v in
                                rrset.findall(q("ResourceRecords/ResourceRecord/Value")))),
            alias=None if alias is None else (
                (text(alias, "HostedZoneId") or "").strip(),
                fqdn(text(alias, "DNSName") or ""),
                (text(alias, "EvaluateTargetHealth") or "false").strip().lower() == "true",
            ),
        )


def in_zone(name: str, zone: str) -> bool:
    return name == zone or name.endswith("." + zone)


Key = tuple[str, str, str | None]


def cname_conflict(state: dict[Key, RecordSet], rrset: RecordSet, zone: str) -> str | None:
    """Route53's refusal of a CNAME next to other types at one name, if it applies.

    RFC 1034 section 3.6.2: a CNAME has no other data beside it. Route53's
    wording, as publicly quoted (aws/aws-sdk-java#1996, presslabs/zinc#178).
    """
    others = {r.type for r in state.values() if r.name == rrset.name and r.key != rrset.key}
    if rrset.type == "CNAME" and others - {"CNAME"}:
        return (f"RRSet of type CNAME with DNS name {rrset.name} is not permitted as it "
                f"conflicts with other records with the same DNS name in zone {zone}")
    if rrset.type != "CNAME" and "CNAME" in others:
        return (f"RRSet of type {rrset.type} with DNS name {rrset.name} is not permitted "
                "because a conflicting RRSet of type CNAME with the same DNS name already "
                f"exists in zone {zone}")
    return None


def replay(records: dict[Key, RecordSet], changes: list[tuple[str, RecordSet]],
           zone: str) -> tuple[list[str], dict[Key, RecordSet]]:
    """Apply ``changes`` in order to a copy of ``records``.

    Returns every failure message, and the records after the batch.
    ``zone`` is the zone's name, normalized like the record names.
    """
    state = dict(records)
    failures = []
    for action, rrset in changes:
        if not in_zone(rrset.name, zone):
            failures.append(f"RRSet with DNS name {rrset.name} is not permitted in zone {zone}")
            continue
        current = state.get(rrset.key)
        if action in ("CREATE", "UPSERT") and (conflict := cname_conflict(state, rrset, zone)):
            failures.append(conflict)
            continue
        if action == "CREATE":
            if current is not None:
                failures.append(f"Tried to create resource record set {rrset.label} "
                                "but it already exists")
            else:
                state[rrset.key] = rrset
        elif action == "DELETE":
            if current is None:
                failures.append(f"Tried to delete resource record set {rrset.label} "
                                "but it was not found")
            elif current != rrset:
                failures.append(f"Tried to delete resource record set {rrset.label} "
                                "but the values provided do not match the current values")
            else:
                del state[rrset.key]
        elif action == "UPSERT":
            state[rrset.key] = rrset
    return failures, state


# -- talking to moto -------------------------------------------------------------

def zone_name(request: AwsRequest, forward: Forward, zone_id: str) -> str | None:
    response = forward(request.with_rest("GET", f"/2013-04-01/hostedzone/{zone_id}",
                                         operation="GetHostedZone"))
    if response.status != 200:
        return None
    name = text(ET.fromstring(response.body), "HostedZone/Name")
    return fqdn(name) if name else None


def current_records(request: AwsRequest, forward: Forward, zone_id: str
                    ) -> tuple[list[ET.Element], bool]:
    """Every record set moto has in the zone (as XML), and whether that worked."""
    found: list[ET.Element] = []
    query: dict[str, str] = {"maxitems": str(LIST_MAX_ITEMS)}
    while True:
        response = forward(request.with_rest(
            "GET", f"/2013-04-01/hostedzone/{zone_id}/rrset", urlencode(query),
            operation="ListResourceRecordSets"))
        if response.status != 200:
            return [], False
        root = ET.fromstring(response.body)
        found += root.findall(q("ResourceRecordSets/ResourceRecordSet"))
        if text(root, "IsTruncated") != "true":
            return found, True
        query = {"maxitems": str(LIST_MAX_ITEMS), "name": text(root, "NextRecordName") or "",
                 "type": text(root, "NextRecordType") or ""}
        identifier = text(root, "NextRecordIdentifier")
        if identifier:
            query["identifier"] = identifier


def invalid_change_batch(failures: list[str]) -> Response:
    return rest_xml_error(400, "InvalidChangeBatch", "[" + ", ".join(failures) + "]", NS)


def change_info_response() -> Response:
    """A ChangeResourceRecordSets answer for a batch that changes nothing."""
    submitted = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    body = ('<?xml version="1.0" encoding="utf-8"?>\n'
            f'<ChangeResourceRecordSetsResponse xmlns="{NS}"><ChangeInfo>'
            f"<Id>/change/C{uuid.uuid4().hex[:12].upper()}</Id><Status>INSYNC</Status>"
            f"<SubmittedAt>{submitted}</SubmittedAt></ChangeInfo>"
            "</ChangeResourceRecordSetsResponse>").encode()
    return xml_response(200, body, "application/xml")


def normalized(rrset: ET.Element, record: RecordSet) -> ET.Element:
    """A copy of a request's record set with the names Route53 would store."""
    element = copy.deepcopy(rrset)
    name = element.find(q("Name"))
    if name is not None:
        name.text = record.name
    dns_name = element.find(q("AliasTarget/DNSName"))
    if dns_name is not None and record.alias is not None:
        dns_name.text = record.alias[1]
    return element


def net_batch(existing: dict[Key, ET.Element], final: dict[Key, RecordSet],
              written: dict[Key, ET.Element]) -> ET.Element | None:
    """The batch to send moto: the net effect of a valid batch, or None if none.

    A record gone by the end is deleted with the values moto stored, which
    is what moto's journal of past changes compares; every record a CREATE
    or UPSERT left behind is upserted, which moto's journal never refuses.
    """
    root = ET.Element(q("ChangeResourceRecordSetsRequest"))
    changes = ET.SubElement(ET.SubElement(root, q("ChangeBatch")), q("Changes"))
    for key, element in existing.items():
        if key not in final:
            change = ET.SubElement(changes, q("Change"))
            ET.SubElement(change, q("Action")).text = "DELETE"
            change.append(copy.deepcopy(element))
    for key, element in written.items():
        if key in final:
            change = ET.SubElement(changes, q("Change"))
            ET.SubElement(change, q("Action")).text = "UPSERT"
            change.append(element)
    return root if len(changes) else None


# --------------------------------------------------------------------------
# ChangeResourceRecordSets (see the module docstring).
# --------------------------------------------------------------------------

ACTIONS = ("CREATE", "DELETE", "UPSERT")


def change_resource_record_sets(request: AwsRequest, forward: Forward) -> Response:
    match = _RRSET_PATH.match(request.path)
    if not match or request.method != "POST":
        return forward(request)
    zone_id = match.group(1)
    try:
        root = ET.fromstring(request.body)
    except ET.ParseError:
        return forward(request)  # moto answers malformed input
    changes: list[tuple[str, RecordSet, ET.Element]] = []
    for change in root.findall(q("ChangeBatch/Changes/Change")):
        action = (text(change, "Action") or "").strip()
        rrset = change.find(q("ResourceRecordSet"))
        if rrset is None or not text(rrset, "Name") or not text(rrset, "Type"):
            return forward(request)  # incomplete: moto's validation answers
        if action not in ACTIONS:
            # Route53's schema validation, as moto words it; moto itself
            # would only notice after applying the changes before it.
            return rest_xml_error(
                400, "InvalidInput",
                f"Invalid XML ; cvc-enumeration-valid: Value '{action}' is not facet-valid "
                "with respect to enumeration '[CREATE, DELETE, UPSERT]'. It must be a value "
                "from the enumeration.", NS)
        changes.append((action, RecordSet.from_xml(rrset), rrset))
    if not changes:
        return forward(request)

    zone = zone_name(request, forward, zone_id)
    existing_xml, ok = current_records(request, forward, zone_id) if zone else ([], False)
    if zone is None or not ok:
        return forward(request)  # NoSuchHostedZone and the like: moto's answer
    existing: dict[Key, RecordSet] = {}
    stored: dict[Key, ET.Element] = {}
    for element in existing_xml:
        record = RecordSet.from_xml(element)
        existing[record.key] = record
        stored[record.key] = element

    failures, final = replay(existing, [(action, record) for action, record, _ in changes], zone)
    if failures:
        return invalid_change_batch(failures)

    written: dict[Key, ET.Element] = {}
    for action, record, rrset in changes:
        if action in ("CREATE", "UPSERT"):
            written.pop(record.key, None)  # keep the order of the last write
            written[record.key] = normalized(rrset, record)
    batch = net_batch(stored, final, written)
    if batch is None:
        return change_info_response()
    body = ET.tostring(batch, encoding="unicode", default_namespace=NS).encode()
    return forward(request.with_rest(request.method, request.path,
                                     request.environ.get("QUERY_STRING", ""), body=body))


# --------------------------------------------------------------------------
# ListResourceRecordSets: at most 300 per page; start names are lowercase.
# --------------------------------------------------------------------------

def list_resource_record_sets(request: AwsRequest, forward: Forward) -> Response:
    pairs = parse_qsl(request.environ.get("QUERY_STRING", ""), keep_blank_values=True)
    rewritten = []
    for key, value in pairs:
        if key == "name":
            value = value.lower()
        elif key == "maxitems" and value.strip().isdigit():
            value = str(min(int(value), LIST_MAX_ITEMS))
        rewritten.append((key, value))
    return forward(request.with_rest(request.method, request.path, urlencode(rewritten),
                                     body=request.body))


def register(layer: Any) -> None:
    layer.register(SERVICE, "*", serialize)
    layer.register(SERVICE, "ChangeResourceRecordSets", change_resource_record_sets)
    layer.register(SERVICE, "ListResourceRecordSets", list_resource_record_sets)
