"""The local host as one object: `Host(HostConfig)` with `start()`, `serve()` and `stop()`.

In the spirit of uvicorn's `Server(config)`: everything the host is made of is assembled here, in order.

1. the app folder's settings (`local.settings.json` values become environment variables, `host.json`);
2. the function runner: `WorkerPool` (worker processes import the app and run all user code; their number is
   `--workers`, else `FUNCTIONS_WORKER_PROCESS_COUNT`, else 1) or, with `workers=0`, `InProcessRunner` (the app
   runs in this process: the debugging mode);
3. the store (SQLite, one host per file), the clock (system or virtual), the engine (sequencing, timers of
   orchestrations, dispatch), the Durable HTTP API, the timer triggers, the request guard
   (`durable_local.request_guard`: Host header, cross-site and body size rules) and the HTTP server.

`durable host start` (`durable_local.host.cli`) builds a `HostConfig` from its flags and runs `Host.run()`; the
test harness (`durable_local.testing.LocalHost`) starts that command in a child process. A program can embed
the host too::

    host = Host(HostConfig(app_dir=Path("my_app"), port=7072, workers=1))
    await host.start()      # listening, running orchestrations and timers
    ...
    await host.stop()
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import signal
import sys
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

from durable_local.host.binding import client_binding, rpc_path_for, system_key_query
from durable_local.host.clock import Clock, VirtualClock
from durable_local.host.config import AppConfig
from durable_local.host.durable_api import DurableApi
from durable_local.host.engine import VIRTUAL_TIME_KEY, Engine
from durable_local.host.history import parse_time
from durable_local.host.keys import HostKeys, default_keys_file, load_or_create
from durable_local.host.runners import FunctionRunner, InProcessRunner
from durable_local.host.server import HostServer, serve
from durable_local.host.storage_bindings.connections import Connections
from durable_local.host.storage_bindings.runner import BindingRunner
from durable_local.host.store import Store
from durable_local.host.timers import TimerTriggers
from durable_local.host.workers import WorkerPool, worker_count
from durable_local.request_guard import DEFAULT_MAX_BODY_BYTES, RequestGuard, parse_origins
from durable_local.vocabulary import DURABLE_API

log = logging.getLogger("durable_local.host")
DEFAULT_PORT = 7071


@dataclass
class HostConfig:
    """What `durable host start` accepts; every field has the command's default."""

    app_dir: Path
    port: int | None = None  # None: local.settings.json Host.LocalHttpPort, else 7071
    app: str | None = None  # module[:attribute]; None: $PYTHON_SCRIPT_FILE_NAME or function_app
    store: Path | None = None  # None: .durable/store.sqlite in the app folder
    task_hub: str | None = None
    bind: str = "127.0.0.1,::1"
    clock: str = "system"  # or "virtual"
    clock_start: str | None = None
    testing: bool = False
    workers: int | None = None  # None: FUNCTIONS_WORKER_PROCESS_COUNT, else 1; 0: in-process
    cors: str | None = None  # origins allowed besides local.settings.json Host.CORS (request_guard)
    allowed_hosts: list[str] = field(default_factory=list)  # Host header names besides the bound addresses
    max_request_body_size: int = DEFAULT_MAX_BODY_BYTES
    enforce_keys: bool = False  # authorization levels and the system key, as on Azure (host/keys.py)
    keys_file: Path | None = None  # None: store.keys.json beside the store


