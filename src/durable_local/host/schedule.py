"""Timer-trigger schedules: NCRONTAB with seconds first, or a TimeSpan, as the Functions timer trigger takes them.

- NCRONTAB: six fields `{second} {minute} {hour} {day} {month} {day-of-week}`, e.g. `0 0 12 * * *` (noon) or
  `0 */5 * * * *`; evaluated in UTC, or in the zone of `WEBSITE_TIME_ZONE` / `TZ` (`time_zone`). Parsing and
  the next occurrence come from `croniter` with `second_at_beginning=True`; five-field expressions are refused,
  as the Functions host refuses them.
- In a zone with daylight saving time, the next occurrence is found as the timer trigger finds it
  (azure-webjobs-sdk-extensions `CronSchedule.GetNextOccurrence` and `TryAdjustAmbiguousTime`, its
  `AdjustForDST`): the cron expression runs on local wall-clock time; a time that does not exist (spring
  forward) takes the standard offset, so 02:30 becomes 03:30; in the repeated hour (fall back) a
  point-in-time schedule runs once, on the daylight offset, and an interval schedule (`*`, `/` or `-` in its
  second, minute or hour) keeps its interval through both hours.
- TimeSpan: `hh:mm:ss` or `d.hh:mm:ss`, an interval counted from the last run (or from start).
- `%SETTING%` is replaced by the app setting of that name, so `schedule="%PURGE_SCHEDULE%"` works.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

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
    zone: ZoneInfo | None = None  # None: UTC

    @classmethod
    def parse(cls, expression: str, settings: Mapping[str, str] | None = None,
              zone: ZoneInfo | None = None) -> Schedule:
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
            probe = croniter(text, datetime(2000, 1, 1), second_at_beginning=True)
        except (CroniterError, ValueError, KeyError) as error:
            raise ScheduleError(f"The schedule '{text}' is not a valid NCRONTAB expression: {error}") from error
        try:  # a day the month never has (`0 0 0 30 2 *`): the timer's task would fail on its first wait
            probe.get_next(datetime)
        except CroniterError as error:
            raise ScheduleError(f"The schedule '{text}' never occurs: no date matches its day and month "
                                "fields.") from error
        return cls(text, zone=zone)

    @property
    def is_interval(self) -> bool:
        """`CronSchedule.IsInterval`: `*`, `/` or `-` in the second, minute or hour field."""
        return any(mark in field for field in self.expression.split()[:3] for mark in "*/-")

    def next_after(self, moment: datetime, last: datetime | None = None) -> datetime:
        if self.interval is not None:
            return (last or moment) + self.interval if last and last + self.interval > moment \
                else moment + self.interval
        if self.zone is None:
            return croniter(self.expression, moment, second_at_beginning=True).get_next(datetime)
        return self._next_in_zone(moment, self.zone)

    def _next_wall_time(self, wall: datetime) -> datetime:
        return croniter(self.expression, wall, second_at_beginning=True).get_next(datetime)

    def _next_in_zone(self, moment: datetime, zone: ZoneInfo) -> datetime:
        """`CronSchedule.GetNextOccurrence` with `TimeZoneInfo.Local` = `zone`; the result is in UTC."""
        now = moment.astimezone(zone)
        next_wall = self._next_wall_time(now.replace(tzinfo=None))
        upcoming = _as_dotnet_local(next_wall, zone)
        now_ambiguous, next_ambiguous = _is_ambiguous(now, zone), _is_ambiguous(upcoming, zone)
        offsets_differ = upcoming.utcoffset() != now.utcoffset()
        shift = (upcoming.utcoffset() or timedelta(0)) - (now.utcoffset() or timedelta(0))
        if not self.is_interval and next_ambiguous and not offsets_differ:
            # already on the standard offset in the repeated hour: that occurrence ran on the daylight one
            wall = next_wall
            while _is_ambiguous(_as_dotnet_local(wall, zone), zone):
                wall = self._next_wall_time(wall)
            return _as_dotnet_local(wall, zone).astimezone(UTC)
        if offsets_differ and (next_ambiguous or (self.is_interval and now_ambiguous)):
            # back onto the offset "now" has, as an instant: (next + (next.Offset - now.Offset))
            return upcoming.astimezone(UTC) + shift
        return upcoming.astimezone(UTC)


def _as_dotnet_local(wall: datetime, zone: ZoneInfo) -> datetime:
    """`new DateTimeOffset(localDateTime)`: a wall time that is skipped or repeated takes the standard offset."""
    first, second = wall.replace(tzinfo=zone, fold=0), wall.replace(tzinfo=zone, fold=1)
    if first.utcoffset() == second.utcoffset():
        return first
    return first if not first.dst() else second


def _is_ambiguous(moment: datetime, zone: ZoneInfo) -> bool:
    """`TimeZoneInfo.IsAmbiguousTime`: the moment's wall time in `zone` happens twice (the fall-back hour)."""
    wall = moment.astimezone(zone).replace(tzinfo=None)
    first, second = wall.replace(tzinfo=zone, fold=0), wall.replace(tzinfo=zone, fold=1)
    if first.utcoffset() == second.utcoffset():
        return False
    return first.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == wall  # a skipped time does not round-trip
