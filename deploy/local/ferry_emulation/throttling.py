"""Request throttling by AWS's token buckets: ECS, ELBv2, Route53, Application
Auto Scaling, EventBridge Scheduler and CloudWatch Logs' FilterLogEvents.

moto never throttles. AWS throttles every API with token buckets, and
Ferry's pacing and retries only mean something if the local AWS pushes
back the way AWS does. Each bucket below is one row of the AWS page cited
next to its table.

Guarantees:

* A bucket starts full, holds at most its capacity (the burst) and refills
  continuously at its refill rate (the sustained rate, tokens per second).
  AWS describes the refill as "a set number of tokens ... every second";
  over any whole second the two agree.
* Every request that reaches this handler takes one token from each bucket
  that applies to it (its row's, and for ELBv2 and Route53 also the
  account-level one), or from none: a request one of them cannot pay for is
  answered with the protocol's throttling error, takes no token, and never
  reaches the other handlers or moto.
* Buckets are per account and region (Route53: per account; it is global),
  shared by every caller: the layer serves one account, so they are keyed
  by region alone, whoever signs.
* Only client requests count. The layer's own calls to moto (a handler's
  ``forward`` of a request it built) go to the inner handlers and never
  pass through here, just as the calls AWS services make on your behalf do
  not spend your tokens.

Not throttled: DynamoDB (Ferry's table is on-demand, PAY_PER_REQUEST, which
throttles only far beyond anything Ferry or the tests do), CloudWatch Logs
actions other than FilterLogEvents (Ferry reads logs with FilterLogEvents
only; the layer's own PutLogEvents go straight to moto), and every other
service (EC2, IAM, SQS, STS, CloudFormation, ...): Ferry's correctness does
not depend on them pushing back.

Where AWS documents no bucket (Application Auto Scaling; Scheduler and Logs
give a rate per second but no burst), the table below says so and what it
chose instead: always the stricter reading, never a kinder one.

``FERRY_EMULATOR_THROTTLING`` (on by default) turns it off: ``off``, ``0``
or ``false``; ``on``, ``1``, ``true`` or unset mean on. Read when the layer
is built; any other value is a ValueError (the emulator exits 2).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from . import elbv2, route53
from .wire import AwsRequest, Response, json_error, json_response, query_error, rest_xml_error

Clock = Callable[[], float]
Forward = Callable[[AwsRequest], Response]


class TokenBucket:
    """A token bucket: full at first, at most ``capacity`` tokens, ``refill`` per second.

    Not thread-safe on its own; ``Throttle`` calls it under its lock.
    ``clock`` returns seconds (``time.monotonic`` by default; tests pass a
    fake one).
    """

    def __init__(self, capacity: float, refill: float, clock: Clock = time.monotonic):
        self.capacity = float(capacity)
        self.refill = float(refill)
        self._clock = clock
        self._tokens = self.capacity
        self._at = clock()

    def tokens(self) -> float:
        """The tokens in the bucket now, after the refill since the last look."""
        now = self._clock()
        elapsed = max(0.0, now - self._at)
        self._tokens = min(self.capacity, self._tokens + elapsed * self.refill)
        self._at = now
        return self._tokens

    def take(self, n: float = 1.0) -> bool:
        """Take ``n`` tokens if there are; False (and nothing taken) otherwise."""
        if self.tokens() < n:
            return False
        self._tokens -= n
        return True


@dataclass(frozen=True)
class Category:
    """One row of a throttling table: the actions that share a bucket, and its size."""

    name: str
    actions: tuple[str, ...]
    capacity: float  # bucket maximum capacity, the burst
    refill: float  # bucket refill rate per second, the sustained rate


@dataclass(frozen=True)
class ServiceLimits:
    """A service's throttling table and how the SDKs expect to be told "throttled"."""

    categories: tuple[Category, ...]
    # Actions no row names. Shared: they all take from this one bucket (ELBv2,
    # whose doc puts every unlisted action in "Mutating"); otherwise each
    # such action has a bucket of this size of its own. None: they are not
    # throttled (CloudWatch Logs, where only FilterLogEvents is).
    unlisted: Category | None
    unlisted_shared: bool
    error: Callable[[], Response]
    # A bucket every request of the service also takes from, if documented.
    account: Category | None = None
    # Buckets per region (ECS, ELBv2), or one set per account (Route53).
    regional: bool = True
    # A bucket that counts something other than requests (Route53's record
    # changes), and how many tokens a request takes from it (0: none).
    units: Category | None = None
    count_units: Callable[[AwsRequest], int] | None = None


