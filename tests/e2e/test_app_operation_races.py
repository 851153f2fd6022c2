"""Operations racing each other through the app answer 202 or 409, never 500: the status checked before the
call may have changed by the time the Durable API acts (150 concurrent calls on one instance)."""

from __future__ import annotations

import concurrent.futures
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from _app import app_host, start, unique

from durable_local.testing import LocalHost, Response, eventually

CONCURRENT_CALLS = 150


@pytest.fixture(scope="module")
def app(azurite: Any) -> Iterator[LocalHost]:
    with app_host(azurite) as host:
        yield host


def all_at_once(call: Callable[[int], Response]) -> Counter[int]:
    with concurrent.futures.ThreadPoolExecutor(32) as pool:
        replies = list(pool.map(call, range(CONCURRENT_CALLS)))
    bodies = {r.status: r.body[:300] for r in replies}
    counts = Counter(r.status for r in replies)
    assert set(counts) <= {202, 409}, (counts, bodies)
    return counts


def failed_order(app: LocalHost) -> str:
    """An OrderFulfillment that fails at ShipOrder (its warehouse has no carrier), so it can be rewound."""
    instance_id = start(app, "OrderFulfillment", {"orderId": unique("o"), "warehouse": unique("w")}, unique("race"))
    def completed_steps() -> int:
        history = app.get(f"/instances/{instance_id}?showHistory=true").json().get("historyEvents") or []
        return sum(e["EventType"] == "TaskCompleted" for e in history)

    eventually(lambda: completed_steps() >= 2, message=f"{instance_id} waiting for the approval")
    assert app.post(f"/instances/{instance_id}/raiseEvent/ApprovalEvent", {"by": "x"}).status == 202
    assert app.wait_for_status(instance_id)["runtimeStatus"] == "Failed"
    return instance_id


def test_concurrent_rewinds_answer_202_or_409(app: LocalHost) -> None:
    instance_id = failed_order(app)
    counts = all_at_once(lambda _: app.post(f"/instances/{instance_id}/rewind?reason=race"))
    assert counts[202] >= 1
    assert app.wait_for_status(instance_id)["runtimeStatus"] == "Failed"  # still no carrier: fails again


def test_concurrent_terminates_answer_202_or_409(app: LocalHost) -> None:
    instance_id = start(app, "ApprovalWorkflow", {"requestId": unique("r")}, unique("race"))
    app.wait_for_status(instance_id, {"Running"})
    counts = all_at_once(lambda n: app.post(f"/instances/{instance_id}/terminate?reason=t{n}"))
    assert counts[202] >= 1
    assert app.wait_for_status(instance_id)["runtimeStatus"] == "Terminated"


def test_concurrent_restarts_under_the_same_id_answer_202_or_409(app: LocalHost) -> None:
    instance_id = start(app, "HelloWorld", {"name": "race"}, unique("race"))
    app.wait_for_status(instance_id)
    counts = all_at_once(lambda _: app.post(f"/instances/{instance_id}/restart?restartWithNewInstanceId=false"))
    assert counts[202] >= 1
    assert app.wait_for_status(instance_id)["output"] == "Hello race!"


def test_terminate_racing_suspend_and_resume_answers_202_or_409(app: LocalHost) -> None:
    instance_id = start(app, "ApprovalWorkflow", {"requestId": unique("r")}, unique("race"))
    app.wait_for_status(instance_id, {"Running"})
    operations = ["suspend", "resume", "terminate"]
    all_at_once(lambda n: app.post(f"/instances/{instance_id}/{operations[n % 3]}"))
    status = app.wait_for_status(instance_id, {"Terminated", "Suspended", "Running"})
    assert status["runtimeStatus"] in {"Terminated", "Suspended", "Running"}
