"""Pagination at AWS's documented page sizes, for the listings Ferry reads.

One helper serves every JSON-protocol listing: the layer asks the rest of
the chain (and finally moto) for the whole list, without ``maxResults`` and
``nextToken``, sorts it in the documented order, and slices one page. The
token names the sort key of the last item served (not an offset), so an
item created or deleted between two pages neither repeats nor skips the
others. A token the layer did not hand out is refused. Guarantees: every
item present for the whole walk is served exactly once, in order; no page
is longer than the documented maximum; without ``maxResults`` a page holds
the documented default.

Caveat: AWS's tokens are opaque and also expire (ECS: "This token should be
treated as an opaque identifier that is only used to retrieve the next items
in a list"); ours never expire.

ECS (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/)
-----------------------------------------------------------------
API_ListServices.html, maxResults: "The maximum number of service results
that ListServices returned in paginated output. ... This value can be
between 1 and 100. If this parameter isn't used, then ListServices returns
up to 10 results and a nextToken value if applicable."

API_ListTasks.html, maxResults: "This value can be between 1 and 100. If
this parameter isn't used, then ListTasks returns up to 100 results and a
nextToken value if applicable." The order is not documented; the layer
sorts by ARN.

API_ListTaskDefinitions.html, maxResults: "This value can be between 1 and
100. If this parameter isn't used, then ListTaskDefinitions returns up to
100 results and a nextToken value if applicable." sort: "By default, (ASC)
task definitions are listed lexicographically by family name and in
ascending numerical order by revision so that the newest task definitions
in a family are listed last. Setting this parameter to DESC reverses the
sort order on family name and revision."

API_ListTaskDefinitionFamilies.html, maxResults: "This value can be between
1 and 100. If this parameter isn't used, then ListTaskDefinitionFamilies
returns up to 100 results and a nextToken value if applicable." (Ferry does
not call it; paged for completeness, sorted by name.)

moto returns every item in one page and ignores both parameters (and
``sort``). moto's ListServices also lists INACTIVE (deleted) services; that
is kept on purpose (Ferry must filter them itself). A maxResults outside 1..100 is an InvalidParameterException; the
wording is ours, as is "Invalid nextToken.".

ELBv2 DescribeTags
------------------
https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_DescribeTags.html
  ResourceArns: "The Amazon Resource Names (ARN) of the resources. You can
  specify up to 20 resources in a single call."
moto describes any number. The layer refuses 21 or more with a
ValidationError in the wording of AWS's length constraints (as elbv2.py's
PageSize check words them). DescribeTargetGroups and DescribeRules are paged
by elbv2.py, ListResourceRecordSets by route53.py, DescribeScalableTargets
and DescribeScalingPolicies by autoscaling.py. The other listings Ferry
makes name their resources (DescribeListeners with ListenerArns,
DescribeLoadBalancers with one ARN), so no page size applies.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import elbv2
from .wire import AwsRequest, Response, form_list, json_answer, json_error

Forward = Callable[[AwsRequest], Response]
SortKey = Callable[[str], Any]


# -- tokens ----------------------------------------------------------------------------

def encode_token(after: Any) -> str:
    """An opaque token naming the sort key of the last item served."""
    raw = json.dumps({"v": 1, "after": after}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(token: str) -> Any:
    """The sort key a token continues after, or None if the token is not ours."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    if not isinstance(data, dict) or data.get("v") != 1:
        return None
    after = data.get("after")
    if isinstance(after, str):
        return after
    if isinstance(after, list) and all(isinstance(part, (str, int)) for part in after):
        return tuple(after)
    return None


def paginate(items: list[str], max_results: int, token: str | None,
             key: SortKey = lambda item: item, descending: bool = False
             ) -> tuple[list[str], str | None]:
    """One page of ``items`` (deduplicated, sorted by ``key``) and the next token.

    Raises ValueError for a token this module did not make.
    """
    ordered = sorted(set(items), key=key, reverse=descending)
    if token is not None:
        after = decode_token(token)
        if after is None:
            raise ValueError("invalid token")
        try:
            ordered = [i for i in ordered
                       if (key(i) < after if descending else key(i) > after)]
        except TypeError as exc:  # a token of another listing (other key shape)
            raise ValueError("invalid token") from exc
    page = ordered[:max_results]
    next_token = None
    if len(ordered) > max_results:
        last = key(page[-1])
        next_token = encode_token(list(last) if isinstance(last, tuple) else last)
    return page, next_token


