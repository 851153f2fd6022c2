"""Route templates (ASP.NET rules) and timer schedules (NCRONTAB with seconds, TimeSpan, %SETTING%)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from durable_local.host.routing import RouteTable, RouteTemplate, RouteTemplateError
from durable_local.host.schedule import Schedule, ScheduleError


def test_encoded_slash_stays_encoded_in_a_route_value() -> None:
    assert RouteTemplate("files/{name}").match("files/a%2Fb") == {"name": "a%2Fb"}


def test_a_literal_segment_beats_a_parameter_whatever_the_registration_order() -> None:
    table = RouteTable()
    table.add("orchestrators/{functionName}/{instanceId?}", "start")
    table.add("orchestrators/{functionName}/wait", "wait")
    assert table.match("orchestrators/Hello/wait")[0] == ("wait", {"functionName": "Hello"})
    assert table.match("orchestrators/Hello/abc")[0] == ("start", {"functionName": "Hello", "instanceId": "abc"})
    assert table.match("orchestrators/Hello")[0] == ("start", {"functionName": "Hello"})


def test_matching_is_case_insensitive_and_decodes_segments() -> None:
    assert RouteTemplate("Instances/{id}").match("instances/a%20b") == {"id": "a b"}


@pytest.mark.parametrize(("template", "path", "expected"), [
    ("items/{id:int}", "items/42", {"id": "42"}),
    ("items/{id:int}", "items/x", None),
    ("items/{id:guid}", "items/6f9619ff-8b86-d011-b42d-00cf4fc964ff", {"id": "6f9619ff-8b86-d011-b42d-00cf4fc964ff"}),
    ("items/{id:range(1,5)}", "items/9", None),
    ("items/{name:alpha:minlength(2)}", "items/ab", {"name": "ab"}),
    ("items/{page=1}", "items", {"page": "1"}),
    ("files/{*path}", "files/a/b/c", {"path": "a/b/c"}),
    ("a/{b}", "a/b/c", None),
    ("a/{b}", "a", None),
])
def test_constraints_defaults_and_catch_all(template: str, path: str, expected: dict[str, str] | None) -> None:
    assert RouteTemplate(template).match(path) == expected


def test_a_constrained_parameter_beats_a_plain_one() -> None:
    table = RouteTable()
    table.add("items/{name}", "by-name")
    table.add("items/{id:int}", "by-id")
    assert table.match("items/7")[0][0] == "by-id"
    assert table.match("items/seven")[0][0] == "by-name"


def test_unsupported_constraints_are_reported() -> None:
    with pytest.raises(RouteTemplateError):
        RouteTemplate("items/{id:bogus}")


NOON = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def test_six_field_ncrontab_with_seconds_first() -> None:
    assert Schedule.parse("0 0 12 * * *").next_after(NOON) == NOON + timedelta(days=1)
    assert Schedule.parse("0 0 0 * * *").next_after(NOON) == datetime(2026, 1, 2, tzinfo=UTC)
    assert Schedule.parse("*/15 * * * * *").next_after(NOON) == NOON + timedelta(seconds=15)
    assert Schedule.parse("0 30 9 * * Mon-Fri").next_after(NOON) == datetime(2026, 1, 2, 9, 30, tzinfo=UTC)


@pytest.mark.parametrize("expression", ["0 0 12 * *", "0 0 99 * * *", "every day", ""])
def test_invalid_schedules_are_refused_with_a_message(expression: str) -> None:
    with pytest.raises(ScheduleError):
        Schedule.parse(expression)


def test_timespan_schedules_count_from_the_last_run() -> None:
    schedule = Schedule.parse("00:05:00")
    assert schedule.next_after(NOON) == NOON + timedelta(minutes=5)
    assert schedule.next_after(NOON, last=NOON - timedelta(minutes=2)) == NOON + timedelta(minutes=3)
    assert Schedule.parse("1.00:00:00").interval == timedelta(days=1)


def test_schedules_from_app_settings() -> None:
    assert Schedule.parse("%PURGE%", {"PURGE": "0 0 0 * * *"}).expression == "0 0 0 * * *"
    with pytest.raises(ScheduleError, match="PURGE"):
        Schedule.parse("%PURGE%", {})
