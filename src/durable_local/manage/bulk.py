"""Bulk operations from the client side, against any app that serves the Durable HTTP API.

The CLI (`durable bulk ...`, `durable purge-history`) and the dashboard use this module:

- `plan(client, operation, BulkFilter(...) | ids)` is the dry run: it lists the exact instance IDs a run acts
  on (the filter's `created_to` pinned to the plan's time, so instances created later never match);
- `execute(client, plan, ...)` acts on exactly those IDs, with bounded concurrency and an optional rate, and
  returns a `BulkReport` with one outcome per instance: `done`, `skipped` (gone, or no longer in a runtime
  status the operation allows) or `failed` (with the reason). Setting `cancel` stops it starting more.

Operations: terminate, suspend, resume, rewind, restart, purge, raise-event. It never acts on management
orchestrations (the app's `BulkOperation` and `RetentionPurge`). Purge acts only on instances that are
terminal when purged: on the local host, through `POST /admin/host/purge-instances` (the host checks the
status and purges in one transaction, 1,000 IDs per request); elsewhere one status read and one purge per
instance. Restart starts the orchestrator again with the same input under the ID `{id}.{plan.run_id}`, so a
repeat of the same plan is a 409 (skipped), never a duplicate. Raise event is at least once.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from durable_local.manage.client import DurableClient, InstanceQuery, Response
from durable_local.manage.errors import CliError, UsageError
from durable_local.manage.parsing import ACTIVE_STATUSES, RUNTIME_STATUSES, TERMINAL_STATUSES, format_datetime

OPERATIONS: tuple[str, ...] = ("terminate", "suspend", "resume", "rewind", "restart", "purge", "raise-event")
ALLOWED_STATUSES: dict[str, tuple[str, ...]] = {
    "terminate": ACTIVE_STATUSES,
    "suspend": ("Pending", "Running", "ContinuedAsNew"),
    "resume": ("Suspended",),
    "rewind": ("Failed",),
    "restart": RUNTIME_STATUSES,
    "purge": TERMINAL_STATUSES,
    "raise-event": ACTIVE_STATUSES,
}
# Operations whose 400 answer means "not in a state that allows it" (e.g. resuming a Running instance).
STATE_CHANGES = frozenset({"suspend", "resume", "rewind"})
MANAGEMENT_ORCHESTRATORS = frozenset({"bulkoperation", "retentionpurge"})
PURGE_ENDPOINT = "/admin/host/purge-instances"
PURGE_BATCH = 1000
LIST_PAGE = 1000

DONE, SKIPPED, FAILED = "done", "skipped", "failed"


class BulkError(UsageError):
    """Raised for a bulk request that cannot be planned: unknown operation or status, an empty filter."""


@dataclass(frozen=True)
class BulkFilter:
    """Which instances: runtime statuses (default: all the operation allows), created from/to, ID prefix, name."""

    runtime_statuses: tuple[str, ...] = ()
    created_from: datetime | None = None
    created_to: datetime | None = None
    instance_id_prefix: str | None = None
    name: str | None = None

    def is_empty(self) -> bool:
        return not (self.runtime_statuses or self.created_from or self.created_to or self.instance_id_prefix
                    or self.name)


@dataclass
class BulkPlan:
    """The dry run: the exact IDs a run acts on, and what selected them."""

    operation: str
    instance_ids: list[str]
    filter: BulkFilter | None
    planned_at: datetime
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])

    @property
    def count(self) -> int:
        return len(self.instance_ids)


@dataclass(frozen=True)
class InstanceOutcome:
    """What happened to one instance."""

    instance_id: str
    result: str  # done, skipped or failed
    reason: str = ""
    new_instance_id: str | None = None


@dataclass(frozen=True)
class BulkProgress:
    """Counts so far, passed to `on_progress` after each instance (or each purge batch)."""

    total: int
    done: int
    skipped: int
    failed: int

    @property
    def handled(self) -> int:
        return self.done + self.skipped + self.failed


@dataclass
class BulkReport:
    """The outcome of `execute`: one `InstanceOutcome` per instance handled."""

    operation: str
    total: int
    outcomes: list[InstanceOutcome]
    cancelled: bool
    elapsed_seconds: float

    def count(self, result: str) -> int:
        return sum(1 for outcome in self.outcomes if outcome.result == result)

    @property
    def done(self) -> int:
        return self.count(DONE)

    @property
    def skipped(self) -> int:
        return self.count(SKIPPED)

    @property
    def failed(self) -> int:
        return self.count(FAILED)

    @property
    def not_started(self) -> int:
        return self.total - len(self.outcomes)

    def failures(self) -> list[InstanceOutcome]:
        return [outcome for outcome in self.outcomes if outcome.result == FAILED]

    def as_json(self) -> dict[str, Any]:
        return {"operation": self.operation, "total": self.total, "done": self.done, "skipped": self.skipped,
                "failed": self.failed, "notStarted": self.not_started, "cancelled": self.cancelled,
                "elapsedSeconds": round(self.elapsed_seconds, 3),
                "outcomes": [{"instanceId": o.instance_id, "result": o.result,
                              **({"reason": o.reason} if o.reason else {}),
                              **({"newInstanceId": o.new_instance_id} if o.new_instance_id else {})}
                             for o in self.outcomes]}


# -- planning ---------------------------------------------------------------------------------------------
def check_operation(operation: str) -> str:
    if operation not in OPERATIONS:
        raise BulkError(f"'{operation}' is not a bulk operation; choose one of {', '.join(OPERATIONS)}")
    return operation


def runtime_statuses(operation: str, names: Sequence[str]) -> tuple[str, ...]:
    """Canonical status names (any case), each one the operation allows; none given: all it allows."""
    allowed = ALLOWED_STATUSES[check_operation(operation)]
    by_lower = {name.lower(): name for name in RUNTIME_STATUSES}
    result: list[str] = []
    for value in names:
        name = by_lower.get(value.strip().lower())
        if name is None:
            raise BulkError(f"'{value}' is not a runtime status; valid names are {', '.join(RUNTIME_STATUSES)}")
        if name not in allowed:
            raise BulkError(f"{operation} acts only on instances that are {', '.join(allowed)}, not {name}")
        if name not in result:
            result.append(name)
    return tuple(result) or allowed


def is_management_orchestration(name: Any) -> bool:
    return str(name or "").lower() in MANAGEMENT_ORCHESTRATORS


def _matches(item: dict[str, Any], selection: BulkFilter) -> bool:
    name = item.get("name")
    if is_management_orchestration(name):
        return False
    return selection.name is None or str(name or "").lower() == selection.name.lower()


def iter_matches(client: DurableClient, operation: str, selection: BulkFilter,
                 now: datetime | None = None) -> Iterator[dict[str, Any]]:
    """Every instance the filter selects for `operation` (statuses checked, `created_to` pinned to `now`)."""
    statuses = runtime_statuses(operation, selection.runtime_statuses)
    pinned = min(selection.created_to or now or datetime.now(UTC), now or datetime.now(UTC))
    query = InstanceQuery(
        created_from=format_datetime(selection.created_from) if selection.created_from else None,
        created_to=format_datetime(pinned), statuses=list(statuses),
        instance_id_prefix=selection.instance_id_prefix or None)
    for items, _token in client.iter_pages(query, top=LIST_PAGE):
        for item in items:
            if _matches(item, selection) and item.get("runtimeStatus") in statuses:
                yield item


def plan(client: DurableClient, operation: str, selection: BulkFilter | Sequence[str]) -> BulkPlan:
    """The dry run: the exact IDs `execute` will act on. An empty filter is refused (never read as "all")."""
    check_operation(operation)
    now = datetime.now(UTC)
    if isinstance(selection, BulkFilter):
        if selection.is_empty():
            raise BulkError("name the instances: give a filter (statuses, created from/to, ID prefix, name) or "
                            "instance IDs; an empty filter is refused rather than read as 'all'")
        runtime_statuses(operation, selection.runtime_statuses)
        pinned = BulkFilter(selection.runtime_statuses, selection.created_from,
                            min(selection.created_to or now, now), selection.instance_id_prefix, selection.name)
        ids = [str(item["instanceId"]) for item in iter_matches(client, operation, pinned, now)]
        return BulkPlan(operation, list(dict.fromkeys(ids)), pinned, now)
    ids = [str(i) for i in selection]
    if not ids or not all(ids):
        raise BulkError("give at least one instance ID, and no empty ones")
    return BulkPlan(operation, list(dict.fromkeys(ids)), None, now)


def would_skip(client: DurableClient, plan: BulkPlan) -> dict[str, str]:
    """For a plan of listed IDs: the ones a run would skip as things stand now (missing, in a status the
    operation does not allow, or a management orchestration), with the reason; a dry run shows them, so it
    matches what the run then does. A filter's plan lists only matching instances: nothing to check."""
    if plan.filter is not None:
        return {}
    allowed = ALLOWED_STATUSES[plan.operation]
    skips: dict[str, str] = {}
    for instance_id in plan.instance_ids:
        status = _status(client, instance_id)
        if status is None:
            skips[instance_id] = "no such instance"
        elif is_management_orchestration(status.get("name")):
            skips[instance_id] = f"it is a management orchestration ({status.get('name')})"
        elif status.get("runtimeStatus") not in allowed:
            skips[instance_id] = f"it is {status.get('runtimeStatus')}; {plan.operation} acts on {', '.join(allowed)}"
    return skips


