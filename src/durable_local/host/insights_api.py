"""Local-host extension endpoints for instance views at scale, under `/admin/host/...` (absent on Azure: 404).

What the Durable HTTP API cannot answer on every backend, answered from the local store's indexes:
- `GET /admin/host/instances?name=&runtimeStatus=&createdTimeFrom=&createdTimeTo=&instanceIdPrefix=&top=&showInput=`
  lists instances as `GET /runtime/webhooks/durabletask/instances` does (same items, same order by created
  time, same `x-ms-continuation-token` header in and out), plus a filter by orchestrator name and each
  item's `parentInstanceId` (the parent orchestration of a sub-orchestration, else null);
- `GET /admin/host/instances/{instanceId}`: one instance's status with its `parentInstanceId`;
- `GET /admin/host/counts?name=&runtimeStatus=&createdTimeFrom=&createdTimeTo=&instanceIdPrefix=`: the number
  of instances per runtime status and a histogram of created times (see `instance_counts` for how this
  avoids scanning the instances, how buckets are chosen, and when an answer is a cached one `ageSeconds` old).

Unlike the Durable HTTP API, which ignores what it cannot parse, these endpoints refuse an unknown parameter,
an unknown runtime status, a malformed time or `top` with a 400 and a JSON `{"error": ...}`.
"""

from __future__ import annotations

import weakref
from typing import Any

from aiohttp import web

from durable_local.host.durable_api import ArgumentError, DurableApi, decode_token, encode_token
from durable_local.host.history import from_micros, parse_time, status_time, to_micros
from durable_local.host.instance_counts import CountCache
from durable_local.host.records import Instance, RuntimeStatus
from durable_local.host.status import status_payload
from durable_local.host.store import InstanceQuery, Store
from durable_local.vocabulary import CONTINUATION_HEADER

# `taskHub`, `connection` and `code` are what every client (the CLI, the dashboard) sends with each request.
FILTER_PARAMETERS = ("runtimestatus", "createdtimefrom", "createdtimeto", "instanceidprefix", "name", "taskhub",
                     "connection", "code")
LIST_PARAMETERS = (*FILTER_PARAMETERS, "top", "showinput")
MAX_TOP = 1000
_COUNT_CACHES: weakref.WeakKeyDictionary[Store, CountCache] = weakref.WeakKeyDictionary()


class BadRequest(ValueError):
    """A parameter this endpoint cannot honour exactly: answered with 400."""


async def handle(api: DurableApi, request: web.Request, path: str) -> web.StreamResponse | None:
    """Answer `path` (after `/admin/host/`) if it is one of these endpoints, else None."""
    segments = path.strip("/").split("/")
    group = segments[0].lower()
    if group not in ("instances", "counts") or len(segments) > (2 if group == "instances" else 1):
        return None
    if request.method != "GET":
        return web.json_response({"error": f"{request.method} is not allowed here; use GET"}, status=405)
    try:
        if group == "counts":
            return _counts(api, request)
        if len(segments) == 2:
            return _one(api, request, segments[1])
        return _list(api, request)
    except BadRequest as error:
        return web.json_response({"error": str(error)}, status=400)


def _parameters(request: web.Request, known: tuple[str, ...]) -> dict[str, str]:
    values: dict[str, str] = {}
    for key, value in request.query.items():
        lowered = key.lower()
        if lowered not in known:
            raise BadRequest(f"unknown query parameter '{key}' (known: {', '.join(_spelled(known))})")
        if lowered in values:
            raise BadRequest(f"the query parameter '{key}' is given more than once")
        values[lowered] = value
    return values


def _spelled(keys: tuple[str, ...]) -> list[str]:
    names = {"runtimestatus": "runtimeStatus", "createdtimefrom": "createdTimeFrom", "createdtimeto": "createdTimeTo",
             "instanceidprefix": "instanceIdPrefix", "taskhub": "taskHub", "showinput": "showInput"}
    return [names.get(key, key) for key in keys]


