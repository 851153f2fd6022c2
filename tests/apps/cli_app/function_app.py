"""Test app for the `durable` CLI's end-to-end tests: orchestrations that finish, wait for an event, and fail.

- `HelloWorld` and `Hello`: call the `SayHello` activity with the input and return its result.
- `WaitForEvent`: waits for the external event named by its input's `event` (default `MyEvent`) and returns
  the event's data.
- `FailOnce`: calls `Flaky`, which raises unless the file named by the input's `okFile` exists (so a test can
  fail an instance, create the file, and rewind it); without `okFile` it always fails.
"""

from __future__ import annotations

import os
from typing import Any

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.orchestration_trigger(context_name="context")
def HelloWorld(context: df.DurableOrchestrationContext) -> Any:
    result = yield context.call_activity("SayHello", context.get_input())
    return result


@app.orchestration_trigger(context_name="context")
def Hello(context: df.DurableOrchestrationContext) -> Any:
    result = yield context.call_activity("SayHello", context.get_input())
    return result


@app.activity_trigger(input_name="payload")
def SayHello(payload: Any) -> str:
    return f"Hello {payload}!"


@app.orchestration_trigger(context_name="context")
def WaitForEvent(context: df.DurableOrchestrationContext) -> Any:
    settings = context.get_input() or {}
    event_name = settings.get("event", "MyEvent") if isinstance(settings, dict) else "MyEvent"
    data = yield context.wait_for_external_event(event_name)
    return data


@app.orchestration_trigger(context_name="context")
def FailOnce(context: df.DurableOrchestrationContext) -> Any:
    result = yield context.call_activity("Flaky", context.get_input())
    return result


@app.activity_trigger(input_name="settings")
def Flaky(settings: Any) -> str:
    ok_file = settings.get("okFile") if isinstance(settings, dict) else None
    if not ok_file or not os.path.exists(ok_file):
        raise ValueError("Flaky failed on purpose")
    return "recovered"
