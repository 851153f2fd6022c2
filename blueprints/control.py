"""Changing a running instance: terminate, raise an event, suspend, resume, rewind and restart.

Each operation first looks the instance up: 404 when it does not exist, 409 when its runtime status
does not allow the operation (terminating a Completed instance, rewinding one that did not fail, raising
an event to a Terminated one). Accepted requests answer 202 with `{"instanceId", "operation", ...}`.

The check and the operation are two calls, so another request (or the instance itself) can change the status
in between: when the Durable API then refuses the operation and the instance's status no longer allows it,
the answer is the same 409, never a 500. Unknown query parameters are refused (400).
"""

import logging
from collections.abc import Awaitable
from urllib.parse import quote

import azure.durable_functions as df
import azure.functions as func

from blueprints import _params
from blueprints._audit import audit
from blueprints._http import RequestError, bad_request, conflict, json_errors, json_response, not_found
from blueprints._instances import check_status_response, in_url, require_instance, require_state
from blueprints._management_api import send_event
from blueprints._status import ACTIVE_STATUSES, SUSPENDABLE_STATUSES, TERMINAL_STATUSES, status_name

logger = logging.getLogger(__name__)

bp = df.Blueprint()

SUSPENDED = frozenset({"Suspended"})
FAILED = frozenset({"Failed"})


async def refused_as_conflict(client: df.DurableOrchestrationClient, instance_id: str, operation: str,
                              allowed: frozenset[str], call: Awaitable[object]) -> None:
    """Run the SDK call; if it fails because the instance's status changed since the check, answer 409."""
    try:
        await call
    except Exception as error:
        status = await client.get_status(in_url(instance_id))
        current = status_name(status) if status else "gone"
        if current not in allowed:
            raise conflict(f"cannot {operation} instance '{instance_id}': it is {current} now (another request "
                           f"or the instance changed it); only {', '.join(sorted(allowed))} instances allow "
                           "that") from error
        raise


def accepted(instance_id: str, operation: str, **details: str) -> func.HttpResponse:
    return json_response({"instanceId": instance_id, "operation": operation, **details}, 202)


@bp.route(route="instances/{instanceId}/terminate", methods=["POST"])
@bp.durable_client_input(client_name="client")
@json_errors
async def terminate_instance(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    _params.accept_only(req, "reason")
    instance_id = _params.instance_id(req)
    reason = _params.text(req, "reason")
    await require_state(client, instance_id, "terminate", ACTIVE_STATUSES)
    await refused_as_conflict(client, instance_id, "terminate", ACTIVE_STATUSES,
                              client.terminate(in_url(instance_id), reason))
    audit("terminate", headers=req.headers, instance_id=instance_id, reason=reason, count=1)
    return accepted(instance_id, "terminate", reason=reason)


@bp.route(route="instances/{instanceId}/raiseEvent/{eventName}", methods=["POST"])
@bp.durable_client_input(client_name="client")
@json_errors
async def raise_event(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    _params.accept_only(req)
    instance_id = _params.instance_id(req)
    event_name = req.route_params.get("eventName", "").strip()
    if not event_name:
        raise bad_request("the event name in the route is empty")
    body = _params.json_body_bytes(req)
    await require_state(client, instance_id, "raise an event to", ACTIVE_STATUSES)
    status_code = await send_event(client, instance_id, event_name, body)
    if status_code == 404:
        raise not_found(f"no instance with ID '{instance_id}' in this task hub")
    if status_code == 410:
        raise conflict(f"cannot raise an event to instance '{instance_id}': it has already finished")
    if status_code == 400:
        raise bad_request(f"the Durable API refused event '{event_name}': the body must be JSON")
    if status_code >= 300:
        raise RequestError(502, f"the Durable API answered {status_code} to raising '{event_name}'")
    logger.info("Raised event %s to instance '%s'.", event_name, instance_id)
    return accepted(instance_id, "raiseEvent", eventName=event_name)


@bp.route(route="instances/{instanceId}/suspend", methods=["POST"])
@bp.durable_client_input(client_name="client")
@json_errors
async def suspend_instance(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    _params.accept_only(req, "reason")
    instance_id = _params.instance_id(req)
    reason = _params.text(req, "reason")
    await require_state(client, instance_id, "suspend", SUSPENDABLE_STATUSES)
    await refused_as_conflict(client, instance_id, "suspend", SUSPENDABLE_STATUSES,
                              client.suspend(in_url(instance_id), reason))
    return accepted(instance_id, "suspend", reason=reason)


@bp.route(route="instances/{instanceId}/resume", methods=["POST"])
@bp.durable_client_input(client_name="client")
@json_errors
async def resume_instance(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    _params.accept_only(req, "reason")
    instance_id = _params.instance_id(req)
    reason = _params.text(req, "reason")
    await require_state(client, instance_id, "resume", SUSPENDED)
    await refused_as_conflict(client, instance_id, "resume", SUSPENDED, client.resume(in_url(instance_id), reason))
    return accepted(instance_id, "resume", reason=reason)


@bp.route(route="instances/{instanceId}/rewind", methods=["POST"])
@bp.durable_client_input(client_name="client")
@json_errors
async def rewind_instance(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    _params.accept_only(req, "reason")
    instance_id = _params.instance_id(req)
    reason = _params.text(req, "reason", "Rewound through the management API.")
    await require_state(client, instance_id, "rewind", FAILED)
    # The SDK puts the reason into the URL unquoted; quote it so '&' or '#' cannot cut the query.
    await refused_as_conflict(client, instance_id, "rewind", FAILED,
                              client.rewind(in_url(instance_id), quote(reason, safe="")))
    audit("rewind", headers=req.headers, instance_id=instance_id, reason=reason, count=1)
    return accepted(instance_id, "rewind", reason=reason)


@bp.route(route="instances/{instanceId}/restart", methods=["POST"])
@bp.durable_client_input(client_name="client")
@json_errors
async def restart_instance(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    _params.accept_only(req, "restartWithNewInstanceId")
    instance_id = _params.instance_id(req)
    with_new_id = _params.boolean(req, "restartWithNewInstanceId", True)
    status = await require_instance(client, instance_id)
    if not with_new_id and status_name(status) not in TERMINAL_STATUSES:
        raise conflict(f"cannot restart instance '{instance_id}' under the same ID: it is "
                       f"{status_name(status)}; terminate it first or restart with a new ID")
    try:
        result = await client.restart(in_url(instance_id), restart_with_new_instance_id=with_new_id)
    except Exception as error:
        now = await client.get_status(in_url(instance_id))
        if not now:
            raise not_found(f"no instance with ID '{instance_id}' in this task hub") from error
        if not with_new_id:
            # It was finished when checked; the API refuses a same-ID restart only while the ID runs
            # ("An Orchestration instance with the status ... already exists"): another request restarted it.
            raise conflict(f"cannot restart instance '{instance_id}' under the same ID: the Durable API refused "
                           f"({error}); another request restarted it meanwhile (it is {status_name(now)} now)") \
                from error
        raise
    # SDK 1.7 returns the API's check-status payload (a dict), not the new ID its docstring promises.
    new_id = str(result["id"]) if isinstance(result, dict) else str(result)
    audit("restart", headers=req.headers, instance_id=instance_id, reason=None, count=1, newInstanceId=new_id,
          restartWithNewInstanceId=with_new_id)
    return check_status_response(client, req, new_id)
