"""Timer schedules in WEBSITE_TIME_ZONE / TZ: zone names (Windows and IANA) and next occurrences across DST
transitions as the timer trigger computes them (New York, 2026: spring forward on 8 March at 02:00, fall back
on 1 November at 02:00)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from durable_local.host.schedule import Schedule
from durable_local.host.time_zone import TimeZoneError, find_zone, timer_time_zone

NEW_YORK = find_zone("Eastern Standard Time")


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def occurrences(expression: str, start: str, count: int) -> list[str]:
    schedule = Schedule.parse(expression, {}, zone=NEW_YORK)
    moment, found = utc(start), []
    for _ in range(count):
        moment = schedule.next_after(moment)
        found.append(moment.strftime("%m-%d %H:%M"))
    return found


def test_windows_and_iana_names_name_the_same_zone() -> None:
    assert NEW_YORK is not None and NEW_YORK.key == "America/New_York"
    assert find_zone("eastern standard time") == NEW_YORK and find_zone("America/New_York") == NEW_YORK
    berlin = find_zone("W. Europe Standard Time")
    assert berlin is not None and berlin.key == "Europe/Berlin"
    assert find_zone("Mars Standard Time") is None and find_zone("America") is None


def test_the_setting_is_website_time_zone_then_tz_and_utc_means_none() -> None:
    zone, source = timer_time_zone({"WEBSITE_TIME_ZONE": "Tokyo Standard Time", "TZ": "Europe/Paris"})
    assert zone is not None and zone.key == "Asia/Tokyo" and source == "WEBSITE_TIME_ZONE"
    zone, source = timer_time_zone({"TZ": ":Europe/Paris"})
    assert zone is not None and zone.key == "Europe/Paris" and source == "TZ"
    assert timer_time_zone({"WEBSITE_TIME_ZONE": "UTC"}) == (None, None)
    assert timer_time_zone({"TZ": "Etc/UTC"}) == (None, None)
    assert timer_time_zone({"TZ": "CET-1CEST,M3.5.0,M10.5.0/3"}) == (None, None)  # unreadable TZ: UTC, logged
    assert timer_time_zone({}) == (None, None)
    with pytest.raises(TimeZoneError, match="WEBSITE_TIME_ZONE 'Mars Standard Time' names no time zone"):
        timer_time_zone({"WEBSITE_TIME_ZONE": "Mars Standard Time"})


def test_nine_every_morning_follows_the_zone_across_spring_forward() -> None:
    assert occurrences("0 0 9 * * *", "2026-03-06T12:00:00", 4) == ["03-06 14:00", "03-07 14:00", "03-08 13:00",
                                                                    "03-09 13:00"]


def test_a_time_skipped_by_spring_forward_runs_an_hour_later() -> None:
    assert occurrences("0 30 2 * * *", "2026-03-07T12:00:00", 3) == ["03-08 07:30", "03-09 06:30", "03-10 06:30"]


def test_a_point_in_time_in_the_repeated_hour_runs_once_on_the_daylight_offset() -> None:
    assert occurrences("0 30 1 * * *", "2026-10-31T12:00:00", 3) == ["11-01 05:30", "11-02 06:30", "11-03 06:30"]
    # started inside the repeated hour, on standard time: the daylight occurrence is taken to have run
    assert occurrences("0 30 1 * * *", "2026-11-01T06:29:00", 1) == ["11-02 06:30"]


def test_an_interval_keeps_its_interval_through_both_repeated_hours() -> None:
    assert occurrences("0 */30 * * * *", "2026-11-01T04:15:00", 6) == [
        "11-01 04:30", "11-01 05:00", "11-01 05:30", "11-01 06:00", "11-01 06:30", "11-01 07:00"]


def test_without_a_zone_schedules_stay_in_utc() -> None:
    schedule = Schedule.parse("0 0 9 * * *", {})
    assert schedule.next_after(utc("2026-03-08T00:00:00")) == utc("2026-03-08T09:00:00")
