"""Bulk operations as a durable orchestration: terminate, suspend, resume, rewind, restart, purge or raise an
event on every instance that matches a filter, or on a list of instance IDs.

`POST bulk/{operation}` (operation: terminate, suspend, resume, rewind, restart, purge, raiseEvent) with
query parameters, parsed as strictly as the query routes (an unknown parameter or status is a 400):

- the filter: `runtimeStatus` (statuses the operation allows; default all of them), `createdTimeFrom`,
  `createdTimeTo`, `instanceIdPrefix`, `name` (orchestrator name); or a JSON body `{"instanceIds": [...]}`.
  Either the filter names something or the body lists IDs: an empty filter is refused, never "all".
- `dryRun=true`: 200 with the exact count and the first IDs, acting on nothing, and the `createdTimeTo` it
  pinned (for `instanceIds`: the count of those the run would act on, and `skipped`, the others with why);
  a run given that `createdTimeTo` acts on the same set (instances created later never match).
  Without `createdTimeTo`, a run pins it to its own start.
- `concurrency` (default `BULK_CONCURRENCY`), `reason` (terminate, suspend, resume, rewind), `eventName`
  (raiseEvent; the body's `eventData` is the event's data).

A run answers 202 with the check-status payload of its `BulkOperation` instance. The orchestration pages
through the matches (`BULK_PAGE_SIZE` per page), acts on each page with bounded concurrency, and continues
as new after every page, so its history stays small. Its custom status is the progress
(`{"operation", "phase", "page", "matched", "done", "failed", "skipped"}`), its output the totals with the
failures (the first 100, and `failuresTotal`).

Safety: it never acts on itself or on other management orchestrations (`BulkOperation`, `RetentionPurge`);
purge acts on terminal instances only (checked again just before each purge); paging uses the API's
continuation tokens, which are keys, so instances leaving the filter (terminated, purged) neither shift nor
repeat the pages. After a crash the page in progress is acted on again: repeats find the instance in its
new state and count as skipped; restart's new IDs are derived from the run's ID, so a repeat is a 409
(skipped), never a duplicate; raise event is at least once. Cancel a run by terminating its instance: the
pages done stay done, and its custom status reports them.
"""

import asyncio
import logging
import uuid
from collections.abc import Generator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aiohttp
import azure.durable_functions as df
import azure.functions as func

from blueprints import _params
from blueprints._archive import archive_container, archive_then_purge
from blueprints._audit import audit
from blueprints._bulk_actions import ALLOWED_STATUSES, OPERATIONS, ActionOptions, act_on_all, read_status
from blueprints._http import bad_request, json_errors, json_response
from blueprints._instances import check_status_response, in_url, management_payload
from blueprints._management_api import InstanceQuery, format_time, query_instances, task_hub
from blueprints._settings import MAX_BULK_CONCURRENCY, BulkSettings
from blueprints._status import runtime_status_names
from blueprints.retention import RETENTION_ORCHESTRATOR

logger = logging.getLogger(__name__)

bp = df.Blueprint()

Orchestration = Generator[Any, Any, Any]

BULK_ORCHESTRATOR = "BulkOperation"

MANAGEMENT_ORCHESTRATORS = frozenset({BULK_ORCHESTRATOR.lower(), RETENTION_ORCHESTRATOR.lower()})
MAX_INSTANCE_IDS = 10_000
DRY_RUN_SHOWN = 100
DRY_RUN_CONCURRENCY = 16
MAX_FAILURES_KEPT = 100
_QUERY_PARAMETERS = frozenset({"runtimeStatus", "createdTimeFrom", "createdTimeTo", "instanceIdPrefix", "name",
                               "dryRun", "concurrency", "reason", "eventName", "code"})
_BODY_KEYS = frozenset({"instanceIds", "eventData"})


@dataclass(frozen=True)
class BulkFilter:
    """Which instances a bulk run acts on (JSON-able: it travels in the orchestration's input)."""

    runtime_status: tuple[str, ...]
    created_time_from: str | None
    created_time_to: str
    instance_id_prefix: str | None
    name: str | None

    def as_json(self) -> dict[str, Any]:
        return {"runtimeStatus": list(self.runtime_status), "createdTimeFrom": self.created_time_from,
                "createdTimeTo": self.created_time_to, "instanceIdPrefix": self.instance_id_prefix,
                "name": self.name}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "BulkFilter":
        return cls(tuple(data["runtimeStatus"]), data.get("createdTimeFrom"), data["createdTimeTo"],
                   data.get("instanceIdPrefix"), data.get("name"))

    def query(self) -> InstanceQuery:
        return InstanceQuery(
            created_time_from=_params.parse_datetime("createdTimeFrom", self.created_time_from)
            if self.created_time_from else None,
            created_time_to=_params.parse_datetime("createdTimeTo", self.created_time_to),
            runtime_status=self.runtime_status, instance_id_prefix=self.instance_id_prefix, show_input=False)


