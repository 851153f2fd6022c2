"""Bulk actions on a confirmed set of instances, to the interface the shared decisions give the client-side bulk
module `durable_local.manage.bulk` (bulk stream): `plan(client, operation, filter | ids) -> BulkPlan` (the dry
run: exact ids and count, `created_to` pinned to the plan's time) and `execute(client, plan, *, concurrency,
rate_per_second, reason, event_name, event_data, on_progress, cancel) -> BulkReport` with per-instance outcomes.

This is the thin adapter the dashboard uses until that module is on main; it never acts on an id outside the
plan, bounds concurrency with a thread pool, and stops taking new instances once `cancel` is set.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from durable_local.manage.client import DurableClient, InstanceQuery
from durable_local.manage.errors import CliError

logger = logging.getLogger(__name__)

OPERATIONS = ("terminate", "suspend", "resume", "rewind", "restart", "purge", "raise-event")
TERMINAL = frozenset({"Completed", "Failed", "Terminated", "Canceled"})
PLAN_LIMIT = 100_000


@dataclass(frozen=True)
class BulkFilter:
    runtime_statuses: tuple[str, ...] = ()
    created_from: str | None = None
    created_to: str | None = None
    instance_id_prefix: str | None = None
    name: str | None = None


@dataclass
class BulkPlan:
    """The dry run: the operation and exactly which instances it will act on."""

    operation: str
    ids: list[str]
    planned_at: str
    filter: BulkFilter | None = None

    @property
    def count(self) -> int:
        return len(self.ids)


@dataclass
class Outcome:
    instance_id: str
    result: str  # done | failed | skipped
    reason: str = ""


@dataclass
class BulkReport:
    operation: str
    outcomes: list[Outcome] = field(default_factory=list)
    cancelled: bool = False

    def count(self, result: str) -> int:
        return sum(1 for o in self.outcomes if o.result == result)


def plan(client: DurableClient, operation: str, selection: BulkFilter | Iterable[str], *,
         matches: Callable[[dict[str, Any]], bool] | None = None) -> BulkPlan:
    """Exactly the ids `operation` would act on now (a filter's `created_to` is pinned to this moment, so
    instances created later never join the set). Purge plans only terminal instances."""
    if operation not in OPERATIONS:
        raise CliError(f"unknown bulk operation {operation!r}; known: {', '.join(OPERATIONS)}")
    # whole seconds, rounded up: an instance created earlier in this second is in the plan
    now = (datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    if not isinstance(selection, BulkFilter):
        return BulkPlan(operation, list(dict.fromkeys(selection)), now)
    created_to = selection.created_to if selection.created_to and selection.created_to < now else now
    pinned = BulkFilter(selection.runtime_statuses, selection.created_from, created_to,
                        selection.instance_id_prefix, selection.name)
    query = InstanceQuery(created_from=pinned.created_from, created_to=pinned.created_to,
                          statuses=list(pinned.runtime_statuses), instance_id_prefix=pinned.instance_id_prefix)
    ids: list[str] = []
    for items, _token in client.iter_pages(query, top=1000):
        for item in items:
            if pinned.name and str(item.get("name") or "").lower() != pinned.name.lower():
                continue
            if matches is not None and not matches(item):
                continue
            if operation == "purge" and item.get("runtimeStatus") not in TERMINAL:
                continue
            ids.append(str(item["instanceId"]))
        if len(ids) > PLAN_LIMIT:
            raise CliError(f"more than {PLAN_LIMIT} instances match; narrow the filter")
    return BulkPlan(operation, ids, now, pinned)


def _act_one(client: DurableClient, operation: str, instance_id: str, *, reason: str | None,
             event_name: str | None, event_data: Any) -> Outcome:
    try:
        if operation in ("terminate", "suspend", "resume", "rewind"):
            response = client.operation(instance_id, operation, reason)
            ok = (202,)
        elif operation == "restart":
            response = client.restart(instance_id, new_instance_id=False)
            ok = (202,)
        elif operation == "purge":
            response = client.durable("DELETE", client.instance_path(instance_id))
            ok = (200,)
        else:
            response = client.raise_event(instance_id, event_name or "", event_data)
            ok = (202,)
    except CliError as error:
        return Outcome(instance_id, "failed", error.message)
    if response.status in ok:
        return Outcome(instance_id, "done")
    if response.status == 404:
        return Outcome(instance_id, "skipped", "no longer there")
    return Outcome(instance_id, "failed", f"HTTP {response.status}: {response.detail() or 'no details'}")


def execute(client: DurableClient, plan: BulkPlan, *, concurrency: int = 4, rate_per_second: float | None = None,
            reason: str | None = None, event_name: str | None = None, event_data: Any = None,
            on_progress: Callable[[Outcome], None] | None = None,
            cancel: threading.Event | None = None) -> BulkReport:
    """Act on each id of `plan` (and no other), at most `concurrency` at a time and `rate_per_second` started
    per second; ids not started when `cancel` is set are reported skipped."""
    report = BulkReport(plan.operation)
    cancel = cancel or threading.Event()
    interval = 1.0 / rate_per_second if rate_per_second else 0.0
    pending: set[Future[Outcome]] = set()
    next_start = time.monotonic()

    def record(outcome: Outcome) -> None:
        report.outcomes.append(outcome)
        if on_progress is not None:
            on_progress(outcome)

    with ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="bulk") as pool:
        for instance_id in plan.ids:
            if cancel.is_set():
                record(Outcome(instance_id, "skipped", "cancelled"))
                continue
            while len(pending) >= max(1, concurrency):
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    record(future.result())
            if interval:
                delay = next_start - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                next_start = max(next_start, time.monotonic()) + interval
            pending.add(pool.submit(_act_one, client, plan.operation, instance_id, reason=reason,
                                    event_name=event_name, event_data=event_data))
        for future in pending:
            record(future.result())
    report.cancelled = cancel.is_set()
    return report
