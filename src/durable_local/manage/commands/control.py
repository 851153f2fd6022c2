"""Commands that change one instance: `start-new`, `raise-event`, `terminate`, `suspend`, `resume`, `rewind`
and `restart`. Each checks the API's answer and explains a refusal by the instance's current status."""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from typing import Any

from durable_local.manage.client import NO_BODY
from durable_local.manage.commands.options import Subparsers, add_command, instance_id_option, wait_options
from durable_local.manage.context import Context
from durable_local.manage.errors import EXIT_OK, CliError
from durable_local.manage.parsing import TERMINAL_STATUSES, event_name, non_negative_float, parse_json_value


def start_new(ctx: Context) -> int:
    args = ctx.args
    body = parse_json_value(args.input, flag="--input") if args.input is not None else NO_BODY
    if body is not NO_BODY and not isinstance(body, dict) and not args.raw_input:
        # The extension hands a Python orchestrator the *parsed* stored input, and the SDK's get_input()
        # accepts only an object or a JSON text there: a raw number, string or list fails, on Azure too
        # (sdk-protocol.md §3.1). So other values go as the Python SDK's start_new sends them: a JSON string
        # holding the value's JSON text (§3.3). Objects are sent as they are; every SDK reads them.
        body = json.dumps(body)
    response = ctx.client.start_new(args.function_name, args.id, body)
    if response.status not in (200, 202):
        detail = response.detail() or f"HTTP {response.status}"
        if response.status == 500 and args.id:
            detail = f"an instance with ID '{args.id}' may already exist and be running ({detail})"
        raise CliError(f"cannot start '{args.function_name}'{ctx.in_hub()}: {detail}")
    payload = response.json() if response.status == 202 else None
    instance_id = (payload or {}).get("id") or args.id
    if ctx.out.json:
        ctx.out.emit_json(payload if isinstance(payload, dict) else {"id": instance_id})
    else:
        ctx.out.line(f"Started '{args.function_name}'. Instance ID: {instance_id}")
    return EXIT_OK


def raise_event(ctx: Context) -> int:
    args = ctx.args
    data = parse_json_value(args.event_data, flag="--event-data") if args.event_data is not None else None
    response = ctx.client.raise_event(args.id, args.event_name, data)
    if response.status != 202:
        raise ctx.operation_error(
            response,
            args.id,
            f"raise event '{args.event_name}' to",
            " (finished instances cannot receive events)",
        )
    if ctx.out.json:
        ctx.out.emit_json({"instanceId": args.id, "eventName": args.event_name, "eventData": data})
    else:
        ctx.out.line(f"Raised event '{args.event_name}' to instance '{args.id}'.")
    return EXIT_OK


def wait_for(ctx: Context, instance_id: str, done: Callable[[str], bool], timeout: float, what: str) -> dict[str, Any]:
    """Poll the instance until `done(runtimeStatus)`; a one-line error when `timeout` seconds pass first."""
    deadline = time.monotonic() + timeout
    delay = 0.02
    while True:
        status = ctx.status(instance_id)
        if done(str(status.get("runtimeStatus"))):
            return status
        if time.monotonic() >= deadline:
            raise CliError(
                f"instance '{instance_id}' is still {status.get('runtimeStatus')} {timeout:g} s after "
                f"the {what} request"
            )
        time.sleep(max(0.0, min(delay, deadline - time.monotonic())))
        delay = min(delay * 2, 0.5)


def _simple_operation(ctx: Context, operation: str, past: str, done: Callable[[str], bool], hint: str) -> int:
    args = ctx.args
    response = ctx.client.operation(args.id, operation, args.reason)
    if response.status != 202:
        raise ctx.operation_error(response, args.id, operation, hint)
    if args.no_wait:
        status = {"instanceId": args.id, "runtimeStatus": None}
        message = f"Requested to {operation} instance '{args.id}'."
    else:
        status = wait_for(ctx, args.id, done, args.timeout, operation)
        message = f"{past} instance '{args.id}'. Runtime status: {status.get('runtimeStatus')}."
    if ctx.out.json:
        ctx.out.emit_json({"instanceId": args.id, "runtimeStatus": status.get("runtimeStatus")})
    else:
        ctx.out.line(message)
    return EXIT_OK


def suspend(ctx: Context) -> int:
    return _simple_operation(
        ctx,
        "suspend",
        "Suspended",
        lambda s: s == "Suspended" or s in TERMINAL_STATUSES,
        " (only Pending or Running instances can be suspended)",
    )


def resume(ctx: Context) -> int:
    return _simple_operation(
        ctx, "resume", "Resumed", lambda s: s != "Suspended", " (only Suspended instances can be resumed)"
    )


