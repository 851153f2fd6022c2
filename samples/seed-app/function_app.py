"""The app the seed document's `func durable` examples run against (docs/cli.md, "The seed's examples").

Its task hub is `TestTaskHub`, as the first example names it, and the folder holds the files the examples
read (`counter-data.json`, `eventdata.json`).

- `HelloWorld`: calls the `SayHello` activity with its input and returns the greeting.
- `WaitForEvent`: waits for the external event named by its input's `event` (default `MyEvent`) and returns
  the event's data.
- `FailOnce`: calls `Flaky`, which fails the first time it runs for an instance and succeeds the next time,
  so the instance ends Failed and `durable rewind` revives it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)
MARKERS = Path(__file__).resolve().parent / ".durable" / "failed-once"


@app.orchestration_trigger(context_name="context")
def HelloWorld(context: df.DurableOrchestrationContext) -> Any:
    greeting = yield context.call_activity("SayHello", context.get_input())
    return greeting


@app.activity_trigger(input_name="payload")
def SayHello(payload: Any) -> str:
    return f"Hello {payload}!"


@app.orchestration_trigger(context_name="context")
def WaitForEvent(context: df.DurableOrchestrationContext) -> Any:
    settings = context.get_input()
    name = settings.get("event", "MyEvent") if isinstance(settings, dict) else "MyEvent"
    data = yield context.wait_for_external_event(name)
    return data


@app.orchestration_trigger(context_name="context")
def FailOnce(context: df.DurableOrchestrationContext) -> Any:
    result = yield context.call_activity("Flaky", context.instance_id)
    return result


@app.activity_trigger(input_name="instanceId")
def Flaky(instanceId: str) -> str:
    """Fails on its first run for an instance (leaving a marker file), succeeds on the next (removing it)."""
    marker = MARKERS / instanceId
    if not marker.exists():
        MARKERS.mkdir(parents=True, exist_ok=True)
        marker.write_text("failed once", encoding="utf-8")
        raise RuntimeError(f"Flaky failed on purpose for instance {instanceId}; rewind it to run again")
    marker.unlink()
    return "recovered"