# -- ECS listings ----------------------------------------------------------------------

def task_definition_key(arn: str) -> tuple[str, int]:
    """(family, revision) of a task definition ARN; ListTaskDefinitions' documented order."""
    family, _, revision = arn.rsplit("/", 1)[-1].rpartition(":")
    return (family, int(revision)) if revision.isdigit() else (arn, 0)


@dataclass(frozen=True)
class Listing:
    """A JSON-protocol listing: the response's list, its page sizes, its order."""

    items: str
    default: int
    maximum: int = 100
    key: SortKey = staticmethod(lambda item: item)  # type: ignore[assignment]
    sortable: bool = False  # honours ``sort`` ASC/DESC (ListTaskDefinitions)


LIST_SERVICES = Listing("serviceArns", default=10)
LIST_TASKS = Listing("taskArns", default=100)
LIST_TASK_DEFINITIONS = Listing("taskDefinitionArns", default=100, key=task_definition_key,
                                sortable=True)
LIST_TASK_DEFINITION_FAMILIES = Listing("families", default=100)

ECS_LISTINGS = {
    "ListServices": LIST_SERVICES,
    "ListTasks": LIST_TASKS,
    "ListTaskDefinitions": LIST_TASK_DEFINITIONS,
    "ListTaskDefinitionFamilies": LIST_TASK_DEFINITION_FAMILIES,
}


def json_pagination(listing: Listing) -> Callable[[AwsRequest, Forward], Response]:
    """A handler paging ``listing`` by ``maxResults`` and ``nextToken``."""

    def handler(request: AwsRequest, forward: Forward) -> Response:
        params = request.json()
        max_results = params.get("maxResults", listing.default)
        if (not isinstance(max_results, int) or isinstance(max_results, bool)
                or not 1 <= max_results <= listing.maximum):
            return json_error(400, "InvalidParameterException",
                              f"maxResults must be between 1 and {listing.maximum}.")
        token = params.get("nextToken")
        if token is not None and (not isinstance(token, str) or decode_token(token) is None):
            return json_error(400, "InvalidParameterException", "Invalid nextToken.")

        upstream = {k: v for k, v in params.items() if k not in ("maxResults", "nextToken")}
        response = forward(request.with_json(upstream))
        if response.status != 200:
            return response
        items = response.json().get(listing.items, [])
        descending = listing.sortable and params.get("sort") == "DESC"
        try:
            page, next_token = paginate(items, max_results, token, listing.key, descending)
        except ValueError:
            return json_error(400, "InvalidParameterException", "Invalid nextToken.")
        payload: dict[str, Any] = {listing.items: page}
        if next_token is not None:
            payload["nextToken"] = next_token
        return json_answer(response, payload)

    return handler


list_services_pagination = json_pagination(LIST_SERVICES)


# -- ELBv2 DescribeTags ----------------------------------------------------------------

DESCRIBE_TAGS_MAX = 20


def describe_tags_limit(request: AwsRequest, forward: Forward) -> Response:
    arns = form_list(request.form(), "ResourceArns")
    if len(arns) > DESCRIBE_TAGS_MAX:
        return elbv2.error("ValidationError",
                           "1 validation error detected: Value at 'resourceArns' failed to "
                           "satisfy constraint: Member must have length less than or equal "
                           f"to {DESCRIBE_TAGS_MAX}")
    return forward(request)


def register(layer: Any) -> None:
    """Register every listing's pagination (called from ``ecs.register``)."""
    for operation, listing in ECS_LISTINGS.items():
        layer.register("ecs", operation, json_pagination(listing))
    layer.register("elbv2", "DescribeTags", describe_tags_limit)
