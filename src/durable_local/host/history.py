"""History events as DTFx serializes them (sdk-protocol.md §3.2), and the time formats the host emits.

Events are plain dicts with PascalCase keys, `EventType` as an int, `EventId`, `IsPlayed` and a
`Timestamp` with seven fractional digits and `Z` — the Newtonsoft shape the Python SDK parses.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from enum import IntEnum
from typing import Any

Event = dict[str, Any]
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_FRACTION = re.compile(r"\.(?P<digits>\d+)")


class EventType(IntEnum):
    """DTFx `EventType` (DurableTask.Core/History/EventType.cs)."""

    ExecutionStarted = 0
    ExecutionCompleted = 1
    ExecutionFailed = 2
    ExecutionTerminated = 3
    TaskScheduled = 4
    TaskCompleted = 5
    TaskFailed = 6
    SubOrchestrationInstanceCreated = 7
    SubOrchestrationInstanceCompleted = 8
    SubOrchestrationInstanceFailed = 9
    TimerCreated = 10
    TimerFired = 11
    OrchestratorStarted = 12
    OrchestratorCompleted = 13
    EventSent = 14
    EventRaised = 15
    ContinueAsNew = 16
    GenericEvent = 17
    HistoryState = 18
    ExecutionSuspended = 19
    ExecutionResumed = 20
    ExecutionRewound = 21


def to_micros(moment: datetime) -> int:
    """Microseconds since the Unix epoch; how the store keeps times (naive values are taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    delta = moment - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


_NAIVE_EPOCH = datetime(1970, 1, 1)


def from_micros(micros: int) -> datetime:
    seconds, rest = divmod(micros, 1_000_000)
    return EPOCH + timedelta(seconds=seconds, microseconds=rest)


def history_time(moment: datetime) -> str:
    """`2019-12-08T23:18:41.324092Z`: Newtonsoft's `yyyy-MM-ddTHH:mm:ss.FFFFFFFK`, as DTFx serializes history:
    up to seven fraction digits, trailing zeros (and a zero fraction) dropped."""
    text = moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f").rstrip("0").rstrip(".")
    return text + "Z"


def status_time(moment: datetime) -> str:
    """`2018-02-28T05:18:49Z`: `DateTime.ToString("s") + "Z"`, truncated to whole seconds (EXT ConvertFrom)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def status_time_of_micros(micros: int) -> str:
    """`status_time(from_micros(micros))` without the time zone conversion and `strftime` (a page of 100
    statuses formats 200 times; this is about a third of the cost)."""
    return (_NAIVE_EPOCH + timedelta(microseconds=micros)).isoformat(timespec="seconds") + "Z"


def parse_time(text: str) -> datetime:
    """Parse an ISO-8601 time as the SDK and users send it (`Z`, offsets, 1-7 fraction digits, date only).

    Naive values are UTC, as `DateTime.TryParse` on the real host treats the SDK's `...Z` strings.
    Raises ValueError for anything else.
    """
    value = text.strip()
    if not value:
        raise ValueError("empty time")
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    fraction = _FRACTION.search(value)
    if fraction:  # Python takes at most six digits; .NET sends seven
        value = f"{value[:fraction.start()]}.{fraction['digits'][:6].ljust(6, '0')}{value[fraction.end():]}"
    parsed = datetime.fromisoformat(value)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def event(event_type: EventType, timestamp: datetime, event_id: int = -1, **fields: Any) -> Event:
    """One history event with the four keys every event must carry (sdk-protocol.md §3.2)."""
    return {"EventType": int(event_type), "EventId": event_id, "IsPlayed": False,
            "Timestamp": history_time(timestamp), **fields}


def execution_started(timestamp: datetime, instance_id: str, execution_id: str, name: str,
                      input_text: str | None, parent: dict[str, Any] | None = None) -> Event:
    return event(EventType.ExecutionStarted, timestamp,
                 OrchestrationInstance={"InstanceId": instance_id, "ExecutionId": execution_id},
                 ParentInstance=parent, Name=name, Version="", Input=input_text, Tags=None)


def orchestrator_started(timestamp: datetime) -> Event:
    return event(EventType.OrchestratorStarted, timestamp)


def orchestrator_completed(timestamp: datetime) -> Event:
    return event(EventType.OrchestratorCompleted, timestamp)
