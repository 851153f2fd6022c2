"""Timer triggers: run each timer function on its schedule, on the host's clock.

As the Functions timer trigger does (with `useMonitor`, the default), the last and next occurrences are
kept in the store, so a host that was down when an occurrence was due runs the function once at start with
`past_due=True`. `run_on_startup` runs it once at start as well. The `TimerRequest` carries
`ScheduleStatus` (`Last`, `Next`, `LastUpdated`) and `Schedule` (`AdjustForDST`) like the real payload.

NCRONTAB schedules run in the zone of `WEBSITE_TIME_ZONE` (else `TZ`, else UTC; `time_zone`), read once at
start; the times in `ScheduleStatus` are then given in that zone, as the host gives them in its local time.
Because this project deploys to Flex Consumption, where Azure ignores both settings, a zone other than UTC is
logged at start as a warning.
"""

from __future__ import annotations

import asyncio
import logging
import os
from datetime import datetime

from durable_local.host.history import from_micros, to_micros
from durable_local.host.indexing import FunctionInfo
from durable_local.host.ports import TimerRuntime
from durable_local.host.schedule import Schedule, ScheduleError
from durable_local.host.time_zone import TimeZoneError, timer_time_zone

log = logging.getLogger(__name__)


class TimerTriggers:
    """Owns one asyncio task per timer function."""

    def __init__(self, runtime: TimerRuntime) -> None:
        self.runtime = runtime
        self.schedules: dict[str, Schedule] = {}
        try:
            self.zone, zone_setting = timer_time_zone(os.environ)
        except TimeZoneError as error:
            raise ScheduleError(str(error)) from error
        for info in runtime.index.of_type("timerTrigger"):
            self.schedules[info.name] = Schedule.parse(str(info.trigger.get("schedule", "")), zone=self.zone)
        if self.zone is not None and self.schedules:
            log.warning("Timer schedules run in %s (%s=%s). On Azure that holds on Windows and on Linux Premium "
                        "and Dedicated plans; Linux Consumption and Flex Consumption ignore %s and run them in UTC.",
                        self.zone.key, zone_setting, os.environ.get(zone_setting or "", ""), zone_setting)

    def _iso(self, moment: datetime | None) -> str | None:
        if moment is None:
            return None
        return (moment.astimezone(self.zone) if self.zone is not None else moment).isoformat()

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
            schedule_status = {"Last": self._iso(last), "Next": self._iso(due),
                               "LastUpdated": self._iso(self.runtime.clock.now())}
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
