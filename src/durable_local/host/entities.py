"""Durable entities: one batch of operations per entity, as the extension's `TaskEntityShim` runs them.

An entity is an instance with the id `@{name}@{key}` (the name lower-cased, EXT `EntityId`); its state is the
`df_dumps` text the SDK returns, kept in the instance row's `output`. Requests arrive as `EventRaised`
messages whose `Input` is a RequestMessage (`{"op", "signal"?, "input", "id", "parent"?, ...}`); a batch of
them goes to the entity function as `{"self", "exists", "state", "batch"}` — no other keys, the SDK refuses
them (sdk-protocol.md §5). Each call (not signal) is answered with `EventRaised(Name=request id)` to the
caller, `{"result": ..., "exceptionType": "Error"}` when the operation failed. Operations on one entity run
serially, in arrival order; `destruct_on_exit()` (the delete operation) removes the entity.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from durable_local.host.history import EventType, event, to_micros
from durable_local.host.records import Commit, Instance, Message, RuntimeStatus

log = logging.getLogger(__name__)

def entity_instance_id(name: str, key: str) -> str:
    return f"@{name.lower()}@{key}"


def split_entity_id(instance_id: str) -> tuple[str, str]:
    name, _, key = instance_id[1:].partition("@")
    return name, key


def signal_request(operation: str, input_text: str | None, request_id: str) -> str:
    """The RequestMessage a client signal carries (EXT `RequestMessage`, `isSignal`)."""
    return json.dumps({"op": operation, "signal": True, "input": input_text, "id": request_id})


@dataclass
class EntityBatch:
    """An entity batch waiting for its entity function call; `context` is the batch JSON to call it with."""

    instance_id: str
    instance: Instance | None
    requests: list[dict[str, Any]]
    commit: Commit
    exists: bool
    context: str


def run_entity(instance_id: str, instance: Instance | None, messages: list[Message], now: datetime,
               invoke: Callable[[str, str], str]) -> Commit:
    """One whole batch with the entity function called in this process: `invoke(name, batch JSON)` returns
    the SDK's result JSON or raises. The engine does the same in two steps around its worker call."""
    batch = prepare_entity(instance_id, instance, messages)
    if isinstance(batch, Commit):
        return batch
    try:
        result = invoke(split_entity_id(instance_id)[0], batch.context)
    except Exception as error:
        return complete_entity(batch, None, error, now)
    return complete_entity(batch, result, None, now)


def prepare_entity(instance_id: str, instance: Instance | None, messages: list[Message]) -> Commit | EntityBatch:
    """Read the batch of operations: a finished Commit when there is nothing to run, else the call to make."""
    commit = Commit(consumed_messages=[m.id for m in messages if m.id is not None])
    requests = []
    for message in messages:
        if message.event_type != EventType.EventRaised:
            continue
        try:
            request = json.loads(message.event.get("Input") or "{}")
        except ValueError:
            log.warning("dropping a malformed request to entity %s", instance_id)
            continue
        if isinstance(request, dict) and request.get("op") is not None:
            requests.append(request)
    if not requests:
        return commit
    name, key = split_entity_id(instance_id)
    exists = instance is not None and instance.output is not None
    context = {"self": {"name": name, "key": key}, "exists": exists,
               "state": instance.output if exists and instance else None,
               "batch": [{"name": r["op"], "input": r.get("input"), "isSignal": bool(r.get("signal"))}
                         for r in requests]}
    return EntityBatch(instance_id, instance, requests, commit, exists, json.dumps(context))


def complete_entity(batch: EntityBatch, result_json: str | None, error: Exception | None, now: datetime) -> Commit:
    """Turn the entity function's answer (or its failure: every call gets the error) into the batch's Commit."""
    instance_id, instance, requests, commit = batch.instance_id, batch.instance, batch.requests, batch.commit
    name, _ = split_entity_id(instance_id)
    try:
        if error is not None:
            raise error
        result = json.loads(result_json or "{}")
        results = result.get("results") or []
        state_exists, state = bool(result.get("entityExists")), result.get("entityState")
    except Exception as failure:  # the whole batch failed: every call gets the error
        log.warning("entity %s failed: %s", instance_id, failure)
        results = [{"isError": True, "result": json.dumps(str(failure))} for _ in requests]
        state_exists, state = batch.exists, instance.output if instance else None
    for request, outcome in zip(requests, results, strict=False):
        if request.get("signal") or not request.get("parent"):
            if outcome.get("isError"):
                log.warning("entity %s operation '%s' failed: %s", instance_id, request["op"], outcome.get("result"))
            continue
        response = {"result": outcome.get("result")}
        if outcome.get("isError"):
            response["exceptionType"] = "Error"
        answer = event(EventType.EventRaised, now, Name=request.get("id"), Input=json.dumps(response))
        commit.messages.append(Message(str(request["parent"]), answer, to_micros(now),
                                       request.get("parentExecution")))
    micros = to_micros(now)
    if state_exists:
        row = Instance(instance_id=instance_id, name=name, execution_id="", runtime_status=RuntimeStatus.Running,
                       created_time=instance.created_time if instance else micros, last_updated_time=micros,
                       output=state)
        (commit.instances if instance else commit.new_instances).append(row)
    elif instance is not None:
        commit.deleted_instances.append(instance_id)
    return commit
