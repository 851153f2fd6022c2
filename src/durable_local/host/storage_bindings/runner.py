"""The host's side of storage bindings around every call: `BindingRunner` wraps a `FunctionRunner`.

For a function with storage bindings it reads the input bindings before the call, passes their datums with
the call, and writes the output datums the worker gave back after a successful call, as the Functions host
does around an invocation (the worker only converts). A failed write fails the invocation: an activity fails
with the error as its reason, an HTTP call answers 500, a timer or queue invocation is a failure (a queue
message is retried). Functions without storage bindings pass straight through. It also runs the triggers'
listeners (`start_listeners`, `stop`).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from durable_local.host import invoke
from durable_local.host.calls import ActivityOutcome, HttpCall, HttpReply
from durable_local.host.host_json import HostJson
from durable_local.host.indexing import FunctionIndex, FunctionInfo
from durable_local.host.invoke import Invocation
from durable_local.host.runners import FunctionRunner, WorkerCrashed, timer_call
from durable_local.host.storage_bindings import blob_trigger, blobs, queues, registry, tables
from durable_local.host.storage_bindings.connections import Connections
from durable_local.host.storage_bindings.invocation import BindingCall, BindingResult, WireDatum

log = logging.getLogger(__name__)
BINDING_MODULES = (queues, blobs, blob_trigger, tables)  # each registers its binding types on import


class BindingRunner:
    """A `FunctionRunner` that does the storage I/O around calls (see the module docstring)."""

    def __init__(self, inner: FunctionRunner, connections: Connections, host_json: HostJson | None = None) -> None:
        self.inner = inner
        self.connections = connections
        self.host_json = host_json or HostJson()
        self.listeners: list[registry.Listener] = []
        self.index: FunctionIndex = inner.index


    @property
    def pids(self) -> list[int]:
        return self.inner.pids

    def context(self, info: FunctionInfo, data: dict[str, Any] | None = None) -> registry.BindingContext:
        return registry.BindingContext(info, self.connections, self.host_json, dict(data or {}))

    # -- lifecycle -------------------------------------------------------------------------------------
    async def start(self) -> None:
        await self.inner.start()
        self.index = self.inner.index  # a worker pool learns the index from its first worker

    def check(self) -> None:
        """List in error each function whose storage bindings cannot run (missing or malformed connection);
        raise `ConfigError` when host.json's section of a binding type in use is invalid."""
        registry.check_index(self.index, self.connections)
        registry.check_host_json(self.index, self.host_json)

    def start_listeners(self) -> None:
        for info in list(self.index.functions.values()):
            kind = registry.REGISTRY.get(info.trigger_type)
            if kind is not None and kind.listen is not None:
                listener = kind.listen(info, self, self.context(info))
                listener.start()
                self.listeners.append(listener)

    async def stop_listeners(self) -> None:
        listeners, self.listeners = self.listeners, []
        await asyncio.gather(*(listener.stop() for listener in listeners), return_exceptions=True)

    async def stop(self) -> None:
        await self.stop_listeners()
        await self.inner.stop()
        await self.connections.close()

    # -- calls -----------------------------------------------------------------------------------------
    async def orchestrate(self, calls: list[tuple[str, str]]) -> list[Invocation | WorkerCrashed]:
        return await self.inner.orchestrate(calls)

    async def entity(self, name: str, batch_json: str) -> str:
        return await self.inner.entity(name, batch_json)

    async def activity(self, name: str, input_text: str | None, description: str,
                       inputs: dict[str, WireDatum] | None = None) -> ActivityOutcome:
        info = self.index.lookup("activity", name)
        if info is None or not registry.storage_bindings(info):
            return await self.inner.activity(name, input_text, description, inputs)
        context = self.context(info)
        try:
            inputs = {**(inputs or {}), **await registry.read_inputs(context)}
        except Exception as error:
            return _failed_activity(name, error)
        outcome = await self.inner.activity(name, input_text, description, inputs)
        if outcome.ok and outcome.outputs:
            try:
                await registry.write_outputs(context, outcome.outputs)
            except Exception as error:
                return _failed_activity(name, error)
        return outcome

    async def http(self, name: str, call: HttpCall) -> HttpReply:
        info = self.index.functions.get(name)
        if info is None or not registry.storage_bindings(info):
            return await self.inner.http(name, call)
        context = self.context(info, {**call.params, **call.route_params})
        try:
            call.inputs = {**call.inputs, **await registry.read_inputs(context)}
        except Exception:
            log.exception("Executed 'Functions.%s' (Failed): reading its input bindings failed", name)
            return HttpReply(500)
        reply = await self.inner.http(name, call)
        if reply.outputs:
            try:
                await registry.write_outputs(context, reply.outputs)
            except Exception:
                log.exception("Executed 'Functions.%s' (Failed): writing its output bindings failed", name)
                return HttpReply(500)
        return reply

    async def invoke(self, name: str, call: BindingCall, data: dict[str, Any] | None = None) -> BindingResult:
        """The generic invocation with the storage I/O around it; `data` is the binding data for expressions
        (the trigger's metadata as plain values)."""
        info = self.index.functions[name]
        context = self.context(info, data)
        try:
            call.inputs = {**call.inputs, **await registry.read_inputs(context)}
        except Exception as error:
            log.exception("Executed 'Functions.%s' (Failed): reading its input bindings failed", name)
            return BindingResult(False, error=f"{type(error).__name__}: {error}")
        result = await self.inner.invoke(name, call)
        if result.ok and result.outputs:
            try:
                await registry.write_outputs(context, result.outputs)
            except Exception as error:
                log.exception("Executed 'Functions.%s' (Failed): writing its output bindings failed", name)
                return BindingResult(False, error=f"{type(error).__name__}: {error}")
        return result

    async def timer(self, name: str, past_due: bool, schedule_status: dict[str, str | None]) -> bool:
        return (await self.invoke(name, timer_call(past_due, schedule_status))).ok


def _failed_activity(name: str, error: Exception) -> ActivityOutcome:
    reason, details = invoke.activity_failure(name, error)
    log.warning("%s", reason)
    return ActivityOutcome(False, reason=reason, details=details)