# --------------------------------------------------------------------------
# ECS. "Request throttling for the Amazon ECS API", table "Request Token
# Bucket Sizes and Refill Rates" ("All API actions in a category share the
# same token bucket"; quotas "for each AWS account on a per-Region basis"):
# https://docs.aws.amazon.com/AmazonECS/latest/APIReference/request-throttling.html
# Rows: category, actions, bucket maximum capacity, refill per second.
# Fargate also throttles RunTask by tasks launched (developerguide
# throttling.html); not emulated.
# --------------------------------------------------------------------------

ECS_CATEGORIES: tuple[Category, ...] = (
    Category("Cluster modify actions", (
        "CreateCluster", "DeleteCluster", "PutClusterCapacityProviders", "UpdateCluster",
        "UpdateClusterSettings"), 20, 1),
    Category("Cluster read actions", ("DescribeClusters", "ListClusters"), 50, 20),
    Category("Task definition modify actions", (
        "DeregisterTaskDefinition", "RegisterTaskDefinition"), 20, 1),
    Category("Task definition read actions", (
        "DescribeTaskDefinition", "ListTaskDefinitions", "ListTaskDefinitionFamilies"), 50, 20),
    Category("Task definition deletion actions", ("DeleteTaskDefinitions",), 5, 1),
    Category("Capacity provider modify actions", (
        "CreateCapacityProvider", "DeleteCapacityProvider", "UpdateCapacityProvider"), 10, 1),
    Category("Capacity provider read actions", ("DescribeCapacityProviders",), 50, 20),
    Category("Tag modify actions", ("TagResource", "UntagResource"), 20, 10),
    Category("Tag read actions", ("ListTagsForResource",), 50, 20),
    Category("Setting modify actions", (
        "DeleteAccountSetting", "PutAccountSetting", "PutAccountSettingDefault"), 10, 1),
    Category("Setting read actions", ("ListAccountSettings",), 50, 20),
    Category("Cluster resource modify actions", (
        "DeleteAttributes", "DeregisterContainerInstance", "ExecuteCommand", "PutAttributes",
        "RunTask", "StartTask", "StopTask", "UpdateContainerAgent",
        "UpdateContainerInstancesStates"), 100, 40),
    Category("Cluster resource read actions", (
        "DescribeContainerInstances", "DescribeTasks", "ListAttributes",
        "ListContainerInstances", "ListTasks"), 100, 20),
    Category("Agent modify actions", (
        "RegisterContainerInstance", "SubmitAttachmentStateChanges",
        "SubmitContainerStateChange", "SubmitTaskStateChange"), 200, 120),
    Category("Service modify actions", ("CreateService", "DeleteService", "UpdateService"), 50, 5),
    Category("Service read actions", ("DescribeServices", "ListServices"), 100, 20),
    Category("Service deployment actions", (
        "DescribeServiceDeployments", "ListServiceDeployments"), 50, 20),
    Category("Service revision actions", ("DescribeServiceRevisions",), 50, 20),
    Category("Task protection actions", ("UpdateTaskProtection", "GetTaskProtection"), 200, 80),
    Category("Cluster service resource read actions", ("ListServicesByNamespace",), 10, 1),
)

# The ECS page documents no default bucket. Actions it does not list (task
# sets, StopServiceDeployment, ...) get one bucket each of the smallest
# common size in its table (10, 1/s): our conservative guess, not AWS's.
ECS_UNLISTED = Category("Unlisted ECS action (not documented; conservative)", (), 10, 1)

