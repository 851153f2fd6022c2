"""Counts of orchestration instances per runtime status, and a histogram of their created times, for a filter.

Answered without a scan of the instances (the dashboard refreshes these figures):
- Without an instance id prefix, whole UTC days come from the `instance_counts` summary (kept by triggers in
  the same transaction as every change to `instances`, see `schema.py`); the partial days at the edges of the
  window (and windows of a few days, whose histogram needs buckets smaller than a day) are counted over
  `instances_by_status` / `instances_by_name` index ranges. Cost: a few summary rows per day of the window,
  plus the instances of at most a few days.
- With a prefix, the prefix's range of the primary key is counted (runtime status and created time come
  before the payload columns in a row, so inputs and outputs are not read): the cost grows with the
  instances that match the prefix (about 1.5 µs each). So that a dashboard refreshing such a figure cannot
  keep the host busy, `CountCache` keeps an answer that took more than 50 ms for 20 times as long as it
  took (at most a minute), and says how old it is.
Entities (`@name@key`) are never counted, as the Durable HTTP API's listing never shows them with instances.

Histogram buckets have a fixed size chosen for the window's span (about 100 buckets at most): 1, 5 or 15
minutes, 1 hour, 1 day, 7 days or 30 days, aligned to the Unix epoch in UTC.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from durable_local.host.records import RuntimeStatus
from durable_local.host.schema import MICROS_PER_DAY
from durable_local.host.store import PREFIX_END, PRIMARY_KEY, InstanceQuery

MICROS_PER_SECOND = 1_000_000
_SUB_DAY_BUCKETS = ((100 * 60, 60), (500 * 60, 300), (25 * 3600, 900), (4 * 86400, 3600))  # (max span, size) s
NOT_ENTITY = "substr(instance_id, 1, 1) != '@'"


@dataclass
class InstanceCounts:
    """The answer: counts per status, a histogram of created times and how it was computed."""

    counts: dict[RuntimeStatus, int]
    bucket_seconds: int
    buckets: dict[int, dict[RuntimeStatus, int]] = field(default_factory=dict)  # bucket start (µs) -> counts
    method: str = "summary"

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def bucket_seconds_for(span_micros: int) -> int:
    """The bucket size for a window: the smallest that gives about 100 buckets or fewer."""
    span = max(span_micros, 0) / MICROS_PER_SECOND
    for max_span, size in _SUB_DAY_BUCKETS:
        if span <= max_span:
            return size
    if span <= 100 * 86400:
        return 86400
    return 7 * 86400 if span <= 700 * 86400 else 30 * 86400


def count_instances(db: sqlite3.Connection, hub: str, query: InstanceQuery) -> InstanceCounts:
    """Counts and histogram for `query` (runtime statuses, created from/to inclusive, prefix, name)."""
    statuses = query.statuses or tuple(RuntimeStatus)
    if query.prefix:
        return _by_prefix(db, hub, query, statuses)
    low, high = _window(db, hub, query, statuses)
    result = InstanceCounts({status: 0 for status in statuses}, bucket_seconds_for(high - low))
    if high < low:
        return result
    bucket = result.bucket_seconds * MICROS_PER_SECOND
    first_day = -(-low // MICROS_PER_DAY)  # the first whole day inside the window
    last_day = (high + 1) // MICROS_PER_DAY - 1  # the last whole day inside the window
    if bucket < MICROS_PER_DAY or first_day > last_day:
        _count_range(db, hub, query, statuses, low, high, bucket, result)
        result.method = "index"
        return result
    _count_days(db, hub, query, statuses, first_day, last_day, bucket, result)
    if low < first_day * MICROS_PER_DAY:
        _count_range(db, hub, query, statuses, low, first_day * MICROS_PER_DAY - 1, bucket, result)
    if (last_day + 1) * MICROS_PER_DAY <= high:
        _count_range(db, hub, query, statuses, (last_day + 1) * MICROS_PER_DAY, high, bucket, result)
    return result


def _window(db: sqlite3.Connection, hub: str, query: InstanceQuery,
            statuses: Sequence[RuntimeStatus]) -> tuple[int, int]:
    """The created-time window; an open end is the first/last day that holds matching instances."""
    low, high = query.created_from, query.created_to
    if low is None or high is None:
        marks = ",".join("?" * len(statuses))
        row = db.execute(f"SELECT MIN(day), MAX(day) FROM instance_counts WHERE hub = ? AND runtime_status IN "
                         f"({marks}) AND count > 0" + (" AND name = ?" if query.name is not None else ""),
                         (hub, *[s.value for s in statuses],
                          *([query.name] if query.name is not None else []))).fetchone()
        if row[0] is None:
            return 0, -1
        low = row[0] * MICROS_PER_DAY if low is None else low
        high = (row[1] + 1) * MICROS_PER_DAY - 1 if high is None else high
    return low, high


def _count_days(db: sqlite3.Connection, hub: str, query: InstanceQuery, statuses: Sequence[RuntimeStatus],
                first_day: int, last_day: int, bucket: int, result: InstanceCounts) -> None:
    marks = ",".join("?" * len(statuses))
    sql = (f"SELECT runtime_status, day * {MICROS_PER_DAY} / ? AS slot, SUM(count) FROM instance_counts "
           f"WHERE hub = ? AND runtime_status IN ({marks}) AND day BETWEEN ? AND ?")
    args: list[object] = [bucket, hub, *[s.value for s in statuses], first_day, last_day]
    if query.name is not None:
        sql += " AND name = ?"
        args.append(query.name)
    for status, slot, count in db.execute(sql + " GROUP BY runtime_status, slot", args):
        if count:
            _add(result, RuntimeStatus(status), int(slot) * bucket, int(count))


def _count_range(db: sqlite3.Connection, hub: str, query: InstanceQuery, statuses: Sequence[RuntimeStatus],
                 low: int, high: int, bucket: int, result: InstanceCounts) -> None:
    """Count `[low, high]` from one index range per status (the instances of a few days at most)."""
    index = "instances_by_name" if query.name is not None else "instances_by_status"
    name_filter = " AND name = ?" if query.name is not None else ""
    for status in statuses:
        sql = (f"SELECT created_time / ?, COUNT(*) FROM instances INDEXED BY {index} WHERE hub = ?{name_filter} "
               f"AND runtime_status = ? AND created_time BETWEEN ? AND ? AND {NOT_ENTITY} GROUP BY 1")
        args: list[object] = [bucket, hub, *([query.name] if query.name is not None else []), status.value,
                              low, high]
        for slot, count in db.execute(sql, args):
            _add(result, status, int(slot) * bucket, int(count))


def _by_prefix(db: sqlite3.Connection, hub: str, query: InstanceQuery,
               statuses: Sequence[RuntimeStatus]) -> InstanceCounts:
    assert query.prefix
    where = ["hub = ?", "instance_id >= ?", "instance_id < ?", NOT_ENTITY]
    args: list[object] = [hub, query.prefix, query.prefix + PREFIX_END]
    where.append(f"runtime_status IN ({','.join('?' * len(statuses))})")
    args += [s.value for s in statuses]
    if query.created_from is not None:
        where.append("created_time >= ?")
        args.append(query.created_from)
    if query.created_to is not None:
        where.append("created_time <= ?")
        args.append(query.created_to)
    if query.name is not None:
        where.append("name = ?")
        args.append(query.name)
    condition = " AND ".join(where)
    if query.created_from is not None and query.created_to is not None:
        low, high = query.created_from, query.created_to
    else:
        row = db.execute(f"SELECT MIN(created_time), MAX(created_time) FROM instances {PRIMARY_KEY} "
                         f"WHERE {condition}", args).fetchone()
        low = query.created_from if query.created_from is not None else (row[0] if row[0] is not None else 0)
        high = query.created_to if query.created_to is not None else (row[1] if row[1] is not None else -1)
    result = InstanceCounts({status: 0 for status in statuses}, bucket_seconds_for(high - low), method="index")
    bucket = result.bucket_seconds * MICROS_PER_SECOND
    for status, slot, count in db.execute(
            f"SELECT runtime_status, created_time / ?, COUNT(*) FROM instances {PRIMARY_KEY} "
            f"WHERE {condition} GROUP BY 1, 2", [bucket, *args]):
        _add(result, RuntimeStatus(status), int(slot) * bucket, int(count))
    return result


def _add(result: InstanceCounts, status: RuntimeStatus, bucket_start: int, count: int) -> None:
    result.counts[status] = result.counts.get(status, 0) + count
    slot = result.buckets.setdefault(bucket_start, {})
    slot[status] = slot.get(status, 0) + count


class CountCache:
    """Keeps slow answers for a prefix (a broad one) for a while; see the module docstring."""

    SLOW_SECONDS = 0.05
    COST_FACTOR = 20
    MAX_AGE_SECONDS = 60.0
    MAX_ENTRIES = 64

    def __init__(self) -> None:
        self._entries: dict[tuple[str, InstanceQuery], tuple[InstanceCounts, float, float]] = {}

    def counts(self, db: sqlite3.Connection, hub: str, query: InstanceQuery) -> tuple[InstanceCounts, float]:
        """The answer for `query` and its age in seconds (0 when just computed)."""
        now = time.monotonic()
        cached = self._entries.get((hub, query))
        if cached is not None and cached[2] > now:
            return cached[0], now - cached[1]
        result = count_instances(db, hub, query)
        elapsed = time.monotonic() - now
        if query.prefix and elapsed > self.SLOW_SECONDS:  # without a prefix the cost is bounded: never kept
            if len(self._entries) >= self.MAX_ENTRIES:
                self._entries = {key: entry for key, entry in self._entries.items() if entry[2] > now}
                if len(self._entries) >= self.MAX_ENTRIES:
                    self._entries.pop(next(iter(self._entries)))
            self._entries[(hub, query)] = (result, now, now + min(self.MAX_AGE_SECONDS, elapsed * self.COST_FACTOR))
        return result, 0.0
