"""The sample orchestrations on a virtual clock: the approval timeout and the eternal monitor."""

from __future__ import annotations

import pytest
from _app import app_host, start, unique


@pytest.fixture(scope="module")
def clocked(azurite):
    with app_host(azurite, virtual_clock=True) as host:
        yield host


def test_approval_escalates_when_nobody_answers(clocked):
    instance_id = start(clocked, "ApprovalWorkflow", {"requestId": "r-timeout", "timeoutHours": 24},
                        unique("escalate"))
    clocked.wait_idle()
    assert clocked.get(f"/instances/{instance_id}").json()["runtimeStatus"] == "Running"
    clocked.advance(hours=23)
    assert clocked.get(f"/instances/{instance_id}").json()["runtimeStatus"] == "Running"
    clocked.advance(hours=2)
    status = clocked.wait_for_status(instance_id)
    assert status["runtimeStatus"] == "Completed"
    assert status["output"] == {"requestId": "r-timeout", "outcome": "Escalated", "approval": None}


def test_approval_in_time_wins_over_the_timer(clocked):
    instance_id = start(clocked, "ApprovalWorkflow", {"requestId": "r-fast", "timeoutHours": 1}, unique("fast"))
    clocked.wait_idle()
    clocked.advance(minutes=30)
    assert clocked.post(f"/instances/{instance_id}/raiseEvent/ApprovalEvent", {"approved": False}).status == 202
    status = clocked.wait_for_status(instance_id)
    assert status["output"]["outcome"] == "Rejected"
    assert status["output"]["approval"] == {"approved": False}


def test_eternal_monitor_continues_as_new_until_terminated(clocked):
    clocked.seed([{"instanceId": unique("broken"), "name": "HelloWorld", "runtimeStatus": "Failed"}])
    instance_id = start(clocked, "FailureMonitor", {"intervalSeconds": 60}, unique("monitor"))
    clocked.wait_idle()
    first = clocked.get(f"/instances/{instance_id}").json()
    assert first["customStatus"]["iteration"] == 1
    assert first["customStatus"]["failedInstances"] >= 1
    for _ in range(3):
        clocked.advance(seconds=60)
    status = clocked.get(f"/instances/{instance_id}").json()
    assert status["runtimeStatus"] == "Running"
    assert status["customStatus"]["iteration"] == 4
    assert status["input"] == {"intervalSeconds": 60, "iteration": 3}
    assert clocked.post(f"/instances/{instance_id}/terminate?reason=maintenance").status == 202
    assert clocked.wait_for_status(instance_id)["runtimeStatus"] == "Terminated"
