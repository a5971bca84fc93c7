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

Change status: PENDING, then INSYNC. API_GetChange.html: "PENDING
indicates that the changes in this request have not propagated to all
Amazon Route 53 DNS servers managing the hosted zone. This is the initial
status of all change batch requests. INSYNC indicates that the changes have
propagated to all Route 53 DNS servers managing the hosted zone."
API_ChangeResourceRecordSets.html: "Initially, the status of a change is
PENDING. This means the change has not yet propagated to all the
authoritative Amazon Route 53 DNS servers. When the change is propagated
to all hosts, the change returns a status of INSYNC." moto answers INSYNC at
once, in ChangeResourceRecordSets and in GetChange (of any id, even one it
never issued). The layer answers PENDING in ChangeResourceRecordSets'
ChangeInfo and in GetChange for ``FERRY_EMULATOR_ROUTE53_SYNC_SECONDS``
(default 1.0; AWS gives no number, it is usually well under a minute),
then INSYNC; GetChange of an id the layer never issued is
``NoSuchChange`` (HTTP 404, "A change with the specified change ID does not
exist.", the error API_GetChange.html lists). 0 turns PENDING off: INSYNC
at once and no PriorRequestNotComplete. Read once at emulator start; a
value that is not a number >= 0 is a ValueError naming the variable.

Concurrent changes: PriorRequestNotComplete. API_ChangeResourceRecordSets.html
lists "PriorRequestNotComplete: If Amazon Route 53 can't process a request
before the next request arrives, it will reject subsequent requests for the
same hosted zone and return an HTTP 400 error (Bad request). If Route 53
returns this error repeatedly for the same request, we recommend that you
wait, in intervals of increasing duration, before you try the request
again." The knowledge center (repost.aws/knowledge-center/route-53-avoid-
throttling-errors) gives the wire form: Code ``PriorRequestNotComplete``,
Message "The request was rejected because Route 53 was still processing a
prior request." moto never sends it. The documentation does not say how
long "processing" lasts; the layer takes the stricter reading, the whole
PENDING time: a batch that changes a record a PENDING change of the same
zone also changed (by name, type and SetIdentifier) is refused, HTTP 400
``PriorRequestNotComplete``, and nothing is applied. With
``FERRY_EMULATOR_ROUTE53_CONFLICT_SCOPE=zone`` any change to a zone with a
PENDING change is refused, the documentation's own words ("for the same
hosted zone"), stricter still; the default, ``record``, is what the issue
asks for and lets Ferry change the records of several apps in one zone at
once, as AWS in practice does. A refused batch starts no change.
Ferry must treat PriorRequestNotComplete as retryable (ferry-call lists it
with the throttling codes).

