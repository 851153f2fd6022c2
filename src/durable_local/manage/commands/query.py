"""Read-only commands: `get-runtime-status`, `get-history`, `get-instances` and `wait`."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from durable_local.manage.client import InstanceQuery
from durable_local.manage.commands.options import (
    Subparsers,
    add_command,
    filter_options,
    instance_id_option,
)
from durable_local.manage.context import Context
from durable_local.manage.errors import EXIT_FAILURE, EXIT_OK, CliError, UsageError
from durable_local.manage.export import fetch_record, write_records
from durable_local.manage.output import (
    Progress,
    compact_json,
    format_history,
    format_instances,
    format_status,
)
from durable_local.manage.parsing import (
    ACTIVE_STATUSES,
    TERMINAL_STATUSES,
    StatusListAction,
    format_datetime,
    non_negative_float,
    parse_bool,
    parse_status_token,
    positive_int,
)

DEFAULT_TOP = 10
DEFAULT_ALL_PAGE_SIZE = 100


def get_runtime_status(ctx: Context) -> int:
    args = ctx.args
    status = ctx.status(args.id, show_input=args.show_input)
    if ctx.out.json:
        shown = {
            k: v
            for k, v in status.items()
            if not (k == "input" and not args.show_input) and not (k == "output" and not args.show_output)
        }
        ctx.out.emit_json(shown)
    else:
        ctx.out.line(
            format_status(
                status,
                show_input=args.show_input,
                show_output=args.show_output,
                details=wants_details(args),
                color=ctx.out.color,
            )
        )
    return EXIT_OK


def get_history(ctx: Context) -> int:
    args = ctx.args
    if args.export:
        return export_histories(ctx)
    if len(args.id or []) != 1 or any_filter(args):
        raise UsageError("give one --id (several --id, or filters, only with --export)")
    instance_id = args.id[0]
    status = ctx.status(instance_id, show_input=True, show_history=True)
    events: list[dict[str, Any]] = list(status.get("historyEvents") or [])
    events.sort(key=lambda event: str(event.get("Timestamp") or ""))
    if ctx.out.format == "jsonl":
        ctx.out.emit_lines(events)
    elif ctx.out.json:
        ctx.out.emit_json(events)
    elif events:
        ctx.out.line(format_history(events))
    else:
        ctx.out.line(f"No history yet: instance '{instance_id}' is {status.get('runtimeStatus')}.")
    return EXIT_OK


def wants_details(args: Any) -> bool:
    """A failure's details are shown with `--details` or `-v`."""
    return bool(getattr(args, "details", False) or getattr(args, "verbose", False))


def any_filter(args: Any) -> bool:
    """Whether any of the instance filters was given."""
    return any(
        getattr(args, name, None)
        for name in ("created_after", "created_before", "runtime_status", "instance_id_prefix", "top")
    )


def selected_ids(ctx: Context, *, default_statuses: tuple[str, ...]) -> list[str]:
    """`--id`s as given, else the instances matching the filters (default statuses `default_statuses`), at most
    `--top` of them (a sample), oldest first as the API lists them."""
    args = ctx.args
    if args.id:
        if any_filter(args):
            raise UsageError("give either --id or the filters, not both")
        return list(dict.fromkeys(args.id))
    query = instance_query(args)
    query.statuses = query.statuses or list(default_statuses)
    ids: list[str] = []
    for items, _ in ctx.client.iter_pages(query, top=min(args.top or 500, 500)):
        ids.extend(item["instanceId"] for item in items)
        if args.top and len(ids) >= args.top:
            return ids[: args.top]
    return ids


