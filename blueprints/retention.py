"""The daily retention purge, as a durable orchestration started by a timer trigger.

`purge_history_timer` runs on `PURGE_SCHEDULE` (default midnight UTC) and starts the `RetentionPurge`
orchestration under the instance ID `retention-purge-{yyyy-mm-dd}` (the day of the occurrence): a second
trigger on the same day finds that instance and starts nothing.

The orchestration purges instances in `PURGE_RUNTIME_STATUSES` created more than `RETENTION_DAYS` before it
started, in `PURGE_WINDOW_HOURS` windows of creation time, oldest first (one purge request per window), in
activities of about `PURGE_PROGRESS_SECONDS` (default 5) each, continuing as new after each activity: it has no
time budget and no function timeout to fit in, a backlog of any size is cleared in one run, and a host restart
resumes it at the windows it was in. Its custom status is the progress (`{"phase", "cutoff", "windowStart",
"windowEnd", "windows", "purged", "archiveFailures"}`, updated after each activity), its output the totals.

With `ARCHIVE_CONTAINER` set, each window's instances are written to Azure Blob storage first (see
`_archive.py`) and only those whose archive write succeeded are purged.
"""

import logging
import os
import time
from collections.abc import Generator
from datetime import UTC, datetime, timedelta
from typing import Any

import azure.durable_functions as df
import azure.functions as func

from blueprints import _params
from blueprints._archive import archive_container, archive_then_purge
from blueprints._audit import audit
from blueprints._management_api import InstanceQuery, query_instances, query_instances_page
from blueprints._settings import PurgeSettings

logger = logging.getLogger(__name__)

bp = df.Blueprint()

Orchestration = Generator[Any, Any, Any]

RETENTION_ORCHESTRATOR = "RetentionPurge"
# The oldest creation time a purge window starts from (Azure Table's minimum date).
EARLIEST = datetime(1601, 1, 1, tzinfo=UTC)
PROBE_SIZE = 100
ARCHIVE_BATCH = 500
# A window purged faster than this widens the next one; slower than SLOW_WINDOW_SECONDS narrows it.
FAST_WINDOW_SECONDS = 1.0
SLOW_WINDOW_SECONDS = 4.0
# Midnight UTC (NCRONTAB with seconds); the docs' `0 0 12 * * *` would be noon.
DEFAULT_PURGE_SCHEDULE = "0 0 0 * * *"


def purge_schedule() -> str:
    """The timer's schedule: `%PURGE_SCHEDULE%` when that app setting is set, else midnight UTC.

    A `%SETTING%` schedule has no fallback in the Functions host (an unset setting stops the function from
    loading), so the default is chosen here. Read when the app is indexed, which is when a timer's schedule
    is fixed anyway: changing an app setting in Azure restarts the app.
    """
    return "%PURGE_SCHEDULE%" if os.environ.get("PURGE_SCHEDULE", "").strip() else DEFAULT_PURGE_SCHEDULE


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def parse(value: str) -> datetime:
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def run_instance_id(day: datetime) -> str:
    return f"retention-purge-{day.astimezone(UTC):%Y-%m-%d}"


def occurrence(timer: func.TimerRequest) -> datetime:
    """When this timer occurrence was due: `ScheduleStatus.Next` as the trigger passes it, else now."""
    status = getattr(timer, "schedule_status", None) or {}  # the worker's TimerRequest has it, the ABC not
    due = status.get("Next") if isinstance(status, dict) else None
    if isinstance(due, str) and due:
        try:
            return parse(due)
        except ValueError:
            logger.warning("cannot read the timer's ScheduleStatus.Next %r; using the current time", due)
    return datetime.now(UTC)