# -- acting on one instance ------------------------------------------------------------------------------
def _answer(instance_id: str, response: Response, operation: str) -> InstanceOutcome:
    if response.status in (200, 202):
        return InstanceOutcome(instance_id, DONE)
    if response.status == 404:
        return InstanceOutcome(instance_id, SKIPPED, "no such instance (already purged?)")
    if response.status == 410:
        return InstanceOutcome(instance_id, SKIPPED, "it has already finished")
    state_refusal = response.status == 409 or (response.status in (400, 500) and b"InvalidOperation" in response.body)
    if state_refusal or (response.status == 400 and operation in STATE_CHANGES):
        # the API's InvalidOperationException: the instance is no longer in a state that allows the operation
        return InstanceOutcome(instance_id, SKIPPED, f"not in a state that allows it: {response.detail()}")
    return InstanceOutcome(instance_id, FAILED, f"HTTP {response.status}: {response.detail()}".strip())


def _status(client: DurableClient, instance_id: str, *, show_input: bool = False) -> dict[str, Any] | None:
    response = client.expect(client.get_status(instance_id, show_input=show_input), 200, 202, 404)
    body = response.json() if response.status != 404 else None
    return body if isinstance(body, dict) else None


@dataclass(frozen=True)
class _Options:
    operation: str
    run_id: str
    reason: str
    event_name: str | None
    event_data: Any
    check_names: bool


