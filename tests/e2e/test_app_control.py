"""Changing instances through the app: terminate, raise events, suspend/resume, rewind and restart."""

from __future__ import annotations

import json

import pytest
from _app import app_host, error_of, start, unique
from azure.data.tables import TableServiceClient

from durable_local.testing import eventually


@pytest.fixture(scope="module")
def app(azurite):
    with app_host(azurite) as host:
        yield host


def wait_until(app, instance_id: str, statuses: set[str]) -> dict:
    return app.wait_for_status(instance_id, statuses)


def waiting_approval(app, **request) -> str:
    instance_id = start(app, "ApprovalWorkflow", {"requestId": unique("req"), **request}, unique("approval"))
    wait_until(app, instance_id, {"Running"})
    return instance_id


# -- terminate --------------------------------------------------------------------------------------------
def test_terminate_running_instance(app):
    instance_id = waiting_approval(app)
    reply = app.post(f"/instances/{instance_id}/terminate?reason=It%20was%20time%20to%20be%20done.")
    assert reply.status == 202
    assert reply.json() == {"instanceId": instance_id, "operation": "terminate",
                            "reason": "It was time to be done."}
    status = app.wait_for_status(instance_id)
    assert status["runtimeStatus"] == "Terminated"
    assert status["output"] == "It was time to be done."


def test_terminate_completed_instance_is_409(app):
    instance_id = start(app, "HelloWorld", {"name": "x"}, unique("done"))
    app.wait_for_status(instance_id)
    reply = app.post(f"/instances/{instance_id}/terminate")
    assert reply.status == 409
    assert "Completed" in error_of(reply)


def test_terminate_unknown_instance_is_404(app):
    reply = app.post("/instances/missing-instance/terminate")
    assert reply.status == 404
    assert "missing-instance" in error_of(reply)


# -- raise event ----------------------------------------------------------------------------------------------
def test_orchestrator_receives_the_posted_json_value(app):
    instance_id = waiting_approval(app)
    decision = {"approved": True, "by": "ops", "comments": ["fine", 2, None]}
    reply = app.post(f"/instances/{instance_id}/raiseEvent/ApprovalEvent", decision)
    assert reply.status == 202
    status = app.wait_for_status(instance_id)
    assert status["runtimeStatus"] == "Completed"
    assert status["output"]["outcome"] == "Approved"
    assert status["output"]["approval"] == decision


@pytest.mark.parametrize("value", [False, 3, "no", None])
def test_scalar_event_values_arrive_unchanged(app, value):
    instance_id = waiting_approval(app)
    assert app.post(f"/instances/{instance_id}/raiseEvent/ApprovalEvent", raw=_json(value),
                    headers={"Content-Type": "application/json"}).status == 202
    output = app.wait_for_status(instance_id)["output"]
    assert output["approval"] == value
    assert output["outcome"] == "Rejected"


def _json(value) -> bytes:
    return json.dumps(value).encode()


def test_raise_event_to_terminated_instance_is_409(app):
    instance_id = waiting_approval(app)
    app.post(f"/instances/{instance_id}/terminate")
    app.wait_for_status(instance_id)
    reply = app.post(f"/instances/{instance_id}/raiseEvent/ApprovalEvent", {"approved": True})
    assert reply.status == 409
    assert "Terminated" in error_of(reply)


def test_raise_event_to_unknown_instance_is_404(app):
    reply = app.post("/instances/nobody-home/raiseEvent/ApprovalEvent", {"approved": True})
    assert reply.status == 404


def test_raise_event_with_malformed_json_is_400(app):
    instance_id = waiting_approval(app)
    reply = app.post(f"/instances/{instance_id}/raiseEvent/ApprovalEvent", raw=b"{oops",
                     headers={"Content-Type": "application/json"})
    assert reply.status == 400
    assert "JSON" in error_of(reply)
    app.post(f"/instances/{instance_id}/terminate")


# -- suspend and resume ---------------------------------------------------------------------------------------
def test_suspend_and_resume(app):
    instance_id = waiting_approval(app)
    assert app.post(f"/instances/{instance_id}/suspend?reason=maintenance").status == 202
    wait_until(app, instance_id, {"Suspended"})
    again = app.post(f"/instances/{instance_id}/suspend")
    assert again.status == 409 and "Suspended" in error_of(again)
    assert app.post(f"/instances/{instance_id}/resume?reason=done").status == 202
    wait_until(app, instance_id, {"Running"})
    not_suspended = app.post(f"/instances/{instance_id}/resume")
    assert not_suspended.status == 409 and "Running" in error_of(not_suspended)
    app.post(f"/instances/{instance_id}/raiseEvent/ApprovalEvent", {"approved": True})
    assert app.wait_for_status(instance_id)["runtimeStatus"] == "Completed"