# --------------------------------------------------------------------------
# ELBv2. "Request throttling for the Elastic Load Balancing API", tables
# "Request token bucket sizes and refill rates" (ELBv2 columns), per account
# and Region, each ELB API version with its own buckets:
# https://docs.aws.amazon.com/elasticloadbalancing/latest/userguide/elb-api-throttling.html
# "There is an account-level throttling limit that is shared across all
# Elastic Load Balancing API actions. The capacity of the account-level
# bucket is 40 tokens and the refill rate is 10 request tokens per second."
# Mutating "generally includes all API actions that are not categorized as
# non-mutating actions", so unlisted actions take from the Mutating bucket.
# The page names the error ThrottlingException, but ELBv2 sends (and the
# SDKs see) the query-protocol code Throttling: boto/boto3#3125,
# ansible-collections/community.aws#977 (HTTP 400, text/xml, Sender).
# --------------------------------------------------------------------------

ELBV2_MUTATING = Category("Mutating", (
    "AddListenerCertificates", "AddTags", "CreateListener", "CreateRule", "CreateTargetGroup",
    "DeleteListener", "DeleteLoadBalancer", "DeleteRule", "DeleteTargetGroup",
    "ModifyCapacityReservation", "ModifyIpPools", "ModifyListener", "ModifyListenerAttributes",
    "ModifyLoadBalancerAttributes", "ModifyRule", "ModifyTargetGroup",
    "ModifyTargetGroupAttributes", "RemoveListenerCertificates", "RemoveTags",
    "SetIpAddressType", "SetRulePriorities", "SetSecurityGroups"), 20, 3)

ELBV2_CATEGORIES: tuple[Category, ...] = (
    Category("Resource-intensive", ("CreateLoadBalancer", "SetSubnets"), 10, 0.2),
    Category("Registration", ("RegisterTargets", "DeregisterTargets"), 20, 4),
    Category("Non-mutating", (
        "DescribeAccountLimits", "DescribeCapacityReservation", "DescribeListenerAttributes",
        "DescribeListenerCertificates", "DescribeListeners", "DescribeLoadBalancerAttributes",
        "DescribeLoadBalancers", "DescribeRules", "DescribeSSLPolicies", "DescribeTags",
        "DescribeTargetGroupAttributes", "DescribeTargetGroups", "DescribeTargetHealth"), 40, 10),
    ELBV2_MUTATING,
    # "Uncategorized" rows: their own buckets.
    Category("CreateTrustStore", ("CreateTrustStore",), 10, 0.2),
    Category("Trust store modify", (
        "AddTrustStoreRevocations", "DeleteSharedTrustStoreAssociation", "DeleteTrustStore",
        "ModifyTrustStore", "RemoveTrustStoreRevocations"), 10, 0.2),
    Category("Resource policy and trust store content", (
        "GetResourcePolicy", "GetTrustStoreCaCertificatesBundle",
        "GetTrustStoreRevocationContent"), 20, 4),
    Category("Trust store read", (
        "DescribeTrustStoreAssociations", "DescribeTrustStoreRevocations",
        "DescribeTrustStores"), 40, 10),
)

# --------------------------------------------------------------------------
# Route53. "Throttling for Amazon Route 53 API requests", table "Request
# rate limits per API action" (per account; the DNSLimitations page, which
# used to say "five requests per second per AWS account", now points here):
# https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/throttling-api-requests.html
# "A request consumes a token from both buckets [account level and its
# action's] and is throttled if either bucket is empty."
# "Route 53 applies two independent limits": besides the request rate,
# change throughput, "the number of individual DNS record changes per
# second", a bucket of 1,500 changes refilled at 100 per second, each
# change taking a token ("each change (for the change throughput limit)
# removes tokens"); an UPSERT counts twice (route53.change_count). A batch
# larger than the tokens left is throttled whole.
# --------------------------------------------------------------------------

