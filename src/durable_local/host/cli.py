"""`durable host start`: run the function app in the current folder, like `func host start`; `durable host keys`:
the keys it enforces with `--enforce-keys`.

Builds a `HostConfig` from the flags and runs the `Host` (`durable_local.host.host`): reads host.json and
local.settings.json, starts the worker processes that import the app, opens the store, serves HTTP, runs
orchestrations, activities and timer triggers, and prints each function as `func start` does. Ctrl+C stops
it cleanly.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from durable_local.host.config import ConfigError
from durable_local.host.host import Host, HostConfig
from durable_local.host.indexing import AppLoadError
from durable_local.host.keys import KeysFileError, default_keys_file, load_or_create
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
    start.add_argument("--enforce-keys", action="store_true",
                       help="enforce authorization levels as on Azure: function and admin keys on HTTP triggers, "
                            "the durabletask_extension system key on the Durable HTTP API, the master key on "
                            "/admin; `durable host keys` shows the keys")
    start.add_argument("--keys-file", default=None, metavar="PATH",
                       help="JSON file with the keys, in the shape of the host's host.json secrets "
                            "(default: store.keys.json beside the store); missing keys are generated")
    start.set_defaults(handler=run_start)
    keys = commands.add_parser(
        "keys", help="show the keys `durable host start --enforce-keys` requires (generated on first use)",
        description="Print the master key, host keys, system keys and function keys of the local host, and "
                    "the Durable HTTP API URL with ?code=, as the Azure portal shows an app's keys.")
    keys.add_argument("--store", default=None, help="SQLite file (default .durable/store.sqlite in the app folder)")
    keys.add_argument("--keys-file", default=None, metavar="PATH",
                      help="keys file (default: store.keys.json beside the store)")
    keys.add_argument("--port", "-p", type=int, default=7071, help="port shown in the URLs (default 7071)")
    keys.add_argument("--output", "-o", choices=("text", "json"), default="text",
                      help="'json' prints the keys file's content")
    keys.set_defaults(handler=run_keys)


def run_start(args: argparse.Namespace) -> int:
    config = HostConfig(app_dir=Path.cwd(), port=args.port, app=args.app,
                        store=Path(args.store) if args.store else None, task_hub=args.task_hub, bind=args.bind,
                        clock=args.clock, clock_start=args.clock_start, testing=args.testing, workers=args.workers,
                        cors=args.cors, allowed_hosts=[h for value in args.allowed_host for h in value.split(",")],
                        max_request_body_size=args.max_request_body_size, enforce_keys=args.enforce_keys,
                        keys_file=Path(args.keys_file) if args.keys_file else None)
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


def run_keys(args: argparse.Namespace) -> int:
    """Print the keys (generating the missing ones, as the host does on first start)."""
    store = Path(args.store) if args.store else Path.cwd() / ".durable" / "store.sqlite"
    path = Path(args.keys_file) if args.keys_file else default_keys_file(store)
    try:
        keys = load_or_create(path)
    except (KeysFileError, OSError) as error:
        sys.stderr.write(f"durable host keys: error: {error}\n")
        return 1
    if args.output == "json":
        sys.stdout.write(json.dumps(keys.to_json(), indent=2) + "\n")
        return 0
    base = f"http://localhost:{args.port}"
    lines = [f"Keys file: {path}", "", f"Master key (admin):  {keys.master}", "", "Host keys (function level):"]
    lines += [f"  {name}: {value}" for name, value in keys.function_keys.items()]
    lines += ["", "System keys:"] + [f"  {name}: {value}" for name, value in keys.system_keys.items()]
    if keys.functions:
        lines += ["", "Function keys:"]
        lines += [f"  {function}/{name}: {value}" for function, named in sorted(keys.functions.items())
                  for name, value in named.items()]
    lines += ["", f"Durable HTTP API: {base}/runtime/webhooks/durabletask/instances?code={keys.durable_system_key}",
              f"  (the CLI and dashboard: --code {keys.durable_system_key}, or DURABLE_SYSTEM_KEY)", ""]
    sys.stdout.write("\n".join(lines))
    return 0
