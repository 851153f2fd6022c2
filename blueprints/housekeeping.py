"""Purging instance history: one instance, by filter, and the daily retention purge.

The built-in API purges whatever it is asked to, running instances included, and treats a missing or
misspelled `runtimeStatus` as "every status". The app is strict instead:

- `DELETE instances/{instanceId}` purges one instance, only when it is Completed, Failed, Terminated or
  Canceled (else 409).
- `DELETE instances?createdTimeFrom=&createdTimeTo=&runtimeStatus=` purges by filter; `createdTimeFrom` is
  required and `runtimeStatus` may name terminal statuses only (default: all of them).
- `purge_history_timer` runs daily (`PURGE_SCHEDULE`, default midnight UTC) and purges instances in
  `PURGE_RUNTIME_STATUSES` created more than `RETENTION_DAYS` ago, in `PURGE_WINDOW_HOURS` windows of
  creation time, oldest first, until `PURGE_TIME_BUDGET_SECONDS` is spent: a large backlog is cleared over
  several runs, never by one call that outlives the function timeout.
"""

import logging
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import azure.durable_functions as df
import azure.functions as func

from blueprints import _params
from blueprints._audit import audit
from blueprints._http import bad_request, json_errors, json_response
from blueprints._instances import in_url, require_state
from blueprints._management_api import InstanceQuery, query_instances_page
from blueprints._settings import PurgeSettings
from blueprints._status import TERMINAL_STATUSES, terminal_status_names

logger = logging.getLogger(__name__)

bp = df.Blueprint()

# The oldest creation time a purge window starts from (Azure Table's minimum date).
EARLIEST = datetime(1601, 1, 1, tzinfo=UTC)
PROBE_SIZE = 100
# Midnight UTC (NCRONTAB with seconds); the docs' `0 0 12 * * *` would be noon.
DEFAULT_PURGE_SCHEDULE = "0 0 0 * * *"


def purge_schedule() -> str:
    """The timer's schedule: `%PURGE_SCHEDULE%` when that app setting is set, else midnight UTC.

    A `%SETTING%` schedule has no fallback in the Functions host (an unset setting stops the function from
    loading), so the default is chosen here. Read when the app is indexed, which is when a timer's schedule
    is fixed anyway: changing an app setting in Azure restarts the app.
    """
    return "%PURGE_SCHEDULE%" if os.environ.get("PURGE_SCHEDULE", "").strip() else DEFAULT_PURGE_SCHEDULE


def runtime_statuses(names: tuple[str, ...]) -> list[df.OrchestrationRuntimeStatus]:
    return [df.OrchestrationRuntimeStatus(name) for name in names]


@bp.route(route="instances/{instanceId}", methods=["DELETE"])
@bp.durable_client_input(client_name="client")
@json_errors
async def purge_instance(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    instance_id = _params.instance_id(req)
    await require_state(client, instance_id, "purge", TERMINAL_STATUSES)
    result = await client.purge_instance_history(in_url(instance_id))
    audit("purge", headers=req.headers, instance_id=instance_id, count=result.instances_deleted)
    return json_response({"instancesDeleted": result.instances_deleted})


@bp.route(route="instances", methods=["DELETE"])
@bp.durable_client_input(client_name="client")
@json_errors
async def purge_instances(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    created_from, created_to = _params.created_time_range(req)
    if created_from is None:
        raise bad_request("createdTimeFrom is required to purge by filter (an ISO 8601 date/time)")
    requested = terminal_status_names(_params.list_values(req, "runtimeStatus"))
    names = requested or tuple(sorted(TERMINAL_STATUSES))
    result = await client.purge_instance_history_by(created_from, created_to or datetime.now(UTC),
                                                    runtime_statuses(names))
    audit("purge", headers=req.headers, count=result.instances_deleted,
          instance_filter={"createdTimeFrom": created_from.isoformat(),
                           "createdTimeTo": created_to.isoformat() if created_to else None,
                           "runtimeStatus": list(names)})
    return json_response({"instancesDeleted": result.instances_deleted})


def purge_windows(
    oldest: datetime, cutoff: datetime, window: timedelta
) -> Iterator[tuple[datetime, datetime]]:
    """Creation-time windows covering everything up to `cutoff`, oldest first.

    The first window starts at `EARLIEST` (anything older than `oldest`, which is only an estimate) and
    ends one window after `oldest`; the next ones are `window` long; the last one ends at `cutoff`.
    """
    start, end = EARLIEST, min(oldest + window, cutoff)
    while start < cutoff:
        yield start, end
        start, end = end, min(end + window, cutoff)


@dataclass(frozen=True)
class PurgeReport:
    """What one retention purge did."""

    instances_deleted: int
    windows: int
    finished: bool
    resume_from: datetime | None


async def oldest_created_time(client: df.DurableOrchestrationClient, statuses: tuple[str, ...],
                              cutoff: datetime) -> datetime | None:
    """The oldest creation time on one page of purge candidates (an estimate: pages are not sorted)."""
    query = InstanceQuery(created_time_to=cutoff, runtime_status=statuses, show_input=False)
    page = await query_instances_page(client, query, PROBE_SIZE)
    times = [_params.parse_datetime("createdTime", item["createdTime"])
             for item in page.instances if item.get("createdTime")]
    return min(times) if times else None


async def purge_retention(client: df.DurableOrchestrationClient, settings: PurgeSettings,
                          now: datetime) -> PurgeReport:
    """Purge instances created before `now - retention`, window by window, within the time budget."""
    cutoff = now - timedelta(days=settings.retention_days)
    oldest = await oldest_created_time(client, settings.runtime_statuses, cutoff)
    if oldest is None:
        return PurgeReport(0, 0, True, None)
    deadline = time.monotonic() + settings.time_budget_seconds
    deleted = windows = 0
    statuses = runtime_statuses(settings.runtime_statuses)
    for start, end in purge_windows(oldest, cutoff, timedelta(hours=settings.window_hours)):
        if time.monotonic() >= deadline:
            return PurgeReport(deleted, windows, False, start)
        result = await client.purge_instance_history_by(start, end, statuses)
        deleted += result.instances_deleted
        windows += 1
    return PurgeReport(deleted, windows, True, None)


@bp.timer_trigger(arg_name="timer", schedule=purge_schedule())
@bp.durable_client_input(client_name="client")
async def purge_history_timer(timer: func.TimerRequest, client: df.DurableOrchestrationClient) -> None:
    settings = PurgeSettings.from_environment()
    now = datetime.now(UTC)
    report = await purge_retention(client, settings, now)
    audit("purge-retention", trigger="timer", count=report.instances_deleted,
          instance_filter={"createdTimeTo": (now - timedelta(days=settings.retention_days)).isoformat(),
                           "runtimeStatus": list(settings.runtime_statuses)},
          reason=f"retention of {settings.retention_days:g} days", finished=report.finished,
          windows=report.windows)
    if report.finished:
        logger.info("Retention purge: purged %d instances (%s) older than %g days in %d windows.",
                    report.instances_deleted, ",".join(settings.runtime_statuses), settings.retention_days,
                    report.windows)
    else:
        logger.warning("Retention purge: purged %d instances in %d windows, then stopped at the %g s time "
                       "budget; the next run continues from instances created at %s.",
                       report.instances_deleted, report.windows, settings.time_budget_seconds,
                       report.resume_from.isoformat() if report.resume_from else "?")