def restarted_instance_id(instance_id: str, run_id: str) -> str:
    """The ID a bulk restart gives the new instance: `{id}.{run_id}` (a repeat of the run finds it)."""
    return f"{instance_id}.{run_id}"


def _restart(client: DurableClient, instance_id: str, options: _Options) -> InstanceOutcome:
    new_id = restarted_instance_id(instance_id, options.run_id)
    if _status(client, new_id) is not None:
        return InstanceOutcome(instance_id, SKIPPED, f"already restarted as '{new_id}' (409)", new_id)
    status = _status(client, instance_id, show_input=True)
    if status is None:
        return InstanceOutcome(instance_id, SKIPPED, "no such instance (already purged?)")
    response = client.start_new(str(status.get("name") or ""), new_id, status.get("input"))
    if response.status == 409:
        return InstanceOutcome(instance_id, SKIPPED, f"already restarted as '{new_id}' (409)", new_id)
    outcome = _answer(instance_id, response, options.operation)
    return InstanceOutcome(instance_id, outcome.result, outcome.reason, new_id if outcome.result == DONE else None)


def _purge_one(client: DurableClient, instance_id: str) -> InstanceOutcome:
    status = _status(client, instance_id)
    if status is None:
        return InstanceOutcome(instance_id, SKIPPED, "no such instance (already purged?)")
    if status.get("runtimeStatus") not in TERMINAL_STATUSES:
        return InstanceOutcome(instance_id, SKIPPED,
                               f"it is {status.get('runtimeStatus')}; only finished instances are purged")
    purged = client.purge_instance(instance_id)
    return InstanceOutcome(instance_id, DONE if purged else SKIPPED, "" if purged else "already purged")


def act(client: DurableClient, instance_id: str, options: _Options) -> InstanceOutcome:
    """Apply the operation to one instance; a failure is an outcome, never an exception."""
    try:
        if options.check_names:
            status = _status(client, instance_id)
            if status is None:
                return InstanceOutcome(instance_id, SKIPPED, "no such instance (already purged?)")
            if is_management_orchestration(status.get("name")):
                return InstanceOutcome(instance_id, SKIPPED,
                                       f"it is a management orchestration ({status.get('name')})")
        if options.operation == "purge":
            return _purge_one(client, instance_id)
        if options.operation == "restart":
            return _restart(client, instance_id, options)
        if options.operation == "raise-event":
            return _answer(instance_id, client.raise_event(instance_id, options.event_name or "", options.event_data),
                           options.operation)
        return _answer(instance_id, client.operation(instance_id, options.operation, options.reason or None),
                       options.operation)
    except CliError as error:
        return InstanceOutcome(instance_id, FAILED, error.message[:300])


# -- running a plan -------------------------------------------------------------------------------------
class RateLimiter:
    """At most `rate` starts per second across threads (None: unlimited)."""

    def __init__(self, rate: float | None) -> None:
        self.interval = 1.0 / rate if rate else 0.0
        self._next = time.monotonic()
        self._lock = threading.Lock()

    def acquire(self, count: int = 1, cancel: threading.Event | None = None) -> None:
        if not self.interval:
            return
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + self.interval * count
        delay = start - time.monotonic()
        if delay > 0:
            if cancel is not None:
                cancel.wait(delay)
            else:
                time.sleep(delay)


def purge_endpoint_available(client: DurableClient) -> bool:
    """Whether the app is the local host, with its list purge (`POST /admin/host/purge-instances`)."""
    response = client.request("POST", PURGE_ENDPOINT, body={"instanceIds": []}, hub_params=True)
    return response.status == 200


