"""`durable host start`: run the function app in the current folder, like `func host start`.

Builds a `HostConfig` from the flags and runs the `Host` (`durable_local.host.host`): reads host.json and
local.settings.json, starts the worker processes that import the app, opens the store, serves HTTP, runs
orchestrations, activities and timer triggers, and prints each function as `func start` does. Ctrl+C stops
it cleanly.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from durable_local.host.config import ConfigError
from durable_local.host.host import Host, HostConfig
from durable_local.host.indexing import AppLoadError
from durable_local.host.schedule import ScheduleError
from durable_local.host.store import StoreLockedError
from durable_local.request_guard import DEFAULT_MAX_BODY_BYTES

log = logging.getLogger("durable_local.host")


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
    start.add_argument("--workers", type=int, default=None, metavar="N",
                       help="worker processes that run the app's code (default: $FUNCTIONS_WORKER_PROCESS_COUNT, "
                            "else 1); 0 runs it inside the host process, for debugging with breakpoints")
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
    config = HostConfig(app_dir=Path.cwd(), port=args.port, app=args.app,
                        store=Path(args.store) if args.store else None, task_hub=args.task_hub, bind=args.bind,
                        clock=args.clock, clock_start=args.clock_start, testing=args.testing, workers=args.workers,
                        cors=args.cors, allowed_hosts=[h for value in args.allowed_host for h in value.split(",")],
                        max_request_body_size=args.max_request_body_size)
    try:
        if args.max_request_body_size <= 0:
            raise ConfigError("--max-request-body-size must be a positive number of bytes")
        Host(config).run()
    except (ConfigError, AppLoadError, ScheduleError, StoreLockedError, OSError, ValueError) as error:
        log.error("durable host start: %s", error)
        return 1
    except KeyboardInterrupt:
        return 0
    return 0
