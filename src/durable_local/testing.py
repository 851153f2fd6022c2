"""Test harness: run an unchanged function app on the local host, in a child process, from tests.

`LocalHost` starts `durable host start` for an app folder on a free port, waits until it serves, and
offers what a test needs beyond the public HTTP surface:

- a virtual clock (`virtual_clock=True`): durable timers, retry delays and timer triggers fire only when
  the test calls `advance(...)`, which moves time forward and waits until the host is idle again;
- seeding (`seed([...])`): instances with a chosen name, runtime status, created time, input, output and
  history, written through the host's testing endpoint (never SQL from the test);
- `run_function(name)`: the real host's admin endpoint that runs a non-HTTP function on demand;
- `kill()` (SIGKILL) and `start()` again on the same store, for crash tests;
- `workers=N`: the host's `--workers` (worker processes running the app's code; 0 runs it in the host
  process); by default the host's own default (`FUNCTIONS_WORKER_PROCESS_COUNT`, else 1).

Example::

    with LocalHost("path/to/app", virtual_clock=True) as host:
        host.seed([{"instanceId": "old", "name": "Hello", "runtimeStatus": "Completed",
                    "createdTime": "2026-01-01T00:00:00Z"}])
        host.advance(days=1)          # fires daily timer triggers once
        status = host.get(f"/runtime/webhooks/durabletask/instances/old")
"""

from __future__ import annotations

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
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any


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

    # -- lifecycle -------------------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        cmd = [sys.executable, "-m", "durable_local", "host", "start", "--port", str(self.port),
               "--store", str(self.store), "--testing"]
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
        return cmd

    def start(self) -> LocalHost:
        env = {**os.environ, **self.env}
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(self.command(), cwd=self.app_dir, env=env, stdout=log, stderr=log)
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"local host exited with {self.process.returncode}:\n{self.log()}")
            try:
                if self.get("/admin/host/status", timeout=2).status == 200:
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
        reply = self.request(method, path, body, timeout=timeout)
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
        return self.post(f"/admin/functions/{name}", {"input": input})

    def wait_for_status(self, instance_id: str, statuses: set[str] | None = None,
                        timeout: float = 30) -> dict[str, Any]:
        """Poll the Durable HTTP API until the instance reaches one of `statuses` (default: terminal)."""
        wanted = statuses or {"Completed", "Failed", "Terminated", "Canceled"}
        deadline = time.monotonic() + timeout
        last: Any = None
        while time.monotonic() < deadline:
            reply = self.get(f"/runtime/webhooks/durabletask/instances/{instance_id}")
            if reply.status in (200, 202):
                last = reply.json()
                if last["runtimeStatus"] in wanted:
                    return last
            time.sleep(0.02)
        raise TimeoutError(f"instance {instance_id} did not reach {sorted(wanted)}; last status: {last}")
