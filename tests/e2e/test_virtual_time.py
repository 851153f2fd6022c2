"""The testing harness: a virtual clock for durable timers, retries and timer triggers; seeding; task hubs.

The last group runs on tests/apps/timers_entities_app: entity queries by (virtual) operation time, `advance`
when the host does not become idle, seeding refusals, and a restarted virtual clock.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from durable_local.testing import DURABLE_API, LocalHost, eventually

APP = Path(__file__).resolve().parents[1] / "apps" / "core_app"
START = datetime(2026, 1, 1, 6, 0, tzinfo=UTC)
# A `Box` entity, a `Sleeper` orchestration with one durable timer, a `Nap` orchestration around a slow activity.
TIMERS_APP = Path(__file__).resolve().parents[1] / "apps" / "timers_entities_app"
TIMERS_START = datetime(2030, 1, 1, tzinfo=UTC)


@pytest.fixture
def counters(tmp_path: Path) -> Path:
    return tmp_path / "counters"


@pytest.fixture
def host(counters: Path) -> Any:
    env = {"CORE_APP_COUNTERS": str(counters), "TICK_SCHEDULE": "0 0 0 * * *"}
    with LocalHost(APP, env=env, virtual_clock=True, clock_start=START) as running:
        yield running


def ticks(counters: Path) -> int:
    path = counters / "tick"
    return int(path.read_text()) if path.exists() else 0


def test_a_daily_timer_trigger_fires_once_per_simulated_day(host: LocalHost, counters: Path) -> None:
    assert host.now() == START
    host.advance(hours=17)
    assert ticks(counters) == 0  # midnight not reached yet
    host.advance(hours=1)
    assert ticks(counters) == 1
    assert host.advance(days=31) == START + timedelta(hours=18, days=31)
    assert ticks(counters) == 32


def test_the_admin_endpoint_runs_a_timer_function_now(host: LocalHost, counters: Path) -> None:
    assert host.run_function("tick").status == 202
    host.wait_idle()
    assert ticks(counters) == 1
    assert host.run_function("NoSuchFunction").status == 404
    not_timer = host.run_function("Hello")
    assert not_timer.status == 400 and "orchestrationTrigger" in not_timer.json()["error"]
    assert host.run_function("Step", '"by-hand"').status == 202  # an activity, with its input
    host.wait_idle()
    assert (counters / "step-by-hand").read_text() == "1"


def test_durable_timers_wait_for_virtual_time(host: LocalHost) -> None:
    instance_id = host.post("/api/orchestrators/Approval", 3600).json()["id"]  # SDK start: any JSON value
    host.wait_idle()
    assert host.get(f"{DURABLE_API}/instances/{instance_id}").json()["runtimeStatus"] == "Running"
    host.advance(minutes=59)
    assert host.get(f"{DURABLE_API}/instances/{instance_id}").json()["runtimeStatus"] == "Running"
    host.advance(minutes=1)
    status = host.get(f"{DURABLE_API}/instances/{instance_id}").json()
    assert status["runtimeStatus"] == "Completed" and status["output"] == {"approved": None, "timedOut": True}
    assert status["createdTime"] == "2026-01-01T06:00:00Z"  # instance times come from the same clock


def test_retry_delays_are_virtual_too(host: LocalHost) -> None:
    instance_id = host.post(f"{DURABLE_API}/orchestrators/Flaky").json()["id"]
    host.wait_idle()
    assert host.get(f"{DURABLE_API}/instances/{instance_id}").json()["runtimeStatus"] == "Running"
    host.advance(seconds=1)
    assert host.get(f"{DURABLE_API}/instances/{instance_id}").json()["output"] == "third time lucky"


def test_a_missed_occurrence_runs_once_at_start_as_past_due(counters: Path, tmp_path: Path) -> None:
    env = {"CORE_APP_COUNTERS": str(counters), "TICK_SCHEDULE": "0 0 0 * * *"}
    store = tmp_path / "timers.sqlite"
    with LocalHost(APP, env=env, virtual_clock=True, clock_start=START, store=store) as first:
        first.advance(days=1)
    assert ticks(counters) == 1
    later = START + timedelta(days=5)
    with LocalHost(APP, env=env, virtual_clock=True, clock_start=later, store=store) as second:
        second.wait_idle()
        assert ticks(counters) == 2
        assert "tick past_due=True" in second.log()


def test_seeding_validates_items(host: LocalHost) -> None:
    bad = host.post("/admin/host/seed", {"instances": [{"instanceId": "x", "name": "Hello",
                                                         "runtimeStatus": "Sleeping"}]})
    assert bad.status == 400 and "seed item 0" in bad.json()["error"]
    assert host.post("/admin/host/seed", {"nope": 1}).status == 400


def test_delete_task_hub_removes_only_that_hub(host: LocalHost) -> None:
    host.seed([{"instanceId": f"hub-{n}", "name": "Hello"} for n in range(3)])
    described = host.get("/admin/host/taskhubs/CoreTestHub").json()
    assert described["taskHub"] == "CoreTestHub" and described["instances"] >= 3
    assert host.get("/admin/host/taskhubs/OtherHub").json()["instances"] == 0
    deleted = host.delete("/admin/host/taskhubs/CoreTestHub").json()
    assert deleted["deleted"]["instances"] == described["instances"]
    assert host.get(f"{DURABLE_API}/instances/hub-0").status == 404


def test_testing_endpoints_are_off_without_testing_flag(tmp_path: Path) -> None:
    import subprocess
    import sys

    from durable_local.testing import free_port, http_request

    port = free_port()
    env = {**__import__("os").environ, "TICK_SCHEDULE": "0 0 0 * * *"}
    process = subprocess.Popen([sys.executable, "-m", "durable_local", "host", "start", "--port", str(port),
                                "--store", str(tmp_path / "s.sqlite")], cwd=APP, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        eventually(lambda: http_request("GET", f"http://127.0.0.1:{port}/admin/host/status").status == 200,
                   timeout=60, ignoring=(OSError,), message="the host serving")
        reply = http_request("POST", f"http://127.0.0.1:{port}/admin/host/seed", {"instances": []})
        assert reply.status == 404
    finally:
        process.terminate()
        process.wait(10)


# -- entities, seeding and a restart on the virtual clock (a shared host on tests/apps/timers_entities_app) --
def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture(scope="module")
def timers_host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalHost]:
    env = {"TIMERS_APP_COUNTERS": str(tmp_path_factory.mktemp("counters"))}
    with LocalHost(TIMERS_APP, env=env, virtual_clock=True, clock_start=TIMERS_START) as running:
        yield running


def signal_box(host: LocalHost, key: str, operation: str, value: Any) -> None:
    """Through the SDK client (`signal_entity`), so the input has the SDK's encoding."""
    assert host.post(f"/api/box/{key}/{operation}", value).status == 200
    host.wait_idle()


