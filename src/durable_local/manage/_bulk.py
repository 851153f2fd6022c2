"""Commands that can change many instances: `terminate` (one ID, several, or a filter) and `purge-history`.

Both first select the instances (by ID, or through `GET /instances` with the filters), show or confirm that
exact selection, then act on each selected instance by ID, so `--dry-run` lists exactly what a real run
changes.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from durable_local.manage._control import wait_for
from durable_local.manage._query import instance_query
from durable_local.manage.context import Context
from durable_local.manage.errors import EXIT_FAILURE, EXIT_OK, CliError, UsageError
from durable_local.manage.output import Progress, confirm, format_instances
from durable_local.manage.parsing import ACTIVE_STATUSES, MIN_DATETIME, TERMINAL_STATUSES, format_datetime

WORKERS = 8


def _unique(values: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(values))


def _for_each(items: Sequence[str], action: Callable[[str], Any], label: str) -> list[Any]:
    """Run `action` on every item (a few at a time), with progress on stderr when there are many."""
    progress = Progress()
    results: list[Any] = []
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        for done, result in enumerate(pool.map(action, items), 1):
            results.append(result)
            if len(items) > 20:
                progress.update(f"{label}: {done}/{len(items)}")
    if len(items) > 20:
        progress.done(f"{label}: {len(items)}/{len(items)} done.")
    return results


def _show_selection(ctx: Context, instances: list[dict[str, Any]], verb: str) -> None:
    """`--dry-run` output: the exact instances a real run would change."""
    ids = [item["instanceId"] for item in instances]
    if ctx.out.json:
        ctx.out.emit_json({"dryRun": True, "taskHub": ctx.task_hub, "instanceIds": ids})
    elif not instances:
        ctx.out.line(f"No instances match; nothing would be {verb} (dry run).")
    else:
        ctx.out.line(f"{len(ids)} instances would be {verb} (dry run; nothing was changed):")
        ctx.out.line(format_instances(instances))


# -- terminate --------------------------------------------------------------------------------------------
def _terminate_one(ctx: Context, instance_id: str) -> int:
    args = ctx.args
    response = ctx.client.operation(instance_id, "terminate", args.reason)
    if response.status != 202:
        raise ctx.operation_error(response, instance_id, "terminate", " (it has already finished)")
    status: str | None = None
    if not args.no_wait:
        status = wait_for(ctx, instance_id, lambda s: s in TERMINAL_STATUSES, args.timeout, "terminate").get(
            "runtimeStatus"
        )
    if ctx.out.json:
        ctx.out.emit_json({"instanceId": instance_id, "runtimeStatus": status})
    elif args.no_wait:
        ctx.out.line(f"Requested termination of instance '{instance_id}'.")
    else:
        ctx.out.line(f"Terminated instance '{instance_id}'. Runtime status: {status}.")
    return EXIT_OK


def _terminate_selection(ctx: Context, ids: list[str]) -> list[dict[str, Any]]:
    args = ctx.args
    if ids:
        statuses = [ctx.status(instance_id) for instance_id in ids]  # fails on an unknown ID before any change
        finished = [s for s in statuses if s.get("runtimeStatus") in TERMINAL_STATUSES]
        for status in finished:
            sys.stderr.write(
                f"Skipping instance '{status.get('instanceId')}': it is already {status.get('runtimeStatus')}.\n"
            )
        return [s for s in statuses if s not in finished]
    query = instance_query(args)
    terminal = [s for s in query.statuses if s in TERMINAL_STATUSES]
    if terminal:
        raise UsageError(
            f"--runtime-status {','.join(terminal)}: finished instances cannot be terminated; "
            f"choose among {', '.join(ACTIVE_STATUSES)}"
        )
    query.statuses = query.statuses or list(ACTIVE_STATUSES)
    return ctx.select(query)


def terminate(ctx: Context) -> int:
    args = ctx.args
    ids = _unique(args.id or [])
    filtered = any([args.created_after, args.created_before, args.runtime_status, args.instance_id_prefix])
    if ids and filtered:
        raise UsageError(
            "give either --id or the filters (--created-after, --created-before, --runtime-status, "
            "--instance-id-prefix), not both"
        )
    if not ids and not filtered:
        raise UsageError(
            "give --id (one or more instance IDs), or filters such as --runtime-status Running "
            "to terminate many instances"
        )
    if len(ids) == 1 and not args.dry_run:
        return _terminate_one(ctx, ids[0])
    selection = _terminate_selection(ctx, ids)
    if args.dry_run:
        _show_selection(ctx, selection, "terminated")
        return EXIT_OK
    targets = [item["instanceId"] for item in selection]
    if not targets:
        if ctx.out.json:
            ctx.out.emit_json({"terminated": [], "skipped": []})
        else:
            ctx.out.line("No instances to terminate.")
        return EXIT_OK
    if len(targets) > 1 and not confirm(
        f"Terminate {len(targets)} instances{ctx.in_hub()}?",
        assume_yes=args.yes,
        what=f"terminate {len(targets)} instances",
    ):
        raise CliError("aborted; nothing was terminated")

    def send(instance_id: str) -> int:
        return ctx.client.operation(instance_id, "terminate", args.reason).status

    codes = _for_each(targets, send, "Terminating")
    accepted = [i for i, code in zip(targets, codes, strict=True) if code == 202]
    refused = {i: code for i, code in zip(targets, codes, strict=True) if code != 202}
    for instance_id, code in refused.items():
        reason = "it had already finished" if code == 410 else "it no longer exists" if code == 404 else f"HTTP {code}"
        sys.stderr.write(f"Skipped instance '{instance_id}': {reason}.\n")
    if not args.no_wait:
        deadline = time.monotonic() + args.timeout
        for instance_id in accepted:
            wait_for(
                ctx,
                instance_id,
                lambda s: s in TERMINAL_STATUSES,
                max(0.0, deadline - time.monotonic()),
                "terminate",
            )
    if ctx.out.json:
        ctx.out.emit_json({"terminated": accepted, "skipped": list(refused)})
    else:
        verb = "Requested termination of" if args.no_wait else "Terminated"
        ctx.out.line(f"{verb} {len(accepted)} instances." + (f" Skipped {len(refused)}." if refused else ""))
    return EXIT_FAILURE if any(code not in (404, 410) for code in refused.values()) else EXIT_OK


# -- purge-history ----------------------------------------------------------------------------------------
def _purge_selection(ctx: Context) -> list[dict[str, Any]]:
    args = ctx.args
    if args.id:
        statuses = [ctx.status(instance_id) for instance_id in _unique(args.id)]
        for status in statuses:
            if status.get("runtimeStatus") not in TERMINAL_STATUSES:
                raise CliError(
                    f"instance '{status.get('instanceId')}' is {status.get('runtimeStatus')}; only "
                    "finished instances are purged (terminate it first)"
                )
        return statuses
    query = instance_query(args)
    query.created_from = query.created_from or format_datetime(MIN_DATETIME)  # the API requires a start
    query.statuses = query.statuses or list(TERMINAL_STATUSES)
    return ctx.select(query)


def purge_history(ctx: Context) -> int:
    args = ctx.args
    if args.id and any([args.created_after, args.created_before, args.runtime_status]):
        raise UsageError(
            "give either --id or the filters (--created-after, --created-before, --runtime-status), not both"
        )
    selection = _purge_selection(ctx)
    if args.dry_run:
        _show_selection(ctx, selection, "purged")
        return EXIT_OK
    ids = [item["instanceId"] for item in selection]
    if not ids:
        if ctx.out.json:
            ctx.out.emit_json({"instancesDeleted": 0, "instanceIds": []})
        else:
            ctx.out.line("No instances match; nothing to purge.")
        return EXIT_OK
    if not confirm(
        f"Purge the history of {len(ids)} instances{ctx.in_hub()}? This cannot be undone.",
        assume_yes=args.yes,
        what=f"purge the history of {len(ids)} instances",
    ):
        raise CliError("aborted; nothing was purged")
    results = _for_each(ids, ctx.client.purge_instance, "Purging")
    deleted = [i for i, ok in zip(ids, results, strict=True) if ok]
    if ctx.out.json:
        ctx.out.emit_json({"instancesDeleted": len(deleted), "instanceIds": deleted})
    else:
        gone = len(ids) - len(deleted)
        ctx.out.line(
            f"Purged the history of {len(deleted)} instances." + (f" {gone} were already gone." if gone else "")
        )
    return EXIT_OK
