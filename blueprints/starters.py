"""Starting orchestration instances: fire-and-forget (202 + management URLs) or wait for the output.

- `POST orchestrators/{functionName}/{instanceId?}` starts an instance with the JSON body as input.
- `POST orchestrators/{functionName}/wait?timeout=&retryInterval=` starts one and waits (seconds, defaults
  10 and 1): 200 with the output if it completes in time, else the 202 check-status response.
"""

import logging
from typing import Any

import azure.durable_functions as df
import azure.functions as func

from blueprints import _params
from blueprints._http import bad_request, conflict, json_errors, json_response
from blueprints._instances import check_status_response, in_url
from blueprints._status import TERMINAL_STATUSES, status_name

logger = logging.getLogger(__name__)

bp = df.Blueprint()

DEFAULT_TIMEOUT_SECONDS = 10.0
DEFAULT_RETRY_INTERVAL_SECONDS = 1.0


async def start_instance(req: func.HttpRequest, client: df.DurableOrchestrationClient,
                         instance_id: str | None) -> str:
    """Start `{functionName}` with the request's JSON body as input; the new instance's ID."""
    function_name = req.route_params.get("functionName", "")
    client_input: Any = _params.json_body(req)
    if instance_id:
        existing = await client.get_status(in_url(instance_id))
        if existing and status_name(existing) not in TERMINAL_STATUSES:
            raise conflict(f"instance '{instance_id}' already exists and is {status_name(existing)}; "
                           "terminate it or wait until it finishes before reusing its ID")
    try:
        new_id = await client.start_new(function_name, in_url(instance_id) if instance_id else None, client_input)
    except Exception as error:
        # The SDK raises Exception(message) for the API's 400 (unknown orchestrator, invalid ID) and
        # Exception(error body) otherwise; only the first is the caller's mistake.
        detail = error.args[0] if error.args else None
        if isinstance(detail, str):
            raise bad_request(f"cannot start '{function_name}': {detail}") from error
        if isinstance(detail, dict) and "already exists" in str(detail.get("ExceptionMessage", "")):
            raise conflict(f"cannot start '{function_name}': {detail['ExceptionMessage']}") from error
        raise
    logger.info("Started orchestration %s with ID = '%s'.", function_name, new_id)
    return str(new_id)


@bp.route(route="orchestrators/{functionName}/{instanceId?}", methods=["POST"])
@bp.durable_client_input(client_name="client")
@json_errors
async def start_orchestration(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    _params.accept_only(req)
    instance_id = _params.new_instance_id(req.route_params.get("instanceId"))
    new_id = await start_instance(req, client, instance_id)
    return check_status_response(client, req, new_id)


@bp.route(route="orchestrators/{functionName}/wait", methods=["POST"])
@bp.durable_client_input(client_name="client")
@json_errors
async def start_and_wait(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    _params.accept_only(req, "timeout", "retryInterval")
    timeout = _params.positive_number(req, "timeout", DEFAULT_TIMEOUT_SECONDS)
    retry_interval = _params.retry_interval(req, "retryInterval", DEFAULT_RETRY_INTERVAL_SECONDS)
    if retry_interval > timeout:
        raise bad_request(f"retryInterval ({retry_interval:g} s) must not be longer than "
                          f"timeout ({timeout:g} s)")
    instance_id = await start_instance(req, client, None)
    response = await client.wait_for_completion_or_create_check_status_response(
        req, in_url(instance_id), timeout_in_milliseconds=round(timeout * 1000),
        retry_interval_in_milliseconds=round(retry_interval * 1000))
    if response.status_code == 200:
        # The SDK sends a string output as raw text; answer with the output as JSON instead.
        status = await client.get_status(in_url(instance_id))
        if status_name(status) == "Completed":
            return json_response(status.output)
    if response.status_code == 202:
        return check_status_response(client, req, instance_id)
    return response
