"""Purging instance history: one instance, or by filter (the daily retention purge is in `retention.py`).

The built-in API purges whatever it is asked to, running instances included, and treats a missing or
misspelled `runtimeStatus` as "every status". The app is strict instead:

- `DELETE instances/{instanceId}` purges one instance, only when it is Completed, Failed, Terminated or
  Canceled (else 409).
- `DELETE instances?createdTimeFrom=&createdTimeTo=&runtimeStatus=&instanceIdPrefix=` purges by filter;
  `createdTimeFrom` is required and `runtimeStatus` may name terminal statuses only (default: all of them).
  The Durable API's purge by filter has no prefix, so with `instanceIdPrefix` the app lists the matching
  instances (the listing's prefix filter is exact) and purges them one by one: exactly the instances named.
- Every other query parameter, or a known one in another case (`createdtimeto`), is refused with a 400:
  a purge must never act on more than it names.
- The daily retention purge is the `RetentionPurge` orchestration of `retention.py`.
"""

import logging
from datetime import UTC, datetime
from typing import Any

import azure.durable_functions as df
import azure.functions as func

from blueprints import _params
from blueprints._audit import audit
from blueprints._http import bad_request, json_errors, json_response
from blueprints._instances import in_url, require_state
from blueprints._management_api import InstanceQuery, query_instances_page
from blueprints._status import TERMINAL_STATUSES, terminal_status_names

logger = logging.getLogger(__name__)

bp = df.Blueprint()

PROBE_SIZE = 100


def runtime_statuses(names: tuple[str, ...]) -> list[df.OrchestrationRuntimeStatus]:
    return [df.OrchestrationRuntimeStatus(name) for name in names]


@bp.route(route="instances/{instanceId}", methods=["DELETE"])
@bp.durable_client_input(client_name="client")
@json_errors
async def purge_instance(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    _params.accept_only(req)
    instance_id = _params.instance_id(req)
    await require_state(client, instance_id, "purge", TERMINAL_STATUSES)
    result = await client.purge_instance_history(in_url(instance_id))
    audit("purge", headers=req.headers, instance_id=instance_id, count=result.instances_deleted)
    return json_response({"instancesDeleted": result.instances_deleted})


@bp.route(route="instances", methods=["DELETE"])
@bp.durable_client_input(client_name="client")
@json_errors
async def purge_instances(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    _params.accept_only(req, "createdTimeFrom", "createdTimeTo", "runtimeStatus", "instanceIdPrefix")
    created_from, created_to = _params.created_time_range(req)
    if created_from is None:
        raise bad_request("createdTimeFrom is required to purge by filter (an ISO 8601 date/time)")
    requested = terminal_status_names(_params.list_values(req, "runtimeStatus"))
    names = requested or tuple(sorted(TERMINAL_STATUSES))
    prefix = req.params.get("instanceIdPrefix")
    if prefix is not None and not prefix:
        raise bad_request("instanceIdPrefix must not be empty (leave it out to purge every instance ID)")
    created_to = created_to or datetime.now(UTC)
    if prefix:
        deleted = await purge_listed(client, InstanceQuery(created_time_from=created_from, created_time_to=created_to,
                                                           runtime_status=names, instance_id_prefix=prefix,
                                                           show_input=False))
    else:
        result = await client.purge_instance_history_by(created_from, created_to, runtime_statuses(names))
        deleted = result.instances_deleted
    audit("purge", headers=req.headers, count=deleted,
          instance_filter={"createdTimeFrom": created_from.isoformat(), "createdTimeTo": created_to.isoformat(),
                           "runtimeStatus": list(names), "instanceIdPrefix": prefix})
    return json_response({"instancesDeleted": deleted})


async def purge_listed(client: df.DurableOrchestrationClient, query: InstanceQuery) -> int:
    """Purge, one by one, the instances a listing returns, each checked against the query again first."""
    deleted = 0
    token: str | None = None
    while True:
        page = await query_instances_page(client, query, PROBE_SIZE, token)
        for item in page.instances:
            if matches(item, query):
                result = await client.purge_instance_history(in_url(str(item["instanceId"])))
                deleted += result.instances_deleted
        token = page.continuation_token
        if not token:
            return deleted


def matches(item: dict[str, Any], query: InstanceQuery) -> bool:
    """Whether a listed instance really is one the query names (prefix, status and creation time)."""
    instance_id = str(item.get("instanceId") or "")
    if query.instance_id_prefix and not instance_id.startswith(query.instance_id_prefix):
        return False
    if query.runtime_status and item.get("runtimeStatus") not in query.runtime_status:
        return False
    created = item.get("createdTime")
    if not created:
        return False
    moment = _params.parse_datetime("createdTime", str(created))
    return not ((query.created_time_from and moment < query.created_time_from)
                or (query.created_time_to and moment > query.created_time_to))
