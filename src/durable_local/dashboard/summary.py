"""Counts per runtime status and a histogram of created times for a filter, computed from listed instances
(the fallback when the backend has no counting endpoint), with the bucket size chosen for the time window.
Pure logic, no I/O: `backend.py` feeds it pages and marks the result partial when it had to stop early."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from durable_local.manage.parsing import RUNTIME_STATUSES

# Bucket sizes tried from the finest up; the first that gives at most MAX_BUCKETS buckets wins.
BUCKET_SIZES: tuple[timedelta, ...] = (
    timedelta(seconds=1), timedelta(seconds=10), timedelta(minutes=1), timedelta(minutes=10),
    timedelta(hours=1), timedelta(hours=6), timedelta(days=1), timedelta(days=7), timedelta(days=30),
    timedelta(days=365),
)
MAX_BUCKETS = 60
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass
class Bucket:
    """One bar of the created-time histogram: its start and how many instances fall in it."""

    start: datetime
    count: int = 0


@dataclass
class Summary:
    """What the summary panel shows: total, counts per status, histogram buckets, and how sure they are."""

    total: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    buckets: list[Bucket] = field(default_factory=list)
    bucket_size: timedelta = timedelta(days=1)
    partial: bool = False
    scanned: int = 0
    source: str = "paging"

    @property
    def max_bucket(self) -> int:
        return max((b.count for b in self.buckets), default=0)

    def bars(self) -> list[HistogramBar]:
        """The histogram's bars, laid out on the panel's SVG (`histogram_bars`)."""
        return histogram_bars(self.buckets)

    @property
    def range_text(self) -> str:
        """The caption's time range: `from A to B`, or the one bucket's start when there is only one."""
        if not self.buckets:
            return ""
        first = time_label(self.buckets[0].start, self.bucket_size)
        if len(self.buckets) == 1:
            return f"all in the {format_span_words(self.bucket_size)} from {first} UTC"
        return f"{first} to {time_label(self.buckets[-1].start, self.bucket_size)} UTC"


HISTOGRAM_WIDTH = 600.0
HISTOGRAM_HEIGHT = 80.0
HISTOGRAM_BASELINE = 85.0
MIN_SLOTS = 12  # a bar is at most 1/12 of the width: one or two buckets are bars, not a filled panel


@dataclass
class HistogramBar:
    """One bar of the created-time histogram on the SVG: position, size and the bucket it shows."""

    x: float
    y: float
    width: float
    height: float
    bucket: Bucket


def histogram_bars(buckets: list[Bucket], *, width: float = HISTOGRAM_WIDTH, height: float = HISTOGRAM_HEIGHT,
                   baseline: float = HISTOGRAM_BASELINE) -> list[HistogramBar]:
    """Bars scaled to the tallest bucket, one slot each; with fewer buckets than `MIN_SLOTS` the slots keep the
    width of `MIN_SLOTS` slots and are centred, so a single bucket is one bar in the middle."""
    if not buckets:
        return []
    tallest = max(b.count for b in buckets) or 1
    slot = width / max(len(buckets), MIN_SLOTS)
    left = (width - slot * len(buckets)) / 2
    bars = []
    for index, bucket in enumerate(buckets):
        bar_height = height * bucket.count / tallest
        bars.append(HistogramBar(left + index * slot, baseline - bar_height, max(slot - 1, 1.0), bar_height, bucket))
    return bars


def time_label(value: datetime, size: timedelta) -> str:
    """A bucket's start, as precise as the bucket size needs (seconds only for buckets under a minute)."""
    if size < timedelta(minutes=1):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if size < timedelta(days=1):
        return value.strftime("%Y-%m-%d %H:%M")
    return value.strftime("%Y-%m-%d")


def format_span_words(size: timedelta) -> str:
    """A bucket size in words, singular for one unit: `second`, `10 minutes`, `day`."""
    seconds = int(size.total_seconds())
    for unit, length in (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1)):
        if seconds >= length and seconds % length == 0:
            count = seconds // length
            return unit if count == 1 else f"{count} {unit}s"
    return f"{seconds} seconds"


def choose_bucket_size(start: datetime, end: datetime) -> timedelta:
    """The finest bucket size that cuts [start, end] into at most MAX_BUCKETS buckets."""
    span = max(end - start, timedelta(seconds=1))
    for size in BUCKET_SIZES:
        if span / size <= MAX_BUCKETS:
            return size
    return BUCKET_SIZES[-1]


def floor_time(value: datetime, size: timedelta) -> datetime:
    steps = (value - _EPOCH) // size
    return _EPOCH + steps * size


def parse_created(item: Mapping[str, Any]) -> datetime | None:
    text = str(item.get("createdTime") or "")
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def summarize(
    items: Iterable[Mapping[str, Any]],
    *,
    window_from: datetime | None = None,
    window_to: datetime | None = None,
    partial: bool = False,
) -> Summary:
    """Count `items` per runtime status and bucket their created times over the filter's window (or over the
    span of the items themselves when the filter leaves it open)."""
    counts = dict.fromkeys(RUNTIME_STATUSES, 0)
    times: list[datetime] = []
    total = 0
    for item in items:
        total += 1
        status = str(item.get("runtimeStatus") or "")
        counts[status] = counts.get(status, 0) + 1
        created = parse_created(item)
        if created is not None:
            times.append(created)
    summary = Summary(total=total, counts=counts, partial=partial, scanned=total)
    if not times:
        return summary
    start = window_from or min(times)
    end = window_to or max(times)
    size = choose_bucket_size(start, end)
    first = floor_time(start, size)
    count = int((floor_time(end, size) - first) / size) + 1
    buckets = [Bucket(first + i * size) for i in range(count)]
    for created in times:
        index = int((floor_time(created, size) - first) / size)
        if 0 <= index < count:
            buckets[index].count += 1
    summary.buckets = buckets
    summary.bucket_size = size
    return summary


def from_extension(data: Mapping[str, Any]) -> Summary:
    """A summary from the local host's counting endpoint `GET /admin/host/counts` (host/insights_api.py):
    `{"total": n, "counts": {status: n}, "histogram": {"bucketSeconds": s, "buckets": [{"start": iso, "total": n,
    "counts": {...}}]}}` (fields it lacks are left empty)."""
    counts = {str(k): int(v) for k, v in dict(data.get("counts") or {}).items()}
    for status in RUNTIME_STATUSES:
        counts.setdefault(status, 0)
    histogram = data.get("histogram") or {}
    buckets: list[Bucket] = []
    for entry in histogram.get("buckets") or []:
        start = parse_created({"createdTime": entry.get("start")})
        if start is not None:
            buckets.append(Bucket(start, int(entry.get("total", entry.get("count")) or 0)))
    size = timedelta(seconds=float(histogram.get("bucketSeconds") or 86400))
    total = int(data.get("total") or sum(counts.values()))
    return Summary(total=total, counts=counts, buckets=buckets, bucket_size=size,
                   partial=bool(data.get("partial")), scanned=total, source="local host")