@bp.timer_trigger(arg_name="timer", schedule=purge_schedule())
@bp.durable_client_input(client_name="client")
async def purge_history_timer(timer: func.TimerRequest, client: df.DurableOrchestrationClient) -> None:
    settings = PurgeSettings.from_environment()
    instance_id = run_instance_id(occurrence(timer))
    existing = await client.get_status(instance_id)
    if existing and existing.runtime_status is not None:
        logger.info("Retention purge: instance '%s' already exists (%s); one run per day.", instance_id,
                    existing.runtime_status.value)
        return
    state = {"retentionDays": settings.retention_days, "statuses": list(settings.runtime_statuses),
             "windowHours": settings.window_hours, "maxWindowHours": settings.max_window_hours,
             "currentHours": None, "archive": bool(os.environ.get("ARCHIVE_CONTAINER", "").strip()),
             "cutoff": None, "windowStart": None, "windowEnd": None, "windows": 0, "purged": 0,
             "archiveFailures": 0, "sliceSeconds": settings.progress_seconds}
    try:
        await client.start_new(RETENTION_ORCHESTRATOR, instance_id, state)
    except Exception as error:  # a trigger racing this one on another instance of the app started it
        logger.warning("Retention purge: could not start '%s': %s", instance_id, error)
        return
    logger.info("Retention purge: started instance '%s' (statuses %s, older than %g days).", instance_id,
                ",".join(settings.runtime_statuses), settings.retention_days)


def _progress(state: dict[str, Any], phase: str) -> dict[str, Any]:
    return {"phase": phase, "cutoff": state["cutoff"], "windowStart": state["windowStart"],
            "windowEnd": state["windowEnd"], "windows": state["windows"], "purged": state["purged"],
            "archiveFailures": state["archiveFailures"]}


def _finish(context: df.DurableOrchestrationContext, state: dict[str, Any]) -> dict[str, Any]:
    context.set_custom_status(_progress(state, "finished"))
    if not context.is_replaying:
        logger.info("Retention purge: purged %d instances (%s) created before %s in %d windows.",
                    state["purged"], ",".join(state["statuses"]), state["cutoff"], state["windows"])
    return {"cutoff": state["cutoff"], "windows": state["windows"], "purged": state["purged"],
            "archiveFailures": state["archiveFailures"]}


@bp.function_name(RETENTION_ORCHESTRATOR)
@bp.orchestration_trigger(context_name="context", orchestration=RETENTION_ORCHESTRATOR)
def retention_purge(context: df.DurableOrchestrationContext) -> Orchestration:
    state: dict[str, Any] = context.get_input()
    window = timedelta(hours=float(state["windowHours"]))
    if state["cutoff"] is None:
        now = context.current_utc_datetime
        now = now if now.tzinfo else now.replace(tzinfo=UTC)
        cutoff = now - timedelta(days=float(state["retentionDays"]))
        state["cutoff"] = iso(cutoff)
        oldest = yield context.call_activity("RetentionOldest", {"statuses": state["statuses"],
                                                                 "cutoff": state["cutoff"]})
        if oldest is None:
            return _finish(context, state)
        state["windowStart"], state["windowEnd"] = iso(EARLIEST), iso(min(parse(oldest) + window, cutoff))
    context.set_custom_status(_progress(state, "purging"))
    result = yield context.call_activity("RetentionPurgeWindows", {
        "start": state["windowStart"], "end": state["windowEnd"], "cutoff": state["cutoff"],
        "windowHours": state["windowHours"], "maxWindowHours": state.get("maxWindowHours"),
        "currentHours": state.get("currentHours"), "statuses": state["statuses"], "archive": state["archive"],
        "runId": context.instance_id, "window": state["windows"], "sliceSeconds": state.get("sliceSeconds")})
    state["purged"] += int(result["purged"])
    state["archiveFailures"] += int(result["archiveFailures"])
    state["windows"] += int(result["windows"])
    if result["finished"]:
        return _finish(context, state)
    state["windowStart"], state["windowEnd"] = result["windowStart"], result["windowEnd"]
    state["currentHours"] = result["currentHours"]
    context.set_custom_status(_progress(state, "purging"))
    context.continue_as_new(state)
    return None


@bp.function_name("RetentionOldest")
@bp.activity_trigger(input_name="request", activity="RetentionOldest")
@bp.durable_client_input(client_name="client")
async def retention_oldest(request: dict[str, Any], client: df.DurableOrchestrationClient) -> str | None:
    """The oldest creation time on one page of purge candidates (an estimate: pages are not sorted)."""
    query = InstanceQuery(created_time_to=parse(request["cutoff"]), runtime_status=tuple(request["statuses"]),
                          show_input=False)
    page = await query_instances_page(client, query, PROBE_SIZE)
    times = [_params.parse_datetime("createdTime", item["createdTime"])
             for item in page.instances if item.get("createdTime")]
    return iso(min(times)) if times else None


