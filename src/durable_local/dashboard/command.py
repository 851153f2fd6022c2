"""`durable dashboard`: its flags and its handler, which serves the dashboard until Ctrl+C.

The app is reached with the CLI's settings, in the CLI's order (`manage.context.Context.from_args`): flags
(`--base-url`, `--code`, `--task-hub-name`), then a named environment (`--env`, $DURABLE_ENV), then
$DURABLE_BASE_URL / $DURABLE_SYSTEM_KEY, then host.json. The server binds to 127.0.0.1 unless
`--host` says otherwise, and every start makes a new token that the printed URL carries.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import logging
import signal
import sys
import webbrowser
from typing import TYPE_CHECKING, Any

from durable_local.manage import environments
from durable_local.manage.client import DEFAULT_BASE_URL
from durable_local.manage.context import BASE_URL_ENV, SYSTEM_KEY_ENV, Context
from durable_local.manage.errors import CliError

if TYPE_CHECKING:  # the server (and Jinja2) load only when the dashboard runs
    from durable_local.dashboard.server import Dashboard, DashboardConfig

logger = logging.getLogger(__name__)

DEFAULT_PORT = 7080


def add_command(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Register `durable dashboard` on the `durable` parser."""
    parser = subparsers.add_parser(
        "dashboard",
        help="see and act on instances in a browser",
        description="Serve a dashboard of the app's Durable Functions instances (any app serving the Durable "
        "HTTP API: the local host or a deployed one). The system key stays on this server; the browser needs "
        "the URL printed at start, which carries a token made for this start.",
        epilog="example:\n  durable dashboard --base-url http://localhost:7071 --open\n",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    app = parser.add_argument_group("app and task hub")
    app.add_argument("--env", metavar="NAME",
                     help=f"a named environment of `durable env` (default: ${environments.ENVIRONMENT_ENV}, else the "
                     "file's default); flags given here win over it")
    app.add_argument("--base-url", metavar="URL",
                     help=f"the app's base URL (default: ${BASE_URL_ENV}, else {DEFAULT_BASE_URL})")
    app.add_argument("--code", metavar="KEY",
                     help=f"system key (durabletask_extension) sent as `code` (default: ${SYSTEM_KEY_ENV})")
    app.add_argument("--task-hub-name", metavar="NAME",
                     help="task hub (default: host.json extensions.durableTask.hubName; else the app's)")
    app.add_argument("--connection-string-setting", metavar="SETTING",
                     help="app setting naming the storage connection, sent as `connection`")
    app.add_argument("--app-dir", metavar="DIR", default=".",
                     help="folder with host.json and local.settings.json (default: current folder)")
    serve = parser.add_argument_group("dashboard server")
    serve.add_argument("--host", default="127.0.0.1", metavar="ADDRESS",
                       help="address to bind (default: 127.0.0.1; anything else is reachable by others, who "
                       "still need the token)")
    serve.add_argument("--port", type=_port, default=DEFAULT_PORT, metavar="PORT",
                       help=f"port to serve on (default: {DEFAULT_PORT})")
    serve.add_argument("--allowed-host", action="append", default=[], metavar="NAME",
                       help="another Host header name to accept (a forwarded port, a devcontainer); repeatable")
    serve.add_argument("--read-only", action="store_true", help="show no actions, and refuse them")
    serve.add_argument("--refresh", type=_seconds, default=5.0, metavar="SECONDS",
                       help="auto-refresh interval of the instances list (default: 5)")
    serve.add_argument("--count-limit", type=_count_limit, default=20_000, metavar="N",
                       help="when the app has no counting endpoint (anything but the local host), count and "
                       "chart at most N instances per filter, marked partial beyond (default: 20000)")
    serve.add_argument("--open", action="store_true", help="open the dashboard in the default browser")
    parser.set_defaults(handler=run, output="text")


def _port(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"a port is 1-65535, not {text!r}")
    return int(text)


def _count_limit(text: str) -> int:
    if not text.isdigit() or not 100 <= int(text) <= 10_000_000:
        raise argparse.ArgumentTypeError(f"give 100 to 10000000, not {text!r}")
    return int(text)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0
    if not 1 <= value <= 3600:
        raise argparse.ArgumentTypeError(f"give 1 to 3600 seconds, not {text!r}")
    return value


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def run(args: argparse.Namespace) -> int:
    """Serve until interrupted; 0 on a clean stop, 1 when the dashboard cannot start."""
    from durable_local.dashboard.server import Dashboard, DashboardConfig

    try:  # the same precedence as every `durable` command: flags, --env, the environment variables, host.json
        client = Context.from_args(args).client
    except CliError as error:
        sys.stderr.write(f"durable dashboard: error: {error.message}\n")
        return error.exit_code
    config = DashboardConfig(client=client, host=args.host, port=args.port, read_only=args.read_only,
                             allowed_hosts=tuple(args.allowed_host), refresh_seconds=args.refresh,
                             count_limit=args.count_limit)
    if not is_loopback(args.host):
        logger.warning("WARNING: serving on %s, beyond this machine's loopback: anyone who can reach it and has "
                       "the URL's token can act on instances with the app's system key", args.host)
    try:
        asyncio.run(_serve(Dashboard(config), config, open_browser=args.open))
    except OSError as error:
        sys.stderr.write(f"durable dashboard: error: cannot listen on {args.host}:{args.port}: "
                         f"{error.strerror or error} (choose another --port)\n")
        return 1
    except KeyboardInterrupt:
        pass
    return 0


async def _serve(dashboard: Dashboard, config: DashboardConfig, *, open_browser: bool) -> None:
    from aiohttp import web  # loaded only when serving: other `durable` commands stay quick to start

    runner = web.AppRunner(dashboard.application(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, config.host, config.port)
    try:
        await site.start()
        client = config.client
        sys.stdout.write(f"Durable dashboard for {client.base_url}"
                         f"{' (task hub ' + client.task_hub + ')' if client.task_hub else ''}"
                         f"{' (read-only)' if config.read_only else ''}\n    {config.url}\n")
        sys.stdout.flush()
        if open_browser:
            webbrowser.open(config.url)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        await stop.wait()
    finally:
        await runner.cleanup()
