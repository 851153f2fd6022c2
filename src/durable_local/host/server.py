"""The host's HTTP listener: HTTP-triggered functions, the Durable HTTP API and the admin endpoints.

Paths, in order:
- with keys enforced, `/durabletask/{token}/...`: the Durable HTTP API without a key, for the SDK inside the
  app (the binding's `rpcBaseUrl`; `binding.rpc_path_for`);
- `/runtime/webhooks/durabletask/...` (case-insensitive) and `/admin/extensions/DurableTaskExtension/...`:
  the Durable HTTP API; the client binding's `rpcBaseUrl` points here too.
- `/admin/functions/{name}` (POST, body `{"input": "..."}`): run a timer or activity function now, as the
  real host's admin API does (202).
- `/admin/host/status`; with `--testing`: `/admin/host/clock/advance`, `/admin/host/idle`, `/admin/host/seed`;
  `/admin/host/taskhubs/{hub}` (GET describes; DELETE deletes that hub's data, `durable delete-task-hub`, and
  only with `--testing`: without it a 403 says so);
  `/admin/host/instances` and `/admin/host/counts` (`insights_api`: listing by name, counts, histograms);
  `/admin/host/instances/{id}/history` (GET: raw history, `raw_history`; `durable replay` and `--export`);
  `/admin/host/purge-instances` (POST: purge listed instances that are terminal, `instance_purge`).
- `/{routePrefix}/{route}`: HTTP triggers, route templates matched with ASP.NET precedence.

Every request first passes the `RequestGuard` (durable_local.request_guard): Host header, cross-site and body
size rules.

Authorization levels are not enforced, as under `func start`, unless the host has keys (`--enforce-keys`,
`durable_local.host.keys`): then an HTTP trigger needs its `authLevel` (a key of the function, a host key or
the master key for `function`; the master key for `admin`), the Durable HTTP API the `durabletask_extension`
system key or the master key, and `/admin/...` the master key (the local host's Durable data reads and list
purge take the system key too: `_admin_requirement`); anything less is a 401 with no body.
Function results follow the worker's rules:
an `HttpResponse` or a `str` (200); anything else, or an exception, is a 500.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import math
from collections.abc import Awaitable
from typing import Any
from urllib.parse import unquote

from aiohttp import web
from multidict import CIMultiDict

from durable_local.host import insights_api, instance_purge
from durable_local.host.calls import HttpCall
from durable_local.host.durable_api import DurableApi
from durable_local.host.indexing import FunctionInfo
from durable_local.host.json_input import JsonInputError, parse_json_body
from durable_local.host.keys import DURABLE_SYSTEM_KEY_NAME, AuthLevel, HostKeys, masked, presented_key
from durable_local.host.ports import AdminRuntime
from durable_local.host.raw_history import is_raw_history_path, raw_history_response
from durable_local.host.routing import RouteTable
from durable_local.host.seeding import SeedError, seed_commit
from durable_local.host.storage_bindings import blob_trigger
from durable_local.host.storage_bindings.invocation import BindingCall, string_datum
from durable_local.host.timers import TimerTriggers
from durable_local.request_guard import RequestGuard
from durable_local.vocabulary import DURABLE_API, LEGACY_DURABLE_API

log = logging.getLogger(__name__)

API_PREFIXES = (DURABLE_API.lower(), LEGACY_DURABLE_API.lower())  # matched case-insensitively
ALL_METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS")


def _admin_requirement(method: str, path: str) -> tuple[AuthLevel, str | None]:
    """The key an `/admin/{path}` request needs when keys are enforced.

    The master key, as for the real host's admin API, except for the local host's reads and list purge of
    Durable data (`host/status`, `host/instances...`, `host/counts`, `GET host/taskhubs/{hub}`,
    `host/purge-instances`): they extend the Durable HTTP API, so the `durabletask_extension` system key opens
    them too, and the CLI and dashboard keep them with the key they are given for instances."""
    if path.startswith("host/"):
        rest = path[len("host/"):]
        durable_data = (rest in ("status", "counts", instance_purge.PATH) or rest == "instances"
                        or rest.startswith("instances/") or (rest.startswith("taskhubs/") and method == "GET"))
        if durable_data:
            return AuthLevel.SYSTEM, DURABLE_SYSTEM_KEY_NAME
    return AuthLevel.ADMIN, None


def unauthorized() -> web.Response:
    """What the Functions host answers a request without a sufficient key: 401 and no body."""
    return web.Response(status=401)


def _json_error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


class HostServer:
    """Routes requests; see the module docstring."""

    def __init__(self, runtime: AdminRuntime, api: DurableApi, timers: TimerTriggers, route_prefix: str,
                 testing: bool, guard: RequestGuard | None = None, keys: HostKeys | None = None,
                 rpc_path: str | None = None) -> None:
        self.guard = guard or RequestGuard()
        self.keys = keys
        self.rpc_path = rpc_path  # the SDK's keyless path when keys are enforced (binding.rpc_path_for)
        self.runtime = runtime
        self.api = api
        self.timers = timers
        self.route_prefix = route_prefix.strip("/")
        self.testing = testing
        self.routes = RouteTable()
        for info in runtime.index.of_type("httpTrigger"):
            self.routes.add(str(info.trigger.get("route") or info.name), info)

    def application(self) -> web.Application:
        app = web.Application(client_max_size=self.guard.max_body_bytes, middlewares=[self.guard.middleware()])
        app.router.add_route("*", "/{tail:.*}", self.handle)
        return app

    async def handle(self, request: web.Request) -> web.StreamResponse:
        path = request.rel_url.raw_path
        lowered = unquote(path).lower()
        if self.rpc_path and (path == self.rpc_path or path.startswith(self.rpc_path + "/")):
            return await self.api.handle(request, path[len(self.rpc_path):])
        for prefix in API_PREFIXES:
            if lowered == prefix or lowered.startswith(prefix + "/"):
                if not self.authorized(request, AuthLevel.SYSTEM, key_name=DURABLE_SYSTEM_KEY_NAME):
                    return unauthorized()
                return await self.api.handle(request, path[len(prefix):])
        if lowered.startswith("/admin/"):
            required, key_name = _admin_requirement(request.method, lowered[len("/admin/"):].strip("/"))
            if not self.authorized(request, required, key_name=key_name):
                return unauthorized()
        if lowered.startswith("/admin/functions/"):
            return await self.run_function(request, unquote(path[len("/admin/functions/"):]))
        if lowered.startswith("/admin/host/"):
            return await self.admin(request, unquote(path)[len("/admin/host/"):].strip("/"))
        return await self.http_function(request, path)

    def authorized(self, request: web.Request, required: AuthLevel, function_name: str | None = None,
                   key_name: str | None = None) -> bool:
        """Whether the request's key meets `required` (always, when keys are not enforced)."""
        if self.keys is None:
            return True
        key = presented_key(request.headers, request.query)
        if self.keys.allows(key, required, function_name, key_name):
            return True
        log.info("401 %s %s: %s", request.method, request.rel_url.path,
                 f"key {masked(key)} does not grant {required.name.lower()} access" if key else "no key")
        return False

    # -- HTTP triggers ---------------------------------------------------------------------------------
    async def http_function(self, request: web.Request, path: str) -> web.StreamResponse:
        route = path.strip("/")
        if self.route_prefix:  # the prefix may have several segments ("api/v1")
            prefix = self.route_prefix.lower()
            if route.lower() != prefix and not route.lower().startswith(prefix + "/"):
                return web.Response(status=404)
            route = route[len(prefix):].lstrip("/")
        for target, values in self.routes.match(route):
            info: FunctionInfo = target  # type: ignore[assignment]
            methods = [str(m).upper() for m in (info.trigger.get("methods") or ALL_METHODS)]
            if request.method in methods:
                if not self.authorized(request, AuthLevel.of_trigger(info.trigger.get("authLevel")), info.name):
                    return unauthorized()
                return await self._invoke_http(info, request, values)
        return web.Response(status=404)  # methods are a route constraint on the Functions host: no 405

    async def _invoke_http(self, info: FunctionInfo, request: web.Request,
                           route_values: dict[str, str]) -> web.StreamResponse:
        # The host joins repeated query values and headers with commas before the worker sees them
        # (azure-functions-host GrpcMessageConversionExtensions.ToRpcHttp).
        call = HttpCall(method=request.method, url=str(request.url), headers=_joined(request.headers),
                        params=_joined(request.query), route_params=route_values, body=await request.read())
        try:
            reply = await until_disconnected(request, self.runtime.functions.http(info.name, call))
        except ClientGone:
            log.info("Executed 'Functions.%s' (Cancelled: the client disconnected)", info.name)
            return web.Response(status=499)
        except Exception as error:  # the worker running it died
            log.error("Executed 'Functions.%s' (Failed): %s", info.name, error)
            return web.Response(status=500)
        headers: CIMultiDict[str] = CIMultiDict()
        for name, value in reply.headers:
            headers.add(name, value)
        return web.Response(status=reply.status, body=reply.body, headers=headers)

    # -- admin -----------------------------------------------------------------------------------------
    async def run_function(self, request: web.Request, name: str) -> web.StreamResponse:
        if request.method != "POST":
            return web.Response(status=405)
        info = next((f for f in self.runtime.index.functions.values() if f.name.lower() == name.lower()), None)
        if info is None:
            return web.Response(status=404)
        if info.trigger_type == "timerTrigger":
            self.runtime.spawn(self.timers.fire(info, past_due=False), name=f"admin {info.name}")
            return web.Response(status=202)
        if info.trigger_type == "activityTrigger":
            body = await self._body(request)
            if isinstance(body, web.Response):
                return body
            self.runtime.spawn(self._run_activity_now(info, body.get("input")), name=f"admin {info.name}")
            return web.Response(status=202)
        if info.trigger_type == "queueTrigger":  # the body's `input` is the message, as the Functions host does
            body = await self._body(request)
            if isinstance(body, web.Response):
                return body
            text = body.get("input")
            if not isinstance(text, str):
                return _json_error(400, "A queue-triggered function needs the message text in 'input'.")
            call = BindingCall(string_datum(text), {"QueueTrigger": string_datum(text)})
            self.runtime.spawn(self._invoke_now(info, call), name=f"admin {info.name}")
            return web.Response(status=202)
        if info.trigger_type == "blobTrigger":  # the body's `input` is the blob's path, as the Functions host does
            body = await self._body(request)
            if isinstance(body, web.Response):
                return body
            problem = blob_trigger.by_hand_problem(info, body.get("input"))
            if problem is not None:
                return _json_error(400, problem)
            self.runtime.spawn(self._busy(blob_trigger.run_by_hand(self.runtime.functions, info, body["input"])),
                               name=f"admin {info.name}")
            return web.Response(status=202)
        return _json_error(400, f"Function '{info.name}' has a {info.trigger_type}, which needs a durable "
                                "context; start orchestrations through the Durable HTTP API instead.")

    async def _run_activity_now(self, info: FunctionInfo, input_text: str | None) -> None:
        """An activity run by hand: its input is the body's `input` text, decoded as the SDK decodes it."""
        self.runtime.enter_busy()
        try:
            outcome = await self.runtime.functions.activity(info.name, input_text, f"Functions.{info.name} (admin)")
            if outcome.ok:
                log.info("Executed 'Functions.%s' (Succeeded)", info.name)
            else:
                log.error("Executed 'Functions.%s' (Failed): %s", info.name, outcome.reason)
        except Exception:
            log.exception("Executed 'Functions.%s' (Failed)", info.name)
        finally:
            self.runtime.leave_busy()

    async def _busy(self, work: Awaitable[Any]) -> None:
        self.runtime.enter_busy()
        try:
            await work
        except Exception:
            log.exception("A function run by hand failed")
        finally:
            self.runtime.leave_busy()

    async def _invoke_now(self, info: FunctionInfo, call: BindingCall) -> None:
        self.runtime.enter_busy()
        try:
            await self.runtime.functions.invoke(info.name, call)
        except Exception:
            log.exception("Executed 'Functions.%s' (Failed)", info.name)
        finally:
            self.runtime.leave_busy()

    async def admin(self, request: web.Request, original: str) -> web.StreamResponse:
        runtime = self.runtime
        path = original.lower()
        if path == "status" and request.method == "GET":
            return web.json_response({"state": "Running", "taskHub": self.api.hub,
                                      "now": runtime.clock.now().isoformat(),
                                      "clock": "virtual" if runtime.clock.virtual else "system",
                                      "workers": runtime.functions.pids})
        if path.startswith("taskhubs/"):
            return self._task_hub_admin(request, original[len("taskhubs/"):])
        if is_raw_history_path(path):
            return raw_history_response(runtime.store, self.api.hub, request, original)
        if (reply := await insights_api.handle(self.api, request, original)) is not None:
            return reply
        if path == instance_purge.PATH:
            return await instance_purge.purge_instances(request, runtime.store, self.api.hub)
        if not self.testing:
            return web.Response(status=404)
        return await self._testing_admin(request, path)

    def _task_hub_admin(self, request: web.Request, hub: str) -> web.StreamResponse:
        """`GET` (row counts) or `DELETE` `/admin/host/taskhubs/{hub}`: deleting needs `--testing`, or enforced
        keys (the master key then got the request this far)."""
        if request.method == "GET":
            return web.json_response({"taskHub": hub, **self.runtime.store.hub_summary(hub)})
        if request.method == "DELETE":
            if not self.testing and self.keys is None:
                return _json_error(403, "deleting a task hub needs a host started with --testing, or with "
                                        "--enforce-keys and the master key")
            unknown = sorted(name for name in request.query if name.lower() != "code")
            if unknown:  # a destructive request names its hub in the path only: `?taskHub=` is not ignored
                return _json_error(400, f"unknown query parameter(s) {', '.join(unknown)}: deleting a task hub "
                                        "takes the hub in the path (and 'code', the key)")
            counts = self.api.delete_task_hub(hub)
            log.warning("deleted task hub %s: %s", hub, counts)
            return web.json_response({"taskHub": hub, "deleted": counts})
        return web.Response(status=405)

    async def _testing_admin(self, request: web.Request, path: str) -> web.StreamResponse:
        """The testing endpoints (`--testing`): advance the virtual clock, wait until idle, seed instances."""
        body = await self._body(request)
        if isinstance(body, web.Response):
            return body
        if request.method != "POST":
            return web.Response(status=404)
        if path == "clock/advance":
            return await self._advance_clock(body)
        if path == "idle":
            timeout = _seconds(body, "timeout", 30)
            if isinstance(timeout, web.Response):
                return timeout
            idle = await self.runtime.wait_idle(timeout)
            return web.json_response({"idle": idle}, status=200 if idle else 504)
        if path == "seed":
            return self._seed(body)
        return web.Response(status=404)

    async def _advance_clock(self, body: dict[str, Any]) -> web.StreamResponse:
        runtime = self.runtime
        if not runtime.clock.virtual:
            return _json_error(409, "the host runs on the system clock; start it with --clock virtual")
        seconds, idle_timeout = _seconds(body, "seconds", 0), _seconds(body, "idleTimeout", 60)
        if isinstance(seconds, web.Response):
            return seconds
        if isinstance(idle_timeout, web.Response):
            return idle_timeout
        try:
            now = await runtime.advance(seconds, idle_timeout)
        except TimeoutError as error:
            return _json_error(504, str(error))
        return web.json_response({"now": now.isoformat()})

    def _seed(self, body: dict[str, Any]) -> web.StreamResponse:
        items = body.get("instances")
        if not isinstance(items, list):
            return _json_error(400, "the body must be {\"instances\": [...]}")
        try:
            commit = seed_commit(items, self.runtime.clock.now())
        except SeedError as error:
            return _json_error(400, str(error))
        self.runtime.commit(commit)
        return web.json_response({"seeded": len(items)})

    @staticmethod
    async def _body(request: web.Request) -> dict[str, Any] | web.Response:
        raw = await request.read()
        if not raw:
            return {}
        try:
            body = parse_json_body(raw)
        except JsonInputError as error:
            return _json_error(400, str(error))
        return body if isinstance(body, dict) else _json_error(400, "the body must be a JSON object")