ROUTE53_CATEGORIES: tuple[Category, ...] = tuple(
    Category(action, (action,), capacity, refill) for action, capacity, refill in (
        ("AssociateVPCWithHostedZone", 20, 5),
        ("ChangeCidrCollection", 40, 5),
        ("CreateCidrCollection", 40, 5),
        ("CreateHealthCheck", 50, 0.5),
        ("CreateHostedZone", 40, 2),
        ("CreateReusableDelegationSet", 40, 2),
        ("CreateTrafficPolicyInstance", 1, 1),
        ("DeleteCidrCollection", 40, 5),
        ("DeleteHealthCheck", 15, 3),
        ("DeleteHostedZone", 40, 5),
        ("DeleteReusableDelegationSet", 40, 5),
        ("DeleteTrafficPolicyInstance", 1, 1),
        ("DisassociateVPCFromHostedZone", 10, 5),
        ("GetHealthCheckLastFailureReason", 4, 1),
        ("GetHealthCheckStatus", 4, 1),
        ("UpdateHealthCheck", 50, 5),
        ("UpdateTrafficPolicyInstance", 1, 1),
    )
)


# --------------------------------------------------------------------------
# Application Auto Scaling. AWS publishes no request rate: neither the
# quotas page
# (https://docs.aws.amazon.com/autoscaling/application/userguide/application-auto-scaling-quotas.html,
# resources only) nor the API reference. What it does say, in the knowledge
# center (https://repost.aws/knowledge-center/autoscaling-api-calls-throttled):
# "API calls can't exceed the maximum allowed API request rate per AWS
# account and per AWS Region." "Amazon EC2 Auto Scaling, AWS Auto Scaling,
# and AWS Application Auto Scaling have their own API throttle buckets. This
# means that all Amazon EC2 Auto Scaling API calls have a single, shared API
# limit." So: one bucket per region shared by every action, of a size that
# is ours and deliberately small (burst 10, 2/s; Ferry's own pacing,
# crates/ferry-call Bucket::Autoscaling, assumes the same). Throttled
# requests get "Rate exceeded", the knowledge center's wording, as the
# awsJson1_1 ThrottlingException every AWS JSON service sends.
# moto: never throttles.
# --------------------------------------------------------------------------

AUTOSCALING_ALL = Category(
    "All Application Auto Scaling actions (not documented; conservative)", (), 10, 2)

# --------------------------------------------------------------------------
# EventBridge Scheduler. "Quotas for Amazon EventBridge Scheduler"
# (https://docs.aws.amazon.com/scheduler/latest/UserGuide/scheduler-quotas.html):
# a request rate per operation, e.g. "Maximum CreateSchedule requests per
# second. When you reach this quota, EventBridge Scheduler rejects requests
# for this operation for the remainder of the interval." The schedule
# operations' rates differ between versions of the page and Regions (50 per
# second in every Region in earlier versions; now 250 in most Regions and
# 1,000 to 5,000 in a few): we take the lowest the page has given, 50 per
# second for each of Create/Get/Update/Delete/ListSchedules, and 10 per
# second for each group operation ("CreateScheduleGroup request rate: Each
# supported Region: 10", likewise DeleteScheduleGroup, GetScheduleGroup,
# ListScheduleGroups, ListTagsForResource, TagResource, UntagResource).
# No burst beyond one second's worth ("for the remainder of the interval"):
# capacity = rate. Per operation and per Region.
# Error: the API reference lists for every operation "ThrottlingException
# The request was denied due to request throttling. HTTP Status Code: 429"
# (e.g. https://docs.aws.amazon.com/scheduler/latest/APIReference/API_CreateSchedule.html);
# restJson1 carries the code in X-Amzn-ErrorType and the body.
# moto: never throttles.
# --------------------------------------------------------------------------

SCHEDULER_CATEGORIES: tuple[Category, ...] = tuple(
    Category(action, (action,), rate, rate) for action, rate in (
        ("CreateSchedule", 50), ("GetSchedule", 50), ("UpdateSchedule", 50),
        ("DeleteSchedule", 50), ("ListSchedules", 50),
        ("CreateScheduleGroup", 10), ("DeleteScheduleGroup", 10), ("GetScheduleGroup", 10),
        ("ListScheduleGroups", 10), ("ListTagsForResource", 10), ("TagResource", 10),
        ("UntagResource", 10),
    )
)
# Operations the page does not list: a bucket each of the group size (ours).
SCHEDULER_UNLISTED = Category("Unlisted Scheduler operation (not documented; conservative)",
                              (), 10, 10)

