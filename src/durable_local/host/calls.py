"""Calls into user code, the one place where the app's functions run, as the Python worker runs them.

`FunctionCalls` takes an indexed app (with its callables) and runs one invocation of each kind: an
orchestrator replay, an entity batch, an activity, an HTTP trigger, and the generic invocation of any other
trigger (`invoke`: timer, queue, blob...: a `BindingCall` in, a `BindingResult` out). Activities and HTTP
functions also take input datums and give output datums (their storage bindings). Inputs and outputs are plain
strings, bytes, datums and small records, so the same calls run in a worker process
(`durable_local.host.worker`) or, in the in-process debugging mode, in the host itself (`InProcessRunner`).

Sync functions run in a thread pool sized like the real worker's: `PYTHON_THREADPOOL_THREAD_COUNT` (at least 1;
a value that is not a number falls back to the default), else (on Python 3.9+) the `ThreadPoolExecutor` default
`min(32, cpu count + 4)`: azure-functions-python-worker `dispatcher.py` `_get_sync_tp_max_workers` passes `None`
when the setting is absent and caps the setting only on Python 3.7 and older
(`constants.PYTHON_THREADPOOL_THREAD_COUNT_MAX_37`, 32; `PYTHON_THREADPOOL_THREAD_COUNT_MAX` is `sys.maxsize`).
Async functions run on the event loop of the process.
"""

from __future__ import annotations

import logging
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import azure.functions as func
from azure.functions.http import HttpResponseConverter

from durable_local.host import invoke
from durable_local.host.failure_text import safe_str, truncated
from durable_local.host.indexing import FunctionIndex, FunctionInfo
from durable_local.host.storage_bindings.invocation import BindingCall, BindingResult, WireDatum
from durable_local.vocabulary import function_not_found

log = logging.getLogger(__name__)

THREADPOOL_SETTING = "PYTHON_THREADPOOL_THREAD_COUNT"


def thread_pool_size() -> int:
    """The sync thread pool size the real Python worker would use here (see the module docstring)."""
    value = os.environ.get(THREADPOOL_SETTING, "").strip()
    if value:
        try:
            count = int(value)
        except ValueError:
            count = 0
        if count >= 1:
            return count
        log.warning("%s=%r must be a whole number of at least 1; using the default", THREADPOOL_SETTING, value)
    return min(32, (os.cpu_count() or 1) + 4)


@dataclass
class ActivityOutcome:
    """An activity's result text (`ok`), or the TaskFailed reason and details the extension would write."""

    ok: bool
    result: str | None = None
    reason: str | None = None
    details: str | None = None
    outputs: dict[str, WireDatum] = field(default_factory=dict)  # its storage output bindings' datums


@dataclass
class HttpCall:
    """An HTTP trigger's request as the host hands it over (repeated values already joined with commas)."""

    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    route_params: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    inputs: dict[str, WireDatum] = field(default_factory=dict)  # input bindings' datums, read by the host


@dataclass
class HttpReply:
    """What the host sends back to the client: status, headers (Set-Cookie repeated) and body."""

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    outputs: dict[str, WireDatum] = field(default_factory=dict)  # storage output bindings' datums


class EntityFailure(Exception):
    """The entity function raised: the whole batch failed (its text is what every caller receives)."""


