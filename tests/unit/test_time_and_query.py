"""Pure helpers: time formats the host reads and writes, and query-string parsing like HttpApiHandler's."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from durable_local.host.history import from_micros, history_time, parse_time, status_time, to_micros
from durable_local.host.query_string import Query
from durable_local.host.records import RuntimeStatus


@pytest.mark.parametrize(("text", "expected"), [
    ("2024-01-02T03:04:05.000000Z", datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)),
    ("2019-12-08T23:18:41.3240927Z", datetime(2019, 12, 8, 23, 18, 41, 324092, tzinfo=UTC)),
    ("2026-03-04T05:06:07.891Z", datetime(2026, 3, 4, 5, 6, 7, 891000, tzinfo=UTC)),
    ("2026-03-04T07:06:07.5+02:00", datetime(2026, 3, 4, 5, 6, 7, 500000, tzinfo=UTC)),
    ("2018-03-10T23:59", datetime(2018, 3, 10, 23, 59, tzinfo=UTC)),
    ("2018-11-14", datetime(2018, 11, 14, tzinfo=UTC)),
    ("0001-01-01T00:00:00Z", datetime(1, 1, 1, tzinfo=UTC)),
])
def test_parse_time_accepts_what_clients_send(text: str, expected: datetime) -> None:
    assert parse_time(text) == expected


@pytest.mark.parametrize("text", ["", "yesterday", "2024-13-01", "12:00"])
def test_parse_time_rejects_non_times(text: str) -> None:
    with pytest.raises(ValueError):
        parse_time(text)


def test_time_formats_match_the_extension() -> None:
    moment = datetime(2018, 2, 28, 5, 18, 49, 345237, tzinfo=UTC)
    assert history_time(moment) == "2018-02-28T05:18:49.345237Z"
    assert history_time(moment.replace(microsecond=0)) == "2018-02-28T05:18:49Z"
    assert status_time(moment) == "2018-02-28T05:18:49Z"
    assert from_micros(to_micros(moment)) == moment
    assert from_micros(to_micros(datetime(1, 1, 1, tzinfo=UTC))) == datetime(1, 1, 1, tzinfo=UTC)


def test_query_keys_are_case_insensitive_and_booleans_parse_like_bool_tryparse() -> None:
    query = Query([("ShowInput", "True"), ("showhistory", "yes"), ("TOP", "12"), ("top", "x")])
    assert query.flag("showInput", False) is True
    assert query.flag("showHistory", False) is False  # not a boolean: the default
    assert query.integer("top") == 12


def test_runtime_status_values_split_across_occurrences_case_sensitive_numbers_allowed() -> None:
    query = Query([("runtimeStatus", "Running,completed, Failed"), ("runtimeStatus", "5"),
                   ("runtimeStatus", "Unknown")])
    assert query.statuses() == (RuntimeStatus.Running, RuntimeStatus.Failed, RuntimeStatus.Terminated)


def test_unparsable_dates_count_as_not_given() -> None:
    assert Query([("createdTimeFrom", "soon")]).time("createdTimeFrom") is None