def is_management_orchestration(name: str | None) -> bool:
    return (name or "").lower() in MANAGEMENT_ORCHESTRATORS


def wanted(item: dict[str, Any], spec: BulkFilter, exclude_id: str | None) -> bool:
    """The filters the API cannot apply: the orchestrator name, and the management exclusions."""
    name = str(item.get("name") or "")
    if is_management_orchestration(name) or item.get("instanceId") == exclude_id:
        return False
    return spec.name is None or name.lower() == spec.name.lower()


async def list_matches(client: df.DurableOrchestrationClient, spec: BulkFilter, page_size: int,
                       token: str | None, exclude_id: str | None) -> tuple[list[str], str | None]:
    """One page of matching IDs (up to `page_size` listed) and the token of the next page (None: the last)."""
    page = await query_instances(client, spec.query(), page_size, token)
    ids = [str(item["instanceId"]) for item in page.instances if wanted(item, spec, exclude_id)]
    return ids, page.continuation_token


# -- parsing the request ----------------------------------------------------------------------------------
def _operation(req: func.HttpRequest) -> str:
    value = req.route_params.get("operation", "")
    by_lower = {name.lower(): name for name in OPERATIONS}
    if value.lower() not in by_lower:
        raise bad_request(f"'{value}' is not a bulk operation; choose one of {', '.join(OPERATIONS)}")
    return by_lower[value.lower()]


def _check_parameters(req: func.HttpRequest) -> None:
    """Unknown or mis-cased query parameters are a 400 naming them (`code`, the function key, in any case)."""
    _params.accept_only(req, *sorted(_QUERY_PARAMETERS - {"code"}))


def _body(req: func.HttpRequest) -> dict[str, Any]:
    body = _params.json_body(req)
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise bad_request("the body must be a JSON object such as {\"instanceIds\": [...]}")
    unknown = sorted(set(body) - _BODY_KEYS)
    if unknown:
        raise bad_request(f"unknown body key(s) {', '.join(unknown)}; the body takes "
                          f"{', '.join(sorted(_BODY_KEYS))}")
    return body


def _instance_ids(body: dict[str, Any]) -> list[str] | None:
    if "instanceIds" not in body:
        return None
    ids = body["instanceIds"]
    if not isinstance(ids, list) or not ids or not all(isinstance(i, str) and i for i in ids):
        raise bad_request("instanceIds must be a non-empty list of instance IDs")
    unique = list(dict.fromkeys(ids))
    if len(unique) > MAX_INSTANCE_IDS:
        raise bad_request(f"instanceIds lists {len(unique)} IDs; the limit is {MAX_INSTANCE_IDS} per run "
                          "(use a filter for more)")
    return unique


def _filter(req: func.HttpRequest, operation: str, now: datetime) -> BulkFilter | None:
    names = ("runtimeStatus", "createdTimeFrom", "createdTimeTo", "instanceIdPrefix", "name")
    if not any(req.params.get(name) for name in names):
        return None
    statuses = runtime_status_names(_params.list_values(req, "runtimeStatus"))
    allowed = ALLOWED_STATUSES[operation]
    refused = [status for status in statuses if status not in allowed]
    if refused:
        raise bad_request(f"runtimeStatus {', '.join(refused)}: {operation} acts only on instances that are "
                          f"{', '.join(allowed)}")
    created_from, created_to = _params.created_time_range(req)
    if created_from and created_from > now:
        raise bad_request(f"createdTimeFrom ({created_from.isoformat()}) is in the future")
    return BulkFilter(statuses or allowed, format_time(created_from) if created_from else None,
                      format_time(min(created_to or now, now)), req.params.get("instanceIdPrefix") or None,
                      req.params.get("name") or None)


def _concurrency(req: func.HttpRequest, default: int) -> int:
    value = _params.positive_int(req, "concurrency") or default
    if value > MAX_BULK_CONCURRENCY:
        raise bad_request(f"query parameter 'concurrency' must be at most {MAX_BULK_CONCURRENCY}, not {value}")
    return value


