"""`durable replay`: would the orchestrator code in an app folder break the recorded instances? Replays
histories (from a running app, or from export/archive files) with the real SDK and the host's determinism rules
(`durable_local.manage.replay`), reports each instance, and exits 1 when any would break."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from durable_local.manage.commands.options import Subparsers, add_command, filter_options
from durable_local.manage.commands.query import selected_ids
from durable_local.manage.context import Context
from durable_local.manage.errors import EXIT_FAILURE, EXIT_OK, UsageError
from durable_local.manage.export import fetch_record
from durable_local.manage.output import format_table
from durable_local.manage.parsing import ACTIVE_STATUSES, positive_int
from durable_local.manage.replay import FAILED, NON_DETERMINISTIC, OK, Replayer, Verdict, read_records

LABELS = {OK: "OK", NON_DETERMINISTIC: "NON-DETERMINISTIC", FAILED: "FAILED"}


def _records(ctx: Context) -> list[dict[str, Any]]:
    """Records from --from files, else from the running app (--id, or the filters; default: in flight)."""
    args = ctx.args
    if args.sources:
        if args.id or any([args.created_after, args.created_before, args.runtime_status, args.instance_id_prefix]):
            raise UsageError("give either --from or instances of a running app (--id or filters), not both")
        return [record for source in args.sources for record in read_records(Path(source))]
    ctx.check_served_task_hub()
    return [fetch_record(ctx, instance_id) for instance_id in selected_ids(ctx, default_statuses=ACTIVE_STATUSES)]


def _detail(verdict: Verdict) -> str:
    if verdict.outcome == NON_DETERMINISTIC:
        return (
            f"sequence id {verdict.sequence_id}: the history recorded {verdict.recorded}; the code now "
            f"schedules {verdict.now}"
        )
    if verdict.outcome == FAILED:
        return verdict.message
    return f"next: {verdict.next_work[0]}" if verdict.next_work else "nothing new to schedule"


def replay(ctx: Context) -> int:
    args = ctx.args
    records = _records(ctx)
    if not records:
        raise UsageError(
            f"no instances to replay{ctx.in_hub()} (default: Pending, Running, Suspended, "
            "ContinuedAsNew); give --id, --runtime-status or --from"
        )
    replayer = Replayer(Path(args.app_dir), args.app, ctx.settings.local_values())
    verdicts = [replayer.replay(record) for record in records]
    counts = {outcome: sum(1 for v in verdicts if v.outcome == outcome) for outcome in (OK, NON_DETERMINISTIC, FAILED)}
    summary = {
        "instances": len(verdicts),
        "ok": counts[OK],
        "nonDeterministic": counts[NON_DETERMINISTIC],
        "failed": counts[FAILED],
    }
    if ctx.out.format == "jsonl":
        ctx.out.emit_lines(v.to_json() for v in verdicts)
    elif ctx.out.json:
        ctx.out.emit_json({"results": [v.to_json() for v in verdicts], "summary": summary})
    else:
        rows = [[LABELS[v.outcome], v.instance_id, v.name or "", _detail(v)] for v in verdicts]
        ctx.out.line(format_table(["RESULT", "INSTANCE ID", "NAME", "DETAIL"], rows))
        for verdict in verdicts:
            if verdict.outcome == NON_DETERMINISTIC and args.details:
                ctx.out.line(f"\n{verdict.instance_id}: {verdict.message}")
            for note in verdict.notes:
                ctx.out.line(f"note: {verdict.instance_id}: {note}")
        ctx.out.line(
            f"{len(verdicts)} instances: {counts[OK]} OK, {counts[NON_DETERMINISTIC]} non-deterministic, "
            f"{counts[FAILED]} failed during replay."
        )
    return EXIT_OK if counts[OK] == len(verdicts) else EXIT_FAILURE


def register(subparsers: Subparsers, common: argparse.ArgumentParser) -> None:
    """Add `replay`."""
    p = add_command(
        subparsers,
        "replay",
        "replay recorded histories against the app's orchestrator code",
        replay,
        common=common,
        description="Replays each instance's history with the real Durable SDK and the local host's "
        "determinism rules against the orchestrators of --app-dir, and reports OK, NON-DETERMINISTIC (the "
        "sequence id, what the history recorded, what the code now does) or FAILED (the exception). Histories "
        "come from --from files (what `durable get-history --export` writes) or from the running app: --id, "
        "or the filters (default: Pending, Running, Suspended, ContinuedAsNew). Exit 1 when any instance "
        "would break. Activities are not run.",
        example="durable replay --from in-flight.jsonl --app-dir .",
    )
    p.add_argument("--id", nargs="+", action="extend", metavar="ID", help="instances of the running app to replay")
    filter_options(p, statuses_help="replay the running app's instances with these statuses")
    p.add_argument("--top", type=positive_int, metavar="N", help="replay at most N matching instances (a sample)")
    p.add_argument(
        "--from",
        dest="sources",
        action="append",
        metavar="PATH",
        help="records to replay: a .json file, a .jsonl file or a folder of them (repeatable)",
    )
    p.add_argument("--app", metavar="MODULE[:ATTR]", help="the app's module (default: function_app:app)")
    p.add_argument("--details", action="store_true", help="print DTFx's full non-determinism message too")
    p.set_defaults(check_task_hub=False)  # files need no running app; the live path checks the hub itself