def _filter(api: DurableApi, values: dict[str, str]) -> InstanceQuery:
    statuses: list[RuntimeStatus] = []
    for text in (values.get("runtimestatus") or "").split(","):
        if text.strip():
            status = _status(text.strip())
            if status not in statuses:
                statuses.append(status)
    created_from, created_to = _time(values, "createdtimefrom"), _time(values, "createdtimeto")
    if created_from is not None and created_to is not None and created_from > created_to:
        raise BadRequest("createdTimeFrom is after createdTimeTo")
    name = values.get("name")
    if name is not None:
        name = name.strip()
        if not name:
            raise BadRequest("name must not be empty")
        name = api.runtime.index.resolve("orchestrator", name) or name  # names are case-insensitive
    return InstanceQuery(created_from=created_from, created_to=created_to, statuses=tuple(statuses),
                         prefix=values.get("instanceidprefix") or None, name=name)


def _status(text: str) -> RuntimeStatus:
    for status in RuntimeStatus:
        if status.value.lower() == text.lower():
            return status
    raise BadRequest(f"unknown runtime status '{text}' (known: {', '.join(s.value for s in RuntimeStatus)})")


def _time(values: dict[str, str], key: str) -> int | None:
    text = values.get(key)
    if text is None:
        return None
    try:
        return to_micros(parse_time(text))
    except ValueError as error:
        raise BadRequest(f"{_spelled((key,))[0]} is not an ISO-8601 time: '{text}'") from error


def _hub(api: DurableApi, values: dict[str, str]) -> str:
    return (values.get("taskhub") or "").strip() or api.hub


def _item(instance: Instance, show_input: bool) -> dict[str, Any]:
    return {**status_payload(instance, show_input=show_input), "parentInstanceId": instance.parent_instance_id}


def _list(api: DurableApi, request: web.Request) -> web.StreamResponse:
    values = _parameters(request, LIST_PARAMETERS)
    top = 100
    if "top" in values:
        try:
            top = int(values["top"])
        except ValueError:
            top = 0
        if not 1 <= top <= MAX_TOP:
            raise BadRequest(f"top must be a whole number from 1 to {MAX_TOP}: '{values['top']}'")
    show_input = _show_input(values)
    token = request.headers.get(CONTINUATION_HEADER) or None
    try:
        after = decode_token(token) if token else None
    except ArgumentError as error:
        raise BadRequest(str(error)) from error
    page, next_key = api.store.query(_filter(api, values), top, after, hub=_hub(api, values))
    headers = {CONTINUATION_HEADER: encode_token(next_key)} if next_key else {}
    return web.json_response([_item(i, show_input) for i in page], headers=headers)


def _one(api: DurableApi, request: web.Request, instance_id: str) -> web.StreamResponse:
    values = _parameters(request, ("taskhub", "connection", "code", "showinput"))
    instance = api.store.get_instance(instance_id, _hub(api, values))
    if instance is None or instance_id.startswith("@"):
        return web.json_response({"error": f"no instance '{instance_id}' in this task hub"}, status=404)
    return web.json_response(_item(instance, _show_input(values)))


def _show_input(values: dict[str, str]) -> bool:
    text = (values.get("showinput") or "true").strip().lower()
    if text not in ("true", "false"):
        raise BadRequest(f"showInput must be true or false: '{values['showinput']}'")
    return text == "true"


def _counts(api: DurableApi, request: web.Request) -> web.StreamResponse:
    values = _parameters(request, FILTER_PARAMETERS)
    query = _filter(api, values)
    hub = _hub(api, values)
    cache = _COUNT_CACHES.setdefault(api.store, CountCache())
    result, age = cache.counts(api.store.db, hub, query)
    buckets = []
    if result.buckets:
        step = result.bucket_seconds * 1_000_000
        first, last = min(result.buckets), max(result.buckets)
        for start in range(first, last + step, step):
            counts = result.buckets.get(start, {})
            buckets.append({"start": status_time(from_micros(start)), "total": sum(counts.values()),
                            "counts": {status.value: n for status, n in counts.items() if n}})
    return web.json_response({
        "taskHub": hub,
        "total": result.total,
        "counts": {status.value: n for status, n in result.counts.items()},
        "histogram": {"bucketSeconds": result.bucket_seconds, "buckets": buckets},
        "method": result.method,
        "ageSeconds": round(age, 3),
    })
