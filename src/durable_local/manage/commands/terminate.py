"""`durable terminate`: one instance by ID, several (`--id A --id B`), or every instance matching filters,
after a confirmation; then waits until they are Terminated unless `--no-wait`."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from durable_local.manage.commands.control import wait_for
from durable_local.manage.commands.options import (
    Subparsers,
    add_command,
    confirmation_options,
    filter_options,
    instance_id_option,
    wait_options,
)
from durable_local.manage.commands.query import instance_query
from durable_local.manage.commands.selection import for_each, show_selection, unique
from durable_local.manage.context import Context
from durable_local.manage.errors import EXIT_FAILURE, EXIT_OK, CliError, UsageError
from durable_local.manage.output import confirm
from durable_local.manage.parsing import ACTIVE_STATUSES, TERMINAL_STATUSES


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
    ids = unique(args.id or [])
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
        show_selection(ctx, selection, "terminated")
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

    codes = for_each(targets, send, "Terminating")
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


def register(subparsers: Subparsers, common: argparse.ArgumentParser) -> None:
    """Add `terminate`."""
    p = add_command(
        subparsers,
        "terminate",
        "terminate a running instance (or many)",
        terminate,
        common=common,
        description="Sends terminate and waits until the instance is Terminated (up to 30 s, as Core Tools), "
        "unless --no-wait. Several IDs (--id A B or --id A --id B), or filters instead of --id, terminate "
        "many instances after a confirmation (default statuses: Pending, Running, Suspended, ContinuedAsNew).",
        example='durable terminate --id 0ab8c55a66644d68a3a8b220b12d209c --reason "It was time to be done."',
    )
    instance_id_option(p, many=True, required=False)
    p.add_argument("--reason", help="reason for the termination (becomes the instance's output)")
    filter_options(p, statuses_help="with filters: terminate instances with these statuses")
    wait_options(p, "the instance is Terminated")
    confirmation_options(p)
