"""WEBSITE_TIME_ZONE on the running host, with the virtual clock: a `0 0 9 * * *` timer fires at 09:00 New York
time, before and after the spring-forward change (UTC 14:00, then 13:00), and start warns that Flex
Consumption ignores the setting; an unknown zone stops the start."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from durable_local.testing import LocalHost, free_port

APP = Path(__file__).resolve().parents[1] / "apps" / "timer_time_zone_app"


def test_a_nine_oclock_timer_fires_at_nine_in_the_zone_across_a_dst_change() -> None:
    env = {"WEBSITE_TIME_ZONE": "Eastern Standard Time"}
    with LocalHost(APP, env=env, virtual_clock=True, clock_start=datetime(2026, 3, 6, 12, 0, tzinfo=UTC)) as host:
        host.advance(days=4)  # 6 March 12:00Z to 10 March 12:00Z; New York springs forward on 8 March
        instances = host.client.list_all()
        created = sorted(item["createdTime"] for item in instances)
        assert created == ["2026-03-06T14:00:00Z", "2026-03-07T14:00:00Z", "2026-03-08T13:00:00Z",
                           "2026-03-09T13:00:00Z"]
        outputs = sorted(str(item["input"]) for item in instances)
        assert any("2026-03-08T09:00:00-04:00" in text for text in outputs), outputs  # ScheduleStatus in the zone
        log = host.log()
    assert "Timer schedules run in America/New_York (WEBSITE_TIME_ZONE=Eastern Standard Time)" in log
    assert "Flex Consumption ignore WEBSITE_TIME_ZONE" in log


def test_an_unknown_website_time_zone_stops_the_start(tmp_path: Path) -> None:
    env = {**os.environ, "WEBSITE_TIME_ZONE": "Mars Standard Time"}
    result = subprocess.run([sys.executable, "-m", "durable_local", "host", "start", "--port", str(free_port()),
                             "--store", str(tmp_path / "s.sqlite")], cwd=APP, env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 1
    assert "WEBSITE_TIME_ZONE 'Mars Standard Time' names no time zone" in result.stderr
