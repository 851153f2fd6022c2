"""Calls user functions with their bindings, as the Python worker does (sdk-protocol.md §6.2-6.4).

Arguments are passed by keyword under the binding names; the durable client binding receives its JSON
string; a parameter named `context` receives an `azure.functions.Context`-like object. Sync functions run in
the thread pool, async ones on the event loop of the process that runs user code (a worker process, or the
host in the in-process mode; the SDK's aiohttp session is bound to that loop).
Activity inputs and results go through the SDK's own `ActivityTriggerConverter`.

Output bindings follow azure-functions-python-worker `dispatcher.py` (`_handle__invocation_request`): every
output binding other than `$return` gets an `Out` object (worker `bindings/out.py`) under its name, and after
the call the worker reads each one's `get()` (an `Out` never set sends nothing); the function's return value goes
only to a `$return` binding. Trigger and input datums become arguments through the converter azure.functions
registers for the binding type, and output values become datums the same way (worker `bindings/meta.py`
`from_incoming_proto` / `get_datum`, falling back to `bindings/generic.py` `GenericBinding`): see
`durable_local.host.storage_bindings.invocation`.
"""

from __future__ import annotations

import asyncio
import json
import threading
import typing
import uuid
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any

import azure.functions as func
from azure.functions import meta
from azure.functions.durable_functions import ActivityTriggerConverter

from durable_local.host.failure_text import exception_message, exception_stack, safe_str, truncated
from durable_local.host.indexing import FunctionInfo, is_output
from durable_local.host.storage_bindings.invocation import WireDatum, from_wire, to_wire


@dataclass
class Context:
    """The `context` argument the worker gives a function (RT `bindings/context.py`)."""

    function_name: str
    function_directory: str
    invocation_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    thread_local_storage: threading.local = field(default_factory=threading.local)
    trace_context: Any = None
    retry_context: Any = None


class OutValue(func.Out[Any]):
    """The `Out` object the worker passes for an output binding (worker `bindings/out.py`): set, then read back."""

    def __init__(self) -> None:
        self._value: Any = None

    def set(self, val: Any) -> None:
        self._value = val

    def get(self) -> Any:
        return self._value


def bind_type(info: FunctionInfo, binding: dict[str, Any]) -> str:
    """The converter a parameter goes through: a parameter annotated exactly `str` or `bytes` takes the generic
    binding (the plain value), any other the binding type's converter, as the worker's `functions.py`
    `add_function` chooses `param_bind_type` (so `blob: str` gets the text, `blob: func.InputStream` a stream)."""
    try:
        hints = typing.get_type_hints(info.callable) if info.callable is not None else {}
    except Exception:  # unresolvable annotations: the binding type's converter, as without an annotation
        hints = {}
    if hints.get(binding["name"]) in (str, bytes) and binding["type"] not in ("http", "httpTrigger"):
        return "generic"
    return str(binding["type"])


def decode_datum(binding_type: str, wire: WireDatum | None, metadata: dict[str, WireDatum] | None = None) -> Any:
    """A datum as the argument the worker passes: the registered converter's `decode` (trigger metadata only for
    a trigger), else the generic binding's value (worker `bindings/meta.py` `from_incoming_proto`)."""
    datum = from_wire(wire)
    converter = meta.get_binding_registry().get(binding_type)
    if converter is None:
        return None if datum is None else datum.value  # generic.GenericBinding.decode
    trigger_metadata = {name: from_wire(value) for name, value in (metadata or {}).items()}
    return converter.decode(datum, trigger_metadata=trigger_metadata)


def encode_value(binding_type: str, value: Any) -> WireDatum:
    """An output value as a datum: the registered converter's `encode`, else the generic binding's (worker
    `bindings/meta.py` `get_datum`); a value neither takes is a TypeError, as in the worker."""
    converter = meta.get_binding_registry().get(binding_type)
    try:
        if converter is not None:
            return to_wire(converter.encode(value, expected_type=None))
        return to_wire(_generic_encode(value))
    except NotImplementedError:
        raise TypeError(f'unable to encode outgoing TypedData: unsupported type "{binding_type}" for Python type '
                        f'"{type(value).__name__}"') from None


def _generic_encode(value: Any) -> meta.Datum:
    """The generic binding's encoding (worker `bindings/generic.py` `GenericBinding.encode`)."""
    if isinstance(value, str):
        return meta.Datum(value, "string")
    if isinstance(value, bytes | bytearray):
        return meta.Datum(bytes(value), "bytes")
    if isinstance(value, dict):
        return meta.Datum(value, "dict")
    if isinstance(value, list):
        return meta.Datum(value, "list")
    if isinstance(value, bool | int):
        return meta.Datum(value, "int")
    if isinstance(value, float):
        return meta.Datum(value, "double")
    raise NotImplementedError


