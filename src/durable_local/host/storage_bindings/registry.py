"""The storage binding types the host runs, and what it does for each: the binding registry.

For every supported storage binding type the registry holds a `BindingType`: the storage service its
`connection` must reach (checked at start: a function whose connection is missing or malformed is listed in
error with the reason, and the rest of the app runs), and what the host does around a call:

- `read` (input bindings): before the call, fetch the data and hand the worker a datum under the binding's name;
- `write` (output bindings): after a successful call, store the datum the worker gave for the binding's name;
- `listen` (triggers): a host-side listener (an asyncio task started and stopped by the host) that invokes the
  function through the generic invocation (`BindingRunner.invoke`) for each trigger event.

A `BindingContext` gives the handlers the function, the binding data of this invocation (trigger metadata such
as a queue message's `Id` or an HTTP call's route parameters, for binding expressions), the connections and
host.json. The binding types themselves live in their own modules (`queues`; blobs and tables build on the
same registry), which call `register` and are imported by the package's `__init__`, one line each;
`durable_local.host.indexing.SUPPORTED_BINDINGS` stays the one list of every binding type the host accepts.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from durable_local.host.host_json import HostJson
from durable_local.host.indexing import FunctionIndex, FunctionInfo, is_output
from durable_local.host.storage_bindings.connections import Connections, ConnectionSettingError, connection_name
from durable_local.host.storage_bindings.invocation import WireDatum
from durable_local.vocabulary import resolve_setting_references

if TYPE_CHECKING:
    from durable_local.host.storage_bindings.runner import BindingRunner

log = logging.getLogger(__name__)


@dataclass
class BindingContext:
    """What a handler may use: the function, this invocation's binding data, the connections, host.json (with its
    `AzureFunctionsJobHost__*` overrides applied; typed readers)."""

    info: FunctionInfo
    connections: Connections
    host_json: HostJson = field(default_factory=HostJson)
    data: dict[str, Any] = field(default_factory=dict)  # binding data: trigger metadata, route params...

    def expand(self, text: str) -> str:
        """A binding property with its `%AppSetting%` references resolved."""
        return resolve_setting_references(text, os.environ)


class Listener(Protocol):
    """A trigger's host-side listener."""

    def start(self) -> None: ...

    async def stop(self) -> None: ...


Reader = Callable[[dict[str, Any], BindingContext], Awaitable[WireDatum | None]]
Writer = Callable[[dict[str, Any], WireDatum, BindingContext], Awaitable[None]]
ListenerFactory = Callable[[FunctionInfo, "BindingRunner", BindingContext], Listener]


@dataclass(frozen=True)
class BindingType:
    """What the host does for one binding type (see the module docstring)."""

    service: str  # "queue", "blob" or "table": what its connection must reach
    read: Reader | None = None
    write: Writer | None = None
    listen: ListenerFactory | None = None
    check: Callable[[dict[str, Any]], None] | None = None  # more start-time checks of the binding's properties
    check_host_json: Callable[[HostJson], None] | None = None  # its host.json section, checked once at start


REGISTRY: dict[str, BindingType] = {}


def register(type_name: str, binding_type: BindingType) -> None:
    REGISTRY[type_name] = binding_type


def storage_bindings(info: FunctionInfo) -> list[dict[str, Any]]:
    """The function's bindings (trigger included) that the registry handles."""
    return [binding for binding in info.bindings if binding["type"] in REGISTRY]


def reads(info: FunctionInfo) -> list[dict[str, Any]]:
    return [b for b in info.input_bindings if (kind := REGISTRY.get(b["type"])) is not None and kind.read]


def writes(info: FunctionInfo) -> dict[str, dict[str, Any]]:
    return {b["name"]: b for b in info.bindings
            if is_output(b) and (kind := REGISTRY.get(b["type"])) is not None and kind.write}


def check_function(info: FunctionInfo, connections: Connections) -> None:
    """Raise `ConnectionSettingError` when one of the function's storage bindings cannot run."""
    for binding in storage_bindings(info):
        kind = REGISTRY[binding["type"]]
        connections.check(connection_name(binding), kind.service)
        if kind.check is not None:
            kind.check(binding)


def check_host_json(index: FunctionIndex, host_json: HostJson) -> None:
    """Check the host.json sections of the binding types the app uses; raises `ConfigError` (the host stops, as
    the Functions host does when an extension's options cannot be bound)."""
    used = {binding["type"] for info in index.functions.values() for binding in storage_bindings(info)}
    for type_name in sorted(used):
        checker = REGISTRY[type_name].check_host_json
        if checker is not None:
            checker(host_json)


def check_index(index: FunctionIndex, connections: Connections) -> None:
    """List in error (and take out of the index) each function whose storage bindings cannot run."""
    for info in list(index.functions.values()):
        try:
            check_function(info, connections)
        except (ConnectionSettingError, ValueError) as error:
            reason = f"Function '{info.name}': {error}"
            log.error("The function '%s' is in error: %s", info.name, error)
            index.errors[info.name] = reason
            index.functions.pop(info.name, None)
            for by_name in index.by_kind.values():
                for key, found in list(by_name.items()):
                    if found is info:
                        del by_name[key]


async def read_inputs(context: BindingContext) -> dict[str, WireDatum]:
    """Each storage input binding's datum, read before the call."""
    found: dict[str, WireDatum] = {}
    for binding in reads(context.info):
        reader = REGISTRY[binding["type"]].read
        assert reader is not None
        datum = await reader(binding, context)
        if datum is not None:
            found[binding["name"]] = datum
    return found


async def write_outputs(context: BindingContext, outputs: dict[str, WireDatum]) -> None:
    """Store each storage output binding's datum, after a successful call."""
    targets = writes(context.info)
    for name, datum in outputs.items():
        binding = targets.get(name)
        if binding is None:
            continue
        writer = REGISTRY[binding["type"]].write
        assert writer is not None
        await writer(binding, datum, context)