# -- rewind -------------------------------------------------------------------------------------------------
def test_rewind_after_fixing_the_configuration(app, azurite):
    warehouse = unique("west").replace("-", "")
    order = {"orderId": unique("order"), "warehouse": warehouse}
    instance_id = start(app, "OrderFulfillment", order, unique("fulfil"))
    wait_until(app, instance_id, {"Running"})
    _wait_for_event_wait(app, instance_id)
    assert app.post(f"/instances/{instance_id}/raiseEvent/ApprovalEvent", {"approvedBy": "alice"}).status == 202
    failed = app.wait_for_status(instance_id)
    assert failed["runtimeStatus"] == "Failed"
    assert warehouse in str(failed["output"])

    with TableServiceClient.from_connection_string(azurite.connection_string) as service:
        table = service.create_table_if_not_exists("OperatorSettings")
        table.upsert_entity({"PartitionKey": "warehouses", "RowKey": warehouse, "Carrier": "Contoso Freight"})

    reply = app.post(f"/instances/{instance_id}/rewind?reason=Carrier%20configured")
    assert reply.status == 202
    done = app.wait_for_status(instance_id, {"Completed"})
    assert done["output"]["shipment"] == f"order {order['orderId']} shipped by Contoso Freight"
    assert done["output"]["approval"] == {"approvedBy": "alice"}
    history = app.get(f"/instances/{instance_id}?showHistory=true").json()["historyEvents"]
    completed = [e["FunctionName"] for e in history if e["EventType"] == "TaskCompleted"]
    assert completed == ["ReserveInventory", "SendInstanceInfo", "ShipOrder"]  # earlier steps not re-run
    assert [e["Name"] for e in history if e["EventType"] == "EventRaised"] == ["ApprovalEvent"]


def _wait_for_event_wait(app, instance_id: str) -> None:
    """Until the orchestration has scheduled its first two steps and waits for the approval."""
    def completed_steps() -> int:
        history = app.get(f"/instances/{instance_id}?showHistory=true").json()["historyEvents"]
        return sum(e["EventType"] == "TaskCompleted" for e in history)

    eventually(lambda: completed_steps() >= 2, message=f"{instance_id} waiting for the approval")


def test_rewind_completed_instance_is_409(app):
    instance_id = start(app, "HelloWorld", {"name": "x"}, unique("fine"))
    app.wait_for_status(instance_id)
    reply = app.post(f"/instances/{instance_id}/rewind")
    assert reply.status == 409
    assert "Completed" in error_of(reply) and "Failed" in error_of(reply)


def test_rewind_unknown_instance_is_404(app):
    assert app.post("/instances/ghost/rewind").status == 404


# -- restart ----------------------------------------------------------------------------------------------
def test_restart_with_new_instance_id(app):
    instance_id = start(app, "HelloWorld", {"name": "again"}, unique("restart"))
    app.wait_for_status(instance_id)
    reply = app.post(f"/instances/{instance_id}/restart")
    assert reply.status == 202
    new_id = reply.json()["id"]
    assert new_id != instance_id
    assert reply.header("Location") == reply.json()["statusQueryGetUri"]
    assert app.wait_for_status(new_id)["output"] == "Hello again!"


def test_restart_in_place(app):
    instance_id = start(app, "HelloWorld", {"name": "same"}, unique("inplace"))
    app.wait_for_status(instance_id)
    reply = app.post(f"/instances/{instance_id}/restart?restartWithNewInstanceId=false")
    assert reply.status == 202
    assert reply.json()["id"] == instance_id
    assert app.wait_for_status(instance_id)["output"] == "Hello same!"


def test_restart_running_instance_in_place_is_409(app):
    instance_id = waiting_approval(app)
    reply = app.post(f"/instances/{instance_id}/restart?restartWithNewInstanceId=false")
    assert reply.status == 409
    app.post(f"/instances/{instance_id}/terminate")


def test_restart_unknown_instance_is_404(app):
    assert app.post("/instances/ghost/restart").status == 404
