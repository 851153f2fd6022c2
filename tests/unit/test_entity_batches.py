"""Entity batches on their own: `run_entity` with a real SDK entity function (`df.Entity.create`), no host.

Checks what the host writes for one batch: the entity's new state, the answers to callers (and none to
signals), deletion, a batch whose function fails as a whole, and requests it must drop.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime

import azure.durable_functions as df

from durable_local.host.entities import entity_instance_id, run_entity, signal_request, split_entity_id
from durable_local.host.history import EventType, event, to_micros
from durable_local.host.records import Commit, Instance, Message, RuntimeStatus

NOW = datetime(2026, 1, 1, tzinfo=UTC)
COUNTER_ID = entity_instance_id("Counter", "k")


def counter(context: df.DurableEntityContext) -> None:
    """Add / get / fail / delete, as a user writes an entity."""
    operation = context.operation_name
    if operation == "add":
        total = context.get_state(lambda: 0) + context.get_input()
        context.set_state(total)
        context.set_result(total)
    elif operation == "get":
        context.set_result(context.get_state(lambda: 0))
    elif operation == "fail":
        raise ValueError("counter refused")
    elif operation == "delete":
        context.destruct_on_exit()


INVOKE_COUNTER = df.Entity.create(counter)


def invoke(name: str, batch_json: str) -> str:
    assert name == "counter"  # the name as kept in the instance id: lower-cased
    return str(INVOKE_COUNTER(batch_json))


def run_batch(instance: Instance | None, messages: list[Message], call: Callable[[str, str], str]) -> Commit:
    """One batch for the counter entity: the host's entry point, with `call(name, batch_json)` as the function."""
    return run_entity(COUNTER_ID, instance, messages, NOW, call)


def request(operation: str, value: object = None, *, call_from: str | None = None, request_id: str = "r") -> Message:
    # As the sequencer writes it: the SDK's JSON text of the input, itself as a JSON string.
    body: dict[str, object] = {"op": operation, "input": json.dumps(json.dumps(value)), "id": request_id}
    if call_from:
        body.update(parent=call_from, parentExecution=f"exec-{call_from}")
    else:
        body["signal"] = True
    return Message(COUNTER_ID, event(EventType.EventRaised, NOW, Name="op", Input=json.dumps(body)), to_micros(NOW),
                   id=len(request_id))


def existing(state: object) -> Instance:
    return Instance(COUNTER_ID, "counter", "", RuntimeStatus.Running, 1, 1, output=json.dumps(state))


def test_entity_ids_lower_case_the_name_and_keep_the_key() -> None:
    assert COUNTER_ID == "@counter@k"
    assert split_entity_id(entity_instance_id("Cart", "Key@With@Ats")) == ("cart", "Key@With@Ats")


def test_a_client_signal_is_a_request_message_marked_as_signal() -> None:
    assert json.loads(signal_request("add", "5", "req-1")) == {"op": "add", "signal": True, "input": "5",
                                                              "id": "req-1"}


def test_signals_to_a_new_entity_create_it_and_run_in_arrival_order() -> None:
    messages = [request("add", 2, request_id="a"), request("add", 3, request_id="bb")]
    commit = run_batch(None, messages, invoke)
    assert commit.consumed_messages == [1, 2]
    [created] = commit.new_instances
    assert (created.instance_id, created.name, json.loads(created.output or "null")) == (COUNTER_ID, "counter", 5)
    assert created.created_time == created.last_updated_time == to_micros(NOW)
    assert commit.messages == []  # signals get no answer


def test_a_call_is_answered_to_its_caller_with_the_result() -> None:
    commit = run_batch(existing(10), [request("add", 1, call_from="orch-1", request_id="call-1")], invoke)
    [updated] = commit.instances
    assert json.loads(updated.output or "null") == 11 and updated.created_time == 1
    [answer] = commit.messages
    assert (answer.instance_id, answer.execution_id, answer.visible_at) == ("orch-1", "exec-orch-1", to_micros(NOW))
    assert answer.event_type == EventType.EventRaised and answer.event["Name"] == "call-1"
    response = json.loads(answer.event["Input"])
    assert json.loads(response["result"]) == 11 and "exceptionType" not in response


def test_a_failing_operation_answers_the_caller_with_an_error_and_the_batch_goes_on() -> None:
    messages = [request("fail", call_from="orch-1", request_id="f"), request("add", 4, request_id="later")]
    commit = run_batch(existing(1), messages, invoke)
    [answer] = commit.messages
    response = json.loads(answer.event["Input"])
    assert response["exceptionType"] == "Error" and "counter refused" in response["result"]
    assert json.loads(commit.instances[0].output or "null") == 5


def test_the_delete_operation_removes_an_existing_entity() -> None:
    commit = run_batch(existing(3), [request("delete")], invoke)
    assert commit.deleted_instances == [COUNTER_ID]
    assert commit.instances == [] and commit.new_instances == []


def test_a_batch_whose_function_fails_answers_every_call_with_the_error_and_keeps_the_state() -> None:
    def missing(name: str, batch_json: str) -> str:
        raise LookupError(f"The function '{name}' doesn't exist")

    messages = [request("add", 1, call_from="orch-1", request_id="x"), request("add", 1, request_id="yy")]
    commit = run_batch(existing(7), messages, missing)
    [answer] = commit.messages  # only the call is answered; the signal's failure is logged
    assert json.loads(answer.event["Input"]) == {"result": json.dumps("The function 'counter' doesn't exist"),
                                                 "exceptionType": "Error"}
    assert json.loads(commit.instances[0].output or "null") == 7
    assert commit.consumed_messages == [1, 2]


def test_malformed_and_non_request_messages_are_consumed_without_running_the_entity() -> None:
    def never(name: str, batch_json: str) -> str:
        raise AssertionError("nothing to run")

    messages = [Message(COUNTER_ID, event(EventType.EventRaised, NOW, Input="{not json"), 0, id=1),
                Message(COUNTER_ID, event(EventType.EventRaised, NOW, Input='{"id": "no-op"}'), 0, id=2),
                Message(COUNTER_ID, event(EventType.ExecutionTerminated, NOW, Reason="x"), 0, id=3)]
    commit = run_batch(existing(1), messages, never)
    assert commit.consumed_messages == [1, 2, 3]
    assert commit.instances == [] and commit.messages == [] and commit.deleted_instances == []
