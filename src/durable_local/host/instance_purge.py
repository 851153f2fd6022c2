"""`POST /admin/host/purge-instances`: purge a list of instances in one request (local host only).

The Durable HTTP API purges one instance per request, or everything matching a filter (which ignores
`instanceIdPrefix` and cannot say which instances it deleted). A client that listed what it means to purge
sends the IDs here, up to `MAX_IDS` per request, with the runtime statuses it allows (terminal ones only,
default all of them); the host purges, in one transaction, exactly those that are in such a status at that
moment, and answers which IDs it purged, which it kept (with their status) and which did not exist:

    {"instanceIds": ["a", "b"], "runtimeStatus": ["Completed"]}
    -> {"instancesDeleted": 1, "purged": ["a"], "kept": {"b": "Running"}, "notFound": []}

Clients detect the endpoint at run time (404 on another backend) and fall back to one request per instance.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from durable_local.host.json_input import JsonInputError, parse_json_body
from durable_local.host.records import TERMINAL_STATUSES
from durable_local.host.store import Store

PATH = "purge-instances"
MAX_IDS = 10_000


def _error(message: str, status: int = 400) -> web.Response:
    return web.json_response({"error": message}, status=status)


def _statuses(value: Any) -> frozenset[str] | str:
    """The allowed statuses, or an error message."""
    if value is None:
        return frozenset(str(s) for s in TERMINAL_STATUSES)
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        return "runtimeStatus must be a non-empty list of runtime status names"
    by_lower = {str(s).lower(): str(s) for s in TERMINAL_STATUSES}
    names = []
    for item in value:
        name = by_lower.get(item.lower())
        if name is None:
            return (f"'{item}' in runtimeStatus is not a terminal runtime status; only "
                    f"{', '.join(sorted(by_lower.values()))} instances are purged")
        names.append(name)
    return frozenset(names)


async def purge_instances(request: web.Request, store: Store, default_hub: str) -> web.Response:
    if request.method != "POST":
        return web.Response(status=405)
    try:
        body = parse_json_body(await request.read() or b"null")
    except JsonInputError as error:  # not JSON, or nested deeper than the host accepts
        return _error(str(error))
    if not isinstance(body, dict) or set(body) - {"instanceIds", "runtimeStatus"}:
        return _error('the body must be {"instanceIds": [...], "runtimeStatus": [...]} (runtimeStatus optional)')
    ids = body.get("instanceIds")
    if not isinstance(ids, list) or not all(isinstance(i, str) and i for i in ids):
        return _error("instanceIds must be a list of instance IDs")
    if len(ids) > MAX_IDS:
        return _error(f"instanceIds lists {len(ids)} IDs; the limit is {MAX_IDS} per request", 413)
    statuses = _statuses(body.get("runtimeStatus"))
    if isinstance(statuses, str):
        return _error(statuses)
    hub = (request.query.get("taskHub") or "").strip() or default_hub
    purged, kept, missing = store.purge_listed(ids, statuses, hub)
    return web.json_response({"instancesDeleted": len(purged), "purged": purged, "kept": kept,
                              "notFound": missing})
