"""The dashboard's charts as laid out for their SVGs: the created-time histogram (bars and caption, also with a
single bucket) and the instance timeline's axis labels (each shown once)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from durable_local.dashboard.summary import (
    HISTOGRAM_BASELINE,
    HISTOGRAM_WIDTH,
    MIN_SLOTS,
    Bucket,
    histogram_bars,
    summarize,
    time_label,
)
from durable_local.dashboard.timeline import Bar, Timeline, layout

T0 = datetime(2026, 5, 1, 12, 0, 5, tzinfo=UTC)


def created(*offsets: float) -> list[dict[str, str]]:
    return [{"runtimeStatus": "Completed", "createdTime": (T0 + timedelta(seconds=s)).isoformat()} for s in offsets]


def test_a_single_bucket_is_one_centred_bar_not_a_filled_panel() -> None:
    result = summarize(created(0, 0.2, 0.4))
    (bar,) = result.bars()
    assert bar.bucket.count == 3 and bar.height == pytest.approx(80.0)
    assert bar.width < HISTOGRAM_WIDTH / MIN_SLOTS
    assert bar.x + bar.width / 2 == pytest.approx(HISTOGRAM_WIDTH / 2, abs=1.0)


def test_a_single_bucket_caption_names_its_start_once_to_the_second() -> None:
    result = summarize(created(0, 0.5))
    assert result.range_text == "all in the second from 2026-05-01 12:00:05 UTC"


def test_many_buckets_fill_the_width_in_order_scaled_to_the_tallest() -> None:
    result = summarize(created(*range(0, 3600, 60), 1800, 1810))  # one a minute for an hour: 1-minute buckets
    bars = result.bars()
    assert result.bucket_size == timedelta(minutes=1) and len(bars) == len(result.buckets) == 60
    assert bars[0].x == pytest.approx(0.0) and bars[-1].x + bars[-1].width + 1 == pytest.approx(HISTOGRAM_WIDTH)
    assert [b.x for b in bars] == sorted(b.x for b in bars)
    tallest = max(bars, key=lambda b: b.height)
    assert tallest.bucket.count == 3 and tallest.y == pytest.approx(HISTOGRAM_BASELINE - 80.0)
    assert all(b.y + b.height == pytest.approx(HISTOGRAM_BASELINE) for b in bars)


def test_the_caption_range_is_as_precise_as_the_buckets() -> None:
    seconds = summarize(created(0, 30))
    assert seconds.range_text == "2026-05-01 12:00:05 to 2026-05-01 12:00:35 UTC"
    days = summarize(created(0, 40 * 86400))
    assert days.range_text == "2026-05-01 to 2026-06-10 UTC"
    assert time_label(T0, timedelta(hours=1)) == "2026-05-01 12:00"


def test_empty_buckets_have_no_height_and_no_buckets_no_bars() -> None:
    bars = histogram_bars([Bucket(T0, 0), Bucket(T0 + timedelta(seconds=1), 0)])
    assert [b.height for b in bars] == [0.0, 0.0]
    assert histogram_bars([]) == [] and summarize([]).range_text == ""


def timeline_of(seconds: float) -> Timeline:
    bar = Bar("activity", "Step", T0, T0 + timedelta(seconds=seconds), "completed")
    return layout([bar], T0, T0 + timedelta(seconds=seconds), now=T0)


@pytest.mark.parametrize("seconds", [0.0, 0.0005, 0.002, 0.003, 1.0, 2.5, 90.0, 7200.0, 4 * 86400.0])
def test_timeline_tick_labels_are_never_repeated_nor_the_total(seconds: float) -> None:
    timeline = timeline_of(seconds)
    labels = [label for _, label in timeline.ticks]
    assert len(labels) == len(set(labels)) and timeline.total_text not in labels
    assert [x for x, _ in timeline.ticks] == sorted(x for x, _ in timeline.ticks)


def test_a_long_timeline_keeps_four_ticks_from_zero() -> None:
    labels = [label for _, label in timeline_of(120.0).ticks]
    assert labels == ["+0 ms", "+30.0 s", "+1 min 00 s", "+1 min 30 s"]


def test_an_instant_timeline_shows_its_start_and_total_once_each() -> None:
    timeline = timeline_of(0.002)
    assert [label for _, label in timeline.ticks] == ["+0 ms", "+1 ms"] and timeline.total_text == "+2 ms"
