"""The instance-management commands of `durable`: Core Tools' nine `func durable` commands with their flag
names and defaults, plus `wait`, `suspend`, `resume` and `restart`. `add_commands` registers them; each
handler returns the exit code: 0 success, 1 failure (unknown instance, wrong state, unreachable app),
2 usage error (bad flag values, a confirmation that cannot be asked)."""

from __future__ import annotations

import argparse
import sys
import textwrap
from collections.abc import Callable

from durable_local.manage import _bulk, _control, _query, _taskhub, storage
from durable_local.manage.context import BASE_URL_ENV, SYSTEM_KEY_ENV, Context
from durable_local.manage.errors import CliError, UsageError
from durable_local.manage.parsing import (
    RUNTIME_STATUSES,
    StatusListAction,
    event_name,
    non_negative_float,
    parse_bool,
    parse_datetime,
    parse_status_token,
    positive_int,
)

Handler = Callable[[Context], int]
_STATUSES = ", ".join(RUNTIME_STATUSES)


def _prog(args: argparse.Namespace) -> str:
    command = getattr(args, "command", None)
    return f"durable {command}" if command else "durable"


def _run(handler: Handler) -> Callable[[argparse.Namespace], int]:
    """Adapt `handler(ctx)` to `args.handler(args)`: build the context; errors become one stderr line."""

    def run(args: argparse.Namespace) -> int:
        try:
            ctx = Context.from_args(args)
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


def _common_options() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    group = common.add_argument_group("app and task hub")
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
        "-o",
        "--output",
        choices=("text", "json"),
        default="text",
        help="text for people (default) or json for scripts",
    )
    return common


def _add(
    subparsers: argparse._SubParsersAction,
    name: str,
    summary: str,
    handler: Handler,
    *,
    description: str,
    example: str,
    common: argparse.ArgumentParser,
) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        name,
        help=summary,
        description=f"{summary[0].upper()}{summary[1:]}.\n\n{textwrap.fill(description, 88, break_on_hyphens=False)}",
        parents=[common],
        epilog=f"example:\n  {example}\n",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.set_defaults(handler=_run(handler))
    return parser


def _id(parser: argparse.ArgumentParser, *, many: bool = False, required: bool = True) -> None:
    if many:
        parser.add_argument("--id", nargs="+", metavar="ID", required=required, help="instance ID(s)")
    else:
        parser.add_argument("--id", required=required, metavar="ID", help="instance ID")


def _filters(parser: argparse.ArgumentParser, *, statuses_help: str, prefix: bool = True) -> None:
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


def _confirmation(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--yes",
        "-y",
        action="store_true",
        help="do not ask for confirmation (required when stdin is not a terminal)",
    )
    parser.add_argument("--dry-run", action="store_true", help="print exactly what would go, change nothing")


