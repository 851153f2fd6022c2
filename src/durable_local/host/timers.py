"""Timer triggers: run each timer function on its schedule, on the host's clock.

As the Functions timer trigger does (with `useMonitor`, the default), the last and next occurrences are
kept in the store, so a host that was down when an occurrence was due runs the function once at start with
`past_due=True`. `run_on_startup` runs it once at start as well. The `TimerRequest` carries
`ScheduleStatus` (`Last`, `Next`, `LastUpdated`) and `Schedule` (`AdjustForDST`) like the real payload.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from durable_local.host.history import from_micros, to_micros
from durable_local.host.indexing import FunctionInfo
from durable_local.host.ports import TimerRuntime
from durable_local.host.schedule import Schedule

log = logging.getLogger(__name__)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


class TimerTriggers:
    """Owns one asyncio task per timer function."""

    def __init__(self, runtime: TimerRuntime) -> None:
        self.runtime = runtime
        self.schedules: dict[str, Schedule] = {}
        for info in runtime.index.of_type("timerTrigger"):
            self.schedules[info.name] = Schedule.parse(str(info.trigger.get("schedule", "")))

    def start(self) -> None:
        for info in self.runtime.index.of_type("timerTrigger"):
            self.runtime.spawn(self._run(info), name=f"timer {info.name}")

    async def _run(self, info: FunctionInfo) -> None:
        schedule = self.schedules[info.name]
        clock, store = self.runtime.clock, self.runtime.store
        last_micros, next_micros, _ = store.timer_status(info.name)
        last = from_micros(last_micros) if last_micros is not None else None
        missed = next_micros is not None and from_micros(next_micros) < clock.now()
        if info.trigger.get("runOnStartup") or (missed and info.trigger.get("useMonitor", True) is not False):
            await self.fire(info, past_due=missed, last=last)
            last = clock.now()
        while True:
            due = schedule.next_after(clock.now(), last)
            store.save_timer_status(info.name, to_micros(last) if last else None, to_micros(due),
                                    to_micros(clock.now()))
            await clock.sleep_until(due)
            self.runtime.enter_busy()
            try:
                await self.fire(info, past_due=False, last=last, due=due, counted=True)
            finally:
                self.runtime.leave_busy()
            last = due

    async def fire(self, info: FunctionInfo, *, past_due: bool, last: datetime | None = None,
                   due: datetime | None = None, counted: bool = False) -> None:
        """Invoke a timer function once; failures are logged, as the host logs a failed invocation."""
        if not counted:
            self.runtime.enter_busy()
        try:
            schedule_status = {"Last": _iso(last), "Next": _iso(due), "LastUpdated": _iso(self.runtime.clock.now())}
            log.info("Executing 'Functions.%s' (Reason='Timer fired at %s')", info.name,
                     self.runtime.clock.now().isoformat())
            await self.runtime.functions.timer(info.name, past_due, schedule_status)
        except asyncio.CancelledError:
            raise
        except Exception:  # the worker running it died: logged by the pool, as the host logs a failed invocation
            log.exception("Executed 'Functions.%s' (Failed)", info.name)
        finally:
            if not counted:
                self.runtime.leave_busy()
