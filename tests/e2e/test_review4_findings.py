"""Fourth review: durable entities, crash durability and the virtual-clock / seeding harness.

Each test here failed when written and was then fixed in the host. App: tests/apps/review4_app (a `Box`
entity, a `Sleeper` orchestration with one durable timer, a `Nap` orchestration around a slow activity).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from durable_local.testing import LocalHost

APP = Path(__file__).resolve().parents[1] / "apps" / "review4_app"
API = "/runtime/webhooks/durabletask"
START = datetime(2030, 1, 1, tzinfo=UTC)


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalHost]:
    env = {"REVIEW4_COUNTERS": str(tmp_path_factory.mktemp("counters"))}
    with LocalHost(APP, env=env, virtual_clock=True, clock_start=START) as running:
        yield running


def signal_box(host: LocalHost, key: str, operation: str, value: Any) -> None:
    """Through the SDK client (`signal_entity`), so the input has the SDK's encoding."""
    assert host.post(f"/api/box/{key}/{operation}", value).status == 200
    host.wait_idle()


# -- 1. entities: list entities ignores lastOperationTimeFrom / lastOperationTimeTo -----------------------
def test_list_entities_filters_on_last_operation_time(host: LocalHost) -> None:
    base = host.now()
    signal_box(host, "early", "add", 1)
    host.advance(hours=1)
    signal_box(host, "late", "add", 1)
    middle = iso(base + timedelta(minutes=30))

    def keys(query: str) -> set[str]:
        reply = host.get(f"{API}/entities/Box?{query}")
        assert reply.status == 200
        return {item["entityId"]["key"] for item in reply.json()} & {"early", "late"}

    assert keys(f"lastOperationTimeFrom={middle}") == {"late"}
    assert keys(f"lastOperationTimeTo={middle}") == {"early"}


# -- 2. harness: advance answers 200 although the host never became idle -----------------------------------
def test_advance_reports_a_timeout_when_the_host_does_not_become_idle(host: LocalHost) -> None:
    assert host.post("/api/start/Nap/nap-long", 4).status == 200
    try:
        reply = host.post("/admin/host/clock/advance", {"seconds": 1, "idleTimeout": 0.5})
        assert reply.status == 504, (reply.status, reply.body)
    finally:
        host.wait_idle(30)


# -- 3. harness: seeding accepts items that break the host afterwards ------------------------------------
@pytest.mark.parametrize("item", [
    {"instanceId": "seed-bad-event", "name": "Sleeper", "history": [{"EventType": 99}]},
    {"instanceId": "", "name": "Sleeper"},
    {"instanceId": "@box@seeded", "name": "Sleeper"},
], ids=["unknown-event-type", "empty-id", "entity-id"])
def test_seeding_refuses_items_the_host_cannot_serve(host: LocalHost, item: dict[str, Any]) -> None:
    reply = host.post("/admin/host/seed", {"instances": [item]})
    assert reply.status == 400, (reply.status, reply.body)


# -- 4. durability + virtual clock: a restarted host starts its clock over ---------------------------------
def test_a_restarted_virtual_clock_host_resumes_from_the_time_it_reached(tmp_path: Path) -> None:
    env = {"REVIEW4_COUNTERS": str(tmp_path / "counters")}
    running = LocalHost(APP, env=env, virtual_clock=True, clock_start=START, store=tmp_path / "store.sqlite")
    running.start()
    try:
        assert running.post("/api/start/Sleeper/sleeper-restart", 3600).status == 200
        running.wait_idle()
        running.advance(minutes=30)
        running.kill()
        running.start()
        assert running.now() >= START + timedelta(minutes=30)
        running.advance(minutes=31)  # 01:01 in total: the one-hour timer is due
        deadline = time.monotonic() + 10
        while running.get(f"{API}/instances/sleeper-restart").json()["runtimeStatus"] != "Completed":
            assert time.monotonic() < deadline, "the durable timer never fired"
            time.sleep(0.05)
    finally:
        running.close()
