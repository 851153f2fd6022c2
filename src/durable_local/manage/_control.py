"""Commands that change one instance: `start-new`, `raise-event`, `terminate`, `suspend`, `resume`, `rewind`
and `restart`. Each checks the API's answer and explains a refusal by the instance's current status."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from durable_local.manage.client import NO_BODY
from durable_local.manage.context import Context
from durable_local.manage.errors import EXIT_OK, CliError
from durable_local.manage.parsing import TERMINAL_STATUSES, parse_json_value


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
