"""A six-field NCRONTAB schedule whose day and month never meet (30 February) is refused when it is parsed,
with a message saying so, instead of failing the timer's task on its first wait; a leap day still runs."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from durable_local.host.schedule import Schedule, ScheduleError


@pytest.mark.parametrize("expression", ["0 0 0 30 2 *", "0 0 12 31 4 *", "0 0 0 31 2,4,6,9,11 *"])
def test_a_schedule_whose_day_never_comes_is_refused(expression: str) -> None:
    with pytest.raises(ScheduleError, match="never occurs"):
        Schedule.parse(expression)


def test_a_leap_day_schedule_is_accepted_and_fires_on_the_next_29_february() -> None:
    schedule = Schedule.parse("0 0 0 29 2 *", zone=ZoneInfo("America/New_York"))
    assert schedule.next_after(datetime(2026, 3, 1, tzinfo=UTC)) == datetime(2028, 2, 29, 5, tzinfo=UTC)
