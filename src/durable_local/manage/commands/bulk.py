"""`durable bulk <operation>`: terminate, suspend, resume, rewind, restart, purge or raise an event on every
instance that matches the filters (or on the listed IDs), against any app that serves the Durable HTTP API.

It plans first (the exact IDs, `created-before` pinned to the planning time), shows (`--dry-run`) or confirms
that set, then acts on exactly those IDs with `--concurrency` requests at a time and at most `--rate` per
second, drawing a progress bar on stderr, and ends with a summary (and each failure on stderr). Ctrl+C stops
starting more and reports what was done. Exit 0 when no instance failed, 1 when one did, 130 when
interrupted. The logic is `durable_local.manage.bulk`, shared with the dashboard, over the Durable HTTP API.
With `--in-app` it asks the app's own `POST /bulk/{operation}` instead (`bulk_in_app.py`).
"""

from __future__ import annotations

import argparse
import sys
import threading
from typing import Any

from durable_local.manage import bulk
from durable_local.manage.commands import bulk_in_app as in_app
from durable_local.manage.commands.options import (
    Subparsers,
    add_command,
    confirmation_options,
    filter_options,
    instance_id_option,
)
from durable_local.manage.commands.selection import unique
from durable_local.manage.context import Context
from durable_local.manage.errors import EXIT_FAILURE, EXIT_OK, CliError, UsageError
from durable_local.manage.output import Progress, confirm
from durable_local.manage.parsing import event_name, format_datetime, parse_json_value, positive_int

PAST_TENSE = {"terminate": "terminated", "suspend": "suspended", "resume": "resumed", "rewind": "rewound",
              "restart": "restarted", "purge": "purged", "raise-event": "raised the event on"}
SHOWN_IDS = 20
BAR_WIDTH = 30
EXIT_INTERRUPTED = 130