def outputs(info: FunctionInfo, kwargs: dict[str, Any], result: Any, skip_types: tuple[str, ...] = ()) -> \
        dict[str, WireDatum]:
    """The output datums after a call: each `Out` that was set, and the return value for a `$return` binding
    (worker `dispatcher.py` `_handle__invocation_request`); bindings of `skip_types` are left to the caller."""
    found: dict[str, WireDatum] = {}
    for binding in info.bindings:
        if not is_output(binding) or binding["type"] in skip_types:
            continue
        name = binding["name"]
        value = result if name == "$return" else kwargs[name].get()
        if value is not None:
            found[name] = encode_value(binding["type"], value)
    return found


def has_return_binding(info: FunctionInfo) -> bool:
    return any(is_output(binding) and binding["name"] == "$return" for binding in info.bindings)


def arguments(info: FunctionInfo, trigger_value: Any, client_json: Callable[[], str], app_dir: str,
              inputs: dict[str, WireDatum] | None = None) -> dict[str, Any]:
    """Keyword arguments for a call: the trigger, each input binding's value (decoded from the datum the host
    read), the durable client binding, an `Out` per named output binding and `context` if declared."""
    kwargs: dict[str, Any] = {info.trigger["name"]: trigger_value}
    for binding in info.input_bindings:
        kwargs[binding["name"]] = decode_datum(bind_type(info, binding), (inputs or {}).get(binding["name"]))
    for name in info.output_names:
        kwargs[name] = OutValue()
    client = info.client_binding
    if client:
        kwargs[client] = client_json()
    if info.accepts_context:
        kwargs["context"] = Context(info.name, app_dir)
    return kwargs


async def call(info: FunctionInfo, kwargs: dict[str, Any], executor: Executor) -> Any:
    """Run a function: awaited on the loop if async, else in a worker thread."""
    if info.is_async:
        return await info.callable(**kwargs)
    return await asyncio.get_running_loop().run_in_executor(executor, lambda: info.callable(**kwargs))


@dataclass
class Invocation:
    """The outcome of calling an orchestrator function: its result text, or the exception's text and stack.

    Plain strings, so that it crosses process boundaries (worker processes return it pickled).
    """

    result: str | None = None
    error: str | None = None
    stack: str | None = None


def call_orchestrator(info: FunctionInfo, context_json: str) -> Invocation:
    """Call an orchestrator's `handle` with the context JSON, as the worker does (sdk-protocol.md §3.1, §3.9)."""
    try:
        return Invocation(result=info.callable(**{info.trigger["name"]: context_json}))
    except Exception as error:  # the SDK raises Exception("...$OutOfProcData$:{state}") from the user's error
        cause = error.__cause__ or error  # the text keeps the SDK's state JSON: truncated once parsed
        return Invocation(error=safe_str(error), stack=exception_stack(cause))


def decode_activity_input(text: str | None) -> Any:
    return ActivityTriggerConverter.decode(meta.Datum(text if text is not None else "null", "string"),
                                           trigger_metadata=None)


def encode_activity_result(value: Any) -> str | None:
    """TaskCompleted.Result: compact JSON, or null for None (the extension re-compacts the worker's JSON)."""
    text = ActivityTriggerConverter.encode(value, expected_type=None).value
    parsed = json.loads(text)
    return None if parsed is None else json.dumps(parsed, separators=(",", ":"))


def activity_failure(name: str, error: BaseException) -> tuple[str, str]:
    """TaskFailed Reason and Details exactly as the extension writes them (sdk-protocol.md §3.9).

    Reason: "Activity function '{name}' failed:  {Type}: {message}" (two spaces). Details: the one-line
    Newtonsoft JSON of a System.Exception wrapping the worker's RpcException. Message and stack are bounded
    (`failure_text`), and building them never raises.
    """
    message = exception_message(error)
    stack = exception_stack(error)
    rpc_message = f"Result: Failure\nException: {message}\nStack: {stack}"
    details: dict[str, Any] = {
        "$type": "System.Exception, System.Private.CoreLib", "ClassName": "System.Exception",
        "Message": f" {message}", "Data": None,
        "InnerException": {
            "$type": "Microsoft.Azure.WebJobs.Script.Workers.Rpc.RpcException, Microsoft.Azure.WebJobs.Script",
            "IsUserException": False, "RemoteStackTrace": stack, "RemoteMessage": message,
            "RemoteTypeName": None, "Message": rpc_message, "Data": {}, "InnerException": None,
            "HelpURL": None, "StackTraceString": None, "RemoteStackTraceString": None, "RemoteStackIndex": 0,
            "ExceptionMethod": None, "HResult": -2146233088, "Source": None, "WatsonBuckets": None},
        "HelpURL": None, "StackTraceString": None, "RemoteStackTraceString": None, "RemoteStackIndex": 0,
        "ExceptionMethod": None, "HResult": -2146233088, "Source": None, "WatsonBuckets": None,
    }
    return truncated(f"Activity function '{name}' failed:  {message}"), json.dumps(details)
