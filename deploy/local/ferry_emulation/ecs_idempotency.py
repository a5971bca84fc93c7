"""CreateService of a service name that is ACTIVE: refused, never replaced.

https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CreateService.html
  serviceName: "Service names must be unique within a cluster, but you can
  have similarly named services in multiple clusters within a Region or
  across multiple Regions."
https://docs.aws.amazon.com/AmazonECS/latest/APIReference/ECS_Idempotency.html
  "A client token is a unique, case-sensitive string. To make an idempotent
  API request using one of these actions, specify a client token in the
  request. ... If you retry a request that completed successfully using the
  same client token and the same parameters, the retry succeeds without
  performing any further actions." (CreateService is one of the actions.)

AWS answers a CreateService that would make a second service of an ACTIVE
name with HTTP 400 InvalidParameterException "Creation of service was not
idempotent." (the wording quoted in hashicorp/terraform-provider-aws#14489,
#23462, hashicorp/waypoint#2045 and Shippable/support#4753).

What the layer does:

* the retry the idempotency page describes (same ``clientToken``, same
  parameters, same cluster) is answered by ``ecs.ClientTokens``, which is
  registered before this handler: it replays the first answer and never
  reaches this one;
* any other CreateService naming a service that is ACTIVE in that cluster
  is refused with the message above, whatever its parameters. The pages
  are silent on a request without the token (or with another token) whose
  parameters match: the stricter reading is taken (the name must be
  unique; only the documented token makes a retry idempotent);
* a name whose service is INACTIVE (deleted, drained) may be created
  again, as on AWS. A DRAINING one is refused by ``deployments.py``, which
  keeps the draining state (moto marks a deleted service INACTIVE at once,
  so this handler, reading moto, sees it INACTIVE).

moto silently replaces an ACTIVE service of the same name (a new ARN, the
old deployments and tasks forgotten). The service is looked up in moto
directly (``call_moto``: unlogged, unthrottled, AWS's own read), by the
name and cluster of the request, under the ECS lock.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .wire import AwsRequest, Response, json_error

Forward = Callable[[AwsRequest], Response]

NOT_IDEMPOTENT = "Creation of service was not idempotent."


def active_service(described: Any, name: str) -> bool:
    """Whether a DescribeServices answer has an ACTIVE service called ``name``."""
    services = described.get("services") if isinstance(described, dict) else None
    return any(isinstance(s, dict) and s.get("serviceName") == name and s.get("status") == "ACTIVE"
               for s in services or [])


def create_service_unique(call_moto: Callable[[AwsRequest], Response]
                          ) -> Callable[[AwsRequest, Forward], Response]:
    def handler(request: AwsRequest, forward: Forward) -> Response:
        params = request.json()
        name = params.get("serviceName")
        if not isinstance(name, str) or not name:
            return forward(request)
        lookup: dict[str, Any] = {"services": [name]}
        if params.get("cluster"):
            lookup["cluster"] = params["cluster"]
        found = call_moto(request.with_operation("DescribeServices", lookup))
        if found.status == 200 and active_service(found.json(), name):
            return json_error(400, "InvalidParameterException", NOT_IDEMPOTENT)
        return forward(request)

    return handler


def register(layer: Any) -> None:
    """Called from ``ecs.register``, after ``ClientTokens`` (which must be outer)."""
    layer.register("ecs", "CreateService", create_service_unique(layer.call_moto))
