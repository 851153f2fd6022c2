"""What crosses the host/worker boundary for a call with bindings: datums, a `BindingCall` and a `BindingResult`.

A datum is the worker protocol's `TypedData` as JSON: `{"type": "string"|"bytes"|"json"|"int"|"double", "value":
...}`; bytes travel base64-encoded in `value` (frames' JSON headers carry them, `durable_local.host.framing`).
The worker turns datums into Python objects with azure.functions' own converters and back, as
azure-functions-python-worker `bindings/meta.py` does: `from_incoming_proto` looks the binding type up in
`azure.functions.get_binding_registry()` (else `generic.GenericBinding`) and calls its
`decode(datum, trigger_metadata=...)`; `get_datum` / `to_outgoing_proto` call `encode(value, expected_type=...)`.
Trigger metadata reaches only the trigger's converter (`dispatcher.py` `_handle__invocation_request` passes
`invoc_request.trigger_metadata` when `bindings.is_trigger_binding`).
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any

from azure.functions import meta

WireDatum = dict[str, Any]


def to_wire(datum: meta.Datum) -> WireDatum:
    value = datum.value
    if datum.type == "bytes":
        value = base64.b64encode(bytes(value)).decode()
    elif datum.type in ("dict", "list"):  # the generic binding's shapes: sent as JSON, as the worker's proto does
        return {"type": "json", "value": json.dumps(value)}
    return {"type": datum.type, "value": value}


def from_wire(wire: WireDatum | None) -> meta.Datum | None:
    if wire is None:
        return None
    value = wire.get("value")
    if wire.get("type") == "bytes":
        value = base64.b64decode(value or "")
    return meta.Datum(value, wire.get("type"))


def string_datum(text: str) -> WireDatum:
    return {"type": "string", "value": text}


def bytes_datum(data: bytes) -> WireDatum:
    return {"type": "bytes", "value": base64.b64encode(data).decode()}


def json_datum(value: Any) -> WireDatum:
    return {"type": "json", "value": json.dumps(value)}


def datum_bytes(wire: WireDatum) -> bytes:
    """A datum's payload as bytes: text UTF-8 encoded, JSON as its text, numbers as their text."""
    value = wire.get("value")
    if wire.get("type") == "bytes":
        return base64.b64decode(value or "")
    if isinstance(value, str):
        return value.encode()
    return json.dumps(value).encode()


@dataclass
class BindingCall:
    """One invocation of a function with a non-Durable trigger: the trigger's datum and metadata (e.g. a queue
    message and its `Id`, `DequeueCount`...), and the input bindings' datums by binding name."""

    trigger: WireDatum | None
    metadata: dict[str, WireDatum] = field(default_factory=dict)
    inputs: dict[str, WireDatum] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"tr": self.trigger, "md": self.metadata, "in": self.inputs}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BindingCall:
        return cls(data.get("tr"), dict(data.get("md") or {}), dict(data.get("in") or {}))


@dataclass
class BindingResult:
    """The outcome: `ok`, the output bindings' datums by binding name (`$return` for the return value; an `Out`
    never set is absent, as the worker skips it), or the error text when the function raised."""

    ok: bool
    outputs: dict[str, WireDatum] = field(default_factory=dict)
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "out": self.outputs, "err": self.error}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BindingResult:
        return cls(bool(data.get("ok")), dict(data.get("out") or {}), data.get("err"))