# --------------------------------------------------------------------------
# CloudWatch Logs. "CloudWatch Logs quotas"
# (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/cloudwatch_limits_cwl.html):
# FilterLogEvents "5 transactions per second (TPS)/account/Region", not
# adjustable; the knowledge center
# (https://repost.aws/knowledge-center/cloudwatch-logs-throttling): "if you
# use the FilterLogEvents API to search for log events from a specified log
# group, the ... API has a default quota ... 5 transactions per second (TPS)
# per account or AWS Region." No burst is documented: capacity 5, one
# second's worth. Error: awsJson1_1 ThrottlingException ("The request was
# throttled because of quota limits", the Logs API's description of it).
# Only FilterLogEvents, the one Logs read Ferry makes, is throttled.
# moto: never throttles.
# --------------------------------------------------------------------------

LOGS_CATEGORIES: tuple[Category, ...] = (
    Category("FilterLogEvents", ("FilterLogEvents",), 5, 5),
)

RATE_EXCEEDED = "Rate exceeded"

LIMITS: dict[str, ServiceLimits] = {
    "ecs": ServiceLimits(
        categories=ECS_CATEGORIES, unlisted=ECS_UNLISTED, unlisted_shared=False,
        # awsJson1_1, as the ECS page quotes it: ThrottlingException, "Rate exceeded".
        error=lambda: json_error(400, "ThrottlingException", RATE_EXCEEDED)),
    "elbv2": ServiceLimits(
        categories=ELBV2_CATEGORIES, unlisted=ELBV2_MUTATING, unlisted_shared=True,
        account=Category("All ELBv2 API actions (account level)", (), 40, 10),
        error=lambda: query_error(400, "Throttling", RATE_EXCEEDED, elbv2.NS)),
    "route53": ServiceLimits(
        categories=ROUTE53_CATEGORIES,
        unlisted=Category("Any single API action not listed (per-action default)", (), 50, 10),
        unlisted_shared=False,
        account=Category("All Amazon Route 53 API actions combined (account level)", (), 50, 10),
        regional=False,
        # restXml: Code Throttling, Message "Rate exceeded", HTTP 400, as the page says.
        error=lambda: rest_xml_error(400, "Throttling", RATE_EXCEEDED, route53.NS),
        units=Category("Change throughput", ("ChangeResourceRecordSets",), 1500, 100),
        count_units=route53.change_count),
    "application-autoscaling": ServiceLimits(
        categories=(), unlisted=AUTOSCALING_ALL, unlisted_shared=True,
        error=lambda: json_error(400, "ThrottlingException", RATE_EXCEEDED)),
    "scheduler": ServiceLimits(
        categories=SCHEDULER_CATEGORIES, unlisted=SCHEDULER_UNLISTED, unlisted_shared=False,
        error=lambda: rest_json_error(429, "ThrottlingException", RATE_EXCEEDED)),
    "logs": ServiceLimits(
        categories=LOGS_CATEGORIES, unlisted=None, unlisted_shared=False,
        error=lambda: json_error(400, "ThrottlingException", RATE_EXCEEDED)),
}


def rest_json_error(status: int, code: str, message: str) -> Response:
    """A restJson1 error (Scheduler): the code in X-Amzn-ErrorType and in the body.

    https://smithy.io/2.0/aws/protocols/aws-restjson1-protocol.html#operation-error-serialization
    """
    response = json_response(status, {"__type": code, "message": message}, "application/json")
    response.headers.append(("X-Amzn-ErrorType", code))
    return response


BucketKey = tuple[str, str | None, str]