@bp.function_name("RetentionPurgeWindows")
@bp.activity_trigger(input_name="request", activity="RetentionPurgeWindows")
@bp.durable_client_input(client_name="client")
async def retention_purge_windows(request: dict[str, Any],
                                  client: df.DurableOrchestrationClient) -> dict[str, Any]:
    """Purge consecutive windows, oldest first, for about `sliceSeconds` (`PURGE_PROGRESS_SECONDS`, at least one
    window); say where the next call starts."""
    start, end, cutoff = parse(request["start"]), parse(request["end"]), parse(request["cutoff"])
    narrowest = timedelta(hours=float(request["windowHours"]))
    widest = max(narrowest, timedelta(hours=float(request.get("maxWindowHours") or request["windowHours"])))
    window = min(max(timedelta(hours=float(request.get("currentHours") or request["windowHours"])), narrowest),
                 widest)
    container = archive_container() if request.get("archive") else None
    deadline = time.monotonic() + float(request.get("sliceSeconds") or 0)
    purged = failures = windows = 0
    while True:
        index = int(request["window"]) + windows
        began = time.monotonic()
        done, failed = await purge_window(client, start, end, request["statuses"], container,
                                          str(request["runId"]), index)
        took = time.monotonic() - began
        window = next_width(window, took, narrowest, widest)
        purged, failures, windows = purged + done, failures + failed, windows + 1
        if done:
            audit("purge-retention", trigger="orchestration", count=done, reason="retention",
                  instance_filter={"createdTimeFrom": iso(start), "createdTimeTo": iso(end),
                                   "runtimeStatus": list(request["statuses"])},
                  runId=request["runId"], archived=container is not None)
        if end >= cutoff:
            return {"purged": purged, "archiveFailures": failures, "windows": windows, "finished": True}
        start, end = end, min(end + window, cutoff)
        if time.monotonic() >= deadline:
            return {"purged": purged, "archiveFailures": failures, "windows": windows, "finished": False,
                    "windowStart": iso(start), "windowEnd": iso(end), "currentHours": window / timedelta(hours=1)}


def next_width(width: timedelta, took: float, narrowest: timedelta, widest: timedelta) -> timedelta:
    """The next window's width: twice as wide after a window purged in under `FAST_WINDOW_SECONDS`, half as wide
    (never below `PURGE_WINDOW_HOURS`) after one that took over `SLOW_WINDOW_SECONDS`, capped at
    `PURGE_MAX_WINDOW_HOURS`. Sparse years pass in a few requests; dense days stay small requests."""
    if took < FAST_WINDOW_SECONDS:
        return min(width * 2, widest)
    if took > SLOW_WINDOW_SECONDS:
        return max(width / 2, narrowest)
    return width


async def purge_window(client: df.DurableOrchestrationClient, start: datetime, end: datetime,
                       statuses: list[str], container: str | None, run_id: str, window: int) -> tuple[int, int]:
    """Purge one creation-time window (archiving it first when `container` is set): (purged, failed)."""
    if container is None:
        result = await client.purge_instance_history_by(
            start, end, [df.OrchestrationRuntimeStatus(name) for name in statuses])
        return result.instances_deleted, 0
    query = InstanceQuery(created_time_from=start, created_time_to=end, runtime_status=tuple(statuses),
                          show_input=False)
    purged = failures = page_number = 0
    token: str | None = None
    while True:  # list a page, archive it, purge what was archived; tokens are keys, so purging keeps the place
        page = await query_instances(client, query, ARCHIVE_BATCH, token)
        ids = [str(item["instanceId"]) for item in page.instances]
        if ids:
            archived = await archive_then_purge(client, ids, run_id, window * 1000 + page_number, container)
            purged += archived.count("done")
            failures += archived.count("failed")
            page_number += 1
        token = page.continuation_token
        if token is None:
            return purged, failures
