"""The `durable` console command: `durable host start` runs an app; the other commands manage instances.

The local host (`durable_local.host`) is imported only when the command line asks for `durable host`: the
instance-management commands talk HTTP and start faster without it.
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any

from durable_local.dashboard import command as dashboard_command
from durable_local.manage.commands import add_commands as add_manage_commands
from durable_local.manage.commands.options import CommandParser

HOST_COMMAND = "host"
HOST_SUMMARY = "run a function app on the local host"
EXIT_USAGE = 2
QUIET_LIBRARY_LOGGERS = ("azure", "azure.core.pipeline.policies.http_logging_policy", "azure.identity", "urllib3")


def version() -> str:
    """The installed package's version (the project's own when run from a source tree)."""
    from importlib import metadata  # only `--version` pays for it

    try:
        return metadata.version("durable-local")
    except metadata.PackageNotFoundError:
        return "unknown"


class _VersionAction(argparse.Action):
    """`--version`: print `durable VERSION` and exit 0, like argparse's own, reading the version only then."""

    def __init__(self, option_strings: list[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        sys.stdout.write(f"durable {version()}\n")
        parser.exit()


def build_parser(*, with_host: bool = True) -> argparse.ArgumentParser:
    """The whole `durable` parser; without `with_host`, `durable host` is listed but its flags are not loaded."""
    parser = CommandParser(
        prog="durable",
        description="Run an Azure Functions Python v2 app locally and manage its Durable Functions instances.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug output (HTTP requests included)")
    parser.add_argument("--version", action=_VersionAction, help="print the version and exit")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    if with_host:
        from durable_local.host import cli as host_cli  # the host is heavy: only `durable host` needs it

        host_cli.add_commands(subparsers)
    else:
        subparsers.add_parser(HOST_COMMAND, help=HOST_SUMMARY, add_help=False)
    add_manage_commands(subparsers)
    dashboard_command.add_command(subparsers)
    return parser


def _wants_host(argv: list[str]) -> bool:
    """Whether the command line may name `durable host` (then the host's own parser is loaded)."""
    return HOST_COMMAND in argv


def configure_logging(verbose: bool) -> None:
    """Our messages on stderr; library HTTP logging (azure-core, urllib3) only with `-v`."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s" if verbose else "%(message)s",
        stream=sys.stderr,
    )
    for name in QUIET_LIBRARY_LOGGERS:  # with -v: the parents log at DEBUG, the named children follow them
        level = logging.WARNING if not verbose else logging.DEBUG if name in ("azure", "urllib3") else logging.NOTSET
        logging.getLogger(name).setLevel(level)


def main(argv: list[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(with_host=_wants_host(arguments))
    args = parser.parse_args(arguments)
    if args.command is None:  # bare `durable`: the command list, as a usage error (exit 2) like git's
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    configure_logging(args.verbose)
    return int(args.handler(args) or 0)