def _wait_options(parser: argparse.ArgumentParser, what: str, default: float = 30) -> None:
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


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add every instance-management command to the `durable` parser."""
    common = _common_options()

    p = _add(
        subparsers,
        "start-new",
        "start an orchestration instance",
        _control.start_new,
        common=common,
        description="POST /orchestrators/{function-name}[/{id}]; prints the new instance ID.",
        example="durable start-new --function-name HelloWorld --input @counter-data.json --task-hub-name TestTaskHub",
    )
    p.add_argument("--function-name", required=True, metavar="NAME", help="orchestrator function to start")
    p.add_argument(
        "--input",
        metavar="JSON|@FILE",
        help="input: inline JSON (other text is sent as a JSON string) or @path/to/file.json",
    )
    p.add_argument(
        "--raw-input",
        action="store_true",
        help="send a non-object input as-is (for apps in other languages); by default a number, string, list or "
        "boolean is encoded as the Python SDK's start_new encodes it, so a Python orchestrator's get_input() "
        "returns it (a JSON object is always sent as-is)",
    )
    p.add_argument("--id", metavar="ID", help="instance ID (default: a random one)")

    p = _add(
        subparsers,
        "get-runtime-status",
        "show an instance's status",
        _query.get_runtime_status,
        common=common,
        description="Runtime status by name, times, custom status; input and output on request.",
        example="durable get-runtime-status --id 0ab8c55a66644d68a3a8b220b12d209c --show-input true --show-output true",
    )
    _id(p)
    p.add_argument(
        "--show-input",
        type=parse_bool,
        nargs="?",
        const=True,
        default=False,
        metavar="BOOL",
        help="include the input (default: false)",
    )
    p.add_argument(
        "--show-output",
        type=parse_bool,
        nargs="?",
        const=True,
        default=False,
        metavar="BOOL",
        help="include the output (default: false)",
    )

    p = _add(
        subparsers,
        "get-history",
        "show an instance's history events",
        _query.get_history,
        common=common,
        description="The history events of the instance, oldest first, with inputs and results.",
        example="durable get-history --id 0ab8c55a66644d68a3a8b220b12d209c",
    )
    _id(p)

    p = _add(
        subparsers,
        "get-instances",
        "list instances, a page at a time",
        _query.get_instances,
        common=common,
        description="A table of instances and the continuation token of the next page; --all fetches "
        "every page (progress on stderr).",
        example="durable get-instances --created-after 2018-03-10T13:57:31Z --created-before  "
        "2018-03-10T23:59Z --top 15",
    )
    _filters(p, statuses_help="only instances with these statuses")
    p.add_argument("--top", type=positive_int, metavar="N", help="instances per page (default: 10; with --all, 100)")
    p.add_argument("--continuation-token", metavar="TOKEN", help="the page to fetch, from a previous listing")
    p.add_argument("--all", action="store_true", help="page through every matching instance")
    p.add_argument(
        "--show-input",
        type=parse_bool,
        nargs="?",
        const=True,
        default=False,
        metavar="BOOL",
        help="include inputs in --output json (default: false)",
    )

    p = _add(
        subparsers,
        "terminate",
        "terminate a running instance (or many)",
        _bulk.terminate,
        common=common,
        description="Sends terminate and waits until the instance is Terminated (up to 30 s, as Core Tools), "
        "unless --no-wait. Several IDs, or filters instead of --id, terminate many instances "
        "after a confirmation (default statuses: Pending, Running, Suspended, ContinuedAsNew).",
        example='durable terminate --id 0ab8c55a66644d68a3a8b220b12d209c --reason "It was time to be done."',
    )
    _id(p, many=True, required=False)
    p.add_argument("--reason", help="reason for the termination (becomes the instance's output)")
    _filters(p, statuses_help="with filters: terminate instances with these statuses")
    _wait_options(p, "the instance is Terminated")
    _confirmation(p)

    p = _add(
        subparsers,
        "raise-event",
        "send an event to an instance",
        _control.raise_event,
        common=common,
        description="POST /instances/{id}/raiseEvent/{event-name}. The event name is required "
        "(Core Tools invents a random one).",
        example="durable raise-event --id 0ab8c55a66644d68a3a8b220b12d209c --event-name MyEvent "
        "--event-data @eventdata.json",
    )
    _id(p)
    p.add_argument("--event-name", required=True, metavar="NAME", type=event_name, help="name of the event")
    p.add_argument(
        "--event-data",
        metavar="JSON|@FILE",
        help="event data: inline JSON (other text is sent as a JSON string) or @path/to/file.json",
    )

    p = _add(
        subparsers,
        "rewind",
        "rewind a Failed instance",
        _control.rewind,
        common=common,
        description="Reruns the failed work of a Failed instance; shows the status before and after.",
        example='durable rewind --id 0ab8c55a66644d68a3a8b220b12d209c --reason "Orchestrator failed and '
        'needs to be revived."',
    )
    _id(p)
    p.add_argument("--reason", help="reason for the rewind")
    p.add_argument(
        "--timeout",
        type=non_negative_float,
        default=10,
        metavar="SECONDS",
        help="how long to wait for the status to change after the rewind (default: 10)",
    )

    p = _add(
        subparsers,
        "purge-history",
        "delete the history of finished instances",
        _bulk.purge_history,
        common=common,
        description="Lists the instances matching the filters, asks for confirmation, then purges exactly "
        "those. Without --runtime-status only finished instances are purged (Completed, "
        "Failed, Terminated, Canceled), never running ones. --created-after defaults to "
        "0001-01-01T00:00:00Z.",
        example="durable purge-history --created-before 2018-11-14T19:35:00.0000000Z --runtime-status failed",
    )
    _id(p, many=True, required=False)
    _filters(
        p,
        statuses_help="purge instances with these statuses (default: Completed Failed Terminated Canceled)",
        prefix=False,
    )
    _confirmation(p)

    p = _add(
        subparsers,
        "delete-task-hub",
        "delete a task hub and all its data",
        _taskhub.delete_task_hub,
        common=common,
        description="By default deletes the hub's data from the running local host (DELETE "
        "{base-url}/admin/host/taskhubs/{hub}). With --connection-string-setting (a connection "
        "string, or SETTING__accountName / SETTING__*ServiceUri with SETTING__credential and "
        "SETTING__clientId), or with --storage-account / --*-service-uri, deletes the hub's tables, "
        "queues and blob containers from that Azure Storage account, and nothing else. "
        "Hub: --task-hub-name, else host.json, else TestHubName.",
        example="durable delete-task-hub --task-hub-name UserTest",
    )
    storage.add_identity_arguments(p)
    _confirmation(p)

    p = _add(
        subparsers,
        "wait",
        "wait until an instance finishes",
        _query.wait,
        common=common,
        description="Polls the status until Completed, Failed, Terminated or Canceled and prints it with the "
        "output. Exit 0 if Completed, 1 if it ended otherwise or the timeout passed.",
        example="durable wait --id 0ab8c55a66644d68a3a8b220b12d209c --timeout 120",
    )
    _id(p)
    p.add_argument(
        "--timeout",
        type=non_negative_float,
        default=60,
        metavar="SECONDS",
        help="give up after this many seconds; 0 waits forever (default: 60)",
    )
    p.add_argument(
        "--interval",
        type=non_negative_float,
        default=1.0,
        metavar="SECONDS",
        help="longest pause between polls (default: 1)",
    )

    p = _add(
        subparsers,
        "suspend",
        "suspend a running instance",
        _control.suspend,
        common=common,
        description="POST /instances/{id}/suspend, then waits until it is Suspended (unless --no-wait).",
        example='durable suspend --id 0ab8c55a66644d68a3a8b220b12d209c --reason "Pause for maintenance"',
    )
    _id(p)
    p.add_argument("--reason", help="reason for suspending")
    _wait_options(p, "the instance is Suspended")

    p = _add(
        subparsers,
        "resume",
        "resume a suspended instance",
        _control.resume,
        common=common,
        description="POST /instances/{id}/resume, then waits until it is no longer Suspended (unless --no-wait).",
        example='durable resume --id 0ab8c55a66644d68a3a8b220b12d209c --reason "Maintenance done"',
    )
    _id(p)
    p.add_argument("--reason", help="reason for resuming")
    _wait_options(p, "the instance is no longer Suspended")

    p = _add(
        subparsers,
        "restart",
        "start an instance again with its name and input",
        _control.restart,
        common=common,
        description="POST /instances/{id}/restart: a new run with the same orchestrator and input, under a "
        "new instance ID unless --reuse-id.",
        example="durable restart --id 0ab8c55a66644d68a3a8b220b12d209c",
    )
    _id(p)
    p.add_argument("--reuse-id", action="store_true", help="restart under the same instance ID (it must have finished)")
