"""The status payload of the Durable HTTP API and its `historyEvents` (http-api.md §4, EXT StatusResponsePayload).

- `input`, `output`, `customStatus` are the stored text parsed back to JSON; text that is not JSON comes
  back as a JSON string (EXT `ParseToJToken`), so a terminate reason "done" is `"done"`.
- `createdTime` / `lastUpdatedTime` are whole seconds with `Z`.
- History (`showHistory=true`, not for Pending instances): OrchestratorStarted/Completed rows are dropped,
  so are scheduling rows that have a completion; completions gain `FunctionName` and `ScheduledTime` (and the
  scheduled `Input`, as the stored string, with `showInput`); `Result` is kept, parsed, only with
  `showHistoryOutput`; `EventType` is a name; times are Newtonsoft's (trailing zeros trimmed).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from durable_local.host.history import Event, EventType, status_time_of_micros
from durable_local.host.records import Instance, RuntimeStatus

_TRAILING_ZEROS = re.compile(r"\.(?P<digits>\d*?)0*Z$")
_PLAIN_JSON_STRING = re.compile(r'"[^"\\\x00-\x1f]*"')  # a JSON string with no escapes: its text is the value


def parse_to_token(text: str | None) -> Any:
    """EXT `DurableClient.ParseToJToken`: JSON if it parses, else the text as a string; whitespace → "".

    NaN and infinities (Newtonsoft reads them, so a stored input may hold them) come back as Newtonsoft writes
    them by default (`FloatFormatHandling.String`): "NaN", "Infinity", "-Infinity", so responses stay JSON.
    Text nested too deeply for the parser is returned as a string."""
    if text is None:
        return None
    if not text.strip():
        return ""
    if _PLAIN_JSON_STRING.fullmatch(text):  # the commonest stored output; json.loads would give the same
        return text[1:-1]
    try:
        return json.loads(text, parse_constant=str, parse_float=_newtonsoft_float)
    except (ValueError, RecursionError):
        return text


def _newtonsoft_float(text: str) -> float | str:
    number = float(text)
    if math.isfinite(number):
        return number
    return "Infinity" if number > 0 else "-Infinity"


def newtonsoft_time(text: str | None) -> str | None:
    """Newtonsoft's ISO form of a history time: `.3452370Z` becomes `.345237Z`, `.0000000Z` becomes `Z`."""
    if not text:
        return text
    return _TRAILING_ZEROS.sub(lambda m: f".{m['digits']}Z" if m["digits"] else "Z", text)


def status_payload(instance: Instance, *, show_input: bool = True,
                   history: list[Event] | None = None) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "name": instance.name,
        "instanceId": instance.instance_id,
        "runtimeStatus": instance.runtime_status.value,
        "input": parse_to_token(instance.input) if show_input else None,
        "customStatus": parse_to_token(instance.custom_status),
        "output": parse_to_token(instance.output),
        "createdTime": status_time_of_micros(instance.created_time),
        "lastUpdatedTime": status_time_of_micros(instance.last_updated_time),
    }
    if history is not None:
        payload["historyEvents"] = history
    return payload


_SCHEDULING = (EventType.TaskScheduled, EventType.SubOrchestrationInstanceCreated)
_COMPLETIONS = (EventType.TaskCompleted, EventType.TaskFailed, EventType.SubOrchestrationInstanceCompleted,
                EventType.SubOrchestrationInstanceFailed)


def history_payload(events: list[Event], *, show_input: bool, show_output: bool) -> list[dict[str, Any]]:
    """Transform raw history into the API's `historyEvents` (EXT `GetDurableOrchestrationStatusAsync`).

    Orchestrator start/complete markers are dropped; a scheduling event is dropped once its completion is
    in the history, and the completion carries the scheduled function's name, time and input instead.
    """
    scheduled, completed_ids = _pair_schedulings(events)
    result = []
    for item in events:
        kind = item["EventType"]
        if kind in (EventType.OrchestratorStarted, EventType.OrchestratorCompleted):
            continue
        if kind in _SCHEDULING and item["EventId"] in completed_ids:
            continue
        result.append(_history_row(item, scheduled, show_input=show_input, show_output=show_output))
    return result


def _pair_schedulings(events: list[Event]) -> tuple[dict[int, Event], set[int]]:
    """Scheduling events by their EventId, and the ids whose completion (or failure) is in the history."""
    scheduled: dict[int, Event] = {}
    completed_ids: set[int] = set()
    for item in events:
        kind = item["EventType"]
        if kind in _SCHEDULING:
            scheduled[item["EventId"]] = item
        elif kind in _COMPLETIONS:
            scheduled_id = item.get("TaskScheduledId")
            if isinstance(scheduled_id, int):
                completed_ids.add(scheduled_id)
    return scheduled, completed_ids


def _history_row(item: Event, scheduled: dict[int, Event], *, show_input: bool, show_output: bool) -> dict[str, Any]:
    """One `historyEvents` row: names instead of numbers, .NET times, inputs and results as asked."""
    kind = item["EventType"]
    row = {key: value for key, value in item.items() if key not in ("EventId", "IsPlayed")}
    row["EventType"] = EventType(kind).name
    if not show_input:
        row.pop("Input", None)
    if kind == EventType.ExecutionStarted:
        row["FunctionName"] = row.pop("Name", None)
        for key in ("OrchestrationInstance", "ParentInstance", "Version", "Tags"):
            row.pop(key, None)
    elif kind in _SCHEDULING:
        row.pop("Version", None)  # a still-pending scheduling row
    elif kind in _COMPLETIONS:
        _describe_completion(row, scheduled.get(row.pop("TaskScheduledId", None)) or {}, show_input, show_output)
    elif kind == EventType.ExecutionCompleted:
        status = RuntimeStatus.from_number(row.get("OrchestrationStatus", -1))
        row["OrchestrationStatus"] = status.value if status is not None else "Unknown"
        if show_output:
            row["Result"] = parse_to_token(row.get("Result"))
        else:
            row.pop("Result", None)
    elif kind == EventType.TimerFired:
        row.pop("TimerId", None)
    for key in ("Timestamp", "FireAt"):
        if key in row:
            row[key] = newtonsoft_time(row[key])
    return row


def _describe_completion(row: dict[str, Any], source: Event, show_input: bool, show_output: bool) -> None:
    """A task or sub-orchestration completion row names what was scheduled, when, and with which input."""
    row["FunctionName"] = source.get("Name")
    row["ScheduledTime"] = newtonsoft_time(source.get("Timestamp"))
    if show_input and source.get("Input") is not None:
        row["Input"] = source["Input"]  # inputs stay the stored strings; only results are parsed
    if "Result" in row:
        if show_output:
            row["Result"] = parse_to_token(row["Result"])
        else:
            row.pop("Result")

