"""Querying instances: one by ID, or all of them with filters, paged past the API's 100 per page.

- `GET instances/{instanceId}?showHistory=&showHistoryOutput=&showInput=` gives one instance's status.
- `GET instances?createdTimeFrom=&createdTimeTo=&runtimeStatus=&instanceIdPrefix=&showInput=&top=` lists
  instances: at most `top` (1 to 1,000; default 1,000, so a small task hub comes back whole and a large one
  never in one unbounded response), plus a continuation token when more match (body `continuationToken` and
  header `x-ms-continuation-token`) that the next call sends back, as a `continuationToken` query parameter
  or as that header.
"""

import azure.durable_functions as df
import azure.functions as func

from blueprints import _params
from blueprints._http import bad_request, json_errors, json_response
from blueprints._instances import require_instance
from blueprints._management_api import CONTINUATION_HEADER, InstanceQuery, query_instances
from blueprints._status import from_api_status, from_client_status, runtime_status_names

bp = df.Blueprint()

# The most instances one response carries: the API pages by 100; the app gathers up to this many.
MAX_PAGE = 1000


@bp.route(route="instances/{instanceId}", methods=["GET"])
@bp.durable_client_input(client_name="client")
@json_errors
async def get_instance(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    _params.accept_only(req, "showHistory", "showHistoryOutput", "showInput")
    instance_id = _params.instance_id(req)
    show_history = _params.boolean(req, "showHistory", False)
    show_history_output = _params.boolean(req, "showHistoryOutput", False)
    show_input = _params.boolean(req, "showInput", True)
    status = await require_instance(client, instance_id, show_history=show_history,
                                    show_history_output=show_history_output, show_input=show_input)
    return json_response(from_client_status(status, show_input=show_input, show_history=show_history))


@bp.route(route="instances", methods=["GET"])
@bp.durable_client_input(client_name="client")
@json_errors
async def list_instances(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    _params.accept_only(req, "createdTimeFrom", "createdTimeTo", "runtimeStatus", "instanceIdPrefix", "showInput",
                        "top", "continuationToken")
    created_from, created_to = _params.created_time_range(req)
    query = InstanceQuery(
        created_time_from=created_from,
        created_time_to=created_to,
        runtime_status=runtime_status_names(_params.list_values(req, "runtimeStatus")),
        instance_id_prefix=req.params.get("instanceIdPrefix") or None,
        show_input=_params.boolean(req, "showInput", True),
    )
    top = _params.positive_int(req, "top") or MAX_PAGE
    if top > MAX_PAGE:
        raise bad_request(f"query parameter 'top' must be at most {MAX_PAGE}, not {top}")
    token = _params.continuation_token(req, CONTINUATION_HEADER)
    page = await query_instances(client, query, top, token)
    body = {
        "instances": [from_api_status(item, show_input=query.show_input) for item in page.instances],
        "continuationToken": page.continuation_token,
    }
    headers = {CONTINUATION_HEADER: page.continuation_token} if page.continuation_token else None
    return json_response(body, headers=headers)
