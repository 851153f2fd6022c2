"""The instance view's timeline: Gantt-like bars built from the Durable HTTP API's `historyEvents` (activities,
sub-orchestrations, timers, external events), laid out for a server-rendered SVG. Pure logic, no I/O.

The HTTP API's history drops scheduling rows that have a completion and gives the completion `FunctionName` and
`ScheduledTime` (EXT `GetDurableOrchestrationStatusAsync`; see the local host's `host/status.py`), so a finished
activity is one row with its start (`ScheduledTime`) and end (`Timestamp`). Timers pair `TimerCreated` with the
`TimerFired` of the same `FireAt`. A still-pending activity or sub-orchestration runs to "now". The history
does not record when a wait for an external event began, so a wait is drawn from the orchestration's previous
step (the latest end before the event) to the event's arrival.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

LABEL_WIDTH = 230
CHART_WIDTH = 640
ROW_HEIGHT = 22
MAX_BARS = 400

_COMPLETIONS = {
    "TaskCompleted": ("activity", "completed"),
    "TaskFailed": ("activity", "failed"),
    "SubOrchestrationInstanceCompleted": ("sub-orchestration", "completed"),
    "SubOrchestrationInstanceFailed": ("sub-orchestration", "failed"),
}
_PENDING = {"TaskScheduled": "activity", "SubOrchestrationInstanceCreated": "sub-orchestration"}


@dataclass
class Bar:
    """One bar: what ran (kind, name), when, how it ended, and a short result/failure text."""

    kind: str
    name: str
    start: datetime
    end: datetime
    outcome: str
    detail: str = ""
    x: float = 0.0
    width: float = 0.0
    y: float = 0.0

    @property
    def duration_text(self) -> str:
        return format_duration((self.end - self.start).total_seconds())


@dataclass
class Timeline:
    """The bars of an instance's timeline, the time span they cover, and how many were left out."""

    bars: list[Bar]
    start: datetime | None
    end: datetime | None
    truncated: int = 0

    @property
    def height(self) -> int:
        return (len(self.bars) + 1) * ROW_HEIGHT + 10

    @property
    def total_text(self) -> str:
        if self.start is None or self.end is None:
            return ""
        return "+" + format_duration((self.end - self.start).total_seconds())

    @property
    def ticks(self) -> list[tuple[float, str]]:
        """Up to four evenly spaced time labels along the axis (x position, text), each shown once: on a short
        timeline several quarters round to the same text (`+0 ms`), or to the total written at the axis's end."""
        if self.start is None or self.end is None:
            return []
        span = (self.end - self.start).total_seconds()
        shown = {self.total_text}
        ticks: list[tuple[float, str]] = []
        for quarter in range(4):
            label = "+" + format_duration(span * quarter / 4)
            if label not in shown:
                shown.add(label)
                ticks.append((LABEL_WIDTH + CHART_WIDTH * quarter / 4, label))
        return ticks


def parse_time(text: Any) -> datetime | None:
    if not text:
        return None
    try:
        value = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def format_span(size: timedelta) -> str:
    """A bucket size in words: `1 day`, `6 hours`, `10 minutes`, `1 second`."""
    seconds = int(size.total_seconds())
    for unit, length in (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1)):
        if seconds >= length and seconds % length == 0:
            count = seconds // length
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} seconds"