def rewind(ctx: Context) -> int:
    """Rewind a Failed instance and show its status before and after (Core Tools waits 3 s; we poll)."""
    args = ctx.args
    before = ctx.status(args.id)
    response = ctx.client.operation(args.id, "rewind", args.reason)
    if response.status != 202:
        raise ctx.operation_error(response, args.id, "rewind", " (only Failed instances can be rewound)")
    marker = (before.get("runtimeStatus"), before.get("lastUpdatedTime"))
    deadline = time.monotonic() + args.timeout
    after = before
    while time.monotonic() < deadline:
        after = ctx.status(args.id)
        if (after.get("runtimeStatus"), after.get("lastUpdatedTime")) != marker:
            break
        time.sleep(0.05)
    if ctx.out.json:
        ctx.out.emit_json({"instanceId": args.id, "before": before, "after": after})
    else:
        ctx.out.line(f"Status before rewind: {before.get('runtimeStatus')}")
        ctx.out.line(f"Status after rewind: {after.get('runtimeStatus')}")
    return EXIT_OK


def restart(ctx: Context) -> int:
    args = ctx.args
    response = ctx.client.restart(args.id, new_instance_id=not args.reuse_id)
    if response.status not in (200, 202):
        if response.status == 500 and args.reuse_id:
            raise CliError(
                f"cannot restart instance '{args.id}' with the same ID: {response.detail() or 'it is still running'}"
            )
        raise ctx.operation_error(response, args.id, "restart")
    payload = response.json() or {}
    new_id = payload.get("id") if isinstance(payload, dict) else None
    if ctx.out.json:
        ctx.out.emit_json(payload)
    else:
        ctx.out.line(f"Restarted instance '{args.id}'. New instance ID: {new_id or args.id}")
    return EXIT_OK


def register(subparsers: Subparsers, common: argparse.ArgumentParser) -> None:
    """Add `start-new`, `raise-event`, `rewind`, `suspend`, `resume` and `restart`."""
    p = add_command(
        subparsers,
        "start-new",
        "start an orchestration instance",
        start_new,
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

    p = add_command(
        subparsers,
        "raise-event",
        "send an event to an instance",
        raise_event,
        common=common,
        description="POST /instances/{id}/raiseEvent/{event-name}. The event name is required "
        "(Core Tools invents a random one).",
        example="durable raise-event --id 0ab8c55a66644d68a3a8b220b12d209c --event-name MyEvent "
        "--event-data @eventdata.json",
    )
    instance_id_option(p)
    p.add_argument("--event-name", required=True, metavar="NAME", type=event_name, help="name of the event")
    p.add_argument(
        "--event-data",
        metavar="JSON|@FILE",
        help="event data: inline JSON (other text is sent as a JSON string) or @path/to/file.json",
    )

    p = add_command(
        subparsers,
        "rewind",
        "rewind a Failed instance",
        rewind,
        common=common,
        description="Reruns the failed work of a Failed instance; shows the status before and after.",
        example='durable rewind --id 0ab8c55a66644d68a3a8b220b12d209c --reason "Orchestrator failed and '
        'needs to be revived."',
    )
    instance_id_option(p)
    p.add_argument("--reason", help="reason for the rewind")
    p.add_argument(
        "--timeout",
        type=non_negative_float,
        default=10,
        metavar="SECONDS",
        help="how long to wait for the status to change after the rewind (default: 10)",
    )

    p = add_command(
        subparsers,
        "suspend",
        "suspend a running instance",
        suspend,
        common=common,
        description="POST /instances/{id}/suspend, then waits until it is Suspended (unless --no-wait).",
        example='durable suspend --id 0ab8c55a66644d68a3a8b220b12d209c --reason "Pause for maintenance"',
    )
    instance_id_option(p)
    p.add_argument("--reason", help="reason for suspending")
    wait_options(p, "the instance is Suspended")

    p = add_command(
        subparsers,
        "resume",
        "resume a suspended instance",
        resume,
        common=common,
        description="POST /instances/{id}/resume, then waits until it is no longer Suspended (unless --no-wait).",
        example='durable resume --id 0ab8c55a66644d68a3a8b220b12d209c --reason "Maintenance done"',
    )
    instance_id_option(p)
    p.add_argument("--reason", help="reason for resuming")
    wait_options(p, "the instance is no longer Suspended")

    p = add_command(
        subparsers,
        "restart",
        "start an instance again with its name and input",
        restart,
        common=common,
        description="POST /instances/{id}/restart: a new run with the same orchestrator and input, under a "
        "new instance ID unless --reuse-id.",
        example="durable restart --id 0ab8c55a66644d68a3a8b220b12d209c",
    )
    instance_id_option(p)
    p.add_argument("--reuse-id", action="store_true", help="restart under the same instance ID (it must have finished)")
