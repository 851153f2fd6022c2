"""`durable bulk ... --in-app`: run the operation as the app's `BulkOperation` orchestration, through the app's
`POST /bulk/{operation}` (this project's app, at `--base-url` with `routePrefix` ""), instead of from the CLI.

The app's dry run gives the exact count and the `createdTimeTo` it pinned; after the confirmation the run is
started with that `createdTimeTo` (or the same IDs), so it acts on the set that was confirmed. The app acts on
its own task hub only, so a run for another hub (`--task-hub-name`, an environment's hub) is refused. The CLI then
follows the run's custom status with a progress bar and prints its output. Ctrl+C leaves the run going (it is
the app's now) and says how to cancel it: terminate the bulk instance.
"""

from __future__ import annotations

import json
import sys
import time
import urllib.error
import urllib.request
from typing import Any

from durable_local.manage import bulk
from durable_local.manage.client import NO_BODY
from durable_local.manage.context import Context
from durable_local.manage.errors import EXIT_FAILURE, EXIT_OK, ApiError, CliError
from durable_local.manage.output import Progress, confirm
from durable_local.manage.parsing import format_datetime

POLL_SECONDS = 0.5
EXIT_INTERRUPTED = 130


def _request(ctx: Context, selection: bulk.BulkFilter | list[str], event_data: Any,
             extra: dict[str, str]) -> tuple[dict[str, str], Any]:
    args = ctx.args
    query: dict[str, str] = {"concurrency": str(args.concurrency), **extra}
    body: dict[str, Any] = {}
    if isinstance(selection, list):
        body["instanceIds"] = selection
    else:
        if selection.runtime_statuses:
            query["runtimeStatus"] = ",".join(bulk.runtime_statuses(args.operation, selection.runtime_statuses))
        if selection.created_from:
            query["createdTimeFrom"] = format_datetime(selection.created_from)
        if selection.created_to and "createdTimeTo" not in query:
            query["createdTimeTo"] = format_datetime(selection.created_to)
        if selection.instance_id_prefix:
            query["instanceIdPrefix"] = selection.instance_id_prefix
        if selection.name:
            query["name"] = selection.name
    if args.reason:
        query["reason"] = args.reason
    if args.event_name:
        query["eventName"] = args.event_name
    if event_data is not None:
        body["eventData"] = event_data
    return query, body or NO_BODY


def _post(ctx: Context, query: dict[str, str], body: Any) -> dict[str, Any]:
    operation = "raiseEvent" if ctx.args.operation == "raise-event" else ctx.args.operation
    response = ctx.client.request("POST", f"/bulk/{operation}", query=query, body=body, hub_params=False)
    if response.status == 404:
        raise CliError(f"the app at {ctx.client.base_url} has no bulk endpoint (POST /bulk/{operation}); "
                       "leave out --in-app to run the operation from the CLI")
    answer = ctx.client.expect(response, 200, 202).json()
    if not isinstance(answer, dict):
        raise ApiError(response.method, response.url, response.status, "the answer is not a JSON object")
    return answer


def _status(url: str) -> dict[str, Any]:
    try:
        with urllib.request.urlopen(url, timeout=30) as reply:
            body = json.loads(reply.read() or b"null")
    except urllib.error.HTTPError as error:
        raise CliError(f"reading the bulk run's status failed: HTTP {error.code}") from error
    except (urllib.error.URLError, OSError) as error:
        raise CliError(f"reading the bulk run's status failed: {error}") from error
    if not isinstance(body, dict):
        raise CliError("the bulk run's status is not a JSON object")
    return body


def _check_task_hub(ctx: Context, app_hub: Any) -> None:
    """The app acts on its binding's task hub only: refuse when that is not the hub the CLI was given."""
    if isinstance(app_hub, str) and app_hub and ctx.task_hub and app_hub.lower() != ctx.task_hub.lower():
        raise CliError(f"the app's bulk operations act on its own task hub '{app_hub}', not '{ctx.task_hub}' (from "
                       f"{ctx.task_hub_source}); nothing was changed. Leave out --in-app to act on "
                       f"'{ctx.task_hub}' through the Durable HTTP API, or pass --task-hub-name {app_hub}")


def run(ctx: Context, selection: bulk.BulkFilter | list[str], event_data: Any) -> int:
    args = ctx.args
    query, body = _request(ctx, selection, event_data, {})
    dry = _post(ctx, {**query, "dryRun": "true"}, body)
    _check_task_hub(ctx, dry.get("taskHub"))
    count = int(dry.get("count") or 0)
    pinned = (dry.get("filter") or {}).get("createdTimeTo")
    if args.dry_run:
        if ctx.out.json:
            ctx.out.emit_json({**dry, "via": "app"})
        else:
            ctx.out.line(f"{count} instances would be changed by the app's bulk {args.operation} (dry run; nothing "
                         f"was changed{'; created up to ' + pinned if pinned else ''}):")
            for instance_id in dry.get("instanceIds") or []:
                ctx.out.line(f"  {instance_id}")
        return EXIT_OK
    if not count:
        ctx.out.line("No instances match; nothing changed.")
        return EXIT_OK
    if not confirm(f"Start the app's bulk {args.operation} of {count} instances?", assume_yes=args.yes,
                   what=f"{args.operation} {count} instances"):
        raise CliError("aborted; nothing was changed")
    if pinned:
        query["createdTimeTo"] = pinned  # the run acts on the set the dry run counted
    started = _post(ctx, query, body)
    instance_id, status_url = str(started.get("id")), str(started.get("statusQueryGetUri"))
    sys.stderr.write(f"The app runs it as instance '{instance_id}'; terminate that instance to cancel it.\n")
    progress = Progress()
    try:
        while True:
            status = _status(status_url)
            custom = status.get("customStatus") or {}
            if isinstance(custom, dict) and "done" in custom:
                progress.update(f"[app] page {custom.get('page')}: matched {custom.get('matched')}/{count}  "
                                f"done {custom.get('done')}  skipped {custom.get('skipped')}  "
                                f"failed {custom.get('failed')}")
            if status.get("runtimeStatus") in ("Completed", "Failed", "Terminated", "Canceled"):
                break
            time.sleep(POLL_SECONDS)
    except KeyboardInterrupt:
        progress.done()
        sys.stderr.write(f"Stopped following; the run goes on in the app as instance '{instance_id}'.\n")
        return EXIT_INTERRUPTED
    progress.done()
    output = status.get("output")
    if status.get("runtimeStatus") != "Completed" or not isinstance(output, dict):
        raise CliError(f"the bulk run '{instance_id}' ended {status.get('runtimeStatus')}: {output}")
    for failure in output.get("failures") or []:
        sys.stderr.write(f"failed: {failure.get('instanceId')}: {failure.get('reason')}\n")
    if ctx.out.json:
        ctx.out.emit_json({**output, "instanceId": instance_id, "via": "app"})
    else:
        ctx.out.line(f"The app's bulk {args.operation} ('{instance_id}'): {output.get('done')} of "
                     f"{output.get('matched')} done, {output.get('skipped')} skipped, {output.get('failed')} failed.")
    return EXIT_FAILURE if output.get("failed") else EXIT_OK