def format_duration(seconds: float) -> str:
    """A short human duration: 850 ms, 12.3 s, 4 min 05 s, 3 h 02 min, 2 d 4 h."""
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    if seconds < 3600:
        return f"{int(seconds // 60)} min {int(seconds % 60):02d} s"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h {int(seconds % 3600 // 60):02d} min"
    return f"{int(seconds // 86400)} d {int(seconds % 86400 // 3600)} h"


def excerpt(value: Any, limit: int = 80) -> str:
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def build(events: Iterable[Mapping[str, Any]], *, now: datetime) -> Timeline:
    """Bars for `events` (the HTTP API's `historyEvents`), in history order, placed on a shared time axis."""
    bars: list[Bar] = []
    timers: dict[str, Bar] = {}
    orchestration_start: datetime | None = None
    orchestration_end: datetime | None = None
    progress: datetime | None = None  # the latest moment the orchestration is known to have moved on
    for row in events:
        kind = str(row.get("EventType") or "")
        stamp = parse_time(row.get("Timestamp")) or now
        if kind == "ExecutionStarted":
            orchestration_start = progress = stamp
        elif kind == "ExecutionCompleted":
            orchestration_end = stamp
        elif kind in _COMPLETIONS:
            bar_kind, outcome = _COMPLETIONS[kind]
            start = parse_time(row.get("ScheduledTime")) or stamp
            detail = excerpt(row.get("Reason") or row.get("Details")) if outcome == "failed" else excerpt(
                row.get("Result"))
            bars.append(Bar(bar_kind, str(row.get("FunctionName") or row.get("Name") or "?"), start, stamp, outcome,
                            detail))
            progress = max(progress or stamp, stamp)
        elif kind in _PENDING:
            bars.append(Bar(_PENDING[kind], str(row.get("Name") or "?"), stamp, now, "running"))
        elif kind == "TimerCreated":
            fire_at = str(row.get("FireAt") or "")
            bar = Bar("timer", "timer", stamp, parse_time(fire_at) or now, "pending", f"fires at {fire_at}")
            timers[fire_at] = bar
            bars.append(bar)
        elif kind == "TimerFired":  # its Timestamp may be when it was scheduled: it fired at FireAt at the earliest
            fire_at = str(row.get("FireAt") or "")
            stamp = max(stamp, parse_time(fire_at) or stamp)
            created = timers.pop(fire_at) if fire_at in timers else None
            if created is None:
                bars.append(Bar("timer", "timer", stamp, stamp, "completed", f"fired (due {fire_at})"))
            else:
                created.end, created.outcome, created.detail = stamp, "completed", f"fired (due {fire_at})"
            progress = max(progress or stamp, stamp)
        elif kind == "EventRaised":
            since = min(progress or stamp, stamp)
            bars.append(Bar("event", str(row.get("Name") or "?"), since, stamp, "completed",
                            excerpt(row.get("Input"))))
            progress = stamp
    return layout(bars, orchestration_start, orchestration_end, now)


def layout(bars: list[Bar], start: datetime | None, end: datetime | None, now: datetime) -> Timeline:
    """Scale the bars to the chart (one row each, at most MAX_BARS), from the first start to the last end."""
    truncated = max(0, len(bars) - MAX_BARS)
    bars = bars[:MAX_BARS]
    if not bars and start is None:
        return Timeline([], None, None, truncated)
    first = min([b.start for b in bars] + ([start] if start else []))
    last = max([b.end for b in bars] + [end or (max((b.end for b in bars), default=first))])
    if end is None and any(b.outcome in ("running", "pending") for b in bars):
        last = max(last, now)
    span = max((last - first).total_seconds(), 0.001)
    for index, bar in enumerate(bars):
        bar.x = LABEL_WIDTH + CHART_WIDTH * (bar.start - first).total_seconds() / span
        bar.width = max(CHART_WIDTH * (bar.end - bar.start).total_seconds() / span, 3.0)
        bar.x = min(bar.x, LABEL_WIDTH + CHART_WIDTH - 3.0)
        bar.y = (index + 1) * ROW_HEIGHT
    return Timeline(bars, first, last, truncated)


def links_from_raw(events: Iterable[Mapping[str, Any]]) -> tuple[str | None, list[tuple[str, str]]]:
    """From raw history (the local host's `/admin/host/instances/{id}/history`, PascalCase DTFx events): the
    parent instance id, and (name, instance id) of every sub-orchestration this instance created."""
    parent: str | None = None
    children: list[tuple[str, str]] = []
    for row in events:
        kind = row.get("EventType")
        if kind in (0, "ExecutionStarted"):
            parent_info = row.get("ParentInstance") or {}
            parent = (parent_info.get("OrchestrationInstance") or {}).get("InstanceId") or parent
        elif kind in (7, "SubOrchestrationInstanceCreated") and row.get("InstanceId"):
            children.append((str(row.get("Name") or "?"), str(row["InstanceId"])))
    return parent, children