class Host:
    """One local host; see the module docstring. `start()` raises `ConfigError`, `AppLoadError`,
    `ScheduleError`, `StoreLockedError`, `OSError` or `ValueError` with a message for the user."""

    def __init__(self, config: HostConfig) -> None:
        self.config = config
        self.settings = AppConfig.load(config.app_dir)
        self.hub = ""
        self.port = 0
        self.store_path = config.store or config.app_dir / ".durable" / "store.sqlite"
        self.functions: BindingRunner | None = None
        self.store: Store | None = None
        self.engine: Engine | None = None
        self.timers: TimerTriggers | None = None
        self.keys: HostKeys | None = None
        self.keys_file = config.keys_file or default_keys_file(self.store_path)
        self._runner: web.AppRunner | None = None
        self._stop_requested: asyncio.Event | None = None

    # -- lifecycle -------------------------------------------------------------------------------------
    async def start(self) -> None:
        config, settings = self.config, self.settings
        settings.apply_settings()
        self.hub = settings.task_hub(config.task_hub)
        self.port = config.port or settings.local_http_port or DEFAULT_PORT
        count = worker_count(config.workers)
        target = config.app or os.environ.get("PYTHON_SCRIPT_FILE_NAME", "function_app").removesuffix(".py")
        clock: Clock = VirtualClock(parse_time(config.clock_start) if config.clock_start else None) \
            if config.clock == "virtual" else Clock()
        self.keys = load_or_create(self.keys_file) if config.enforce_keys else None
        required_query = system_key_query(self.keys.durable_system_key) if self.keys else ""
        rpc_path = rpc_path_for(secrets.token_urlsafe(24)) if self.keys else DURABLE_API
        binding = client_binding(f"http://localhost:{self.port}", f"http://127.0.0.1:{self.port}", self.hub,
                                 required_query, rpc_path)
        try:
            runner: FunctionRunner = InProcessRunner(config.app_dir, target, binding) if count == 0 \
                else WorkerPool(config.app_dir, target, binding, count)
            self.functions = BindingRunner(runner, Connections(), settings.host)
            await self.functions.start()
            self.functions.check()  # storage bindings whose connection cannot be used: listed in error
            if self.keys is not None:  # a `default` key for each HTTP function that has none yet
                http_functions = [f.name for f in self.functions.index.of_type("httpTrigger")]
                self.keys = load_or_create(self.keys_file, http_functions)
            self.store = Store(self.store_path, self.hub)
            if isinstance(clock, VirtualClock) and (reached := self.store.state(VIRTUAL_TIME_KEY)):
                clock.advance_to(parse_time(reached))  # never back in time: the later of --clock-start and the store
            self.engine = Engine(self.store, self.functions, clock)
            self.timers = TimerTriggers(self.engine)
            bound = [h for h in config.bind.split(",") if h]
            guard = RequestGuard(bound_addresses=bound, allowed_hosts=config.allowed_hosts,
                                 allowed_origins=parse_origins(settings.host_settings.get("CORS"))
                                 + parse_origins(config.cors),
                                 max_body_bytes=config.max_request_body_size)
            server = HostServer(self.engine, DurableApi(self.engine, self.hub, required_query), self.timers,
                                settings.route_prefix, config.testing, guard, self.keys,
                                rpc_path if self.keys else None)
            self._runner = await serve(server.application(), bound, self.port)
            await self.engine.start()
            self.timers.start()
            self.functions.start_listeners()  # queue (and blob) triggers
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        """Stop listening, stop dispatching, stop the workers and close the store (safe to call twice)."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self.functions is not None:
            await self.functions.stop_listeners()
        if self.engine is not None:
            await self.engine.stop()
            self.engine = None
        if self.functions is not None:
            await self.functions.stop()
            self.functions = None
        if self.store is not None:
            self.store.close()
            self.store = None

    def request_stop(self) -> None:
        if self._stop_requested is not None:
            self._stop_requested.set()

    async def serve(self) -> None:
        """Start, print the functions as `func start` does, serve until Ctrl+C / SIGTERM, stop."""
        self._stop_requested = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, self.request_stop)
        await self.start()
        try:
            self.print_functions()
            await self._stop_requested.wait()
            log.info("Stopping the host...")
        finally:
            await self.stop()

    def run(self) -> None:
        asyncio.run(self.serve())

    # -- output ----------------------------------------------------------------------------------------
    def print_functions(self) -> None:
        assert self.functions is not None and self.engine is not None
        port, prefix, clock = self.port, self.settings.route_prefix, self.engine.clock
        lines = ["", "Functions:", ""]
        for info in sorted(self.functions.index.functions.values(), key=lambda i: i.name.lower()):
            if info.trigger_type == "httpTrigger":
                methods = ",".join(str(m).upper() for m in (info.trigger.get("methods") or [])) or "ALL"
                route = "/".join(p for p in (prefix, str(info.trigger.get("route") or info.name)) if p)
                lines.append(f"        {info.name}: [{methods}] http://localhost:{port}/{route}")
            else:
                lines.append(f"        {info.name}: {info.trigger_type}")
        for name, reason in sorted(self.functions.index.errors.items(), key=lambda item: item[0].lower()):
            lines.append(f"        {name}: [ERROR] {reason}")
        clock_text = f"virtual, at {clock.now().isoformat()}" if clock.virtual else "system"
        workers = self.functions.pids
        process_text = f"{len(workers)} worker process(es): {', '.join(map(str, workers))}" if workers \
            else "in-process (no worker processes)"
        lines += ["", f"Task hub: {self.hub}   Store: {self.store_path}   Clock: {clock_text}",
                  f"User code: {process_text}",
                  f"Durable HTTP API: http://localhost:{port}{DURABLE_API}",
                  f"Keys: enforced (`durable host keys` shows them; kept in {self.keys_file})" if self.keys
                  else "Keys: not enforced (start with --enforce-keys to require them)", "",
                  "Host started. Press Ctrl+C to stop.", ""]
        sys.stderr.write("\n".join(lines))
        sys.stderr.flush()
