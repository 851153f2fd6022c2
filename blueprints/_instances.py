"""Instance IDs as the SDK needs them, and looking an instance up before acting on it (404 and 409).

The SDK pastes instance IDs into URLs without escaping them, and the API decodes the path: an ID holding
`%41` would reach it as `A` and act on another instance. Every ID the app hands the SDK goes through
`in_url()`, and every URL the app returns carries the escaped ID, with the real one in `id`.
"""

import json
from typing import Any
from urllib.parse import quote

import azure.durable_functions as df
import azure.functions as func
from azure.durable_functions.models.DurableOrchestrationStatus import DurableOrchestrationStatus

from blueprints._http import conflict, not_found
from blueprints._status import status_name


def in_url(instance_id: str) -> str:
    """The ID escaped for a URL path, which the API decodes back to the ID itself."""
    return quote(instance_id, safe="")


def management_payload(client: df.DurableOrchestrationClient, instance_id: str) -> dict[str, Any]:
    """`create_http_management_payload`, with the ID escaped in every URL."""
    payload = dict(client.create_http_management_payload(in_url(instance_id)))
    payload["id"] = instance_id
    return payload


def check_status_response(client: df.DurableOrchestrationClient, req: func.HttpRequest,
                          instance_id: str) -> func.HttpResponse:
    """`create_check_status_response` (202, Location, Retry-After), with the ID escaped in every URL."""
    response = client.create_check_status_response(req, in_url(instance_id))
    body = json.loads(response.get_body())
    body["id"] = instance_id
    return func.HttpResponse(json.dumps(body), status_code=response.status_code, headers=dict(response.headers),
                             mimetype="application/json")


async def require_instance(client: df.DurableOrchestrationClient, instance_id: str,
                           **options: bool) -> DurableOrchestrationStatus:
    """The status of `instance_id`; 404 when the task hub has no such instance."""
    status = await client.get_status(in_url(instance_id), **options)
    if not status:
        raise not_found(f"no instance with ID '{instance_id}' in this task hub")
    return status


async def require_state(client: df.DurableOrchestrationClient, instance_id: str, operation: str,
                        allowed: frozenset[str]) -> DurableOrchestrationStatus:
    """The status of `instance_id`, which must be in one of the `allowed` runtime statuses (else 409)."""
    status = await require_instance(client, instance_id)
    current = status_name(status)
    if current not in allowed:
        raise conflict(f"cannot {operation} instance '{instance_id}': it is {current}, and only "
                       f"{', '.join(sorted(allowed))} instances allow that")
    return status
