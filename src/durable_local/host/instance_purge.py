"""`POST /admin/host/purge-instances`: purge a list of instances in one request (local host only).

The Durable HTTP API purges one instance per request, or everything matching a filter (which ignores
`instanceIdPrefix` and cannot say which instances it deleted). A client that listed what it means to purge
sends the IDs here, up to `MAX_IDS` per request, with the runtime statuses it allows (default: the terminal
ones; `durable purge-history --runtime-status running` names others explicitly). The host purges, in one
transaction, exactly those that are in such a status at that moment, and answers which IDs it purged, which it
kept (with their status) and which did not exist:

    {"instanceIds": ["a", "b"], "runtimeStatus": ["Completed"]}
    -> {"instancesDeleted": 1, "purged": ["a"], "kept": {"b": "Running"}, "notFound": []}

Or, instead of IDs, a filter (no listing needed): up to `limit` instances in those statuses, created in the
window (`createdTimeTo` required, so instances created later never match), with an optional ID prefix; the
answer names every instance purged, and `more` says whether to ask again:

    {"filter": {"createdTimeFrom": "2026-01-01T00:00:00Z", "createdTimeTo": "2026-06-01T00:00:00Z",
                "instanceIdPrefix": "order-"}, "runtimeStatus": ["Completed"], "limit": 5000}
    -> {"instancesDeleted": 5000, "purged": ["order-1", ...], "more": true}

The query string names the task hub only (`taskHub`, plus the `connection` and `code` every client sends);
any other query parameter, or one given twice, is refused with 400: a purge never acts on more than it names,
so an `instanceIdPrefix` or `runtimeStatus` put in the query by mistake must not be ignored.

Clients detect the endpoint at run time (404 on another backend) and fall back to one request per instance.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from durable_local.host.history import parse_time, to_micros
from durable_local.host.json_input import JsonInputError, parse_json_body
from durable_local.host.records import TERMINAL_STATUSES, RuntimeStatus
from durable_local.host.store import InstanceQuery, Store

PATH = "purge-instances"
MAX_IDS = 10_000
QUERY_PARAMETERS = {"taskhub": "taskHub", "connection": "connection", "code": "code"}  # lower case -> spelling


def _error(message: str, status: int = 400) -> web.Response:
    return web.json_response({"error": message}, status=status)


def _query_error(request: web.Request) -> str | None:
    """Why the query string cannot be honoured exactly (an unknown or repeated parameter), or None."""
    seen: set[str] = set()
    for key in request.query:
        lowered = key.lower()
        if lowered not in QUERY_PARAMETERS:
            return (f"unknown query parameter '{key}' (known: {', '.join(QUERY_PARAMETERS.values())}); "
                    "the instances to purge go in the JSON body")
        if lowered in seen:
            return f"the query parameter '{key}' is given more than once"
        seen.add(lowered)
    return None


def _statuses(value: Any) -> frozenset[str] | str:
    """The allowed statuses (default: the terminal ones), or an error message."""
    if value is None:
        return frozenset(str(s) for s in TERMINAL_STATUSES)
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        return "runtimeStatus must be a non-empty list of runtime status names"
    by_lower = {status.value.lower(): status.value for status in RuntimeStatus}
    names = []
    for item in value:
        name = by_lower.get(item.lower())
        if name is None:
            return f"'{item}' in runtimeStatus is not a runtime status; valid names are {', '.join(by_lower.values())}"
        names.append(name)
    return frozenset(names)


def _filter(value: Any, statuses: frozenset[str]) -> InstanceQuery | str:
    """The filter of a filter purge, or an error message."""
    allowed = {"createdTimeFrom", "createdTimeTo", "instanceIdPrefix"}
    if not isinstance(value, dict) or set(value) - allowed:
        return f"filter must be an object with {', '.join(sorted(allowed))} (runtimeStatus is beside it)"
    times: dict[str, int | None] = {}
    for key in ("createdTimeFrom", "createdTimeTo"):
        text = value.get(key)
        try:
            times[key] = to_micros(parse_time(text)) if isinstance(text, str) and text else None
        except ValueError:
            return f"filter.{key} must be an ISO 8601 time, not {text!r}"
    if times["createdTimeTo"] is None:
        return "filter.createdTimeTo is required: a filter purge acts on instances created up to a fixed time"
    prefix = value.get("instanceIdPrefix")
    if prefix is not None and (not isinstance(prefix, str) or not prefix):
        return "filter.instanceIdPrefix must be a non-empty string"
    return InstanceQuery(created_from=times["createdTimeFrom"], created_to=times["createdTimeTo"],
                         statuses=tuple(RuntimeStatus(name) for name in sorted(statuses)), prefix=prefix)


async def purge_instances(request: web.Request, store: Store, default_hub: str) -> web.Response:
    if request.method != "POST":
        return web.Response(status=405)
    if (problem := _query_error(request)) is not None:
        return _error(problem)
    try:
        body = parse_json_body(await request.read() or b"null")
    except JsonInputError as error:  # not JSON, or nested deeper than the host accepts
        return _error(str(error))
    if not isinstance(body, dict) or set(body) - {"instanceIds", "runtimeStatus", "filter", "limit"} or (
            ("instanceIds" in body) == ("filter" in body)):
        return _error('the body must be {"instanceIds": [...]} or {"filter": {...}, "limit": n}, with an '
                      'optional "runtimeStatus": [...]')
    statuses = _statuses(body.get("runtimeStatus"))
    if isinstance(statuses, str):
        return _error(statuses)
    hub = (request.query.get("taskHub") or "").strip() or default_hub
    if "filter" in body:
        query = _filter(body["filter"], statuses)
        if isinstance(query, str):
            return _error(query)
        limit = body.get("limit", MAX_IDS)
        if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_IDS:
            return _error(f"limit must be a whole number from 1 to {MAX_IDS}")
        purged = store.purge_batch_ids(query, limit, hub)
        return web.json_response({"instancesDeleted": len(purged), "purged": purged, "more": len(purged) == limit})
    ids = body.get("instanceIds")
    if not isinstance(ids, list) or not all(isinstance(i, str) and i for i in ids):
        return _error("instanceIds must be a list of instance IDs")
    if len(ids) > MAX_IDS:
        return _error(f"instanceIds lists {len(ids)} IDs; the limit is {MAX_IDS} per request", 413)
    purged, kept, missing = store.purge_listed(ids, statuses, hub)
    return web.json_response({"instancesDeleted": len(purged), "purged": purged, "kept": kept,
                              "notFound": missing})
