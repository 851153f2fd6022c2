"""The `durable` CLI against the project's own function app (not the CLI test app), on the local host with
Azurite: the CLI commands of the README's walk-through, run from the app folder, with real results checked
through the app's endpoints."""

from __future__ import annotations

import json

import pytest
from _app import APP_DIR, app_host, unique
from _cli import Cli
from azure.data.tables import TableServiceClient

from durable_local.testing import eventually


@pytest.fixture(scope="module")
def app(azurite):
    with app_host(azurite) as host:
        yield host


@pytest.fixture
def durable(app):
    return Cli(APP_DIR, app.base_url)


def start_running(app, durable: Cli, name: str, input_value: object) -> str:
    instance_id = unique(name.lower())
    durable.ok("start-new", "--function-name", name, "--input", json.dumps(input_value), "--id", instance_id)
    app.wait_for_status(instance_id, {"Running"})
    return instance_id


def wait_for_completed_steps(app, instance_id: str, count: int) -> None:
    """Until `count` activities of the instance have completed (the orchestration then waits for an event)."""
    def completed_steps() -> int:
        history = app.get(f"/instances/{instance_id}?showHistory=true").json()["historyEvents"]
        return sum(e["EventType"] == "TaskCompleted" for e in history)

    eventually(lambda: completed_steps() >= count, message=f"{count} completed steps of {instance_id}")


def test_start_new_with_the_sample_input_file_then_query(app, durable):
    instance_id = unique("hello")
    result = durable.ok("start-new", "--function-name", "HelloWorld", "--input", "@samples/counter-data.json",
                        "--id", instance_id)
    assert result.out == f"Started 'HelloWorld'. Instance ID: {instance_id}\n"
    assert app.wait_for_status(instance_id)["output"] == "Hello Tokyo!"
    assert app.get(f"/instances/{instance_id}").json()["input"] == {"name": "Tokyo"}

    text = durable.ok("get-runtime-status", "--id", instance_id, "--show-input", "true", "--show-output", "true").out
    assert "Runtime status: Completed" in text and '"Hello Tokyo!"' in text
    history = durable.ok("get-history", "--id", instance_id, "-o", "json").json()
    assert [e["Result"] for e in history if e["EventType"] == "TaskCompleted"] == ["Hello Tokyo!"]
    listed = durable.ok("get-instances", "--instance-id-prefix", instance_id, "-o", "json").json()["instances"]
    assert [(i["instanceId"], i["runtimeStatus"]) for i in listed] == [(instance_id, "Completed")]


def test_raise_event_reaches_the_approval_workflow_as_the_posted_value(app, durable):
    instance_id = start_running(app, durable, "ApprovalWorkflow", {"requestId": unique("PO")})
    decision = {"approved": True, "by": "ops"}
    durable.ok("raise-event", "--id", instance_id, "--event-name", "ApprovalEvent", "--event-data",
               json.dumps(decision))
    output = app.wait_for_status(instance_id)["output"]
    assert output["outcome"] == "Approved" and output["approval"] == decision


def test_terminate_then_refuse_an_event(app, durable):
    instance_id = start_running(app, durable, "ApprovalWorkflow", {"requestId": unique("PO")})
    result = durable.ok("terminate", "--id", instance_id, "--reason", "It was time to be done.")
    assert result.out == f"Terminated instance '{instance_id}'. Runtime status: Terminated.\n"
    status = app.get(f"/instances/{instance_id}").json()
    assert status["runtimeStatus"] == "Terminated" and status["output"] == "It was time to be done."
    refused = durable("raise-event", "--id", instance_id, "--event-name", "ApprovalEvent")
    assert refused.code == 1 and "its status is Terminated" in refused.err


def test_rewind_the_order_after_fixing_the_configuration(app, durable, azurite):
    warehouse = unique("west").replace("-", "")
    order = {"orderId": unique("order"), "warehouse": warehouse}
    instance_id = start_running(app, durable, "OrderFulfillment", order)
    wait_for_completed_steps(app, instance_id, 2)
    durable.ok("raise-event", "--id", instance_id, "--event-name", "ApprovalEvent", "--event-data",
               '{"approvedBy": "alice"}')
    assert app.wait_for_status(instance_id)["runtimeStatus"] == "Failed"

    with TableServiceClient.from_connection_string(azurite.connection_string) as service:
        table = service.create_table_if_not_exists("OperatorSettings")
        table.upsert_entity({"PartitionKey": "warehouses", "RowKey": warehouse, "Carrier": "Contoso Freight"})

    result = durable.ok("rewind", "--id", instance_id, "--reason", "Orchestrator failed and needs to be revived.")
    assert result.out.splitlines()[0] == "Status before rewind: Failed"
    done = app.wait_for_status(instance_id, {"Completed"})
    assert done["output"]["shipment"] == f"order {order['orderId']} shipped by Contoso Freight"
    history = app.get(f"/instances/{instance_id}?showHistory=true").json()["historyEvents"]
    completed = [e["FunctionName"] for e in history if e["EventType"] == "TaskCompleted"]
    assert completed == ["ReserveInventory", "SendInstanceInfo", "ShipOrder"]


def test_purge_history_dry_run_then_purge_by_id(app, durable):
    instance_id = unique("purge")
    durable.ok("start-new", "--function-name", "HelloWorld", "--input", '{"name": "Oslo"}', "--id", instance_id)
    app.wait_for_status(instance_id)
    dry = durable.ok("purge-history", "--id", instance_id, "--dry-run", "-o", "json").json()
    assert dry["instanceIds"] == [instance_id]
    assert app.get(f"/instances/{instance_id}").status == 200
    assert durable.ok("purge-history", "--id", instance_id, "--yes").out == "Purged the history of 1 instances.\n"
    assert app.get(f"/instances/{instance_id}").status == 404
