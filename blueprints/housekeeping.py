"""Purging instance history: one instance, or by filter (the daily retention purge is in `retention.py`).

The built-in API purges whatever it is asked to, running instances included, and treats a missing or
misspelled `runtimeStatus` as "every status". The app is strict instead:

- `DELETE instances/{instanceId}` purges one instance, only when it is Completed, Failed, Terminated or
  Canceled (else 409).
- `DELETE instances?createdTimeFrom=&createdTimeTo=&runtimeStatus=` purges by filter; `createdTimeFrom` is
  required and `runtimeStatus` may name terminal statuses only (default: all of them).
"""

import logging
from datetime import UTC, datetime

import azure.durable_functions as df
import azure.functions as func

from blueprints import _params
from blueprints._http import bad_request, json_errors, json_response
from blueprints._instances import in_url, require_state
from blueprints._status import TERMINAL_STATUSES, terminal_status_names

logger = logging.getLogger(__name__)

bp = df.Blueprint()


def runtime_statuses(names: tuple[str, ...]) -> list[df.OrchestrationRuntimeStatus]:
    return [df.OrchestrationRuntimeStatus(name) for name in names]


@bp.route(route="instances/{instanceId}", methods=["DELETE"])
@bp.durable_client_input(client_name="client")
@json_errors
async def purge_instance(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    instance_id = _params.instance_id(req)
    await require_state(client, instance_id, "purge", TERMINAL_STATUSES)
    result = await client.purge_instance_history(in_url(instance_id))
    logger.info("Purged instance '%s'.", instance_id)
    return json_response({"instancesDeleted": result.instances_deleted})


@bp.route(route="instances", methods=["DELETE"])
@bp.durable_client_input(client_name="client")
@json_errors
async def purge_instances(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    created_from, created_to = _params.created_time_range(req)
    if created_from is None:
        raise bad_request("createdTimeFrom is required to purge by filter (an ISO 8601 date/time)")
    requested = terminal_status_names(_params.list_values(req, "runtimeStatus"))
    names = requested or tuple(sorted(TERMINAL_STATUSES))
    result = await client.purge_instance_history_by(created_from, created_to or datetime.now(UTC),
                                                    runtime_statuses(names))
    logger.info("Purged %d instances created from %s to %s with status %s.", result.instances_deleted,
                created_from, created_to, ",".join(names))
    return json_response({"instancesDeleted": result.instances_deleted})
