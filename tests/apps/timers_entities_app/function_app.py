"""Test app for tests/e2e/test_virtual_time.py: a `Box` entity, a durable-timer `Sleeper`, a slow-activity `Nap`."""

import json
import os
import threading
import time
from datetime import timedelta
from pathlib import Path

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)
COUNTERS = Path(os.environ.get("TIMERS_APP_COUNTERS", "/tmp/timers_app_counters"))


def bump(name: str) -> int:
    COUNTERS.mkdir(parents=True, exist_ok=True)
    path = COUNTERS / name
    count = int(path.read_text()) + 1 if path.exists() else 1
    # Atomically (a temporary file, then `os.replace`): a process killed mid-write (the kill -9 test) must
    # leave the old count or the new one, never an empty file.
    temporary = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    temporary.write_text(str(count))
    os.replace(temporary, path)
    return count


@app.entity_trigger(context_name="context")
def Box(context: df.DurableEntityContext) -> None:
    """Add / get / set / fail / delete / log (appends the input to a list state)."""
    operation = context.operation_name
    if operation == "add":
        value = context.get_state(lambda: 0) + context.get_input()
        context.set_state(value)
        context.set_result(value)
    elif operation == "get":
        context.set_result(context.get_state(lambda: None))
    elif operation == "set":
        context.set_state(context.get_input())
    elif operation == "append":
        items = context.get_state(lambda: [])
        items.append(context.get_input())
        context.set_state(items)
        context.set_result(len(items))
    elif operation == "fail":
        raise ValueError("box refused")
    elif operation == "delete":
        context.destruct_on_exit()


@app.orchestration_trigger(context_name="context")
def Sleeper(context: df.DurableOrchestrationContext):
    """Waits `seconds` of durable timer, then returns the time it woke."""
    seconds = context.get_input()
    yield context.create_timer(context.current_utc_datetime + timedelta(seconds=seconds))
    return context.current_utc_datetime.isoformat()


@app.activity_trigger(input_name="seconds")
def Slow(seconds: float) -> float:
    time.sleep(seconds)
    bump("slow")
    return seconds


@app.orchestration_trigger(context_name="context")
def Nap(context: df.DurableOrchestrationContext):
    result = yield context.call_activity("Slow", context.get_input())
    return result


@app.route(route="box/{key}/{operation}", methods=["POST", "GET"])
@app.durable_client_input(client_name="client")
async def box(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    entity = df.EntityId("Box", req.route_params["key"])
    if req.route_params["operation"] == "read":
        state = await client.read_entity_state(entity)
        return func.HttpResponse(json.dumps({"exists": state.entity_exists, "state": state.entity_state}),
                                 mimetype="application/json")
    await client.signal_entity(entity, req.route_params["operation"], req.get_json() if req.get_body() else None)
    return func.HttpResponse(json.dumps({"ok": True}), mimetype="application/json")


@app.route(route="start/{name}/{instanceId}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def starter(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    instance_id = await client.start_new(req.route_params["name"], req.route_params["instanceId"], req.get_json())
    return func.HttpResponse(json.dumps({"id": instance_id}), mimetype="application/json")