Every Route53 request runs under one lock, so a batch is checked and
applied with nothing in between.
"""

from __future__ import annotations

import copy
import os
import re
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qsl, urlencode

from . import envsettings, locks
from .wire import AwsRequest, Response, rest_xml_error, xml_response

SERVICE = "route53"
NS = "https://route53.amazonaws.com/doc/2013-04-01/"
LIST_MAX_ITEMS = 300

Forward = Callable[[AwsRequest], Response]

_RRSET_PATH = re.compile(r"^/2013-04-01/hostedzone/([^/]+)/rrset/?$")


def serialize(request: AwsRequest, forward: Forward) -> Response:
    with locks.ROUTE53:
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
    """A ChangeResourceRecordSets answer for a batch that changes nothing.

    Its status is INSYNC here; ``Changes.answer`` rewrites it like moto's.
    """
    return xml_response(200, change_info_xml("ChangeResourceRecordSetsResponse",
                                             f"C{uuid.uuid4().hex[:12].upper()}", "INSYNC",
                                             datetime.now(timezone.utc)), "application/xml")


def change_info_xml(root: str, change_id: str, status: str, submitted: datetime) -> bytes:
    """An answer that is one ``ChangeInfo`` (ChangeResourceRecordSets, GetChange)."""
    at = submitted.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<{root} xmlns="{NS}"><ChangeInfo>'
            f"<Id>/change/{change_id}</Id><Status>{status}</Status>"
            f"<SubmittedAt>{at}</SubmittedAt></ChangeInfo></{root}>").encode()


# --------------------------------------------------------------------------
# Change status and PriorRequestNotComplete (see the module docstring).
# --------------------------------------------------------------------------

SYNC_ENV = "FERRY_EMULATOR_ROUTE53_SYNC_SECONDS"
SYNC_DEFAULT = 1.0
SCOPE_ENV = "FERRY_EMULATOR_ROUTE53_CONFLICT_SCOPE"
SCOPES = ("record", "zone")
PRIOR_REQUEST_MESSAGE = ("The request was rejected because Route 53 was still processing "
                         "a prior request.")


def sync_seconds(environ: Mapping[str, str] = os.environ) -> float:
    """FERRY_EMULATOR_ROUTE53_SYNC_SECONDS; ValueError unless a number >= 0."""
    return envsettings.seconds(environ, SYNC_ENV, SYNC_DEFAULT)


def conflict_scope(environ: Mapping[str, str] = os.environ) -> str:
    """FERRY_EMULATOR_ROUTE53_CONFLICT_SCOPE: record (default) or zone; ValueError otherwise."""
    raw = environ.get(SCOPE_ENV, "").strip()
    value = raw.lower() or "record"
    if value not in SCOPES:
        raise ValueError(f"{SCOPE_ENV} must be record or zone, got {raw!r}")
    return value


ChangeKey = tuple[str, ...]  # (zone id,) or (zone id, name, type, SetIdentifier)


@dataclass
class Change:
    submitted: float
    keys: frozenset[ChangeKey]


def change_status(submitted: float, now: float, sync: float) -> str:
    """PENDING for ``sync`` seconds after ``submitted``, then INSYNC."""
    return "PENDING" if now < submitted + sync else "INSYNC"


def change_keys(zone_id: str, records: Iterable[Key], scope: str) -> frozenset[ChangeKey]:
    """What a change holds while PENDING: its records, or its whole zone."""
    if scope == "zone":
        return frozenset({(zone_id,)})
    return frozenset((zone_id, name, rtype, ident or "") for name, rtype, ident in records)


@dataclass
class Changes:
    """The changes the layer issued: their status over time, and who they block.

    ``clock`` returns seconds (time.monotonic; tests pass a fake one).
    Called under the Route53 lock.
    """

    sync: float = SYNC_DEFAULT
    scope: str = "record"
    clock: Callable[[], float] = time.monotonic
    issued: dict[str, Change] = field(default_factory=dict)

    def status(self, change_id: str) -> str | None:
        change = self.issued.get(change_id)
        return None if change is None else change_status(change.submitted, self.clock(), self.sync)

    def blocked(self, keys: frozenset[ChangeKey]) -> bool:
        """Whether a PENDING change holds any of ``keys``."""
        now = self.clock()
        return any(change.keys & keys for change in self.issued.values()
                   if change_status(change.submitted, now, self.sync) == "PENDING")

    def submit(self, keys: frozenset[ChangeKey]) -> str:
        """Start a change; returns its id (``C`` and 12 characters, Route53's form)."""
        change_id = f"C{uuid.uuid4().hex[:12].upper()}"
        self.issued[change_id] = Change(self.clock(), keys)
        return change_id

    def answer(self, response: Response, keys: frozenset[ChangeKey]) -> Response:
        """A successful ChangeResourceRecordSets answer with this layer's change id and status."""
        root = ET.fromstring(response.body)
        info = root.find(q("ChangeInfo"))
        if info is None:
            return response
        change_id = self.submit(keys)
        for name, value in (("Id", f"/change/{change_id}"), ("Status", self.status(change_id))):
            element = info.find(q(name))
            if element is None:
                element = ET.SubElement(info, q(name))
            element.text = value
        body = ET.tostring(root, encoding="unicode", default_namespace=NS).encode()
        return xml_response(response.status, b'<?xml version="1.0" encoding="UTF-8"?>\n' + body,
                            response.header("Content-Type") or "text/xml")

    def get_change(self, request: AwsRequest, _forward: Forward) -> Response:
        """GetChange: the status of a change the layer issued; NoSuchChange otherwise."""
        change_id = request.path.rstrip("/").rsplit("/", 1)[-1]
        change = self.issued.get(change_id)
        if change is None:
            return rest_xml_error(404, "NoSuchChange",
                                  "A change with the specified change ID does not exist.", NS)
        submitted = datetime.fromtimestamp(
            time.time() - (self.clock() - change.submitted), timezone.utc)
        body = change_info_xml("GetChangeResponse", change_id, self.status(change_id), submitted)
        return xml_response(200, body, "text/xml")


def prior_request_not_complete() -> Response:
    return rest_xml_error(400, "PriorRequestNotComplete", PRIOR_REQUEST_MESSAGE, NS)


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


def change_count(request: AwsRequest) -> int:
    """How many record changes a ChangeResourceRecordSets request makes, as
    Route 53's change-throughput bucket counts them: one per CREATE or
    DELETE, two per UPSERT ("UPSERT requests count twice",
    https://repost.aws/knowledge-center/route-53-avoid-throttling-errors).
    0 for anything else, or a body that does not parse (moto answers it)."""
    if request.operation != "ChangeResourceRecordSets" or not request.body:
        return 0
    try:
        root = ET.fromstring(request.body)
    except ET.ParseError:
        return 0
    actions = [(text(c, "Action") or "").strip() for c in root.findall(q("ChangeBatch/Changes/Change"))]
    return sum(2 if action == "UPSERT" else 1 for action in actions)


def change_resource_record_sets(request: AwsRequest, forward: Forward,
                                changes_made: Changes | None = None) -> Response:
    """The handler; ``changes_made`` tracks PENDING changes (None: moto's INSYNC, no conflicts)."""
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
    keys = frozenset()
    if changes_made is not None and changes_made.sync > 0:
        keys = change_keys(zone_id, (record.key for _, record, _ in changes), changes_made.scope)
        if changes_made.blocked(keys):
            return prior_request_not_complete()

    written: dict[Key, ET.Element] = {}
    for action, record, rrset in changes:
        if action in ("CREATE", "UPSERT"):
            written.pop(record.key, None)  # keep the order of the last write
            written[record.key] = normalized(rrset, record)
    batch = net_batch(stored, final, written)
    if batch is None:
        response = change_info_response()
    else:
        body = ET.tostring(batch, encoding="unicode", default_namespace=NS).encode()
        response = forward(request.with_rest(request.method, request.path,
                                             request.environ.get("QUERY_STRING", ""), body=body))
    if changes_made is None or response.status != 200:
        return response
    return changes_made.answer(response, keys)


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
    """Route53's handlers; reads FERRY_EMULATOR_ROUTE53_SYNC_SECONDS and ..._CONFLICT_SCOPE."""
    changes_made = Changes(sync_seconds(), conflict_scope())
    layer.register(SERVICE, "*", serialize)
    layer.register(SERVICE, "ChangeResourceRecordSets",
                   lambda request, forward: change_resource_record_sets(request, forward,
                                                                        changes_made))
    layer.register(SERVICE, "ListResourceRecordSets", list_resource_record_sets)
    layer.register(SERVICE, "GetChange", changes_made.get_change)
