"""What the `durable` instance-management commands share on the command line: the app and task hub options,
the parser class that refuses a single-value flag given twice, the adapter from a handler to argparse, and
the flag groups several commands use (instance IDs, filters, confirmation, waiting). Each command module
declares its own flags with these, next to its handler."""

from __future__ import annotations

import argparse
import sys
import textwrap
from collections.abc import Callable
from typing import Any

from durable_local.manage.context import BASE_URL_ENV, SYSTEM_KEY_ENV, Context
from durable_local.manage.environments import ENVIRONMENT_ENV
from durable_local.manage.errors import CliError, UsageError
from durable_local.manage.parsing import (
    RUNTIME_STATUSES,
    StatusListAction,
    non_negative_float,
    parse_datetime,
    parse_status_token,
)

Handler = Callable[[Context], int]
Subparsers = argparse._SubParsersAction
OUTPUT_FORMATS = ("text", "json", "jsonl")
_STATUSES = ", ".join(RUNTIME_STATUSES)
_GIVEN = "_flags_given"


class StoreOnce(argparse._StoreAction):
    """A flag that takes one value: given twice (`--id A --id B`), it is a usage error, not the last one wins."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        given: set[str] = getattr(namespace, _GIVEN, None) or set()
        if self.dest in given:
            parser.error(f"{'/'.join(self.option_strings)} was given twice; it takes one value")
        setattr(namespace, _GIVEN, given | {self.dest})
        super().__call__(parser, namespace, values, option_string)


class CommandParser(argparse.ArgumentParser):
    """An ArgumentParser whose plain value flags (the default `store` action, in argument groups too) refuse a
    second occurrence (`StoreOnce`); flags that accumulate say so with `action="extend"` or their own action."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.register("action", None, StoreOnce)
        self.register("action", "store", StoreOnce)


def given_flags(args: argparse.Namespace) -> set[str]:
    """The destinations of the single-value flags the user actually gave."""
    return set(getattr(args, _GIVEN, None) or set())


def _prog(args: argparse.Namespace) -> str:
    command = getattr(args, "command", None)
    return f"durable {command}" if command else "durable"


def run_handler(handler: Handler) -> Callable[[argparse.Namespace], int]:
    """Adapt `handler(ctx)` to `args.handler(args)`: build the context; errors become one stderr line."""

    def run(args: argparse.Namespace) -> int:
        try:
            ctx = Context.from_args(args)
            if getattr(args, "check_task_hub", True):
                ctx.check_served_task_hub()
            if (
                getattr(args, "created_after", None)
                and getattr(args, "created_before", None)
                and args.created_after > args.created_before
            ):
                raise UsageError("--created-after is later than --created-before; no instance can match")
            return handler(ctx)
        except CliError as error:
            sys.stderr.write(f"{_prog(args)}: error: {error.message}\n")
            return error.exit_code
        except KeyboardInterrupt:
            sys.stderr.write(f"{_prog(args)}: interrupted\n")
            return 130

    return run


def common_options() -> argparse.ArgumentParser:
    """The options every instance-management command takes: where the app is, its task hub, the output."""
    common = CommandParser(add_help=False)
    group = common.add_argument_group("app and task hub")
    group.add_argument(
        "--env",
        metavar="NAME",
        help=f"a named environment of the environments file (default: ${ENVIRONMENT_ENV}); see `durable env`",
    )
    group.add_argument(
        "--base-url",
        metavar="URL",
        help=f"the app's base URL (default: ${BASE_URL_ENV}, else http://localhost:7071)",
    )
    group.add_argument(
        "--code",
        metavar="KEY",
        help=f"system key (durabletask_extension) sent as `code` (default: ${SYSTEM_KEY_ENV})",
    )
    group.add_argument(
        "--task-hub-name",
        metavar="NAME",
        help="task hub, sent as `taskHub` (default: host.json extensions.durableTask.hubName, "
        "%%SETTING%% resolved from the environment then local.settings.json; else the app's)",
    )
    group.add_argument(
        "--connection-string-setting",
        metavar="SETTING",
        help="app setting holding the storage connection string, sent as `connection` "
        "(delete-task-hub: delete from that Azure Storage account)",
    )
    group.add_argument(
        "--app-dir",
        metavar="DIR",
        default=".",
        help="folder with host.json and local.settings.json (default: current folder)",
    )
    group.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=argparse.SUPPRESS,
        help="log debug output, HTTP requests included (also accepted before the command)",
    )
    group.add_argument(
        "-o",
        "--output",
        choices=OUTPUT_FORMATS,
        default="text",
        help="text for people (default), json for scripts (indented on a terminal, one line in a pipe), "
        "or jsonl: one JSON value per line (instances, history events)",
    )
    return common


def add_command(
    subparsers: Subparsers,
    name: str,
    summary: str,
    handler: Handler,
    *,
    description: str,
    example: str,
    common: argparse.ArgumentParser,
) -> argparse.ArgumentParser:
    """Add command `name` with its summary, description and example; `handler(ctx)` runs it."""
    parser = subparsers.add_parser(
        name,
        help=summary,
        description=f"{summary[0].upper()}{summary[1:]}.\n\n{textwrap.fill(description, 88, break_on_hyphens=False)}",
        parents=[common],
        epilog=f"example:\n  {example}\n",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.set_defaults(handler=run_handler(handler))
    return parser


def instance_id_option(parser: argparse.ArgumentParser, *, many: bool = False, required: bool = True) -> None:
    """`--id ID` (once), or with `many` `--id A B --id C` (every value of every occurrence)."""
    if many:
        parser.add_argument(
            "--id",
            nargs="+",
            action="extend",
            metavar="ID",
            required=required,
            help="instance ID(s): several after one --id, or --id repeated",
        )
    else:
        parser.add_argument("--id", required=required, metavar="ID", help="instance ID")


def filter_options(parser: argparse.ArgumentParser, *, statuses_help: str, prefix: bool = True) -> None:
    """The `GET /instances` filters: creation time range, runtime statuses, instance ID prefix."""
    parser.add_argument(
        "--created-after",
        type=parse_datetime,
        metavar="TIME",
        help="instances created at or after this UTC time (ISO 8601)",
    )
    parser.add_argument(
        "--created-before",
        type=parse_datetime,
        metavar="TIME",
        help="instances created at or before this UTC time (ISO 8601)",
    )
    parser.add_argument(
        "--runtime-status",
        nargs="+",
        type=parse_status_token,
        action=StatusListAction,
        metavar="STATUS",
        help=f"{statuses_help}; any case, space- or comma-separated: {_STATUSES}",
    )
    if prefix:
        parser.add_argument("--instance-id-prefix", metavar="PREFIX", help="instance IDs starting with PREFIX")


def confirmation_options(parser: argparse.ArgumentParser) -> None:
    """`--yes` and `--dry-run` of the destructive commands."""
    parser.add_argument(
        "--yes",
        "-y",
        action="store_true",
        help="do not ask for confirmation (required when stdin is not a terminal)",
    )
    parser.add_argument("--dry-run", action="store_true", help="print exactly what would go, change nothing")


def wait_options(parser: argparse.ArgumentParser, what: str, default: float = 30) -> None:
    """`--no-wait` and `--timeout` of the commands that wait for the instance to change."""
    parser.add_argument(
        "--no-wait",
        action="store_true",
        help=f"return once the request is accepted; do not wait until {what}",
    )
    parser.add_argument(
        "--timeout",
        type=non_negative_float,
        default=default,
        metavar="SECONDS",
        help=f"how long to wait until {what} (default: {default:g})",
    )
