"""`GET /admin/host/instances/{instanceId}/history[?taskHub=...]`: one instance's raw history, a local-host
extension endpoint (clients detect it: 404 with `{"error"}` for an unknown instance, and a plain 404 on hosts
that lack it).

The answer is one record of the shared archive/export format, `{"format": "durable-instance/1", "taskHub",
"exportedAt", "source": "local-host", "historyKind": "raw", "status", "history"}`: `history` holds the events of
the current execution exactly as the host passes them to the SDK (PascalCase DTFx HistoryEvent JSON with
EventType, EventId, Timestamp, IsPlayed, TaskScheduledId, TimerId, ...), which the HTTP API's `showHistory`
view drops and `durable replay` needs; `status` is the Durable HTTP API's status object, input and output
included. `durable get-history --export` writes these records.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from durable_local.host.history import status_time
from durable_local.host.status import status_payload
from durable_local.host.store import Store

EXPORT_FORMAT = "durable-instance/1"
_PREFIX, _SUFFIX = "instances/", "/history"


def is_raw_history_path(path: str) -> bool:
    """Whether an `/admin/host/{path}` (lower-cased) is this endpoint's."""
    return path.startswith(_PREFIX) and path.endswith(_SUFFIX) and len(path) > len(_PREFIX) + len(_SUFFIX)


def export_record(store: Store, hub: str, instance_id: str, now: datetime | None = None) -> dict[str, Any] | None:
    """The export record of one instance of `hub`, or None when the hub has no such instance."""
    instance = store.get_instance(instance_id, hub)
    if instance is None:
        return None
    return {
        "format": EXPORT_FORMAT,
        "taskHub": hub,
        "exportedAt": status_time(now or datetime.now(UTC)),
        "source": "local-host",
        "historyKind": "raw",
        "status": status_payload(instance, show_input=True),
        "history": store.history(instance_id, hub),
    }


def raw_history_response(store: Store, served_hub: str, request: web.Request, original: str) -> web.Response:
    """Answer the endpoint; `original` is the path after `/admin/host/`, unquoted, case kept."""
    if request.method != "GET":
        return web.json_response({"error": "use GET"}, status=405)
    instance_id = original[len(_PREFIX) : -len(_SUFFIX)]
    hub = (request.query.get("taskHub") or "").strip() or served_hub
    record = export_record(store, hub, instance_id)
    if record is None:
        return web.json_response({"error": f"no instance with ID '{instance_id}' in task hub '{hub}'"}, status=404)
    return web.json_response(record)