def export_histories(ctx: Context) -> int:
    """`get-history --export PATH`: the records of the chosen instances, raw history where the host has it."""
    ids = selected_ids(ctx, default_statuses=ACTIVE_STATUSES)
    if not ids:
        raise CliError(f"no instances match{ctx.in_hub()}; nothing was exported")
    progress = Progress()
    records = []
    for number, instance_id in enumerate(ids, 1):
        records.append(fetch_record(ctx, instance_id))
        if len(ids) > 20:
            progress.update(f"Exporting: {number}/{len(ids)}")
    if len(ids) > 20:
        progress.done()
    written = write_records(Path(ctx.args.export), records)
    kinds = sorted({str(record.get("historyKind")) for record in records})
    if ctx.out.json:
        ctx.out.emit_json({"exported": ids, "path": ctx.args.export, "historyKind": kinds})
    else:
        ctx.out.line(f"Exported {written} (history: {', '.join(kinds)}).")
    return EXIT_OK


def instance_query(args: Any) -> InstanceQuery:
    """The `GET /instances` filters of the `--created-after/--created-before/--runtime-status` style flags."""
    return InstanceQuery(
        created_from=format_datetime(args.created_after) if args.created_after else None,
        created_to=format_datetime(args.created_before) if args.created_before else None,
        statuses=list(args.runtime_status or []),
        instance_id_prefix=getattr(args, "instance_id_prefix", None),
        show_input=bool(getattr(args, "show_input", False)),
    )


def get_instances(ctx: Context) -> int:
    args = ctx.args
    query = instance_query(args)
    if args.all:
        page_size = args.top or DEFAULT_ALL_PAGE_SIZE
        progress = Progress()
        instances: list[dict[str, Any]] = []
        count = 0
        for number, (items, _) in enumerate(
            ctx.client.iter_pages(query, top=page_size, continuation_token=args.continuation_token), 1
        ):
            count += len(items)
            if ctx.out.format == "jsonl":
                ctx.out.emit_lines(items)  # streamed: nothing accumulates
            else:
                instances.extend(items)
            progress.update(f"Fetched {count} instances ({number} pages)...")
        progress.done(f"Fetched {count} instances.")
        token = None
    else:
        instances, token = ctx.client.list_page(
            query, top=args.top or DEFAULT_TOP, continuation_token=args.continuation_token
        )
        if ctx.out.format == "jsonl":
            ctx.out.emit_lines(instances)
            if token:
                sys.stderr.write(f"Continuation token for next set of results: '{token}'\n")
    if ctx.out.format == "jsonl":
        return EXIT_OK
    if ctx.out.json:
        ctx.out.emit_json({"instances": instances, "continuationToken": token})
        return EXIT_OK
    ctx.out.line(format_instances(instances, color=ctx.out.color) if instances else "No instances found.")
    if token:
        ctx.out.line(f"Continuation token for next set of results: '{token}'")
    elif args.all:
        ctx.out.line(f"{len(instances)} instances.")
    return EXIT_OK


def wait(ctx: Context) -> int:
    """Poll until the instance finishes (exit 0 only if it Completed), or with `--for` until it reaches one of
    those statuses (exit 0), failing when it finishes with another."""
    args = ctx.args
    wanted: list[str] = list(args.for_statuses or [])
    deadline = time.monotonic() + args.timeout if args.timeout else None
    delay = 0.05
    while True:
        status = ctx.status(args.id, show_input=False)
        current = status.get("runtimeStatus")
        if current in wanted or current in TERMINAL_STATUSES:
            break
        if deadline is not None and time.monotonic() >= deadline:
            raise CliError(f"instance '{args.id}' is still {current} after {args.timeout:g} s")
        pause = min(delay, args.interval)
        if deadline is not None:
            pause = max(0.0, min(pause, deadline - time.monotonic()))
        time.sleep(pause)
        delay *= 2
    if ctx.out.json:
        ctx.out.emit_json(status)
    else:
        ctx.out.line(
            format_status(status, show_input=False, show_output=True, details=wants_details(args), color=ctx.out.color)
        )
    if current in (wanted or ["Completed"]):
        return EXIT_OK
    sys.stderr.write(f"durable wait: error: instance '{args.id}' ended {current}: {_summary(status.get('output'))}\n")
    return EXIT_FAILURE


