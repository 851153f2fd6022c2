"""`durable host start`: run the function app in the current folder, like `func host start`.

Reads host.json and local.settings.json, indexes the app, opens the store, serves HTTP, runs orchestrations,
activities and timer triggers, and prints each function as `func start` does. Ctrl+C stops it cleanly.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from pathlib import Path

from durable_local.host.binding import client_binding
from durable_local.host.clock import Clock, VirtualClock
from durable_local.host.config import AppConfig, ConfigError
from durable_local.host.durable_api import DurableApi
from durable_local.host.engine import VIRTUAL_TIME_KEY, Engine
from durable_local.host.history import parse_time
from durable_local.host.indexing import AppLoadError, FunctionIndex, load_app
from durable_local.host.schedule import ScheduleError
from durable_local.host.server import HostServer, serve
from durable_local.host.store import Store, StoreLockedError
from durable_local.host.timers import TimerTriggers
from durable_local.request_guard import DEFAULT_MAX_BODY_BYTES, RequestGuard, parse_origins

log = logging.getLogger("durable_local.host")
DEFAULT_PORT = 7071


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    host = subparsers.add_parser("host", help="run a function app on the local host",
                                 description="Run an Azure Functions Python v2 app locally.")
    commands = host.add_subparsers(dest="host_command", metavar="COMMAND", required=True)
    start = commands.add_parser(
        "start", help="start the app in the current folder (like `func host start`)",
        description="Serve the function app in the current folder: HTTP triggers, timer triggers, "
                    "orchestrations, activities and the Durable HTTP API, persisted in SQLite.")
    start.add_argument("--port", "-p", type=int, default=None,
                       help="HTTP port (default: local.settings.json Host.LocalHttpPort, else 7071)")
    start.add_argument("--app", default=None,
                       help="module[:attribute] of the app (default: $PYTHON_SCRIPT_FILE_NAME or function_app)")
    start.add_argument("--store", default=None, help="SQLite file (default .durable/store.sqlite in the app folder)")
    start.add_argument("--task-hub", default=None,
                       help="task hub (default host.json extensions.durableTask.hubName, else TestHubName)")
    start.add_argument("--bind", default="127.0.0.1,::1", help="addresses to listen on (default loopback)")
    start.add_argument("--clock", choices=("system", "virtual"), default="system",
                       help="'virtual' makes time move only through the testing API")
    start.add_argument("--clock-start", default=None, help="ISO time the virtual clock starts at (default now)")
    start.add_argument("--testing", action="store_true",
                       help="enable the testing endpoints (seed instances, advance the clock, wait idle)")
    start.add_argument("--cors", default=None,
                       help="comma-separated origins whose pages may send state-changing requests (added to "
                            "local.settings.json Host.CORS; '*' allows any)")
    start.add_argument("--allowed-host", action="append", default=[], metavar="NAME",
                       help="a Host header name to accept besides localhost and the bound addresses (forwarded "
                            "ports, devcontainers, WSL); repeatable, '*' accepts any")
    start.add_argument("--max-request-body-size", type=int, default=DEFAULT_MAX_BODY_BYTES, metavar="BYTES",
                       help="larger request bodies are refused with 413 (default 104857600, as Azure Functions)")
    start.set_defaults(handler=run_start)


def run_start(args: argparse.Namespace) -> int:
    app_dir = Path.cwd()
    try:
        if args.max_request_body_size <= 0:
            raise ConfigError("--max-request-body-size must be a positive number of bytes")
        config = AppConfig.load(app_dir)
        config.apply_settings()
        hub = config.task_hub(args.task_hub)
        args.port = args.port or config.local_http_port or DEFAULT_PORT
        target = args.app or os.environ.get("PYTHON_SCRIPT_FILE_NAME", "function_app").removesuffix(".py")
        index = load_app(app_dir, target)
        clock: Clock = VirtualClock(parse_time(args.clock_start) if args.clock_start else None) \
            if args.clock == "virtual" else Clock()
        store_path = Path(args.store) if args.store else app_dir / ".durable" / "store.sqlite"
        return asyncio.run(_serve(config, index, hub, clock, store_path, args))
    except (ConfigError, AppLoadError, ScheduleError, StoreLockedError, OSError, ValueError) as error:
        log.error("durable host start: %s", error)
        return 1
    except KeyboardInterrupt:
        return 0


async def _serve(config: AppConfig, index: FunctionIndex, hub: str, clock: Clock, store_path: Path,
                 args: argparse.Namespace) -> int:
    store = Store(store_path, hub)
    if isinstance(clock, VirtualClock) and (reached := store.state(VIRTUAL_TIME_KEY)):
        clock.advance_to(parse_time(reached))  # never back in time: the later of --clock-start and the store
    port = args.port
    binding = client_binding(f"http://localhost:{port}", f"http://127.0.0.1:{port}", hub)
    engine = Engine(store, index, clock, lambda: binding, str(config.app_dir))
    api = DurableApi(engine, hub)
    timers = TimerTriggers(engine)
    guard = RequestGuard(bound_addresses=[h for h in args.bind.split(",") if h],
                         allowed_hosts=[h for value in args.allowed_host for h in value.split(",")],
                         allowed_origins=parse_origins(config.host_settings.get("CORS")) + parse_origins(args.cors),
                         max_body_bytes=args.max_request_body_size)
    server = HostServer(engine, api, timers, config.route_prefix, args.testing, guard)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    runner = await serve(server.application(), [h for h in args.bind.split(",") if h], port)
    try:
        await engine.start()
        timers.start()
        _print_functions(index, port, config.route_prefix, hub, store_path, clock)
        await stop.wait()
        log.info("Stopping the host...")
    finally:
        await runner.cleanup()
        await engine.stop()
        store.close()
    return 0


def _print_functions(index: FunctionIndex, port: int, prefix: str, hub: str, store_path: Path,
                     clock: Clock) -> None:
    lines = ["", "Functions:", ""]
    for info in sorted(index.functions.values(), key=lambda i: i.name.lower()):
        if info.trigger_type == "httpTrigger":
            methods = ",".join(str(m).upper() for m in (info.trigger.get("methods") or [])) or "ALL"
            route = "/".join(p for p in (prefix, str(info.trigger.get("route") or info.name)) if p)
            lines.append(f"        {info.name}: [{methods}] http://localhost:{port}/{route}")
        else:
            lines.append(f"        {info.name}: {info.trigger_type}")
    clock_text = f"virtual, at {clock.now().isoformat()}" if clock.virtual else "system"
    lines += ["", f"Task hub: {hub}   Store: {store_path}   Clock: {clock_text}",
              f"Durable HTTP API: http://localhost:{port}/runtime/webhooks/durabletask", "",
              "Host started. Press Ctrl+C to stop.", ""]
    sys.stderr.write("\n".join(lines))
    sys.stderr.flush()

