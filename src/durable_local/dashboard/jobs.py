"""Bulk runs of the dashboard: confirmed plans (dry runs) kept by id, and runs in background threads with their
progress, cancellation and per-instance outcomes, through the CLI's `durable_local.manage.bulk` (the same code
as `durable bulk`). A run acts only on the ids of the plan it was started from, and a plan runs once."""

from __future__ import annotations

import logging
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from durable_local.manage import bulk
from durable_local.manage.client import DurableClient

logger = logging.getLogger("durable_local.dashboard.actions")

PLAN_TTL_SECONDS = 15 * 60
MAX_KEPT = 50


@dataclass
class PlannedRun:
    """A bulk plan the user has seen (the dry run) and may confirm, with the options it will run with."""

    id: str
    plan: bulk.BulkPlan
    reason: str
    event_name: str
    event_data: Any
    created: float = field(default_factory=time.monotonic)


@dataclass
class Job:
    """A confirmed bulk run in progress: its counts so far and the event that cancels it."""

    id: str
    planned: PlannedRun
    concurrency: int
    cancel: threading.Event = field(default_factory=threading.Event)
    done: int = 0
    failed: int = 0
    skipped: int = 0
    finished: bool = False
    report: bulk.BulkReport | None = None
    error: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def total(self) -> int:
        return self.planned.plan.count

    @property
    def processed(self) -> int:
        return self.done + self.failed + self.skipped

    @property
    def not_started(self) -> int:
        return self.report.not_started if self.report else 0

    @property
    def percent(self) -> int:
        return 100 if self.total == 0 else int(100 * self.processed / self.total)


class Jobs:
    """Plans and runs of one dashboard process."""

    def __init__(self, client: DurableClient) -> None:
        self.client = client
        self.plans: dict[str, PlannedRun] = {}
        self.jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    def add_plan(self, plan: bulk.BulkPlan, *, reason: str, event_name: str, event_data: Any) -> PlannedRun:
        planned = PlannedRun(secrets.token_hex(8), plan, reason, event_name, event_data)
        with self._lock:
            now = time.monotonic()
            for key in [k for k, p in self.plans.items() if now - p.created > PLAN_TTL_SECONDS]:
                del self.plans[key]
            self.plans[planned.id] = planned
        ids = plan.instance_ids
        logger.info("bulk dry run: %s would act on %d instance(s)%s", plan.operation, plan.count,
                    ": " + ", ".join(ids[:20]) + (" ..." if plan.count > 20 else "") if ids else "")
        return planned

    def start(self, plan_id: str, *, concurrency: int) -> Job | None:
        with self._lock:
            planned = self.plans.pop(plan_id, None)  # a plan runs once
            if planned is None:
                return None
            job = Job(secrets.token_hex(8), planned, concurrency)
            self.jobs[job.id] = job
            while len(self.jobs) > MAX_KEPT:
                oldest = next(iter(self.jobs))
                if not self.jobs[oldest].finished:
                    break
                del self.jobs[oldest]
        threading.Thread(target=self._run, args=(job,), name=f"bulk-{job.id}", daemon=True).start()
        return job

    def _run(self, job: Job) -> None:
        planned = job.planned

        def progress(counts: bulk.BulkProgress) -> None:
            with job.lock:
                job.done, job.failed, job.skipped = counts.done, counts.failed, counts.skipped

        logger.info("bulk %s started on %d instance(s) (job %s)", planned.plan.operation, job.total, job.id)
        try:
            job.report = bulk.execute(self.client, planned.plan, concurrency=job.concurrency,
                                      reason=planned.reason, event_name=planned.event_name or None,
                                      event_data=planned.event_data, on_progress=progress, cancel=job.cancel)
            job.done, job.failed, job.skipped = job.report.done, job.report.failed, job.report.skipped
        except Exception as error:  # a crash of the run must show in the page, not vanish in a thread
            logger.exception("bulk job %s failed", job.id)
            job.error = str(error)
        finally:
            job.finished = True
        logger.info("bulk %s finished (job %s): %d done, %d failed, %d skipped, %d not started%s",
                    planned.plan.operation, job.id, job.done, job.failed, job.skipped, job.not_started,
                    " (cancelled)" if job.cancel.is_set() else "")
        if job.report:
            for outcome in job.report.outcomes:
                if outcome.result != "done":
                    logger.info("bulk %s %s: %s %s", planned.plan.operation, outcome.instance_id, outcome.result,
                                outcome.reason)
