"""Test app for the local host's own end-to-end tests: one function per orchestration feature."""

import json
import logging
import os
import threading
from datetime import datetime, timedelta
from pathlib import Path

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)
COUNTERS = Path(os.environ.get("CORE_APP_COUNTERS", "/tmp/core_app_counters"))


def parse_time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def bump(name: str) -> int:
    """Count executions of a step in a file, so tests can prove what ran and how often."""
    COUNTERS.mkdir(parents=True, exist_ok=True)
    path = COUNTERS / name
    count = int(path.read_text()) + 1 if path.exists() else 1
    # Atomically (a temporary file, then `os.replace`): a process killed mid-write (the kill -9 test) must
    # leave the old count or the new one, never an empty file.
    temporary = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    temporary.write_text(str(count))
    os.replace(temporary, path)
    return count


@app.route(route="orchestrators/{functionName}/{instanceId?}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def http_start(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    body = req.get_body()
    instance_id = await client.start_new(req.route_params["functionName"], req.route_params.get("instanceId"),
                                         json.loads(body) if body else None)
    return client.create_check_status_response(req, instance_id)


@app.route(route="orchestrators/{functionName}/wait", methods=["POST"])
@app.durable_client_input(client_name="client")
async def http_start_wait(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    instance_id = await client.start_new(req.route_params["functionName"], None, None)
    return await client.wait_for_completion_or_create_check_status_response(req, instance_id, 5000, 50)


@app.route(route="client/{instanceId}/{operation}", methods=["POST", "GET"])
@app.durable_client_input(client_name="client")
async def client_call(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Calls one SDK client method and returns what it gave, so tests can assert the SDK's view."""
    instance_id, operation = req.route_params["instanceId"], req.route_params["operation"]
    body = req.get_json() if req.get_body() else {}
    if operation == "status":
        status = await client.get_status(instance_id, show_history=True, show_history_output=True)
        return func.HttpResponse(json.dumps({"truthy": bool(status), **(status.to_json() if status else {}),
                                             "historyEvents": getattr(status, "historyEvents", None)}),
                                 mimetype="application/json")
    if operation in ("all", "by"):
        if operation == "all":
            found = await client.get_status_all()
        else:
            found = await client.get_status_by(
                created_time_from=parse_time(body.get("from")), created_time_to=parse_time(body.get("to")),
                runtime_status=[df.OrchestrationRuntimeStatus(s) for s in body.get("statuses", [])] or None)
        return func.HttpResponse(json.dumps([s.to_json() for s in found]), mimetype="application/json")
    if operation == "purge_by":
        result = await client.purge_instance_history_by(
            created_time_from=parse_time(body.get("from")), created_time_to=parse_time(body.get("to")),
            runtime_status=[df.OrchestrationRuntimeStatus(s) for s in body.get("statuses", [])] or None)
        return func.HttpResponse(json.dumps({"deleted": result.instances_deleted}), mimetype="application/json")
    if operation == "raise":
        await client.raise_event(instance_id, body["name"], body.get("data"))
    elif operation == "terminate":
        await client.terminate(instance_id, body.get("reason", "stop"))
    elif operation == "rewind":
        await client.rewind(instance_id, body.get("reason", "again"))
    elif operation == "suspend":
        await client.suspend(instance_id, "pause")
    elif operation == "resume":
        await client.resume(instance_id, "go on")
    elif operation == "restart":
        result = await client.restart(instance_id, body.get("newId", True))
        return func.HttpResponse(json.dumps({"restarted": result}), mimetype="application/json")
    elif operation == "purge":
        result = await client.purge_instance_history(instance_id)
        return func.HttpResponse(json.dumps({"deleted": result.instances_deleted}), mimetype="application/json")
    return func.HttpResponse(json.dumps({"ok": True}), mimetype="application/json")


@app.orchestration_trigger(context_name="context")
def Hello(context: df.DurableOrchestrationContext):
    results = []
    for city in ["Tokyo", "Seattle", "London"]:
        results.append((yield context.call_activity("SayHello", city)))
    return results


@app.activity_trigger(input_name="city")
def SayHello(city: str) -> str:
    return f"Hello {city}!"


@app.orchestration_trigger(context_name="context")
def FanOut(context: df.DurableOrchestrationContext):
    count = context.get_input() or 100
    results = yield context.task_all([context.call_activity("Square", n) for n in range(count)])
    return sum(results)


@app.activity_trigger(input_name="n")
def Square(n: int) -> int:
    return n * n


@app.orchestration_trigger(context_name="context")
def Flaky(context: df.DurableOrchestrationContext):
    options = df.RetryOptions(first_retry_interval_in_milliseconds=100, max_number_of_attempts=3)
    return (yield context.call_activity_with_retry("FailTwice", options, context.instance_id))


@app.activity_trigger(input_name="key")
def FailTwice(key: str) -> str:
    if bump(f"flaky-{key}") < 3:
        raise ValueError("not yet")
    return "third time lucky"


@app.orchestration_trigger(context_name="context")
def Approval(context: df.DurableOrchestrationContext):
    deadline = context.current_utc_datetime + timedelta(seconds=context.get_input() or 30)
    timer = context.create_timer(deadline)
    approval = context.wait_for_external_event("Approval")
    winner = yield context.task_any([approval, timer])
    if winner == approval:
        timer.cancel()
        return {"approved": approval.result}
    return {"approved": None, "timedOut": True}


@app.orchestration_trigger(context_name="context")
def Parent(context: df.DurableOrchestrationContext):
    try:
        return (yield context.call_sub_orchestrator("Child", context.get_input()))
    except Exception as error:  # the child's failure reaches the parent as an exception
        return {"childFailed": str(error).split("\n")[0]}


@app.orchestration_trigger(context_name="context")
def Child(context: df.DurableOrchestrationContext):
    value = context.get_input()
    if value == "fail":
        raise RuntimeError("child broke")
    return (yield context.call_activity("SayHello", value))


@app.orchestration_trigger(context_name="context")
def Boom(context: df.DurableOrchestrationContext):
    yield context.call_activity("Explode", None)
    return "unreachable"


@app.activity_trigger(input_name="payload")
def Explode(payload: str) -> str:
    raise ValueError("kaboom")


@app.orchestration_trigger(context_name="context")
def Counter(context: df.DurableOrchestrationContext):
    count = context.get_input() or 0
    context.set_custom_status({"count": count})
    if count >= 3:
        return count
    yield context.create_timer(context.current_utc_datetime + timedelta(seconds=1))
    context.continue_as_new(count + 1)


@app.orchestration_trigger(context_name="context")
def Steps(context: df.DurableOrchestrationContext):
    """Three activities; the third fails until its configuration file exists (the rewind story)."""
    first = yield context.call_activity("Step", "one")
    second = yield context.call_activity("Step", "two")
    third = yield context.call_activity("ConfiguredStep", "three")
    return [first, second, third]


@app.activity_trigger(input_name="name")
def Step(name: str) -> str:
    bump(f"step-{name}")
    return name.upper()


@app.activity_trigger(input_name="name")
def ConfiguredStep(name: str) -> str:
    bump(f"step-{name}")
    setting = COUNTERS / f"config-{name}"
    if not setting.exists():
        raise RuntimeError("configuration error: connection string missing")
    return name.upper()


@app.orchestration_trigger(context_name="context")
def ParentOfSteps(context: df.DurableOrchestrationContext):
    """Fails when its child fails (no try/except): rewinding it must rewind the child too."""
    before = yield context.call_activity("Step", "parent-before")
    child = yield context.call_sub_orchestrator("ChildSteps", None)
    return [before, *child]


@app.orchestration_trigger(context_name="context")
def ChildSteps(context: df.DurableOrchestrationContext):
    first = yield context.call_activity("Step", "child-one")
    second = yield context.call_activity("ConfiguredStep", "child-two")
    return [first, second]


@app.orchestration_trigger(context_name="context")
def Waiter(context: df.DurableOrchestrationContext):
    first = yield context.wait_for_external_event("Go")
    return first


@app.timer_trigger(schedule="%TICK_SCHEDULE%", arg_name="timer", run_on_startup=False)
def Tick(timer: func.TimerRequest) -> None:
    bump("tick")
    logging.info("tick past_due=%s", timer.past_due)


@app.entity_trigger(context_name="context")
def Tally(context: df.DurableEntityContext) -> None:
    """A counter entity: add, get, fail and delete."""
    value = context.get_state(lambda: 0)
    operation = context.operation_name
    if operation == "add":
        value += context.get_input()
    elif operation == "fail":
        raise ValueError("bad op")
    elif operation == "delete":
        context.destruct_on_exit()
        return
    context.set_state(value)
    context.set_result(value)


@app.orchestration_trigger(context_name="context")
def UsesCounter(context: df.DurableOrchestrationContext):
    entity = df.EntityId("Tally", context.get_input())
    context.signal_entity(entity, "add", 5)
    total = yield context.call_entity(entity, "add", 10)
    try:
        yield context.call_entity(entity, "fail")
    except Exception as error:
        return {"total": total, "error": str(error)}
    return {"total": total}


@app.route(route="entities/{key}/{operation}", methods=["POST", "GET"])
@app.durable_client_input(client_name="client")
async def entity_call(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    entity = df.EntityId("Tally", req.route_params["key"])
    if req.route_params["operation"] == "read":
        state = await client.read_entity_state(entity)
        return func.HttpResponse(json.dumps({"exists": state.entity_exists, "state": state.entity_state}),
                                 mimetype="application/json")
    await client.signal_entity(entity, req.route_params["operation"], req.get_json() if req.get_body() else None)
    return func.HttpResponse(json.dumps({"ok": True}), mimetype="application/json")


@app.orchestration_trigger(context_name="context")
def CallsHttp(context: df.DurableOrchestrationContext):
    """One durable HTTP call (the host makes one request and returns status, headers and content)."""
    response = yield context.call_http("GET", context.get_input())
    return {"statusCode": response["statusCode"], "content": json.loads(response["content"])}


@app.route(route="echo", methods=["GET"])
def echo(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(json.dumps({"echo": req.params.get("say")}), mimetype="application/json")