def buckets_for(service: str, operation: str, region: str | None,
                limits: Mapping[str, ServiceLimits] = LIMITS) -> list[tuple[BucketKey, Category]]:
    """The buckets a request takes a token from (none: not throttled), by key.

    The key names the service, the region (None for per-account services)
    and the bucket: a row's name, or the operation for an unlisted action
    with a bucket of its own.
    """
    service_limits = limits.get(service)
    if service_limits is None:
        return []
    scope = region if service_limits.regional else None
    found: list[tuple[BucketKey, Category]] = []
    if service_limits.account is not None:
        found.append(((service, scope, service_limits.account.name), service_limits.account))
    for category in service_limits.categories:
        if operation in category.actions:
            found.append(((service, scope, category.name), category))
            return found
    unlisted = service_limits.unlisted
    if unlisted is None:
        return found
    name = unlisted.name if service_limits.unlisted_shared else f"{unlisted.name}: {operation}"
    found.append(((service, scope, name), unlisted))
    return found


class Throttle:
    """The handler: admits a request if every bucket it draws from has a token."""

    def __init__(self, limits: Mapping[str, ServiceLimits] = LIMITS, clock: Clock = time.monotonic):
        self._limits = limits
        self._clock = clock
        self._buckets: dict[BucketKey, TokenBucket] = {}
        # Checking every bucket and taking from each is one atomic step, so
        # concurrent requests can neither overdraw a bucket nor take from
        # one bucket and then be refused by the other.
        self._lock = threading.Lock()

    def admit(self, service: str, operation: str, region: str | None, units: int = 0) -> bool:
        """Take a token from each of the request's buckets, and ``units`` from the
        service's units bucket (Route53's changes); False and nothing taken if
        one has too few."""
        wanted = [(key, category, 1.0)
                  for key, category in buckets_for(service, operation, region, self._limits)]
        limits = self._limits.get(service)
        if units > 0 and limits is not None and limits.units is not None \
                and operation in limits.units.actions:
            scope = region if limits.regional else None
            wanted.append(((service, scope, limits.units.name), limits.units, float(units)))
        with self._lock:
            buckets = [(self._bucket(key, category), n) for key, category, n in wanted]
            if any(bucket.tokens() < n for bucket, n in buckets):
                return False
            for bucket, n in buckets:
                bucket.take(n)
            return True

    def _bucket(self, key: BucketKey, category: Category) -> TokenBucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = TokenBucket(category.capacity, category.refill, self._clock)
        return bucket

    def __call__(self, request: AwsRequest, forward: Forward) -> Response:
        limits = self._limits.get(request.service)
        units = limits.count_units(request) if limits is not None and limits.count_units else 0
        if self.admit(request.service, request.operation, request.region, units):
            return forward(request)
        response = self._limits[request.service].error()
        response.throttled = True
        return response


# --------------------------------------------------------------------------
# FERRY_EMULATOR_THROTTLING, read when the layer is built.
# --------------------------------------------------------------------------

THROTTLING_ENV = "FERRY_EMULATOR_THROTTLING"
_ON = ("", "on", "1", "true")
_OFF = ("off", "0", "false")


def enabled(environ: Mapping[str, str] = os.environ) -> bool:
    """Whether throttling is on; ValueError for a value that is neither on nor off."""
    raw = environ.get(THROTTLING_ENV, "")
    value = raw.strip().lower()
    if value in _ON:
        return True
    if value in _OFF:
        return False
    raise ValueError(f"{THROTTLING_ENV} must be on or off (1/0, true/false), got {raw!r}")


def register(layer: Any) -> None:
    """Register the throttle for every service in LIMITS, unless turned off.

    Registered per throttled service rather than as ("*", "*"): it is just
    as outermost (``ferry_emulation.MODULES`` lists this module first, and
    handlers run in registration order), and requests to services that are
    never throttled keep being streamed to moto untouched.
    """
    if not enabled():
        return
    throttle = Throttle()
    for service, limits in LIMITS.items():
        if limits.unlisted is None:
            # Only the listed actions are throttled; the others keep
            # streaming to moto untouched.
            for category in limits.categories:
                for action in category.actions:
                    layer.register(service, action, throttle)
        else:
            layer.register(service, "*", throttle)
