"""The `durable` console command: `durable host start` runs an app; the other commands manage instances."""

from __future__ import annotations

import argparse
import logging
import sys

from durable_local.dashboard import command as dashboard_command
from durable_local.host import cli as host_cli
from durable_local.manage import commands as manage_commands


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="durable",
        description="Run an Azure Functions Python v2 app locally and manage its Durable Functions instances.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug output")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    host_cli.add_commands(subparsers)
    manage_commands.add_commands(subparsers)
    dashboard_command.add_command(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s" if args.verbose else "%(message)s",
        stream=sys.stderr,
    )
    if not args.verbose:  # azure-core logs each storage request at INFO; azure-identity each token
        for name in ("azure.core.pipeline.policies.http_logging_policy", "azure.identity"):
            logging.getLogger(name).setLevel(logging.WARNING)
    return int(args.handler(args) or 0)
