"""`durable purge-history`: list the finished instances matching the filters (or given by ID), confirm, then
purge exactly those: on the local host 1,000 per request (the host purges only those still in the selected
statuses and says which), elsewhere one request per instance. With `--yes` on the local host there is nothing to
confirm, so it skips the listing: the host purges by filter and names each instance it purged."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any

from durable_local.manage import bulk
from durable_local.manage.commands.options import (
    Subparsers,
    add_command,
    confirmation_options,
    filter_options,
    instance_id_option,
)
from durable_local.manage.commands.query import instance_query
from durable_local.manage.commands.selection import for_each, show_selection, unique
from durable_local.manage.context import Context
from durable_local.manage.errors import EXIT_OK, CliError, UsageError
from durable_local.manage.output import Progress, confirm
from durable_local.manage.parsing import MIN_DATETIME, TERMINAL_STATUSES, format_datetime


def _purge_selection(ctx: Context) -> list[dict[str, Any]]:
    args = ctx.args
    if args.id:
        statuses = [ctx.status(instance_id) for instance_id in unique(args.id)]
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
    return ctx.select(query, page_size=1000)


def purge_history(ctx: Context) -> int:
    args = ctx.args
    if args.id and any([args.created_after, args.created_before, args.runtime_status]):
        raise UsageError(
            "give either --id or the filters (--created-after, --created-before, --runtime-status), not both"
        )
    if args.yes and not args.dry_run and not args.id and bulk.purge_endpoint_available(ctx.client):
        return _purge_without_listing(ctx)
    selection = _purge_selection(ctx)
    if args.dry_run:
        show_selection(ctx, selection, "purged")
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
    statuses = list(args.runtime_status or TERMINAL_STATUSES) if not args.id else list(TERMINAL_STATUSES)
    deleted, kept = _purge(ctx, ids, statuses)
    if ctx.out.json:
        ctx.out.emit_json({"instancesDeleted": len(deleted), "instanceIds": deleted,
                           **({"kept": kept} if kept else {})})
    else:
        gone = len(ids) - len(deleted) - len(kept)
        ctx.out.line(
            f"Purged the history of {len(deleted)} instances."
            + (f" {gone} were already gone." if gone else "")
            + (f" {len(kept)} were kept: their runtime status changed since they were listed." if kept else "")
        )
    return EXIT_OK


def _purge_without_listing(ctx: Context) -> int:
    """`--yes` on the local host: nothing to confirm, so no listing; the host purges by filter, 5,000 per
    request, created up to now (or `--created-before`), and names every instance it purged."""
    args = ctx.args
    progress = Progress()
    now = datetime.now(UTC)
    deleted = bulk.purge_by_filter(
        ctx.client, list(args.runtime_status or TERMINAL_STATUSES), args.created_after,
        min(args.created_before, now) if args.created_before else now,
        on_batch=lambda count: progress.update(f"Purging: {count} so far..."))
    progress.done()
    if ctx.out.json:
        ctx.out.emit_json({"instancesDeleted": len(deleted), "instanceIds": deleted})
    elif deleted:
        ctx.out.line(f"Purged the history of {len(deleted)} instances.")
    else:
        ctx.out.line("No instances match; nothing to purge.")
    return EXIT_OK


def _purge(ctx: Context, ids: list[str], statuses: list[str]) -> tuple[list[str], dict[str, str]]:
    """Purge the listed IDs: (purged, kept with their new status). On the local host, 1,000 per request
    through `POST /admin/host/purge-instances`, which purges only those still in `statuses`; elsewhere one
    `DELETE` per instance."""
    if not bulk.purge_endpoint_available(ctx.client):
        results = for_each(ids, ctx.client.purge_instance, "Purging")
        return [i for i, ok in zip(ids, results, strict=True) if ok], {}
    progress = Progress()
    deleted: list[str] = []
    kept: dict[str, str] = {}
    for start in range(0, len(ids), bulk.PURGE_BATCH):
        for outcome in bulk.purge_listed(ctx.client, ids[start : start + bulk.PURGE_BATCH], statuses):
            if outcome.result == bulk.DONE:
                deleted.append(outcome.instance_id)
            elif outcome.reason.startswith("it is "):
                kept[outcome.instance_id] = outcome.reason.split()[2].rstrip(";")
        if len(ids) > bulk.PURGE_BATCH:
            progress.update(f"Purging: {min(len(ids), start + bulk.PURGE_BATCH)}/{len(ids)}")
    if len(ids) > bulk.PURGE_BATCH:
        progress.done(f"Purging: {len(ids)}/{len(ids)} done.")
    return deleted, kept


def register(subparsers: Subparsers, common: argparse.ArgumentParser) -> None:
    """Add `purge-history`."""
    p = add_command(
        subparsers,
        "purge-history",
        "delete the history of finished instances",
        purge_history,
        common=common,
        description="Lists the instances matching the filters, asks for confirmation, then purges exactly "
        "those. Without --runtime-status only finished instances are purged (Completed, "
        "Failed, Terminated, Canceled), never running ones. --created-after defaults to "
        "0001-01-01T00:00:00Z.",
        example="durable purge-history --created-before 2018-11-14T19:35:00.0000000Z --runtime-status failed",
    )
    instance_id_option(p, many=True, required=False)
    filter_options(
        p,
        statuses_help="purge instances with these statuses (default: Completed Failed Terminated Canceled)",
        prefix=False,
    )
    confirmation_options(p)