def positive_float(text: str) -> float:
    """A number greater than zero (`--rate`)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid number {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number, not {text!r}")
    return value


def _selection(args: argparse.Namespace) -> bulk.BulkFilter | list[str]:
    filtered = any([args.created_after, args.created_before, args.runtime_status, args.instance_id_prefix,
                    args.name])
    if args.id and filtered:
        raise UsageError("give either --id or the filters (--created-after, --created-before, --runtime-status, "
                         "--instance-id-prefix, --name), not both")
    if args.id:
        return unique(args.id)
    if not filtered:
        raise UsageError("name the instances: --id, or filters such as --runtime-status Running; an empty filter "
                         "is refused rather than read as 'all'")
    return bulk.BulkFilter(tuple(args.runtime_status or ()), args.created_after, args.created_before,
                           args.instance_id_prefix or None, args.name or None)


def bar(progress: bulk.BulkProgress) -> str:
    """`[#########.........] 60/120  done 58  skipped 1  failed 1`."""
    filled = BAR_WIDTH * progress.handled // max(progress.total, 1)
    return (f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {progress.handled}/{progress.total}  "
            f"done {progress.done}  skipped {progress.skipped}  failed {progress.failed}")


def _show_plan(ctx: Context, plan: bulk.BulkPlan) -> None:
    verb = PAST_TENSE[plan.operation]
    pinned = format_datetime(plan.filter.created_to) if plan.filter and plan.filter.created_to else None
    skips = bulk.would_skip(ctx.client, plan)  # listed IDs: say now which the run would skip
    acting = [instance_id for instance_id in plan.instance_ids if instance_id not in skips]
    if ctx.out.json:
        ctx.out.emit_json({"dryRun": True, "operation": plan.operation, "taskHub": ctx.task_hub,
                           "count": len(acting), "createdTimeTo": pinned, "instanceIds": acting,
                           "skipped": [{"instanceId": i, "reason": reason} for i, reason in skips.items()]})
        return
    what = "would get the event" if plan.operation == "raise-event" else f"would be {verb}"
    if not acting:
        ctx.out.line("No instances match; nothing would change (dry run).")
    else:
        ctx.out.line(f"{len(acting)} instances {what} (dry run; nothing was changed"
                     + (f"; created up to {pinned}" if pinned else "") + "):")
        for instance_id in acting[:SHOWN_IDS]:
            ctx.out.line(f"  {instance_id}")
        if len(acting) > SHOWN_IDS:
            ctx.out.line(f"  ... and {len(acting) - SHOWN_IDS} more (-o json lists them all)")
    if skips:
        ctx.out.line(f"{len(skips)} listed instances would be skipped:")
        for instance_id, reason in skips.items():
            ctx.out.line(f"  {instance_id}: {reason}")


def _execute(ctx: Context, plan: bulk.BulkPlan, event_data: Any) -> tuple[bulk.BulkReport, bool]:
    """Run the plan in a worker thread, so Ctrl+C here can cancel it cleanly: (report, interrupted)."""
    args = ctx.args
    progress = Progress()
    cancel = threading.Event()
    result: list[bulk.BulkReport] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            result.append(bulk.execute(ctx.client, plan, concurrency=args.concurrency, rate_per_second=args.rate,
                                       reason=args.reason or "", event_name=args.event_name,
                                       event_data=event_data, on_progress=lambda p: progress.update(bar(p)),
                                       cancel=cancel))
        except BaseException as error:  # handed to the main thread
            errors.append(error)

    worker = threading.Thread(target=work, name="durable-bulk", daemon=True)
    worker.start()
    interrupted = False
    while worker.is_alive():
        try:
            worker.join(0.2)
        except KeyboardInterrupt:
            interrupted = True
            cancel.set()
            sys.stderr.write("\nInterrupted: finishing the requests in flight, starting no more...\n")
    if errors:
        raise errors[0]
    report = result[0]
    progress.done()  # the last state, unless it is already on screen
    return report, interrupted


def bulk_operation(ctx: Context) -> int:
    args = ctx.args
    if args.operation == "raise-event" and not args.event_name:
        raise UsageError("raise-event needs --event-name")
    if args.operation != "raise-event" and (args.event_name or args.event_data is not None):
        raise UsageError("--event-name and --event-data belong to raise-event")
    if args.in_app and args.rate is not None:
        raise UsageError("--rate applies to the CLI's own run; with --in-app the app's BULK_CONCURRENCY and "
                         "--concurrency bound the run")
    event_data = parse_json_value(args.event_data, flag="--event-data") if args.event_data is not None else None
    if args.in_app:
        return in_app.run(ctx, _selection(args), event_data)
    plan = bulk.plan(ctx.client, args.operation, _selection(args))
    if args.dry_run:
        _show_plan(ctx, plan)
        return EXIT_OK
    verb = PAST_TENSE[args.operation]
    if not plan.count:
        if ctx.out.json:
            ctx.out.emit_json(bulk.BulkReport(args.operation, 0, [], False, 0.0).as_json())
        else:
            ctx.out.line("No instances match; nothing changed.")
        return EXIT_OK
    action = "raise the event on" if args.operation == "raise-event" else args.operation
    if not confirm(f"{action.capitalize()} {plan.count} instances{ctx.in_hub()}?", assume_yes=args.yes,
                   what=f"{action} {plan.count} instances"):
        raise CliError("aborted; nothing was changed")
    report, interrupted = _execute(ctx, plan, event_data)
    for failure in report.failures():
        sys.stderr.write(f"failed: {failure.instance_id}: {failure.reason}\n")
    if ctx.out.json:
        ctx.out.emit_json(report.as_json())
    else:
        ctx.out.line(f"{verb.capitalize()} {report.done} of {plan.count} instances in "
                     f"{report.elapsed_seconds:.1f} s; {report.skipped} skipped, {report.failed} failed"
                     + (f", {report.not_started} not started (interrupted)" if report.not_started else "") + ".")
        if plan.operation == "restart" and report.done:
            ctx.out.line(f"New instance IDs end with '.{plan.run_id}'.")
    if interrupted:
        return EXIT_INTERRUPTED
    return EXIT_FAILURE if report.failed else EXIT_OK


def register(subparsers: Subparsers, common: argparse.ArgumentParser) -> None:
    """Add `bulk`."""
    p = add_command(
        subparsers,
        "bulk",
        "act on every instance matching filters (terminate, suspend, resume, rewind, restart, purge, "
        "raise-event)",
        bulk_operation,
        common=common,
        description="Lists the matching instances (or takes --id), shows them with --dry-run or asks for "
        "confirmation, then acts on exactly those, --concurrency at a time and at most --rate per second, "
        "with a progress bar on stderr and a summary. Each operation acts only on the runtime statuses it "
        "allows (purge: finished instances only); instances that changed meanwhile are skipped. Never "
        "touches the app's management orchestrations (BulkOperation, RetentionPurge). Exit 1 if any "
        "instance failed.",
        example="durable bulk terminate --runtime-status Running --name OrderFulfillment --dry-run",
    )
    p.add_argument("operation", choices=bulk.OPERATIONS, help="what to do to each instance")
    instance_id_option(p, many=True, required=False)
    filter_options(p, statuses_help="instances with these statuses (default: every status the operation allows)")
    p.add_argument("--name", metavar="ORCHESTRATOR", help="instances of this orchestrator only (any case)")
    confirmation_options(p)
    p.add_argument("--concurrency", type=positive_int, default=8, metavar="N",
                   help="requests in flight at once (default: 8)")
    p.add_argument("--rate", type=positive_float, metavar="PER_SECOND",
                   help="at most this many instances per second (default: no limit)")
    p.add_argument("--reason", metavar="TEXT", help="reason recorded by terminate, suspend, resume and rewind")
    p.add_argument("--event-name", type=event_name, metavar="NAME", help="raise-event: the event's name")
    p.add_argument("--event-data", metavar="JSON", help="raise-event: the event's data (JSON, or @file)")
    p.add_argument("--in-app", action="store_true",
                   help="run it as the app's BulkOperation orchestration (POST {base-url}/bulk/{operation}), "
                   "which survives a restart of the app; progress from its custom status")
