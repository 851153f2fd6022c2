"""Test harness: run an unchanged function app on the local host, in a child process, from tests.

`LocalHost` starts `durable host start` for an app folder on a free port, waits until it serves, and
offers what a test needs beyond the public HTTP surface:

- a virtual clock (`virtual_clock=True`): durable timers, retry delays and timer triggers fire only when
  the test calls `advance(...)`, which moves time forward and waits until the host is idle again;
- seeding (`seed([...])`): instances with a chosen name, runtime status, created time, input, output and
  history, written through the host's testing endpoint (never SQL from the test);
- `run_function(name)`: the real host's admin endpoint that runs a non-HTTP function on demand;
- `kill()` (SIGKILL) and `start()` again on the same store, for crash tests;
- `enforce_keys=True`: the host's `--enforce-keys`, with keys generated into the harness's own keys file
  (`host.keys`); `host.client` then sends the `durabletask_extension` system key and the testing calls the
  master key, as a deployed app's clients would;
- `workers=N`: the host's `--workers` (worker processes running the app's code; 0 runs it in the host
  process); by default the host's own default (`FUNCTIONS_WORKER_PROCESS_COUNT`, else 1);
- `host.client`: a `DurableHttpClient` over the Durable HTTP API (start, status, list, raise_event,
  terminate, suspend, resume, rewind, restart, purge, entities), so tests do not build URL strings.

`DurableHttpClient` also works on its own against any base URL (`func start`, or an app on Azure with its
`durabletask_extension` system key), and `eventually(condition)` waits for a condition without a
hand-written polling loop.

Example::

    with LocalHost("path/to/app", virtual_clock=True) as host:
        host.seed([{"instanceId": "old", "name": "Hello", "runtimeStatus": "Completed",
                    "createdTime": "2026-01-01T00:00:00Z"}])
        host.advance(days=1)          # fires daily timer triggers once
        status = host.client.status("old").json()
        instance_id = host.client.start_new("Hello", {"city": "Tokyo"})
        eventually(lambda: host.client.status(instance_id).json()["runtimeStatus"] == "Completed")
"""

from __future__ import annotations

import builtins
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote, urlencode

from durable_local.vocabulary import CONTINUATION_HEADER, DURABLE_API, TERMINAL_STATUSES

if TYPE_CHECKING:
    from durable_local.host.keys import HostKeys

T = TypeVar("T")

__all__ = ["DURABLE_API", "TERMINAL_STATUSES", "DurableHttpClient", "LocalHost", "Response", "eventually",
           "free_port", "http_request", "query_string"]


def eventually(
    condition: Callable[[], T],
    *,
    timeout: float = 30,
    interval: float = 0.05,
    ignoring: tuple[type[BaseException], ...] = (),
    message: str | Callable[[], str] | None = None,
) -> T:
    """Call `condition` until it returns a truthy value, and return that value.

    Exceptions of the types in `ignoring` (e.g. `OSError` while a server starts) count as "not yet".
    After `timeout` seconds raises `TimeoutError` naming `message` (a string, or a callable for a message
    built at failure time) and the last value or exception seen. The condition always runs at least once.
    """
    deadline = time.monotonic() + timeout
    last: object = None
    while True:
        try:
            value = condition()
        except ignoring as error:
            last = error
        else:
            if value:
                return value
            last = value
        if time.monotonic() >= deadline:
            what = message() if callable(message) else (message or getattr(condition, "__name__", "condition"))
            raise TimeoutError(f"{what}: not true within {timeout} s (last: {last!r})")
        time.sleep(interval)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Response:
    """An HTTP response as tests want it: status, headers (case-insensitive lookups) and decoded body."""

    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    def header(self, name: str) -> str | None:
        for key, value in self.headers.items():
            if key.lower() == name.lower():
                return value
        return None


