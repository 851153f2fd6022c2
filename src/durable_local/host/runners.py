"""Where user code runs, seen from the host: the `FunctionRunner` interface and its in-process implementation.

The engine, the HTTP server and the timer triggers never call a user function themselves; they ask a runner.
Two runners exist:

- `WorkerPool` (`durable_local.host.workers`): long-lived worker processes, the default, as on Azure;
- `InProcessRunner` (here): the app is imported into the host process and called there, the previous single-
  process design. It is the debugging mode (`durable host start --workers 0`): a breakpoint in a function stops
  there, and a function that blocks or kills its process blocks or kills the host.

Besides the Durable calls, a runner has one generic invocation for every other non-HTTP trigger (`invoke`: a
`BindingCall` with the trigger datum, its metadata and input datums; a `BindingResult` with output datums); the
timer trigger is one of them (`timer` builds its datum). Activities and HTTP calls carry input datums in and
output datums out too. The storage I/O around these calls is the host's (`storage_bindings.BindingRunner`).

A runner raises `WorkerCrashed` when the process running a call died before answering; the caller decides what
the platform does then (redeliver the work, fail it after repeated crashes, answer 500).
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from durable_local.host.calls import ActivityOutcome, FunctionCalls, HttpCall, HttpReply
from durable_local.host.indexing import FunctionIndex, load_app
from durable_local.host.invoke import Invocation
from durable_local.host.storage_bindings.invocation import BindingCall, BindingResult, WireDatum, json_datum


class WorkerCrashed(Exception):
    """The worker process running a call exited (or was killed) before answering it."""


def timer_call(past_due: bool, schedule_status: dict[str, str | None]) -> BindingCall:
    """A timer trigger's datum as the host sends it (azure.functions `TimerRequestConverter` reads it)."""
    return BindingCall(json_datum({"Schedule": {"AdjustForDST": True}, "ScheduleStatus": schedule_status,
                                   "IsPastDue": past_due}))


class FunctionRunner(Protocol):
    """Runs the app's functions for the host; see the module docstring."""

    index: FunctionIndex

    @property
    def pids(self) -> list[int]:
        """The worker processes running user code now (none in the in-process mode)."""
        ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def orchestrate(self, calls: list[tuple[str, str]]) -> list[Invocation | WorkerCrashed]:
        """Replay orchestrators: (name, context JSON) each; one answer per call, in order."""
        ...

    async def entity(self, name: str, batch_json: str) -> str:
        """Run one entity batch; raises `EntityFailure` when the entity function raised."""
        ...

    async def activity(self, name: str, input_text: str | None, description: str,
                       inputs: dict[str, WireDatum] | None = None) -> ActivityOutcome: ...

    async def http(self, name: str, call: HttpCall) -> HttpReply: ...

    async def invoke(self, name: str, call: BindingCall) -> BindingResult:
        """Run a function of any other trigger once (see the module docstring)."""
        ...

    async def timer(self, name: str, past_due: bool, schedule_status: dict[str, str | None]) -> bool:
        """Run a timer function once; False when it failed."""
        ...


class InProcessRunner:
    """The app imported and called in the host process (see the module docstring)."""

    def __init__(self, app_dir: Path, target: str, client_json: str) -> None:
        self.index = load_app(app_dir, target)
        self.calls = FunctionCalls(self.index, client_json, str(app_dir))

    @property
    def pids(self) -> list[int]:
        return []

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        self.calls.close()

    async def orchestrate(self, calls: list[tuple[str, str]]) -> list[Invocation | WorkerCrashed]:
        return [self.calls.orchestrate(name, context) for name, context in calls]

    async def entity(self, name: str, batch_json: str) -> str:
        return self.calls.entity(name, batch_json)

    async def activity(self, name: str, input_text: str | None, description: str,
                       inputs: dict[str, WireDatum] | None = None) -> ActivityOutcome:
        return await self.calls.activity(name, input_text, inputs)

    async def http(self, name: str, call: HttpCall) -> HttpReply:
        return await self.calls.http(name, call)

    async def invoke(self, name: str, call: BindingCall) -> BindingResult:
        return await self.calls.invoke(name, call)

    async def timer(self, name: str, past_due: bool, schedule_status: dict[str, str | None]) -> bool:
        return (await self.invoke(name, timer_call(past_due, schedule_status))).ok