class FunctionCalls:
    """Runs the app's functions; see the module docstring."""

    def __init__(self, index: FunctionIndex, client_json: str, app_dir: str, threads: int | None = None) -> None:
        self.index = index
        self.client_json = client_json
        self.app_dir = app_dir
        self.executor = ThreadPoolExecutor(max_workers=threads or thread_pool_size(), thread_name_prefix="function")

    def close(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)

    def _arguments(self, info: FunctionInfo, trigger_value: Any,
                   inputs: dict[str, WireDatum] | None = None) -> dict[str, Any]:
        return invoke.arguments(info, trigger_value, lambda: self.client_json, self.app_dir, inputs)

    # -- durable functions -----------------------------------------------------------------------------
    def orchestrate(self, name: str, context_json: str) -> invoke.Invocation:
        info = self.index.lookup("orchestrator", name)
        if info is None:
            return invoke.Invocation(error=function_not_found(name, "orchestrator",
                                                              self.index.known("orchestrator")))
        return invoke.call_orchestrator(info, context_json)

    def entity(self, name: str, batch_json: str) -> str:
        info = self.index.lookup("entity", name)
        if info is None:
            raise EntityFailure(function_not_found(name, "entity", self.index.known("entity")))
        try:
            return str(info.callable(**{info.trigger["name"]: batch_json}))
        except Exception as error:
            raise EntityFailure(truncated(safe_str(error))) from error

    async def activity(self, name: str, input_text: str | None,
                       inputs: dict[str, WireDatum] | None = None) -> ActivityOutcome:
        try:
            info = self.index.lookup("activity", name)
            if info is None:
                raise LookupError(function_not_found(name, "activity", self.index.known("activity")))
            kwargs = self._arguments(info, invoke.decode_activity_input(input_text), inputs)
            value = await invoke.call(info, kwargs, self.executor)
            return ActivityOutcome(True, result=invoke.encode_activity_result(value),
                                   outputs=invoke.outputs(info, kwargs, None))
        except Exception as error:
            reason, details = invoke.activity_failure(name, error)
            log.warning("%s", reason)
            return ActivityOutcome(False, reason=reason, details=details)

    # -- other triggers --------------------------------------------------------------------------------
    async def http(self, name: str, call: HttpCall) -> HttpReply:
        info = self.index.functions[name]
        request = func.HttpRequest(method=call.method, url=call.url, headers=call.headers, params=call.params,
                                   route_params=call.route_params, body=call.body)
        log.info("Executing 'Functions.%s' (Reason='This function was programmatically called via the host "
                 "APIs.')", info.name)
        try:
            kwargs = self._arguments(info, request, call.inputs)
            result = await invoke.call(info, kwargs, self.executor)
            outputs = invoke.outputs(info, kwargs, None, skip_types=("http",))
        except Exception:
            log.exception("Executed 'Functions.%s' (Failed)", info.name)
            return HttpReply(500)
        output = info.output_of_type("http")
        if output is not None and output["name"] != "$return":
            result = kwargs[output["name"]].get()  # a named HTTP output (`binding_arg_name`): its Out's value
        reply = http_reply(info, result)
        reply.outputs = outputs
        return reply

    async def invoke(self, name: str, call: BindingCall) -> BindingResult:
        """The generic invocation of a non-Durable, non-HTTP trigger (timer, queue, blob...): the trigger datum
        and its metadata through the trigger's converter, input datums through theirs, and the outputs back as
        datums. A function that raised, or returned a value without a `$return` binding (as the worker refuses
        it), is a failure with its error text."""
        info = self.index.functions[name]
        try:
            trigger = invoke.decode_datum(invoke.bind_type(info, info.trigger), call.trigger, call.metadata)
            kwargs = self._arguments(info, trigger, call.inputs)
            result = await invoke.call(info, kwargs, self.executor)
            if result is not None and not invoke.has_return_binding(info):
                raise RuntimeError(f"function {info.name!r} without a $return binding returned a non-None value")
            outputs = invoke.outputs(info, kwargs, result)
        except Exception as error:
            log.exception("Executed 'Functions.%s' (Failed)", info.name)
            return BindingResult(False, error=truncated(f"{type(error).__name__}: {safe_str(error)}"))
        log.info("Executed 'Functions.%s' (Succeeded)", info.name)
        return BindingResult(True, outputs=outputs)


def http_reply(info: FunctionInfo, result: Any) -> HttpReply:
    """Encode the result with the library's own `HttpResponseConverter`, as the worker does: content-type
    from mimetype (charset only for text/*), every Set-Cookie kept; anything else is a 500."""
    if not isinstance(result, func.HttpResponse | str):
        log.error("Function '%s' returned %r; an HTTP function must return an HttpResponse or a str",
                  info.name, type(result).__name__)
        return HttpReply(500)
    datum = HttpResponseConverter.encode(result, expected_type=None)
    if datum.type == "string":
        return HttpReply(200, [("Content-Type", "text/plain; charset=utf-8")], str(datum.value).encode())
    value = datum.value
    headers = [(name, str(header.value)) for name, header in value["headers"].items()]
    for cookie in value["cookies"] or []:
        for morsel in cookie.values():
            headers.append(("Set-Cookie", morsel.OutputString()))
    body = value["body"].value
    return HttpReply(int(value["status_code"].value), headers,
                     body if isinstance(body, bytes) else str(body or "").encode())
