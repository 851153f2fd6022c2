"""Any exception from user code ends the instance Failed, with bounded failure text: a broken `__str__`, an
unpicklable exception and a 20 MB message, raised by activities and by orchestrators (tests/apps/failing_app)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from durable_local.host.failure_text import MAX_FAILURE_TEXT
from durable_local.testing import DURABLE_API, LocalHost

APP = Path(__file__).resolve().parents[1] / "apps" / "failing_app"
API = DURABLE_API
KINDS = ["BrokenStr", "Unpicklable", "HugeMessage"]


@pytest.fixture(scope="module")
def host() -> Iterator[LocalHost]:
    with LocalHost(APP) as running:
        yield running


def start(host: LocalHost, orchestrator: str, value: str) -> str:
    reply = host.post(f"{API}/orchestrators/{orchestrator}", {"kind": value})
    assert reply.status == 202, reply.body
    return str(reply.json()["id"])


def store_bytes(host: LocalHost) -> int:
    return sum(p.stat().st_size for p in host.store.parent.glob(host.store.name + "*"))


@pytest.mark.parametrize("kind", KINDS)
def test_an_activity_failure_ends_the_instance_failed_with_bounded_text(host: LocalHost, kind: str) -> None:
    instance_id = start(host, "CallActivity", kind)
    status = host.wait_for_status(instance_id, timeout=60)
    assert status["runtimeStatus"] == "Failed"
    assert f"Activity function '{kind}' failed" in status["output"]
    raw = host.get(f"{API}/instances/{instance_id}?showHistory=true&showHistoryOutput=true")
    assert len(raw.body) < 20 * MAX_FAILURE_TEXT
    failed = [e for e in raw.json()["historyEvents"] if e["EventType"] == "TaskFailed"]
    assert len(failed) == 1 and len(failed[0]["Reason"]) <= MAX_FAILURE_TEXT


@pytest.mark.parametrize("kind", KINDS)
def test_an_orchestrator_failure_ends_the_instance_failed_with_bounded_text(host: LocalHost, kind: str) -> None:
    instance_id = start(host, "FailInOrchestrator", kind)
    status = host.wait_for_status(instance_id, timeout=60)
    assert status["runtimeStatus"] == "Failed"
    assert "Orchestrator function 'FailInOrchestrator' failed" in json.dumps(status["output"])
    assert len(json.dumps(status)) < 4 * MAX_FAILURE_TEXT


def test_twenty_megabyte_messages_do_not_grow_the_store_by_their_size(host: LocalHost) -> None:
    before = store_bytes(host)
    ids = [start(host, "CallActivity", "HugeMessage") for _ in range(3)]
    ids += [start(host, "FailInOrchestrator", "HugeMessage") for _ in range(2)]
    for instance_id in ids:
        assert host.wait_for_status(instance_id, timeout=60)["runtimeStatus"] == "Failed"
    assert store_bytes(host) - before < 5 * 1024 * 1024  # five 20 MB messages, a few hundred KB recorded
    assert host.wait_for_status(start(host, "CallActivity", "Fine"))["output"] == "fine"