def http_request(
    method: str,
    url: str,
    body: Any = None,
    *,
    raw: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 30,
) -> Response:
    """One HTTP request over a real socket; `body` is sent as JSON, `raw` as-is. Never raises on 4xx/5xx."""
    data = raw
    all_headers = dict(headers or {})
    if body is not None:
        data = json.dumps(body).encode()
        all_headers.setdefault("Content-Type", "application/json")
    request = urllib.request.Request(url, data=data, method=method, headers=all_headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as reply:
            return Response(reply.status, dict(reply.headers.items()), reply.read())
    except urllib.error.HTTPError as error:
        return Response(error.code, dict(error.headers.items()), error.read())


def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def query_string(query: Mapping[str, Any]) -> str:
    """`?a=1&b=true` from a mapping: `None` values are left out, booleans are `true`/`false`, lists repeat."""
    pairs: list[tuple[str, str]] = []
    for name, value in query.items():
        if value is None:
            continue
        values = value if isinstance(value, list | tuple) else [value]
        pairs += [(name, _query_value(item)) for item in values]
    return "?" + urlencode(pairs) if pairs else ""


def _segment(value: str) -> str:
    return quote(value, safe="")


class DurableHttpClient:
    """The Durable HTTP API of one Functions host, one method per operation; every method returns the `Response`.

    Query parameters are passed as keyword arguments named as the HTTP API names them (`showHistory=True`,
    `runtimeStatus=["Failed", "Running"]`, `taskHub="Other"`). `key` (a `durabletask_extension` system key
    on Azure) is sent in the `x-functions-key` header, which the Functions host accepts like `?code=`.
    `request` reaches any other path of the same host (an app's HTTP triggers, `/admin/...`).
    """

    def __init__(self, base_url: str, *, key: str | None = None, api_path: str = DURABLE_API,
                 timeout: float = 30) -> None:
        self.base_url = base_url.rstrip("/")
        self.key = key
        self.api_path = api_path
        self.timeout = timeout

    def url(self, path: str) -> str:
        """The absolute URL of a path on this host."""
        return self.base_url + (path if path.startswith("/") else "/" + path)

    def api_url(self, path: str, **query: Any) -> str:
        """The absolute URL of a Durable HTTP API path (relative to the API's base path), with a query."""
        return self.url(self.api_path + "/" + path.lstrip("/")) + query_string(query)

    def request(self, method: str, path: str, body: Any = None, *, raw: bytes | None = None,
                headers: dict[str, str] | None = None, timeout: float | None = None) -> Response:
        """One request to a path of this host (not only the Durable HTTP API), with the key if one is set."""
        all_headers = dict(headers or {})
        if self.key:
            all_headers.setdefault("x-functions-key", self.key)
        return http_request(method, self.url(path), body, raw=raw, headers=all_headers,
                            timeout=self.timeout if timeout is None else timeout)

    def _api(self, method: str, path: str, body: Any = None, query: Mapping[str, Any] | None = None,
             **options: Any) -> Response:
        return self.request(method, self.api_path + "/" + path + query_string(query or {}), body, **options)

    # -- orchestrations ---------------------------------------------------------------------------------
    def start(self, name: str, input: Any = None, *, instance_id: str | None = None, **query: Any) -> Response:
        """`POST orchestrators/{name}[/{instanceId}]` with `input` as the JSON body (none if `None`)."""
        path = f"orchestrators/{_segment(name)}" + (f"/{_segment(instance_id)}" if instance_id else "")
        return self._api("POST", path, input, query)

    def start_new(self, name: str, input: Any = None, *, instance_id: str | None = None) -> str:
        """Start an orchestration and return its instance ID; raises unless the host answers 202."""
        reply = self.start(name, input, instance_id=instance_id)
        if reply.status != 202:
            raise RuntimeError(f"starting {name} -> {reply.status}: {reply.body.decode(errors='replace')}")
        return str(reply.json()["id"])

    def status(self, instance_id: str, **query: Any) -> Response:
        """`GET instances/{instanceId}` (e.g. `showHistory=True, showHistoryOutput=True, showInput=False`)."""
        return self._api("GET", f"instances/{_segment(instance_id)}", query=query)

    def list(self, continuation_token: str | None = None, **query: Any) -> Response:
        """One page of `GET instances` (filters as query parameters; the next page's token in a header)."""
        headers = {CONTINUATION_HEADER: continuation_token} if continuation_token else None
        return self._api("GET", "instances", query=query, headers=headers)

    def list_all(self, **query: Any) -> builtins.list[dict[str, Any]]:
        """Every instance matching the filters, following continuation tokens page by page."""
        found: builtins.list[dict[str, Any]] = []
        token: str | None = None
        while True:
            reply = self.list(token, **query)
            if reply.status != 200:
                raise RuntimeError(f"listing instances -> {reply.status}: {reply.body.decode(errors='replace')}")
            found += reply.json()
            token = reply.header(CONTINUATION_HEADER)
            if not token:
                return found

    def raise_event(self, instance_id: str, event_name: str, data: Any = None, **query: Any) -> Response:
        """`POST instances/{instanceId}/raiseEvent/{eventName}` with `data` as JSON (`null` if `None`)."""
        path = f"instances/{_segment(instance_id)}/raiseEvent/{_segment(event_name)}"
        return self._api("POST", path, query=query, raw=json.dumps(data).encode(),
                         headers={"Content-Type": "application/json"})

    def _operation(self, operation: str, instance_id: str, reason: str | None, query: Mapping[str, Any]) -> Response:
        return self._api("POST", f"instances/{_segment(instance_id)}/{operation}", query={"reason": reason, **query})

    def terminate(self, instance_id: str, reason: str | None = None, **query: Any) -> Response:
        return self._operation("terminate", instance_id, reason, query)

    def suspend(self, instance_id: str, reason: str | None = None, **query: Any) -> Response:
        return self._operation("suspend", instance_id, reason, query)

    def resume(self, instance_id: str, reason: str | None = None, **query: Any) -> Response:
        return self._operation("resume", instance_id, reason, query)

    def rewind(self, instance_id: str, reason: str | None = None, **query: Any) -> Response:
        return self._operation("rewind", instance_id, reason, query)

    def restart(self, instance_id: str, **query: Any) -> Response:
        """`POST instances/{instanceId}/restart` (`restartWithNewInstanceId=False` keeps the ID)."""
        return self._api("POST", f"instances/{_segment(instance_id)}/restart", query=query)

    def purge(self, instance_id: str, **query: Any) -> Response:
        """`DELETE instances/{instanceId}`: the instance and its history."""
        return self._api("DELETE", f"instances/{_segment(instance_id)}", query=query)

    def purge_by(self, **query: Any) -> Response:
        """`DELETE instances?createdTimeFrom=...`: every instance the filters match."""
        return self._api("DELETE", "instances", query=query)

    def wait_for_status(self, instance_id: str, statuses: set[str] | frozenset[str] | None = None,
                        timeout: float = 30) -> dict[str, Any]:
        """Poll until the instance reaches one of `statuses` (default: a terminal status); return its status."""
        wanted = statuses or TERMINAL_STATUSES
        last: dict[str, Any] = {}

        def reached() -> bool:
            reply = self.status(instance_id)
            if reply.status in (200, 202):
                last.update(reply.json())
                return last["runtimeStatus"] in wanted
            return False

        eventually(reached, timeout=timeout, interval=0.02,
                   message=lambda: f"instance {instance_id} reaching {sorted(wanted)} (status: {last or None})")
        return last

    # -- entities ---------------------------------------------------------------------------------------
    def entity(self, name: str, key: str, **query: Any) -> Response:
        """`GET entities/{name}/{key}`: the entity's state (404 if it does not exist)."""
        return self._api("GET", f"entities/{_segment(name)}/{_segment(key)}", query=query)

    def entities(self, name: str | None = None, **query: Any) -> Response:
        """`GET entities[/{name}]`: list entities (e.g. `lastOperationTimeFrom=...`, `fetchState=True`)."""
        return self._api("GET", "entities" + (f"/{_segment(name)}" if name else ""), query=query)

    def signal_entity(self, name: str, key: str, operation: str | None = None, input: Any = None,
                      **query: Any) -> Response:
        """`POST entities/{name}/{key}?op=...` with `input` as the JSON body."""
        return self._api("POST", f"entities/{_segment(name)}/{_segment(key)}", input, {"op": operation, **query})

    def delete_entity(self, name: str, key: str, **query: Any) -> Response:
        """`DELETE entities/{name}/{key}`: signals the entity's implicit `delete` operation."""
        return self._api("DELETE", f"entities/{_segment(name)}/{_segment(key)}", query=query)


class LocalHost:
    """A local host process serving one app folder; see the module docstring."""

    def __init__(
        self,
        app_dir: str | os.PathLike[str],
        *,
        port: int | None = None,
        virtual_clock: bool = False,
        clock_start: datetime | None = None,
        store: str | os.PathLike[str] | None = None,
        task_hub: str | None = None,
        env: dict[str, str] | None = None,
        app: str | None = None,
        workers: int | None = None,
        startup_timeout: float = 60,
        enforce_keys: bool = False,
        testing: bool = True,
    ) -> None:
        self.app_dir = Path(app_dir).resolve()
        self.port = port or free_port()
        self.virtual_clock = virtual_clock
        self.clock_start = clock_start
        self._tmp = tempfile.TemporaryDirectory(prefix="durable-host-")
        self.store = Path(store) if store else Path(self._tmp.name) / "store.sqlite"
        self.task_hub = task_hub
        self.env = dict(env or {})
        self.app = app
        self.workers = workers
        self.startup_timeout = startup_timeout
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = Path(self._tmp.name) / "host.log"
        self.enforce_keys = enforce_keys
        self.testing = testing  # False: no --testing (the testing endpoints answer 404)
        self.keys_file = Path(self._tmp.name) / "keys.json"
        if enforce_keys:
            from durable_local.host.keys import load_or_create  # the harness needs the host only for keys

            load_or_create(self.keys_file)
        self.client = DurableHttpClient(self.base_url, key=self.keys.durable_system_key if self.keys else None)
        """The Durable HTTP API of this host (see `DurableHttpClient`)."""

    # -- lifecycle -------------------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        cmd = [sys.executable, "-m", "durable_local", "host", "start", "--port", str(self.port),
               "--store", str(self.store)] + (["--testing"] if self.testing else [])
        if self.virtual_clock:
            cmd += ["--clock", "virtual"]
            if self.clock_start:
                cmd += ["--clock-start", self.clock_start.isoformat()]
        if self.task_hub:
            cmd += ["--task-hub", self.task_hub]
        if self.app:
            cmd += ["--app", self.app]
        if self.workers is not None:
            cmd += ["--workers", str(self.workers)]
        if self.enforce_keys:
            cmd += ["--enforce-keys", "--keys-file", str(self.keys_file)]
        return cmd

    @property
    def keys(self) -> HostKeys | None:
        """The keys the host enforces (`enforce_keys=True`), read from its keys file; None without."""
        if not self.enforce_keys:
            return None
        from durable_local.host.keys import read_keys

        return read_keys(self.keys_file)

    def _admin_headers(self) -> dict[str, str]:
        keys = self.keys
        return {"x-functions-key": keys.master} if keys else {}

    def start(self) -> LocalHost:
        env = {**os.environ, **self.env}
        with self.log_path.open("ab") as log:  # the child keeps its own copy of the descriptor
            self.process = subprocess.Popen(self.command(), cwd=self.app_dir, env=env, stdout=log, stderr=log)
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"local host exited with {self.process.returncode}:\n{self.log()}")
            try:
                if self.get("/admin/host/status", timeout=2, headers=self._admin_headers()).status == 200:
                    return self
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                pass
            time.sleep(0.05)
        self.stop()
        raise TimeoutError(f"local host did not start within {self.startup_timeout}s:\n{self.log()}")

    def stop(self) -> None:
        """Ctrl+C (SIGINT), as a user stops `func start`; SIGKILL if it does not exit in 15 s."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def kill(self) -> None:
        """SIGKILL: the process dies at once, as in a crash; the store keeps what was committed."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.process = None

    def worker_pids(self) -> list[int]:
        """The process ids of the host's worker processes now (empty in the in-process mode)."""
        return [int(pid) for pid in self._admin("GET", "/admin/host/status").get("workers", [])]

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def close(self) -> None:
        self.stop()
        self._tmp.cleanup()

    def __enter__(self) -> LocalHost:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- HTTP ------------------------------------------------------------------------------------------
    def url(self, path: str) -> str:
        return self.base_url + (path if path.startswith("/") else "/" + path)

    def request(self, method: str, path: str, body: Any = None, **kwargs: Any) -> Response:
        return http_request(method, self.url(path), body, **kwargs)

    def get(self, path: str, **kwargs: Any) -> Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> Response:
        return self.request("POST", path, body, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Response:
        return self.request("DELETE", path, **kwargs)

    def _admin(self, method: str, path: str, body: Any = None, timeout: float = 60) -> Any:
        reply = self.request(method, path, body, timeout=timeout, headers=self._admin_headers())
        if reply.status >= 300:
            raise RuntimeError(f"{method} {path} -> {reply.status}: {reply.body.decode(errors='replace')}")
        return reply.json()

    # -- testing API -----------------------------------------------------------------------------------
    def now(self) -> datetime:
        """The host's current time (virtual or system), timezone-aware UTC."""
        return datetime.fromisoformat(self._admin("GET", "/admin/host/status")["now"])

    def advance(self, *, days: float = 0, hours: float = 0, minutes: float = 0, seconds: float = 0,
                idle_timeout: float = 60) -> datetime:
        """Move the virtual clock forward, firing every timer due on the way, then wait until idle."""
        delta = timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
        reply = self._admin("POST", "/admin/host/clock/advance",
                            {"seconds": delta.total_seconds(), "idleTimeout": idle_timeout},
                            timeout=idle_timeout + 30)
        return datetime.fromisoformat(reply["now"])

    def wait_idle(self, timeout: float = 30) -> None:
        """Block until no orchestration, activity or timer work is runnable right now."""
        self._admin("POST", "/admin/host/idle", {"timeout": timeout}, timeout=timeout + 30)

    def seed(self, instances: list[dict[str, Any]]) -> int:
        """Write instances directly into the store (see `durable_local.host.seeding` for the fields)."""
        return int(self._admin("POST", "/admin/host/seed", {"instances": instances})["seeded"])

    def run_function(self, name: str, input: str | None = None) -> Response:
        """`POST /admin/functions/{name}`: run a non-HTTP function (e.g. a timer trigger) now."""
        return self.post(f"/admin/functions/{name}", {"input": input}, headers=self._admin_headers())

    def wait_for_status(self, instance_id: str, statuses: set[str] | frozenset[str] | None = None,
                        timeout: float = 30) -> dict[str, Any]:
        """Poll the Durable HTTP API until the instance reaches one of `statuses` (default: terminal)."""
        return self.client.wait_for_status(instance_id, statuses, timeout)