def _summary(output: Any) -> str:
    """The first line of a failure or termination output, at most 200 characters."""
    text = output if isinstance(output, str) else compact_json(output)
    first = text.strip().splitlines()[0] if text.strip() else ""
    return first if len(first) <= 200 else first[:199] + "…"


def register(subparsers: Subparsers, common: argparse.ArgumentParser) -> None:
    """Add `get-runtime-status`, `get-history`, `get-instances` and `wait`."""
    p = add_command(
        subparsers,
        "get-runtime-status",
        "show an instance's status",
        get_runtime_status,
        common=common,
        description="Runtime status by name, times, custom status; input and output on request.",
        example="durable get-runtime-status --id 0ab8c55a66644d68a3a8b220b12d209c --show-input true --show-output true",
    )
    instance_id_option(p)
    _bool_option(p, "--show-input", "include the input (default: false)")
    _bool_option(p, "--show-output", "include the output (default: false)")
    _details_option(p)

    p = add_command(
        subparsers,
        "get-history",
        "show an instance's history events",
        get_history,
        common=common,
        description="The history events of the instance, oldest first, with inputs and results. With "
        "--export PATH, writes instance records (status and raw history, the archive format `durable replay` "
        "reads) to a .json file, a .jsonl file or a folder: of the --id(s), or of the instances matching the "
        "filters (default: Pending, Running, Suspended, ContinuedAsNew), at most --top.",
        example="durable get-history --id 0ab8c55a66644d68a3a8b220b12d209c",
    )
    p.add_argument("--id", nargs="+", action="extend", metavar="ID", help="instance ID (several only with --export)")
    p.add_argument("--export", metavar="PATH", help="write instance records to PATH (.json, .jsonl or a folder)")
    filter_options(p, statuses_help="with --export: instances with these statuses")
    p.add_argument("--top", type=positive_int, metavar="N", help="with --export: at most N instances (a sample)")

    p = add_command(
        subparsers,
        "get-instances",
        "list instances, a page at a time",
        get_instances,
        common=common,
        description="A table of instances and the continuation token of the next page; --all fetches "
        "every page (progress on stderr).",
        example="durable get-instances --created-after 2018-03-10T13:57:31Z --created-before  "
        "2018-03-10T23:59Z --top 15",
    )
    filter_options(p, statuses_help="only instances with these statuses")
    p.add_argument("--top", type=positive_int, metavar="N", help="instances per page (default: 10; with --all, 100)")
    p.add_argument("--continuation-token", metavar="TOKEN", help="the page to fetch, from a previous listing")
    p.add_argument("--all", action="store_true", help="page through every matching instance")
    _bool_option(p, "--show-input", "include inputs in --output json (default: false)")

    p = add_command(
        subparsers,
        "wait",
        "wait until an instance finishes",
        wait,
        common=common,
        description="Polls the status until Completed, Failed, Terminated or Canceled and prints it with the "
        "output. Exit 0 if Completed, 1 if it ended otherwise or the timeout passed.",
        example="durable wait --id 0ab8c55a66644d68a3a8b220b12d209c --timeout 120",
    )
    instance_id_option(p)
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
    p.add_argument(
        "--for",
        dest="for_statuses",
        nargs="+",
        type=parse_status_token,
        action=StatusListAction,
        metavar="STATUS",
        help="wait until the instance has one of these statuses (exit 0), e.g. --for failed or --for running; "
        "default: until it finishes, exit 0 only if Completed",
    )
    _details_option(p)


def _details_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--details",
        action="store_true",
        help="for a Failed instance, print the failure's details (the traceback) after its message (also -v)",
    )


def _bool_option(parser: argparse.ArgumentParser, flag: str, help_text: str) -> None:
    """`--flag` (true), `--flag true|false`, default false: the Core Tools `--show-input true` form."""
    parser.add_argument(flag, type=parse_bool, nargs="?", const=True, default=False, metavar="BOOL", help=help_text)
