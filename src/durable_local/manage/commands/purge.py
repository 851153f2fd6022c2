"""`durable purge-history`: list the finished instances matching the filters (or given by ID), confirm, then
purge exactly those."""

from __future__ import annotations

import argparse
from typing import Any

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
from durable_local.manage.output import confirm
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
    return ctx.select(query)


def purge_history(ctx: Context) -> int:
    args = ctx.args
    if args.id and any([args.created_after, args.created_before, args.runtime_status]):
        raise UsageError(
            "give either --id or the filters (--created-after, --created-before, --runtime-status), not both"
        )
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
    results = for_each(ids, ctx.client.purge_instance, "Purging")
    deleted = [i for i, ok in zip(ids, results, strict=True) if ok]
    if ctx.out.json:
        ctx.out.emit_json({"instancesDeleted": len(deleted), "instanceIds": deleted})
    else:
        gone = len(ids) - len(deleted)
        ctx.out.line(
            f"Purged the history of {len(deleted)} instances." + (f" {gone} were already gone." if gone else "")
        )
    return EXIT_OK


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