def test_list_entities_filters_on_last_operation_time(timers_host: LocalHost) -> None:
    base = timers_host.now()
    signal_box(timers_host, "early", "add", 1)
    timers_host.advance(hours=1)
    signal_box(timers_host, "late", "add", 1)
    middle = iso(base + timedelta(minutes=30))

    def keys(query: str) -> set[str]:
        reply = timers_host.get(f"{DURABLE_API}/entities/Box?{query}")
        assert reply.status == 200
        return {item["entityId"]["key"] for item in reply.json()} & {"early", "late"}

    assert keys(f"lastOperationTimeFrom={middle}") == {"late"}
    assert keys(f"lastOperationTimeTo={middle}") == {"early"}


def test_advance_reports_a_timeout_when_the_host_does_not_become_idle(timers_host: LocalHost) -> None:
    assert timers_host.post("/api/start/Nap/nap-long", 4).status == 200
    try:
        reply = timers_host.post("/admin/host/clock/advance", {"seconds": 1, "idleTimeout": 0.5})
        assert reply.status == 504, (reply.status, reply.body)
    finally:
        timers_host.wait_idle(30)


@pytest.mark.parametrize("item", [
    {"instanceId": "seed-bad-event", "name": "Sleeper", "history": [{"EventType": 99}]},
    {"instanceId": "", "name": "Sleeper"},
    {"instanceId": "@box@seeded", "name": "Sleeper"},
], ids=["unknown-event-type", "empty-id", "entity-id"])
def test_seeding_refuses_items_the_host_cannot_serve(timers_host: LocalHost, item: dict[str, Any]) -> None:
    reply = timers_host.post("/admin/host/seed", {"instances": [item]})
    assert reply.status == 400, (reply.status, reply.body)


def test_a_restarted_virtual_clock_host_resumes_from_the_time_it_reached(tmp_path: Path) -> None:
    env = {"TIMERS_APP_COUNTERS": str(tmp_path / "counters")}
    running = LocalHost(TIMERS_APP, env=env, virtual_clock=True, clock_start=TIMERS_START,
                        store=tmp_path / "store.sqlite")
    running.start()
    try:
        assert running.post("/api/start/Sleeper/sleeper-restart", 3600).status == 200
        running.wait_idle()
        running.advance(minutes=30)
        running.kill()
        running.start()
        assert running.now() >= TIMERS_START + timedelta(minutes=30)
        running.advance(minutes=31)  # 01:01 in total: the one-hour timer is due
        assert running.client.wait_for_status("sleeper-restart", timeout=10)["runtimeStatus"] == "Completed"
    finally:
        running.close()
