"""Test app for tests/e2e/test_replay_fidelity.py: one small orchestration per replay behaviour."""

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.activity_trigger(input_name="value")
def Echo(value):
    return value


@app.activity_trigger(input_name="value")
def Mark(value):
    return f"marked {value}"


@app.orchestration_trigger(context_name="context")
def WaitForGo(context: df.DurableOrchestrationContext):
    """Runs until the event "Go" is raised; returns its input."""
    value = yield context.wait_for_external_event("Go")
    return {"input": context.get_input(), "go": value}


@app.orchestration_trigger(context_name="context")
def SelfAsChild(context: df.DurableOrchestrationContext):
    """Calls a sub-orchestration with its own instance id (the extension refuses this)."""
    result = yield context.call_sub_orchestrator("WaitForGo", "child-input", context.instance_id)
    return result


@app.orchestration_trigger(context_name="context")
def CallExisting(context: df.DurableOrchestrationContext):
    """Calls WaitForGo as a sub-orchestration with the instance id given as input."""
    result = yield context.call_sub_orchestrator("WaitForGo", "clobbered", context.get_input())
    return result


@app.orchestration_trigger(context_name="context")
def AnyWithFinishedTask(context: df.DurableOrchestrationContext):
    """task_any over an already-finished task and a new one: Python finishes at once, the shim waits for Mark."""
    first = context.call_activity("Echo", "a")
    yield first
    second = context.call_activity("Mark", "b")
    yield context.task_any([first, second])
    return "done"


@app.orchestration_trigger(context_name="context")
def FinishWhileScheduling(context: df.DurableOrchestrationContext):
    """Schedules Mark in the same episode in which it completes (the buffered Go wins the race)."""
    yield context.wait_for_external_event("Ready")
    yield context.task_any([context.call_activity("Mark", "x"), context.wait_for_external_event("Go")])
    return "done"


@app.orchestration_trigger(context_name="context")
def ChangedCode(context: df.DurableOrchestrationContext):
    """Non-deterministic: schedules Echo on the first run and Mark when replaying, as after a code change."""
    name = "Mark" if context.is_replaying else "Echo"
    result = yield context.call_activity(name, "x")
    return result


@app.orchestration_trigger(context_name="context")
def OneActivity(context: df.DurableOrchestrationContext):
    result = yield context.call_activity("Echo", {"n": 1})
    return result


@app.orchestration_trigger(context_name="context")
def CatchChildFailure(context: df.DurableOrchestrationContext):
    """Calls WaitForGo under the id given as input and returns the text of the exception it raises, if any."""
    try:
        result = yield context.call_sub_orchestrator("WaitForGo", "child", context.get_input())
        return {"result": result}
    except Exception as error:
        return {"error": str(error)}
