"""Timer-trigger schedules: NCRONTAB with seconds first, or a TimeSpan, as the Functions timer trigger takes them.

- NCRONTAB: six fields `{second} {minute} {hour} {day} {month} {day-of-week}`, e.g. `0 0 12 * * *` (noon) or
  `0 */5 * * * *`; evaluated in UTC (the local host does not apply WEBSITE_TIME_ZONE). Parsing and the next
  occurrence come from `croniter` with `second_at_beginning=True`; five-field expressions are refused, as the
  Functions host refuses them.
- TimeSpan: `hh:mm:ss` or `d.hh:mm:ss`, an interval counted from the last run (or from start).
- `%SETTING%` is replaced by the app setting of that name, so `schedule="%PURGE_SCHEDULE%"` works.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from croniter import croniter
from croniter.croniter import CroniterError

from durable_local.vocabulary import resolve_setting_references

_TIMESPAN = re.compile(r"^(?:(?P<days>\d+)\.)?(?P<hours>\d{1,2}):(?P<minutes>\d{2}):(?P<seconds>\d{2})$")


class ScheduleError(ValueError):
    """A schedule expression the timer trigger cannot use."""


def resolve_setting(expression: str, settings: Mapping[str, str] | None = None) -> str:
    """Replace every `%NAME%` with the app setting NAME (a missing one is an error, as for any binding value)."""
    try:
        return resolve_setting_references(expression, os.environ if settings is None else settings)
    except ValueError as error:
        raise ScheduleError(f"The schedule '{expression}' cannot be used: {error}") from error


@dataclass(frozen=True)
class Schedule:
    """A parsed schedule; `next_after(moment)` is the first occurrence strictly after `moment`."""

    expression: str
    interval: timedelta | None = None

    @classmethod
    def parse(cls, expression: str, settings: Mapping[str, str] | None = None) -> Schedule:
        text = resolve_setting(expression, settings).strip()
        span = _TIMESPAN.match(text)
        if span:
            interval = timedelta(days=int(span["days"] or 0), hours=int(span["hours"]),
                                 minutes=int(span["minutes"]), seconds=int(span["seconds"]))
            if interval <= timedelta(0):
                raise ScheduleError(f"The TimeSpan schedule '{text}' must be longer than zero.")
            return cls(text, interval)
        fields = text.split()
        if len(fields) != 6:
            raise ScheduleError(
                f"The schedule '{text}' has {len(fields)} field(s); NCRONTAB expressions need six: "
                "{second} {minute} {hour} {day} {month} {day-of-week}.")
        try:
            croniter(text, datetime(2000, 1, 1), second_at_beginning=True)
        except (CroniterError, ValueError, KeyError) as error:
            raise ScheduleError(f"The schedule '{text}' is not a valid NCRONTAB expression: {error}") from error
        return cls(text)

    def next_after(self, moment: datetime, last: datetime | None = None) -> datetime:
        if self.interval is not None:
            return (last or moment) + self.interval if last and last + self.interval > moment \
                else moment + self.interval
        return croniter(self.expression, moment, second_at_beginning=True).get_next(datetime)
