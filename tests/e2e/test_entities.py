"""Durable entities on the local host: calls and signals from orchestrations and clients, the entity routes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from durable_local.testing import DURABLE_API, LocalHost, eventually

APP = Path(__file__).resolve().parents[1] / "apps" / "core_app"


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Any:
    env = {"CORE_APP_COUNTERS": str(tmp_path_factory.mktemp("counters")), "TICK_SCHEDULE": "0 0 0 * * *"}
    with LocalHost(APP, env=env) as running:
        yield running


def entity_state(host: LocalHost, key: str, expected: Any, timeout: float = 10) -> Any:
    def reached() -> bool:
        seen = host.get(f"/api/entities/{key}/read").json()
        return bool(seen["exists"] and seen["state"] == expected)

    eventually(reached, timeout=timeout, interval=0.02, message=f"entity {key} reaching {expected!r}")
    return expected


def test_an_orchestration_signals_and_calls_an_entity_and_sees_its_errors(host: LocalHost) -> None:
    instance_id = host.post("/api/orchestrators/UsesCounter", "orch-key").json()["id"]
    status = host.wait_for_status(instance_id)
    assert status["runtimeStatus"] == "Completed"
    assert status["output"] == {"total": 15, "error": "bad op"}  # the signal ran before the call, in order
    assert host.get(f"{DURABLE_API}/entities/tally/orch-key").json() == 15


def test_client_signals_are_applied_in_order_and_readable(host: LocalHost) -> None:
    for amount in (1, 2, 3):
        assert host.post("/api/entities/client-key/add", amount).status == 200
    assert entity_state(host, "client-key", 6) == 6
    listed = host.get(f"{DURABLE_API}/entities/Tally?fetchState=true").json()
    assert {"entityId": {"key": "client-key", "name": "tally"}, "state": 6} in [
        {k: v for k, v in item.items() if k != "lastOperationTime"} for item in listed]
    assert all(not i["instanceId"].startswith("@") for i in host.get(f"{DURABLE_API}/instances?top=1000").json())


def test_the_delete_operation_removes_the_entity(host: LocalHost) -> None:
    host.post("/api/entities/doomed/add", 4)
    entity_state(host, "doomed", 4)
    assert host.client.delete_entity("Tally", "doomed").status == 202
    eventually(lambda: host.client.entity("tally", "doomed").status == 404, timeout=10, interval=0.02,
               message="the entity deleted")
    assert host.get("/api/entities/doomed/read").json() == {"exists": False, "state": None}


def test_entity_api_errors(host: LocalHost) -> None:
    unknown = host.post(f"{DURABLE_API}/entities/NoSuchEntity/k?op=add", 1)
    assert unknown.status == 400 and "NoSuchEntity" in unknown.json()["ExceptionMessage"]
    assert host.get(f"{DURABLE_API}/entities/tally/never-signalled").status == 404
    assert host.post(f"{DURABLE_API}/entities/tally/k?op=add", raw=b"{", headers={"Content-Type": "application/json"}
                     ).status == 400
