"""Test app for user code in worker processes: activities that block, crash or report the process they ran in."""

import asyncio
import os
import signal
import time
from pathlib import Path

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)
COUNTERS = Path(os.environ.get("WORKER_APP_COUNTERS", "/tmp/worker_app_counters"))


def bump(name: str) -> int:
    """Count runs of a step in a file (the count survives the process that ran it)."""
    COUNTERS.mkdir(parents=True, exist_ok=True)
    path = COUNTERS / name
    count = int(path.read_text()) + 1 if path.exists() else 1
    path.write_text(str(count))
    return count


@app.orchestration_trigger(context_name="context")
def run_activity(context: df.DurableOrchestrationContext):
    """Calls the activity named in the input with the input's `args`, and returns its result."""
    request = context.get_input()
    return (yield context.call_activity(request["activity"], request.get("args")))


@app.orchestration_trigger(context_name="context")
def fan_out(context: df.DurableOrchestrationContext):
    count = context.get_input()["count"]
    return (yield context.task_all([context.call_activity("report_pid", 0.5) for _ in range(count)]))


@app.activity_trigger(input_name="seconds")
async def block_async(seconds: float) -> str:
    """An async activity that blocks its event loop (a common mistake: a sync sleep or request)."""
    time.sleep(seconds)
    return "done"


@app.activity_trigger(input_name="args")
def exit_process(args: dict) -> int:
    """Exits its process with os._exit(1) on the first `crashes` runs of `key`, then succeeds."""
    run = bump(args["key"])
    if run <= args["crashes"]:
        os._exit(1)
    return run


@app.activity_trigger(input_name="args")
def kill_process(args: dict) -> int:
    """Kills its own process with SIGKILL (as the OOM killer would) on the first `crashes` runs of `key`."""
    run = bump(args["key"])
    if run <= args["crashes"]:
        os.kill(os.getpid(), signal.SIGKILL)
    return run


@app.activity_trigger(input_name="seconds")
def report_pid(seconds: float) -> int:
    time.sleep(seconds)
    return os.getpid()


@app.activity_trigger(input_name="seconds")
async def report_pid_async(seconds: float) -> int:
    await asyncio.sleep(seconds)
    return os.getpid()


@app.route(route="pid", methods=["GET"])
def http_pid(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(str(os.getpid()))


@app.orchestration_trigger(context_name="context")
def exit_in_orchestrator(context: df.DurableOrchestrationContext):
    """Exits its worker during the replays that bump its counter to `crashes` or below, then completes."""
    if bump(f"orchestrator-{context.instance_id}") <= context.get_input()["crashes"]:
        os._exit(1)
    return "survived"


@app.route(route="utf8-mode", methods=["GET"])
def http_utf8_mode(req: func.HttpRequest) -> func.HttpResponse:
    """Shows an interpreter flag, so a test can see the worker's Python command-line arguments applied."""
    import sys

    return func.HttpResponse(str(sys.flags.utf8_mode))
