"""Runtime statuses in Durable's vocabulary, and the status JSON the app returns for an instance.

The local host and the CLI have the same vocabulary in `durable_local/vocabulary.py`, which the app cannot
import (it is not deployed); tests/unit/test_vocabulary.py keeps the two in agreement.

Status names are checked strictly: the built-in HTTP API silently drops a name it does not know and then
applies no filter at all, which turns a typo in a purge into "purge everything".
"""

import json
from datetime import UTC, datetime
from typing import Any

import azure.durable_functions as df
from azure.durable_functions.models.DurableOrchestrationStatus import DurableOrchestrationStatus

from blueprints._http import bad_request

RUNTIME_STATUSES: tuple[str, ...] = tuple(status.value for status in df.OrchestrationRuntimeStatus)
TERMINAL_STATUSES: frozenset[str] = frozenset({"Completed", "Failed", "Terminated", "Canceled"})
ACTIVE_STATUSES: frozenset[str] = frozenset(RUNTIME_STATUSES) - TERMINAL_STATUSES
SUSPENDABLE_STATUSES: frozenset[str] = ACTIVE_STATUSES - {"Suspended"}


def in_order(statuses: frozenset[str]) -> tuple[str, ...]:
    """The statuses in the SDK's `OrchestrationRuntimeStatus` order, for messages and default filters."""
    return tuple(name for name in RUNTIME_STATUSES if name in statuses)
_BY_LOWER_NAME = {name.lower(): name for name in RUNTIME_STATUSES}


def runtime_status_names(values: list[str], parameter: str = "runtimeStatus") -> tuple[str, ...]:
    """Canonical status names for `values` (any case); an unknown name is a 400."""
    names: list[str] = []
    for value in values:
        name = _BY_LOWER_NAME.get(value.lower())
        if name is None:
            raise bad_request(f"'{value}' in {parameter} is not a runtime status; valid names are "
                              f"{', '.join(RUNTIME_STATUSES)}")
        if name not in names:
            names.append(name)
    return tuple(names)


def terminal_status_names(values: list[str], parameter: str = "runtimeStatus") -> tuple[str, ...]:
    """Like `runtime_status_names`, and every name must be terminal (only those may be purged)."""
    names = runtime_status_names(values, parameter)
    running = [name for name in names if name not in TERMINAL_STATUSES]
    if running:
        raise bad_request(f"{parameter} {', '.join(running)} is not terminal: only instances that are "
                          f"{', '.join(sorted(TERMINAL_STATUSES))} can be purged")
    return names


def is_terminal(status: DurableOrchestrationStatus) -> bool:
    return status_name(status) in TERMINAL_STATUSES


def status_name(status: DurableOrchestrationStatus) -> str:
    runtime_status = status.runtime_status
    return runtime_status.value if runtime_status is not None else "Unknown"


def decode_input(value: Any) -> Any:
    """The input as the caller gave it.

    The Python SDK's `start_new` sends its input as JSON text, so the status of an instance started by
    this app carries that text as a JSON string; it is decoded back to the value. A string that is not
    JSON text stays as it is.
    """
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _timestamp(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def from_client_status(status: DurableOrchestrationStatus, *, show_input: bool = True,
                       show_history: bool = False) -> dict[str, Any]:
    """The JSON of an instance, from the SDK's `get_status` result (same keys as the built-in API)."""
    body: dict[str, Any] = {
        "name": status.name,
        "instanceId": status.instance_id,
        "runtimeStatus": status_name(status),
        "input": decode_input(status.input_) if show_input else None,
        "customStatus": status.custom_status,
        "output": status.output,
        "createdTime": _timestamp(status.created_time),
        "lastUpdatedTime": _timestamp(status.last_updated_time),
    }
    if show_history:
        body["historyEvents"] = getattr(status, "historyEvents", None) or []
    return body


def from_api_status(payload: dict[str, Any], *, show_input: bool = True) -> dict[str, Any]:
    """The JSON of an instance, from one element of the built-in API's list response."""
    body = dict(payload)
    body["input"] = decode_input(payload.get("input")) if show_input else None
    return body
