"""`delete-task-hub`: remove a task hub's data from the running local host (its admin endpoint), or, with
`--connection-string-setting` (a connection string or an identity-based connection's settings) or
`--storage-account` / `--*-service-uri`, remove the hub's tables, queues and blob containers from Azure Storage."""

from __future__ import annotations

import argparse
from typing import Any

from durable_local.manage.client import InstanceQuery
from durable_local.manage.commands.options import Subparsers, add_command, confirmation_options
from durable_local.manage.context import Context
from durable_local.manage.errors import EXIT_OK, CliError
from durable_local.manage.output import confirm, format_instances
from durable_local.manage.storage import (
    StorageAccount,
    add_identity_arguments,
    identity_flags_given,
    target_from_args,
    validate_hub_name,
)
from durable_local.vocabulary import LOCAL_DEFAULT_TASK_HUB


def delete_task_hub(ctx: Context) -> int:
    hub = ctx.task_hub or LOCAL_DEFAULT_TASK_HUB
    if ctx.args.connection_string_setting or identity_flags_given(ctx.args) or ctx.args.client_id:
        return _delete_from_storage(ctx, hub)
    return _delete_from_local_host(ctx, hub)


def _hub_info(ctx: Context, hub: str) -> dict[str, Any]:
    response = ctx.client.task_hub_admin("GET", hub)
    if response.status == 404:
        raise CliError(
            f"task hub '{hub}' not found on the local host at {ctx.client.base_url} (this command "
            "without --connection-string-setting needs `durable host start`)"
        )
    info = ctx.client.expect(response, 200).json()
    info = info if isinstance(info, dict) else {"taskHub": hub}
    if not any(value for key, value in info.items() if key != "taskHub"):
        raise CliError(
            f"task hub '{hub}' does not exist on the local host at {ctx.client.base_url} (no instances, history, "
            "messages or timers); nothing was deleted"
        )
    return info


def _hub_instances(ctx: Context, hub: str) -> list[dict[str, Any]]:
    """Every instance of `hub`, listed through the Durable HTTP API (`taskHub={hub}`)."""
    client = ctx.client.for_hub(hub)
    found: list[dict[str, Any]] = []
    for items, _ in client.iter_pages(InstanceQuery(), top=500):
        found.extend(items)
    return found


def _describe(info: dict[str, Any]) -> str:
    extra = ", ".join(f"{key} {value}" for key, value in info.items() if key not in ("taskHub", "instances"))
    return f"{info.get('instances', '?')} instances" + (f" ({extra})" if extra else "")


def _delete_from_local_host(ctx: Context, hub: str) -> int:
    info = _hub_info(ctx, hub)
    where = f"task hub '{hub}' on the local host at {ctx.client.base_url}"
    if ctx.args.dry_run:
        instances = _hub_instances(ctx, hub)
        if ctx.out.json:
            ctx.out.emit_json({"dryRun": True, **info, "instanceIds": [i["instanceId"] for i in instances]})
        else:
            ctx.out.line(f"Would delete {where}: {_describe(info)} (dry run; nothing was changed).")
            if instances:
                ctx.out.line(format_instances(instances))
        return EXIT_OK
    if not confirm(
        f"Delete {where} with {_describe(info)}? This cannot be undone.",
        assume_yes=ctx.args.yes,
        what=f"delete task hub '{hub}'",
    ):
        raise CliError("aborted; nothing was deleted")
    response = ctx.client.task_hub_admin("DELETE", hub)
    if response.status == 404:
        raise CliError(f"task hub '{hub}' not found on the local host at {ctx.client.base_url}")
    result = ctx.client.expect(response, 200, 202, 204).json() or {}
    if ctx.out.json:
        ctx.out.emit_json(result if isinstance(result, dict) and result else {"taskHub": hub, "deleted": True})
    else:
        ctx.out.line(f"Deleted {where} ({_describe(info)}).")
    return EXIT_OK


def _delete_from_storage(ctx: Context, hub: str) -> int:
    validate_hub_name(hub)
    account = StorageAccount(target_from_args(ctx.args, ctx.settings.setting))
    artifacts = account.find(hub)
    listing = [{"kind": a.kind, "name": a.name} for a in artifacts]
    where = f"task hub '{hub}' in storage account {account.account_name}"
    if not artifacts:
        raise CliError(f"{where} has no tables, queues or blob containers; nothing to delete")
    if ctx.args.dry_run:
        if ctx.out.json:
            ctx.out.emit_json({"dryRun": True, "taskHub": hub, "artifacts": listing})
        else:
            ctx.out.line(f"Would delete {where} (dry run; nothing was changed):")
            for artifact in artifacts:
                ctx.out.line(f"  {artifact}")
        return EXIT_OK
    summary = ", ".join(str(a) for a in artifacts)
    if not confirm(
        f"Delete {where}: {summary}? This cannot be undone.",
        assume_yes=ctx.args.yes,
        what=f"delete task hub '{hub}'",
    ):
        raise CliError("aborted; nothing was deleted")
    deleted = [a for a in artifacts if account.delete(a)]
    if ctx.out.json:
        ctx.out.emit_json({"taskHub": hub, "deleted": [{"kind": a.kind, "name": a.name} for a in deleted]})
    else:
        ctx.out.line(f"Deleted {where}:")
        for artifact in deleted:
            ctx.out.line(f"  {artifact}")
    return EXIT_OK


def register(subparsers: Subparsers, common: argparse.ArgumentParser) -> None:
    """Add `delete-task-hub`."""
    p = add_command(
        subparsers,
        "delete-task-hub",
        "delete a task hub and all its data",
        delete_task_hub,
        common=common,
        description="By default deletes the hub's data from the running local host (DELETE "
        "{base-url}/admin/host/taskhubs/{hub}). With --connection-string-setting (a connection "
        "string, or SETTING__accountName / SETTING__*ServiceUri with SETTING__credential and "
        "SETTING__clientId), or with --storage-account / --*-service-uri, deletes the hub's tables, "
        "queues and blob containers from that Azure Storage account, and nothing else. "
        "Hub: --task-hub-name, else host.json, else TestHubName.",
        example="durable delete-task-hub --task-hub-name UserTest",
    )
    add_identity_arguments(p)
    confirmation_options(p)
    p.set_defaults(check_task_hub=False)  # it names the hub to delete, whichever hub the local host runs