async def serve(app: web.Application, hosts: list[str], port: int) -> web.AppRunner:
    """Listen on every address; a port in use is fatal (as `func start`: "Port N is unavailable"), an address
    the machine lacks (no IPv6) is skipped."""
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=5.0)
    await runner.setup()
    bound = []
    for host in hosts:
        try:
            await web.TCPSite(runner, host, port).start()
            bound.append(host)
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                await runner.cleanup()
                raise OSError(f"Port {port} is unavailable. Close the process using that port, or specify "
                              "another port using --port [-p].") from error
            log.debug("not listening on %s:%s: %s", host, port, error)
    if not bound:
        await runner.cleanup()
        raise OSError(f"could not listen on port {port} on any of {', '.join(hosts)}")
    return runner


def _seconds(body: dict[str, Any], key: str, default: float) -> float | web.Response:
    """A finite, non-negative number of seconds from a testing endpoint's body, or the 400 refusing it."""
    value = body.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        return _json_error(400, f"'{key}' must be a finite, non-negative number of seconds, not {value!r}")
    return float(value)


class ClientGone(Exception):
    """The HTTP client disconnected before the function answered."""


async def until_disconnected(request: web.Request, work: Awaitable[Any], poll: float = 0.25) -> Any:
    """Await `work`, cancelling it when the client disconnects (a start-and-wait stops polling then).

    An async function is cancelled in its worker process too; a sync function in a worker thread cannot be
    stopped: its result is dropped."""
    task = asyncio.ensure_future(work)
    while True:
        done, _ = await asyncio.wait({task}, timeout=poll)
        if done:
            return task.result()
        transport = request.transport
        if transport is None or transport.is_closing():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            raise ClientGone()


def _joined(values: Any) -> dict[str, str]:
    """A multidict as the host hands it over: one key each, repeated values joined with commas."""
    joined: dict[str, str] = {}
    for key in values:
        if key not in joined:
            joined[key] = ",".join(values.getall(key))
    return joined
