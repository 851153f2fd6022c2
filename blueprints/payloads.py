"""HTTP management payloads: the URLs an external system uses to monitor an instance or raise events to it.

- `SendInstanceInfo` (an activity with the durable client binding, as in the Durable docs) saves
  `create_http_management_payload(instance_id)` to the Azure Table `PAYLOAD_TABLE_NAME`, one row per
  instance (PartitionKey = task hub, RowKey = instance ID). Orchestrations call it with their own ID.
- `GET instances/{instanceId}/management-urls` returns the payload of an existing instance.
- `GET management-payloads/{instanceId}` reads a saved payload back from the table (404 if none).
"""

import logging
from typing import Any
from urllib.parse import parse_qs, urlsplit

import azure.durable_functions as df
import azure.functions as func

from blueprints import _params
from blueprints._http import json_errors, json_response, not_found
from blueprints._instances import management_payload, require_instance
from blueprints._settings import setting
from blueprints._tables import read_row, upsert_row

logger = logging.getLogger(__name__)

bp = df.Blueprint()

DEFAULT_PAYLOAD_TABLE = "ManagementPayloads"


def payload_table() -> str:
    return setting("PAYLOAD_TABLE_NAME", DEFAULT_PAYLOAD_TABLE)


def task_hub_of(payload: dict[str, Any]) -> str:
    """The task hub named in the payload's URLs (the table's partition key)."""
    query = parse_qs(urlsplit(payload["statusQueryGetUri"]).query)
    return (query.get("taskHub") or ["default"])[0]


@bp.function_name("SendInstanceInfo")
@bp.activity_trigger(input_name="instance_id", activity="SendInstanceInfo")
@bp.durable_client_input(client_name="client")
async def send_instance_info(instance_id: str, client: df.DurableOrchestrationClient) -> dict[str, Any]:
    payload = management_payload(client, instance_id)
    await upsert_row(payload_table(), task_hub_of(payload), instance_id, payload)
    logger.info("Saved the management payload of instance '%s' to table %s.", instance_id, payload_table())
    return payload


@bp.route(route="instances/{instanceId}/management-urls", methods=["GET"])
@bp.durable_client_input(client_name="client")
@json_errors
async def get_management_urls(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    _params.accept_only(req)
    instance_id = _params.instance_id(req)
    await require_instance(client, instance_id)
    return json_response(management_payload(client, instance_id))


@bp.route(route="management-payloads/{instanceId}", methods=["GET"])
@bp.durable_client_input(client_name="client")
@json_errors
async def get_saved_payload(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    _params.accept_only(req)
    instance_id = _params.instance_id(req)
    task_hub = task_hub_of(management_payload(client, instance_id))
    saved = await read_row(payload_table(), task_hub, instance_id)
    if saved is None:
        raise not_found(f"no management payload saved for instance '{instance_id}' in table "
                        f"{payload_table()} (task hub {task_hub})")
    return json_response(saved)