def purge_listed(client: DurableClient, instance_ids: list[str],
                 statuses: Sequence[str] = TERMINAL_STATUSES) -> list[InstanceOutcome]:
    """One local-host request: purge those of the IDs that are in `statuses` (terminal) right now."""
    response = client.expect(client.request("POST", PURGE_ENDPOINT, hub_params=True,
                                            body={"instanceIds": instance_ids, "runtimeStatus": list(statuses)}),
                             200)
    body = response.json()
    kept: dict[str, str] = body.get("kept") or {}
    outcomes = [InstanceOutcome(i, DONE) for i in body.get("purged") or []]
    outcomes += [InstanceOutcome(i, SKIPPED, f"it is {status}; only finished instances are purged")
                 for i, status in kept.items()]
    outcomes += [InstanceOutcome(i, SKIPPED, "no such instance (already purged?)") for i in body.get("notFound") or []]
    return outcomes


def purge_by_filter(client: DurableClient, statuses: Sequence[str], created_from: datetime | None,
                    created_to: datetime, instance_id_prefix: str | None = None, *, batch: int = 5000,
                    on_batch: Callable[[int], None] | None = None) -> list[str]:
    """Local host only: purge every instance in `statuses` created in the window, `batch` per request, without
    listing them first; answers exactly the IDs purged (the host reads them in the purging transaction)."""
    flt: dict[str, str] = {"createdTimeTo": format_datetime(created_to)}
    if created_from:
        flt["createdTimeFrom"] = format_datetime(created_from)
    if instance_id_prefix:
        flt["instanceIdPrefix"] = instance_id_prefix
    purged: list[str] = []
    while True:
        body = {"filter": flt, "runtimeStatus": list(statuses), "limit": batch}
        answer = client.expect(client.request("POST", PURGE_ENDPOINT, body=body, hub_params=True), 200).json()
        purged += answer.get("purged") or []
        if on_batch:
            on_batch(len(purged))
        if not answer.get("more"):
            return purged


def execute(
    client: DurableClient,
    plan: BulkPlan,
    *,
    concurrency: int = 8,
    rate_per_second: float | None = None,
    reason: str = "",
    event_name: str | None = None,
    event_data: Any = None,
    on_progress: Callable[[BulkProgress], None] | None = None,
    cancel: threading.Event | None = None,
) -> BulkReport:
    """Act on exactly the plan's IDs; see the module docstring."""
    if concurrency < 1:
        raise BulkError("concurrency must be at least 1")
    if rate_per_second is not None and rate_per_second <= 0:
        raise BulkError("the rate must be a positive number of instances per second")
    if plan.operation == "raise-event" and not event_name:
        raise BulkError("raise-event needs an event name")
    cancel = cancel or threading.Event()
    started = time.monotonic()
    outcomes: list[InstanceOutcome] = []
    limiter = RateLimiter(rate_per_second)

    def report(new: list[InstanceOutcome]) -> None:
        outcomes.extend(new)
        if on_progress:
            on_progress(BulkProgress(plan.count, *(sum(1 for o in outcomes if o.result == r)
                                                   for r in (DONE, SKIPPED, FAILED))))

    if plan.operation == "purge" and purge_endpoint_available(client):
        statuses = runtime_statuses("purge", plan.filter.runtime_statuses if plan.filter else ())
        for start in range(0, plan.count, PURGE_BATCH):
            if cancel.is_set():
                break
            batch = plan.instance_ids[start:start + PURGE_BATCH]
            limiter.acquire(len(batch), cancel)
            report(purge_listed(client, batch, statuses))
    else:
        options = _Options(plan.operation, plan.run_id, reason, event_name, event_data,
                           check_names=plan.filter is None)
        _run_each(client, plan.instance_ids, options, concurrency, limiter, cancel, report)
    return BulkReport(plan.operation, plan.count, outcomes, cancel.is_set() and len(outcomes) < plan.count,
                      time.monotonic() - started)


def _run_each(client: DurableClient, ids: list[str], options: _Options, concurrency: int, limiter: RateLimiter,
              cancel: threading.Event, report: Callable[[list[InstanceOutcome]], None]) -> None:
    """Keep up to `concurrency` instances in flight; results are reported on this thread, in completion order."""
    pending: set[Future[InstanceOutcome]] = set()
    remaining = iter(ids)
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        while True:
            while len(pending) < concurrency and not cancel.is_set():
                instance_id = next(remaining, None)
                if instance_id is None:
                    break
                limiter.acquire(1, cancel)
                if cancel.is_set():
                    break
                pending.add(pool.submit(act, client, instance_id, options))
            if not pending:
                return
            finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            report([future.result() for future in finished])

