"""The built-in Durable HTTP API, reproducing the extension's `HttpApiHandler` (http-api.md §1).

Served on `/runtime/webhooks/durabletask`, the legacy `/admin/extensions/DurableTaskExtension` and, through
the binding's `rpcBaseUrl`, to the SDK client. Routes after the base path, in the extension's order:
`orchestrators/{functionName}/{instanceId?}`, `entities/...`, `instances/{instanceId?}/{operation?}`,
`instances/{instanceId}/raiseEvent/{eventName}`, `makeprimary` (`api_segments` decodes and splits the path as the
extension does). Status codes follow the state x operation
matrix of §1.4 (e.g. Failed GET is 200, terminate of a finished instance 410, rewind of a running one 500,
restart of an unknown one 400). Errors are ASP.NET `HttpError` JSON: `Message`, `ExceptionMessage`,
`ExceptionType`, `StackTrace`.

Local limits the extension does not have (each a clear 400, where the real host would stall or 500):
`timeout` and `pollingInterval` must be finite, `timeout` at most `MAX_WAIT_SECONDS` (Azure's front end cuts
HTTP requests at 230 s); a polling interval under `MIN_POLLING_INTERVAL_SECONDS` is raised to it; a wait ends
when the client disconnects; `top` above `MAX_TOP` is lowered to it (Azure Table queries return at most 1,000
rows a page; the continuation token carries on); JSON bodies nest at most 64 levels (`json_input`); instance
ids `.` and `..` are refused (a URL path cannot carry them).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any
from urllib.parse import unquote_plus

from aiohttp import web

from durable_local.host.binding import check_status_payload
from durable_local.host.entities import entity_instance_id, signal_request, split_entity_id
from durable_local.host.episodes import compact, new_execution_id
from durable_local.host.history import EventType, event, execution_started, from_micros, history_time, to_micros
from durable_local.host.json_input import JsonInputError, parse_json_body
from durable_local.host.ports import InstanceControl
from durable_local.host.query_string import Query, QueryError
from durable_local.host.records import TERMINAL_STATUSES, Commit, Instance, Message, RuntimeStatus
from durable_local.host.rewind import RewindRefused, rewind
from durable_local.host.status import history_payload, parse_to_token, status_payload
from durable_local.host.store import InstanceQuery
from durable_local.vocabulary import CONTINUATION_HEADER, function_not_found

log = logging.getLogger(__name__)

ARGUMENT_ERROR = "One or more of the arguments submitted is incorrect"
SERVER_ERROR = "Something went wrong while processing your request"
RUNNING_STATES = (RuntimeStatus.Running, RuntimeStatus.Pending, RuntimeStatus.Suspended,
                  RuntimeStatus.ContinuedAsNew)
PURGE_BATCH = 2_000
MAX_WAIT_SECONDS = 230.0
MIN_POLLING_INTERVAL_SECONDS = 0.1
MAX_TOP = 1_000
DEFAULT_TOP = 100
MAX_TOKEN_KEY = 2**63 - 1


class ArgumentError(ValueError):
    """An `ArgumentException` on the real host: answered with 400."""

    def __init__(self, message: str, exception_type: str = "System.ArgumentException") -> None:
        super().__init__(message)
        self.exception_type = exception_type


class InvalidOperation(Exception):
    """An `InvalidOperationException` on the real host: answered with 500."""


def error_response(status: int, message: str, exception: str | None = None,
                   exception_type: str | None = None) -> web.Response:
    body: dict[str, Any] = {"Message": message}
    if exception is not None:
        body.update(ExceptionMessage=exception, ExceptionType=exception_type, StackTrace=None)
    return web.json_response(body, status=status)


def validate_instance_id(instance_id: str) -> None:
    """EXT `DurableClient.StartNewAsync` id rules (http-api.md §5.8); messages as the extension words them."""
    if instance_id.startswith("@"):
        raise ArgumentError("instanceId (Parameter 'Orchestration instance ids must not start with @.')")
    if any(ch in "/\\?#" or ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F for ch in instance_id):
        raise ArgumentError("instanceId (Parameter 'Orchestration instance ids must not contain /, \\, #, ?, "
                            "or control characters.')")
    if instance_id in (".", ".."):
        raise ArgumentError("instanceId (Parameter 'Orchestration instance ids must not be . or .., which a URL "
                            "path cannot carry.')")
    if len(instance_id) > 256:
        raise ArgumentError("instanceId (Parameter 'Instance ID lengths must not exceed 256 characters.')")


def api_segments(sub_path: str) -> list[str] | None:
    """The route segments of a path after the API's base path, or None when no route template can match it.

    As EXT `HttpApiHandler.HandleRequestAsync` does: the whole path is decoded once with
    `WebUtility.UrlDecode` (so `%25` is `%`, `%2F` a `/` that separates segments, and `+` a space, as the
    `+` in the management URLs' ids means), trimmed of `/` at both ends, then matched by ASP.NET's
    `TemplateMatcher`, which matches no path with an empty segment (`entities//key`, `instances//terminate`).
    """
    path = unquote_plus(sub_path).strip("/")
    if not path:
        return []
    segments = path.split("/")
    return None if "" in segments else segments


def encode_token(key: tuple[int, str]) -> str:
    raw = json.dumps([key[0], key[1]], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(token: str) -> tuple[int, str]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        created, instance_id = json.loads(raw)
        if not isinstance(created, int) or not 0 <= created <= MAX_TOKEN_KEY or not isinstance(instance_id, str):
            raise ValueError("not a token of this host")
        return created, instance_id
    except (ValueError, TypeError, RecursionError, binascii.Error) as error:
        raise ArgumentError(f"The continuation token '{token}' is not valid.") from error


class DurableApi:
    """Handlers of the Durable HTTP API over the engine's store; see the module docstring."""

    def __init__(self, runtime: InstanceControl, hub: str, required_query: str = "") -> None:
        self.runtime = runtime
        self.store = runtime.store
        self.hub = hub
        self.required_query = required_query  # `code=<system key>` when keys are enforced (binding.py)

    # -- dispatch --------------------------------------------------------------------------------------
    async def handle(self, request: web.Request, sub_path: str) -> web.StreamResponse:
        query = Query(request.query.items())
        try:
            handler = self._route(request.method, api_segments(sub_path))
            if handler is None:
                return web.Response(status=404)
            if request.method == "POST":
                self._require_own_hub(query)
            return await handler(request, query)
        except ArgumentError as error:
            return error_response(400, ARGUMENT_ERROR, str(error), error.exception_type)
        except QueryError as error:
            return error_response(400, ARGUMENT_ERROR, str(error), "System.ArgumentException")
        except InvalidOperation as error:
            return error_response(500, SERVER_ERROR, str(error), "System.InvalidOperationException")
        except Exception as error:
            log.exception("Durable HTTP API request failed: %s %s", request.method, request.path)
            return error_response(500, SERVER_ERROR, str(error), type(error).__name__)

    Handler = Callable[[web.Request, Query], Awaitable[web.StreamResponse]]

    def _route(self, method: str, segments: list[str] | None) -> Handler | None:
        """EXT `HttpApiHandler.HandleRequestAsync`: its five route templates in order, and the methods each takes.

        A method a matched route does not take is a 404 (the extension answers `NotFound`, never 405); a POST
        of an unknown instance operation falls through the later templates to 404; `makeprimary` takes any method.
        """
        if not segments:
            return None
        head, count = segments[0].lower(), len(segments)
        if head == "orchestrators" and 2 <= count <= 3:  # orchestrators/{functionName}/{instanceId?}
            if method != "POST":
                return None
            name, instance_id = segments[1], segments[2] if count == 3 else ""
            return lambda request, query: self.start(request, query, name, instance_id)
        if head == "entities" and count <= 3:  # entities/{entityName?}/{entityKey?}
            return self._entities_route(method, segments[1] if count > 1 else "", segments[2] if count > 2 else "")
        if head == "instances" and count <= 3:  # instances/{instanceId?}/{operation?}
            return self._instances_route(method, segments[1] if count > 1 else "",
                                         segments[2].lower() if count > 2 else "")
        if head == "instances" and count == 4 and segments[2].lower() == "raiseevent":
            if method != "POST":  # instances/{instanceId}/raiseEvent/{eventName}
                return None
            return lambda request, query: self.raise_event(request, segments[1], segments[3])
        if head == "makeprimary" and count == 1:  # makeprimary/
            return self.make_primary
        return None

    def _entities_route(self, method: str, name: str, key: str) -> Handler | None:
        if method == "GET":
            if key:
                entity_key = "" if key == "$" else key  # "$": the empty key (EXT EmptyEntityKeySymbol)
                return lambda r, q: self.get_entity(name, entity_key)
            return lambda r, q: self.list_entities(r, q, name)
        if method in ("POST", "DELETE"):
            if not name:  # EXT `new EntityId(...)` throws ArgumentNullException, answered 400 with its message
                return lambda r, q: self.entity_name_missing()
            entity_key = "" if key == "$" else key
            return lambda r, q: self.signal_entity(r, name, entity_key,
                                                   "delete" if method == "DELETE" else q.get("op"))
        return None

    @staticmethod
    async def entity_name_missing() -> web.StreamResponse:
        return error_response(400, "Invalid entity id: entity name must not be a null or empty string. "
                                   "(Parameter 'entityName')")

    def _instances_route(self, method: str, instance_id: str, operation: str) -> Handler | None:
        if not operation:
            if method == "GET":
                return (lambda r, q: self.get_status(r, q, instance_id)) if instance_id else self.list_instances
            if method == "DELETE":
                return (lambda r, q: self.purge_one(instance_id, self._hub(q))) if instance_id \
                    else self.purge_by_filter
            return None
        if method != "POST" or not instance_id:
            return None
        operations: dict[str, Callable[[web.Request, Query], Awaitable[web.StreamResponse]]] = {
            "terminate": lambda r, q: self.terminate(instance_id, q.get("reason")),
            "suspend": lambda r, q: self.suspend(instance_id, q.get("reason"), suspend=True),
            "resume": lambda r, q: self.suspend(instance_id, q.get("reason"), suspend=False),
            "rewind": lambda r, q: self.rewind(instance_id, q.get("reason")),
            "restart": lambda r, q: self.restart(r, q, instance_id),
        }
        return operations.get(operation)

    def _hub(self, query: Query) -> str:
        return (query.get("taskHub") or "").strip() or self.hub

    def _require_own_hub(self, query: Query) -> None:
        """Reads and purges honour `taskHub`; writes to a hub this host does not run are refused.

        The real extension would write to the other hub (skipping the function check) and leave the work to
        whichever app serves it. The local host serves one hub, so such an instance would never run: a clear
        400 is more useful than a Pending instance forever.
        """
        hub = self._hub(query)
        if hub != self.hub:
            raise ArgumentError(f"This local host runs task hub '{self.hub}', not '{hub}'. Start the host with "
                                f"--task-hub {hub} to run that hub's orchestrations.")

    # -- start -----------------------------------------------------------------------------------------
    async def start(self, request: web.Request, query: Query, name: str, instance_id: str) -> web.StreamResponse:
        body = await request.read()
        input_text: str | None = None
        if body:
            try:
                input_text = compact(parse_json_body(body))
            except JsonInputError as error:
                return error_response(400, "Invalid JSON content", str(error), "Newtonsoft.Json.JsonReaderException")
        timeout, interval = self._wait_arguments(query)
        instance_id = self.start_instance(name, instance_id, input_text)
        return await self._created(request, instance_id, timeout, interval)

    def start_instance(self, name: str, instance_id: str, input_text: str | None) -> str:
        """Create (or replace a finished) instance: Pending row plus its ExecutionStarted, one transaction."""
        info = self.runtime.index.lookup("orchestrator", name)
        if info is None:
            raise ArgumentError(function_not_found(name, "orchestrator", self.runtime.index.known("orchestrator")))
        instance_id = instance_id or uuid.uuid4().hex
        validate_instance_id(instance_id)
        existing = self.store.get_instance(instance_id)
        if existing is not None and existing.runtime_status in RUNNING_STATES:
            raise InvalidOperation(
                f"An Orchestration instance with the status {existing.runtime_status.value} already exists.")
        now = self.runtime.clock.now()
        execution_id = new_execution_id()
        instance = Instance(instance_id=instance_id, name=info.durable_name, execution_id=execution_id,
                            runtime_status=RuntimeStatus.Pending, created_time=to_micros(now),
                            last_updated_time=to_micros(now), input=input_text)
        started = execution_started(now, instance_id, execution_id, info.durable_name, input_text)
        self.runtime.commit(Commit(new_instances=[instance],
                                  messages=[Message(instance_id, started, to_micros(now), execution_id)]))
        return instance_id

    @staticmethod
    def _wait_arguments(query: Query) -> tuple[float | None, float | None]:
        """`timeout` and `pollingInterval` (seconds), finite and bounded; see the module docstring."""
        timeout, interval = query.number("timeout"), query.number("pollingInterval")
        if timeout is not None and timeout > MAX_WAIT_SECONDS:
            raise ArgumentError(f"timeout {timeout:g} (seconds) is longer than the local host's limit of "
                                f"{MAX_WAIT_SECONDS:g} seconds (Azure closes HTTP requests after 230 s)")
        if timeout is not None and interval is not None and interval > timeout:
            raise ArgumentError(f"Total timeout {timeout} (seconds) should be bigger than retry timeout "
                                f"{interval} (seconds)")
        if interval is not None:
            interval = max(interval, MIN_POLLING_INTERVAL_SECONDS)
        return timeout, interval

    async def _created(self, request: web.Request, instance_id: str, timeout: float | None,
                       interval: float | None) -> web.StreamResponse:
        if timeout is not None and interval is not None:
            deadline = time.monotonic() + timeout
            while not _disconnected(request):
                instance = self.store.get_instance(instance_id)
                if instance is not None and instance.runtime_status == RuntimeStatus.Completed:
                    return web.Response(status=200, text=instance.output or "null",
                                        content_type="application/json")
                if instance is not None and instance.runtime_status.is_terminal:
                    return web.json_response(status_payload(instance))
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                # Woken by the commit that finishes the instance; the polling interval only bounds the wait.
                await self.runtime.wait_finished(instance_id, min(interval, remaining))
            else:
                log.info("stopped waiting for instance %s: the client disconnected", instance_id)
        payload = check_status_payload(self._origin(request), instance_id, self.hub, self.required_query)
        return web.json_response(payload, status=202, headers={
            "Location": payload["statusQueryGetUri"], "Retry-After": "10"})

    @staticmethod
    def _origin(request: web.Request) -> str:
        return f"{request.scheme}://{request.host}"

    # -- status and listing ----------------------------------------------------------------------------
    async def get_status(self, request: web.Request, query: Query, instance_id: str) -> web.StreamResponse:
        hub = self._hub(query)
        instance = self.store.get_instance(instance_id, hub)
        if instance is None:
            return web.Response(status=404)
        show_input = query.flag("showInput", True)
        history = None
        if query.flag("showHistory", False) and instance.runtime_status != RuntimeStatus.Pending:
            history = history_payload(self.store.history(instance_id, hub), show_input=show_input,
                                      show_output=query.flag("showHistoryOutput", False))
        payload = status_payload(instance, show_input=show_input, history=history)
        if instance.runtime_status in RUNNING_STATES:
            return web.json_response(payload, status=202, headers={"Location": str(request.url),
                                                                   "Retry-After": "5"})
        if instance.runtime_status == RuntimeStatus.Failed and query.flag("returnInternalServerErrorOnFailure",
                                                                          False):
            return web.json_response(payload, status=500)
        return web.json_response(payload, status=200)

    async def list_instances(self, request: web.Request, query: Query) -> web.StreamResponse:
        token = request.headers.get(CONTINUATION_HEADER) or None
        page, next_key = self.store.query(
            self._filter(query), _page_size(query), decode_token(token) if token else None, hub=self._hub(query))
        show_input = query.flag("showInput", True)
        headers = {CONTINUATION_HEADER: encode_token(next_key)} if next_key else {}
        return web.json_response([status_payload(i, show_input=show_input) for i in page], headers=headers)

    @staticmethod
    def _filter(query: Query, *, default_to: datetime | None = None,
                statuses: tuple[RuntimeStatus, ...] | None = None) -> InstanceQuery:
        created_from, created_to = query.time("createdTimeFrom"), query.time("createdTimeTo") or default_to
        return InstanceQuery(
            created_from=to_micros(created_from) if created_from else None,
            created_to=to_micros(created_to) if created_to else None,
            statuses=query.statuses() if statuses is None else statuses,
            prefix=query.get("instanceIdPrefix") or None)

    # -- purge -----------------------------------------------------------------------------------------
    async def purge_one(self, instance_id: str, hub: str) -> web.StreamResponse:
        """No status check, as on the real host (http-api.md §1.3 (4)); the app is the strict one."""
        if self.store.get_instance(instance_id, hub) is None:
            return web.Response(status=404)
        deleted = self.store.purge([instance_id], hub)
        return web.json_response({"instancesDeleted": deleted})

    async def purge_by_filter(self, request: web.Request, query: Query) -> web.StreamResponse:
        if query.time("createdTimeFrom") is None:
            return web.json_response("Please provide value for 'createdTimeFrom' parameter.", status=400)
        statuses = tuple(s for s in query.statuses() if s in TERMINAL_STATUSES)
        condition = self._filter(query, default_to=self.runtime.clock.now(), statuses=statuses)
        deleted = await self.purge_matching(condition, self._hub(query))
        if deleted == 0:
            return web.Response(status=404)
        return web.json_response({"instancesDeleted": deleted})

    async def purge_matching(self, condition: InstanceQuery, hub: str) -> int:
        """Delete in batches of a few thousand, yielding to the loop between them; memory stays flat."""
        deleted = 0
        with self.store.bulk_writes():
            while True:
                batch = self.store.purge_batch(condition, PURGE_BATCH, hub=hub)
                if not batch:
                    return deleted
                deleted += batch
                await asyncio.sleep(0)

    # -- operations on one instance --------------------------------------------------------------------
    def _existing(self, instance_id: str) -> Instance | None:
        return self.store.get_instance(instance_id)

    async def raise_event(self, request: web.Request, instance_id: str, name: str) -> web.StreamResponse:
        instance = self._existing(instance_id)
        if instance is None:
            return web.Response(status=404)
        if instance.runtime_status.is_terminal:
            return web.Response(status=410)
        if request.content_type.lower() != "application/json":
            return error_response(400, "Only application/json request content is supported")
        body = await request.read()
        try:
            data = parse_json_body(body) if body else None
        except JsonInputError as error:
            return error_response(400, "Invalid JSON content", str(error), "Newtonsoft.Json.JsonReaderException")
        raised = event(EventType.EventRaised, self.runtime.clock.now(), Name=name, Input=compact(data))
        self.runtime.send(instance_id, raised)
        return web.Response(status=202)

    async def terminate(self, instance_id: str, reason: str | None) -> web.StreamResponse:
        instance = self._existing(instance_id)
        if instance is None:
            return web.Response(status=404)
        if instance.runtime_status.is_terminal:
            return web.Response(status=410)
        self.runtime.send(instance_id, event(EventType.ExecutionTerminated, self.runtime.clock.now(),
                                            Input=reason))
        return web.Response(status=202)

    async def suspend(self, instance_id: str, reason: str | None, *, suspend: bool) -> web.StreamResponse:
        instance = self._existing(instance_id)
        if instance is None:
            return web.Response(status=404)
        if instance.runtime_status.is_terminal:
            return web.Response(status=410)
        if suspend and instance.runtime_status == RuntimeStatus.Suspended:
            raise InvalidOperation(f"Instance '{instance_id}' is already suspended.")
        if not suspend and instance.runtime_status != RuntimeStatus.Suspended:
            raise InvalidOperation(f"Instance '{instance_id}' is not suspended; it is "
                                   f"{instance.runtime_status.value}.")
        kind = EventType.ExecutionSuspended if suspend else EventType.ExecutionResumed
        self.runtime.send(instance_id, event(kind, self.runtime.clock.now(), Reason=reason))
        return web.Response(status=202)

    async def rewind(self, instance_id: str, reason: str | None) -> web.StreamResponse:
        instance = self._existing(instance_id)
        if instance is None:
            return web.Response(status=404)
        if instance.runtime_status in (RuntimeStatus.Completed, RuntimeStatus.Terminated, RuntimeStatus.Canceled):
            return web.Response(status=410)
        try:
            commit = rewind(self._load, instance, reason, self.runtime.clock.now())
        except RewindRefused as refused:
            raise InvalidOperation(str(refused)) from refused
        self.runtime.commit(commit)
        self.runtime.notify()
        return web.Response(status=202)

    def _load(self, instance_id: str) -> tuple[Instance | None, list[dict[str, Any]]]:
        return self.store.get_instance(instance_id), self.store.history(instance_id)

    async def restart(self, request: web.Request, query: Query, instance_id: str) -> web.StreamResponse:
        instance = self._existing(instance_id)
        if instance is None:
            raise ArgumentError("InstanceId does not match a valid orchestration instance.")
        new_id = uuid.uuid4().hex if query.flag("restartWithNewInstanceId", True) else instance_id
        timeout, interval = self._wait_arguments(query)
        started = self.start_instance(instance.name, new_id, instance.input)
        return await self._created(request, started, timeout, interval)

    # -- entities --------------------------------------------------------------------------------------
    async def signal_entity(self, request: web.Request, name: str, key: str,
                            operation: str | None) -> web.StreamResponse:
        """EXT `HandlePostEntityOperationRequestAsync`: JSON bodies are parsed, other bodies are a string input."""
        if self.runtime.index.lookup("entity", name) is None:
            raise ArgumentError(function_not_found(name, "entity", self.runtime.index.known("entity")))
        if any(ch in "/\\?#" or ord(ch) < 0x20 for ch in key):
            raise ArgumentError("entityKey (Parameter 'Entity keys must not contain /, \\, #, ?, or control "
                                "characters.')")
        body = await request.read()
        input_text: str | None = None
        if body and request.content_type.lower() == "application/json":
            try:
                input_text = compact(parse_json_body(body))
            except JsonInputError as error:
                return error_response(400, f"Could not parse JSON content: {error}")
        elif body:
            input_text = compact(body.decode("utf-8", errors="replace"))
        instance_id = entity_instance_id(name, key)
        request_message = signal_request(operation or "", input_text, str(uuid.uuid4()))
        self.runtime.send(instance_id, event(EventType.EventRaised, self.runtime.clock.now(), Name=operation or "",
                                            Input=request_message))
        return web.Response(status=202)

    async def get_entity(self, name: str, key: str) -> web.StreamResponse:
        entity = self.store.get_instance(entity_instance_id(name, key))
        if entity is None or entity.output is None:
            return web.Response(status=404)
        return web.Response(status=200, text=entity.output, content_type="application/json")

    async def list_entities(self, request: web.Request, query: Query, name: str) -> web.StreamResponse:
        token = request.headers.get(CONTINUATION_HEADER) or None
        updated_from, updated_to = query.time("lastOperationTimeFrom"), query.time("lastOperationTimeTo")
        condition = InstanceQuery(prefix=f"@{name.lower()}@" if name else "@", entities=True,
                                  updated_from=to_micros(updated_from) if updated_from else None,
                                  updated_to=to_micros(updated_to) if updated_to else None)
        page, next_key = self.store.query(condition, _page_size(query), decode_token(token) if token else None)
        fetch_state = query.flag("fetchState", False)
        items = []
        for entity in page:
            entity_name, entity_key = split_entity_id(entity.instance_id)
            item: dict[str, Any] = {"entityId": {"key": entity_key, "name": entity_name},
                                    "lastOperationTime": history_time(from_micros(entity.last_updated_time))}
            if fetch_state:
                item["state"] = parse_to_token(entity.output)
            items.append(item)
        headers = {CONTINUATION_HEADER: encode_token(next_key)} if next_key else {}
        return web.json_response(items, headers=headers)

    async def make_primary(self, request: web.Request, query: Query) -> web.StreamResponse:
        raise InvalidOperation("The app lease feature is not enabled on the local host.")

    # -- testing and maintenance -----------------------------------------------------------------------
    def delete_task_hub(self, hub: str) -> dict[str, int]:
        return self.store.delete_hub(hub)


def _page_size(query: Query) -> int:
    """`top`: 100 when absent, zero, negative or unparsable (as the extension), at most `MAX_TOP`."""
    top = query.integer("top")
    return min(top, MAX_TOP) if top and top > 0 else DEFAULT_TOP


def _disconnected(request: web.Request) -> bool:
    """Whether the client has gone: a wait for it ends at once."""
    transport = request.transport
    return transport is None or transport.is_closing()
