"""The dashboard's pure logic: the filter in the page URL, counts and histogram buckets, the timeline built from
the HTTP API's history, escaped collapsible JSON, and what counts as a loopback address."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from multidict import MultiDict

from durable_local.dashboard import jsonview, summary, timeline
from durable_local.dashboard.command import is_loopback
from durable_local.dashboard.filters import FilterError, InstanceFilter


# -- filter ---------------------------------------------------------------------------------------------
def test_filter_round_trips_through_the_url():
    query = MultiDict([("status", "running"), ("status", "Failed,Completed"), ("from", "2026-01-01"),
                       ("to", "2026-01-02T10:00"), ("prefix", "order-"), ("name", "Hello"), ("q", "abc"),
                       ("size", "100"), ("order", "desc"), ("refresh", "off")])
    flt = InstanceFilter.from_query(query)
    assert flt.statuses == ("Running", "Failed", "Completed")
    assert flt.created_from == datetime(2026, 1, 1, tzinfo=UTC)
    assert flt.created_to == datetime(2026, 1, 2, 10, tzinfo=UTC)
    again = InstanceFilter.from_query(MultiDict(flt.params()))
    assert again == flt
    assert flt.api_query().params() == {"createdTimeFrom": "2026-01-01T00:00:00Z",
                                        "createdTimeTo": "2026-01-02T10:00:00Z",
                                        "runtimeStatus": "Running,Failed,Completed", "instanceIdPrefix": "order-",
                                        "showInput": "false"}


@pytest.mark.parametrize(("params", "message"), [
    ({"status": "Runing"}, "unknown runtime status 'Runing'"),
    ({"prefx": "a"}, "unknown parameter(s) prefx"),
    ({"size": "7"}, "page size must be one of"),
    ({"from": "yesterday"}, "'from' must be an ISO 8601 time"),
    ({"from": "2026-02-01", "to": "2026-01-01"}, "'from' is later than 'to'"),
    ({"order": "up"}, "order must be"),
])
def test_filter_refuses_what_it_cannot_honour(params, message):
    with pytest.raises(FilterError, match=message.replace("(", r"\(").replace(")", r"\)")):
        InstanceFilter.from_query(MultiDict(params))


def test_name_and_free_text_match_on_the_dashboard_side():
    flt = InstanceFilter(name="hello", text="42")
    assert flt.needs_local_filter
    assert flt.matches({"name": "Hello", "instanceId": "order-421"})
    assert not flt.matches({"name": "Hello", "instanceId": "order-1"})
    assert not flt.matches({"name": "Other", "instanceId": "order-42"})


# -- summary --------------------------------------------------------------------------------------------
def test_bucket_size_fits_the_window():
    start = datetime(2026, 1, 1, tzinfo=UTC)
    assert summary.choose_bucket_size(start, start + timedelta(minutes=30)) == timedelta(minutes=1)
    assert summary.choose_bucket_size(start, start + timedelta(days=2)) == timedelta(hours=1)
    assert summary.choose_bucket_size(start, start + timedelta(days=30)) == timedelta(days=1)
    assert summary.choose_bucket_size(start, start + timedelta(days=365)) == timedelta(days=7)


def test_summarize_counts_statuses_and_buckets_created_times():
    start = datetime(2026, 1, 1, tzinfo=UTC)
    items = [{"runtimeStatus": "Completed" if i % 3 else "Failed",
              "createdTime": (start + timedelta(hours=i)).strftime("%Y-%m-%dT%H:%M:%SZ")} for i in range(48)]
    result = summary.summarize(items, partial=True)
    assert result.total == 48 and result.partial
    assert result.counts["Failed"] == 16 and result.counts["Completed"] == 32 and result.counts["Running"] == 0
    assert result.bucket_size == timedelta(hours=1)
    assert len(result.buckets) == 48 and {b.count for b in result.buckets} == {1}
    assert sum(b.count for b in result.buckets) == 48


def test_summary_from_the_local_host_extension():
    result = summary.from_extension({"counts": {"Running": 3, "Failed": 1}, "partial": False,
                                     "histogram": {"bucketSeconds": 3600,
                                                   "buckets": [{"start": "2026-01-01T00:00:00Z", "total": 4}]}})
    assert result.total == 4 and result.counts["Completed"] == 0 and result.source == "local host"
    assert result.buckets[0].count == 4 and result.bucket_size == timedelta(hours=1)


# -- timeline -------------------------------------------------------------------------------------------
HISTORY = [
    {"EventType": "ExecutionStarted", "Timestamp": "2026-01-01T00:00:00Z", "FunctionName": "Order"},
    {"EventType": "TaskCompleted", "Timestamp": "2026-01-01T00:00:02Z", "ScheduledTime": "2026-01-01T00:00:01Z",
     "FunctionName": "Reserve", "Result": "ok"},
    {"EventType": "TimerCreated", "Timestamp": "2026-01-01T00:00:02Z", "FireAt": "2026-01-01T00:01:00Z"},
    {"EventType": "TimerFired", "Timestamp": "2026-01-01T00:01:00.5Z", "FireAt": "2026-01-01T00:01:00Z"},
    {"EventType": "EventRaised", "Timestamp": "2026-01-01T00:01:10Z", "Name": "ApprovalEvent",
     "Input": {"approved": True}},
    {"EventType": "TaskFailed", "Timestamp": "2026-01-01T00:01:12Z", "ScheduledTime": "2026-01-01T00:01:11Z",
     "FunctionName": "Ship", "Reason": "no carrier"},
    {"EventType": "SubOrchestrationInstanceCreated", "Timestamp": "2026-01-01T00:01:13Z", "Name": "Child"},
]


def test_timeline_bars_from_http_api_history():
    now = datetime(2026, 1, 1, 0, 2, tzinfo=UTC)
    built = timeline.build(HISTORY, now=now)
    kinds = [(b.kind, b.name, b.outcome) for b in built.bars]
    assert kinds == [("activity", "Reserve", "completed"), ("timer", "timer", "completed"),
                     ("event", "ApprovalEvent", "completed"), ("activity", "Ship", "failed"),
                     ("sub-orchestration", "Child", "running")]
    reserve, timer, _, ship, child = built.bars
    assert reserve.duration_text == "1.0 s" and reserve.detail == "ok"
    assert timer.duration_text == "58.5 s"
    wait = built.bars[2]  # drawn from the previous step (the timer fired) to the event's arrival
    assert wait.start == datetime(2026, 1, 1, 0, 1, 0, 500000, tzinfo=UTC) and wait.duration_text == "9.5 s"
    assert ship.detail == "no carrier"
    assert child.end == now  # still running: drawn up to now
    assert built.start == datetime(2026, 1, 1, tzinfo=UTC) and built.end == now
    assert all(timeline.LABEL_WIDTH <= b.x <= timeline.LABEL_WIDTH + timeline.CHART_WIDTH for b in built.bars)
    assert [b.y for b in built.bars] == sorted(b.y for b in built.bars)


def test_links_to_parent_and_sub_orchestrations_from_raw_history():
    raw = [{"EventType": 0, "ParentInstance": {"OrchestrationInstance": {"InstanceId": "parent-1"}}},
           {"EventType": 7, "Name": "Child", "InstanceId": "child-1"}]
    assert timeline.links_from_raw(raw) == ("parent-1", [("Child", "child-1")])


def test_format_duration():
    assert [timeline.format_duration(s) for s in (0.25, 12.34, 245, 10920, 183600)] == [
        "250 ms", "12.3 s", "4 min 05 s", "3 h 02 min", "2 d 3 h"]


# -- JSON -----------------------------------------------------------------------------------------------
def test_json_is_escaped_and_collapsible():
    rendered = jsonview.render({"<b>": ['<script>alert(1)</script>', 1, None, True]})
    html = str(rendered.html)
    assert "<script>" not in html and "<b>" not in html
    assert "&lt;script&gt;" in html and "<details open>" in html
    assert not rendered.truncated


def test_a_huge_payload_is_truncated():
    rendered = jsonview.render("x" * (jsonview.LIMIT + 10))
    assert rendered.truncated and rendered.size == jsonview.LIMIT + 12


# -- start-up -------------------------------------------------------------------------------------------
def test_loopback_addresses():
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.0.2.10")


def test_a_string_holding_json_is_shown_parsed():
    rendered = jsonview.render('{"orderId": "<b>1</b>"}')
    assert rendered.decoded and "&lt;b&gt;1&lt;/b&gt;" in str(rendered.html) and "orderId" in str(rendered.html)
    assert not jsonview.render("plain text").decoded


def test_a_timer_ends_when_it_fired_at_the_earliest():
    rows = [{"EventType": "ExecutionStarted", "Timestamp": "2026-01-01T00:00:00Z"},
            {"EventType": "TimerCreated", "Timestamp": "2026-01-01T00:00:00Z", "FireAt": "2026-01-01T02:00:00Z"},
            {"EventType": "TimerFired", "Timestamp": "2026-01-01T00:00:00Z", "FireAt": "2026-01-01T02:00:00Z"}]
    (timer,) = timeline.build(rows, now=datetime(2026, 1, 2, tzinfo=UTC)).bars
    assert timer.outcome == "completed" and timer.duration_text == "2 h 00 min"
    assert timeline.format_span(timedelta(hours=6)) == "6 hours" and timeline.format_span(timedelta(days=1)) == "1 day"