# -- the HTTP starter ---------------------------------------------------------------------------------------
@bp.route(route="bulk/{operation}", methods=["POST"])
@bp.durable_client_input(client_name="client")
@json_errors
async def start_bulk_operation(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    _check_parameters(req)
    operation = _operation(req)
    settings = BulkSettings.from_environment()
    body = _body(req)
    now = datetime.now(UTC)
    ids = _instance_ids(body)
    spec = _filter(req, operation, now)
    if ids is not None and spec is not None:
        raise bad_request("give either a filter (query parameters) or instanceIds (body), not both")
    if ids is None and spec is None:
        raise bad_request("name the instances: a filter (runtimeStatus, createdTimeFrom, createdTimeTo, "
                          "instanceIdPrefix, name) or a body {\"instanceIds\": [...]}; an empty filter is "
                          "refused rather than read as 'all'")
    event_name = _params.text(req, "eventName").strip() or None
    if operation == "raiseEvent" and not event_name:
        raise bad_request("raiseEvent needs the query parameter eventName")
    if operation != "raiseEvent" and (event_name or "eventData" in body):
        raise bad_request("eventName and eventData belong to raiseEvent only")
    concurrency = _concurrency(req, settings.concurrency)
    if _params.boolean(req, "dryRun", False):
        return json_response(await dry_run(client, operation, spec, ids))
    bulk_id = f"bulk-{operation.lower()}-{uuid.uuid4().hex}"
    reason = _params.text(req, "reason")
    state = {
        "operation": operation, "filter": spec.as_json() if spec else None, "instanceIds": ids, "offset": 0,
        "continuationToken": None, "page": 0, "pageSize": settings.page_size, "concurrency": concurrency,
        "reason": reason, "eventName": event_name, "eventData": body.get("eventData"),
        "progress": {"matched": 0, "done": 0, "failed": 0, "skipped": 0}, "failures": [], "failuresTotal": 0,
    }
    await client.start_new(BULK_ORCHESTRATOR, in_url(bulk_id), state)
    audit(f"bulk-{operation}-started", headers=req.headers, instance_filter=spec.as_json() if spec else None,
          reason=reason or None, count=len(ids) if ids is not None else None, bulkInstanceId=bulk_id,
          instanceIds=ids[:DRY_RUN_SHOWN] if ids is not None else None)
    logger.info("Started bulk %s as instance '%s' on %s.", operation, bulk_id,
                f"{len(ids)} listed IDs" if ids is not None else spec)
    return check_status_response(client, req, bulk_id)


async def dry_run(client: df.DurableOrchestrationClient, operation: str, spec: BulkFilter | None,
                  ids: list[str] | None) -> dict[str, Any]:
    """The exact set a run would act on: count and first IDs, with the pinned `createdTimeTo`, and the task hub
    (the binding's: a client can check it is the hub it means)."""
    answer: dict[str, Any] = {"operation": operation, "dryRun": True, "taskHub": task_hub(client)}
    if ids is not None:
        skipped = await listed_skips(client, operation, ids)
        acting = [instance_id for instance_id in ids if instance_id not in skipped]
        return {**answer, "count": len(acting), "instanceIds": acting[:DRY_RUN_SHOWN],
                "skipped": [{"instanceId": i, "reason": reason} for i, reason in list(skipped.items())[:DRY_RUN_SHOWN]],
                "skippedTotal": len(skipped)}
    assert spec is not None
    matched: list[str] = []
    count, token = 0, None
    while True:
        page, token = await list_matches(client, spec, 1000, token, None)
        count += len(page)
        matched.extend(page[:DRY_RUN_SHOWN - len(matched)])
        if token is None:
            break
    return {**answer, "count": count, "instanceIds": matched, "filter": spec.as_json()}


async def listed_skips(client: df.DurableOrchestrationClient, operation: str, ids: list[str]) -> dict[str, str]:
    """The listed IDs a run would skip as things stand (missing, a status the operation does not act on, a
    management orchestration), with the reason, so a dry run of a list counts what the run then does."""
    allowed = ALLOWED_STATUSES[operation]
    limit = asyncio.Semaphore(DRY_RUN_CONCURRENCY)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120, sock_connect=10)) as session:

        async def reason(instance_id: str) -> str | None:
            async with limit:
                status = await read_status(session, management_payload(client, instance_id))
            if status is None:
                return "no such instance"
            if is_management_orchestration(status.get("name")):
                return f"it is a management orchestration ({status.get('name')})"
            if status.get("runtimeStatus") not in allowed:
                return f"it is {status.get('runtimeStatus')}; {operation} acts on {', '.join(allowed)}"
            return None

        reasons = await asyncio.gather(*(reason(instance_id) for instance_id in ids))
    return {instance_id: why for instance_id, why in zip(ids, reasons, strict=True) if why is not None}


