"""Sample orchestrations to manage, each showing a case from the instance-management docs.

- `E1_HelloSequence`: function chaining; output `["Hello Tokyo!", "Hello Seattle!", "Hello London!"]`.
- `HelloWorld`: greets the `name` of its JSON input (`samples/counter-data.json`).
- `ApprovalWorkflow`: human interaction; waits for `ApprovalEvent` or escalates after `timeoutHours`.
- `OrderFulfillment`: reserves stock, waits for `ApprovalEvent`, then ships with the carrier configured for
  its warehouse in table `CONFIG_TABLE_NAME`; a missing row fails it, and once an operator adds the row,
  rewinding completes it without repeating the earlier steps or the approval.
- `FailureMonitor`: an eternal orchestration (continue-as-new) that reports how many instances failed.

Orchestrator and activity names are the user-facing Durable names; Python names stay snake_case.
"""

import logging
from collections.abc import Generator
from datetime import timedelta
from typing import Any

import azure.durable_functions as df

from blueprints._management_api import InstanceQuery, query_instances
from blueprints._settings import setting
from blueprints._tables import read_row

logger = logging.getLogger(__name__)

bp = df.Blueprint()

Orchestration = Generator[Any, Any, Any]

APPROVAL_EVENT = "ApprovalEvent"
DEFAULT_CONFIG_TABLE = "OperatorSettings"
WAREHOUSE_PARTITION = "warehouses"


class ConfigurationError(Exception):
    """Raised when an activity finds the app's configuration missing or invalid; fix it, then rewind."""


# -- function chaining ----------------------------------------------------------------------------------
@bp.function_name("E1_HelloSequence")
@bp.orchestration_trigger(context_name="context", orchestration="E1_HelloSequence")
def hello_sequence(context: df.DurableOrchestrationContext) -> Orchestration:
    outputs = []
    for city in ("Tokyo", "Seattle", "London"):
        outputs.append((yield context.call_activity("E1_SayHello", city)))
    return outputs


@bp.function_name("E1_SayHello")
@bp.activity_trigger(input_name="name", activity="E1_SayHello")
def say_hello(name: str) -> str:
    return f"Hello {name}!"


@bp.function_name("HelloWorld")
@bp.orchestration_trigger(context_name="context", orchestration="HelloWorld")
def hello_world(context: df.DurableOrchestrationContext) -> Orchestration:
    data = context.get_input()
    name = data.get("name") if isinstance(data, dict) else data
    return (yield context.call_activity("E1_SayHello", name or "World"))


# -- human interaction ----------------------------------------------------------------------------------
@bp.function_name("ApprovalWorkflow")
@bp.orchestration_trigger(context_name="context", orchestration="ApprovalWorkflow")
def approval_workflow(context: df.DurableOrchestrationContext) -> Orchestration:
    request = context.get_input() or {}
    yield context.call_activity("SendInstanceInfo", context.instance_id)
    yield context.call_activity("RequestApproval", request)
    deadline = context.current_utc_datetime + timedelta(hours=float(request.get("timeoutHours", 72)))
    timeout = context.create_timer(deadline)
    approval = context.wait_for_external_event(APPROVAL_EVENT)
    winner = yield context.task_any([approval, timeout])
    if winner == approval:
        timeout.cancel()
        return {"requestId": request.get("requestId"), "outcome": decision(approval.result),
                "approval": approval.result}
    yield context.call_activity("EscalateApproval", request)
    return {"requestId": request.get("requestId"), "outcome": "Escalated", "approval": None}


def decision(approval: Any) -> str:
    """`Approved` or `Rejected`, from an event body such as `{"approved": true, "by": "ops"}` or `true`."""
    approved = approval.get("approved") if isinstance(approval, dict) else approval
    return "Approved" if approved is True else "Rejected"


@bp.function_name("RequestApproval")
@bp.activity_trigger(input_name="request", activity="RequestApproval")
def request_approval(request: dict[str, Any]) -> str:
    approver = request.get("approver", "an approver")
    logger.info("Approval of request %s requested from %s.", request.get("requestId"), approver)
    return f"Approval requested from {approver}"


@bp.function_name("EscalateApproval")
@bp.activity_trigger(input_name="request", activity="EscalateApproval")
def escalate_approval(request: dict[str, Any]) -> str:
    logger.warning("Approval of request %s timed out; escalating.", request.get("requestId"))
    return "Escalated"


# -- a failure an operator can fix, then rewind -----------------------------------------------------------
@bp.function_name("OrderFulfillment")
@bp.orchestration_trigger(context_name="context", orchestration="OrderFulfillment")
def order_fulfillment(context: df.DurableOrchestrationContext) -> Orchestration:
    order = context.get_input() or {}
    reservation = yield context.call_activity("ReserveInventory", order)
    yield context.call_activity("SendInstanceInfo", context.instance_id)
    approval = yield context.wait_for_external_event(APPROVAL_EVENT)
    shipment = yield context.call_activity("ShipOrder", order)
    return {"orderId": order.get("orderId"), "reservation": reservation, "approval": approval,
            "shipment": shipment}


@bp.function_name("ReserveInventory")
@bp.activity_trigger(input_name="order", activity="ReserveInventory")
def reserve_inventory(order: dict[str, Any]) -> str:
    logger.info("Reserved stock for order %s.", order.get("orderId"))
    return f"reservation-{order.get('orderId')}"


@bp.function_name("ShipOrder")
@bp.activity_trigger(input_name="order", activity="ShipOrder")
async def ship_order(order: dict[str, Any]) -> str:
    warehouse = str(order.get("warehouse", "default"))
    table = setting("CONFIG_TABLE_NAME", DEFAULT_CONFIG_TABLE)
    row = await read_row(table, WAREHOUSE_PARTITION, warehouse)
    carrier = (row or {}).get("Carrier")
    if not carrier:
        raise ConfigurationError(
            f"no shipping carrier is configured for warehouse '{warehouse}': add a row with "
            f"PartitionKey '{WAREHOUSE_PARTITION}', RowKey '{warehouse}' and a Carrier column to table "
            f"{table}, then rewind this instance")
    return f"order {order.get('orderId')} shipped by {carrier}"


# -- eternal orchestration ------------------------------------------------------------------------------
@bp.function_name("FailureMonitor")
@bp.orchestration_trigger(context_name="context", orchestration="FailureMonitor")
def failure_monitor(context: df.DurableOrchestrationContext) -> Orchestration:
    state = context.get_input() or {}
    iteration = int(state.get("iteration", 0)) + 1
    failed = yield context.call_activity("CountFailedInstances", None)
    context.set_custom_status({"iteration": iteration, "failedInstances": failed,
                               "checkedAt": context.current_utc_datetime.isoformat()})
    interval = timedelta(seconds=float(state.get("intervalSeconds", 300)))
    yield context.create_timer(context.current_utc_datetime + interval)
    context.continue_as_new({**state, "iteration": iteration})


@bp.function_name("CountFailedInstances")
@bp.activity_trigger(input_name="unused", activity="CountFailedInstances")
@bp.durable_client_input(client_name="client")
async def count_failed_instances(unused: Any, client: df.DurableOrchestrationClient) -> int:
    page = await query_instances(client, InstanceQuery(runtime_status=("Failed",), show_input=False))
    return len(page.instances)