# -- the orchestration --------------------------------------------------------------------------------------
def _progress(state: dict[str, Any], phase: str) -> dict[str, Any]:
    return {"operation": state["operation"], "phase": phase, "page": state["page"], **state["progress"]}


@bp.function_name(BULK_ORCHESTRATOR)
@bp.orchestration_trigger(context_name="context", orchestration=BULK_ORCHESTRATOR)
def bulk_operation(context: df.DurableOrchestrationContext) -> Orchestration:
    state: dict[str, Any] = context.get_input()
    state["page"] += 1
    context.set_custom_status(_progress(state, "listing"))
    ids: list[str] | None = state.get("instanceIds")
    if ids is not None:
        start = state["offset"]
        batch = ids[start:start + state["pageSize"]]
        state["offset"] = start + len(batch)
        finished = state["offset"] >= len(ids)
    else:
        page = yield context.call_activity("BulkListPage", {
            "filter": state["filter"], "pageSize": state["pageSize"],
            "continuationToken": state["continuationToken"], "bulkInstanceId": context.instance_id})
        batch, state["continuationToken"] = page["instanceIds"], page["continuationToken"]
        finished = state["continuationToken"] is None
    state["progress"]["matched"] += len(batch)
    if batch:
        context.set_custom_status(_progress(state, "acting"))
        result = yield context.call_activity("BulkApply", {
            "operation": state["operation"], "instanceIds": batch, "concurrency": state["concurrency"],
            "reason": state["reason"], "eventName": state["eventName"], "eventData": state["eventData"],
            "bulkInstanceId": context.instance_id, "checkNames": ids is not None, "page": state["page"]})
        for key in ("done", "failed", "skipped"):
            state["progress"][key] += result[key]
        state["failuresTotal"] += result["failed"]
        room = MAX_FAILURES_KEPT - len(state["failures"])
        state["failures"].extend(result["failures"][:max(0, room)])
    if not finished:
        context.set_custom_status(_progress(state, "listing"))
        context.continue_as_new(state)
        return None
    context.set_custom_status(_progress(state, "finished"))
    return {"operation": state["operation"], "pages": state["page"], **state["progress"],
            "failures": state["failures"], "failuresTotal": state["failuresTotal"]}


@bp.function_name("BulkListPage")
@bp.activity_trigger(input_name="request", activity="BulkListPage")
@bp.durable_client_input(client_name="client")
async def bulk_list_page(request: dict[str, Any], client: df.DurableOrchestrationClient) -> dict[str, Any]:
    spec = BulkFilter.from_json(request["filter"])
    ids, token = await list_matches(client, spec, int(request["pageSize"]), request.get("continuationToken"),
                                    request["bulkInstanceId"])
    return {"instanceIds": ids, "continuationToken": token}


@bp.function_name("BulkApply")
@bp.activity_trigger(input_name="request", activity="BulkApply")
@bp.durable_client_input(client_name="client")
async def bulk_apply(request: dict[str, Any], client: df.DurableOrchestrationClient) -> dict[str, Any]:
    options = ActionOptions(operation=request["operation"], bulk_instance_id=request["bulkInstanceId"],
                            reason=request.get("reason") or "", event_name=request.get("eventName"),
                            event_data=request.get("eventData"), check_names=bool(request.get("checkNames")),
                            excluded=is_management_orchestration)
    ids = list(request["instanceIds"])
    container = archive_container()
    if options.operation == "purge" and container:
        archived = await archive_then_purge(client, ids, options.bulk_instance_id, int(request["page"]), container,
                                            excluded=is_management_orchestration)
        outcomes = archived.outcomes
    else:
        outcomes = await act_on_all(client, ids, options, int(request["concurrency"]))
    counts = {key: sum(1 for o in outcomes if o.result == key) for key in ("done", "failed", "skipped")}
    failures = [o.as_json() for o in outcomes if o.result == "failed"][:MAX_FAILURES_KEPT]
    if options.operation != "raiseEvent" and counts["done"]:
        audit(f"bulk-{options.operation}", trigger="orchestration", reason=options.reason or None,
              count=counts["done"], bulkInstanceId=options.bulk_instance_id, page=request.get("page"))
    logger.info("Bulk %s (%s): %s", options.operation, options.bulk_instance_id, counts)
    return {**counts, "failures": failures}
