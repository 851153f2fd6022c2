"""Seeding instances for tests: `POST /admin/host/seed` (host started with `--testing`).

Each item: `instanceId` (required), `name` (required), `runtimeStatus` (default Completed), `createdTime`
(ISO-8601, default now), `lastUpdatedTime` (default createdTime), `input`, `output`, `customStatus` (JSON
values), and optionally `history`: raw DTFx events (`EventType` as int or name). Without a history, a minimal
one is written (OrchestratorStarted, ExecutionStarted, and ExecutionCompleted for finished instances), so
`showHistory` works. Seeded instances are records only: a seeded Running instance does not run.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from durable_local.host.durable_api import validate_instance_id
from durable_local.host.history import (
    EventType,
    event,
    execution_started,
    orchestrator_completed,
    orchestrator_started,
    parse_time,
    to_micros,
)
from durable_local.host.records import Commit, Instance, RuntimeStatus


class SeedError(ValueError):
    """A seed item that cannot be stored; the message names the item and the field."""


def _text(item: dict[str, Any], key: str) -> str | None:
    return json.dumps(item[key], separators=(",", ":")) if item.get(key) is not None else None


def seed_commit(items: list[dict[str, Any]], now: datetime) -> Commit:
    commit = Commit()
    for position, item in enumerate(items):
        try:
            commit.merge(_seed_one(item, now))
        except (KeyError, ValueError, TypeError) as error:
            raise SeedError(f"seed item {position}: {error}") from error
    return commit


def _seed_one(item: dict[str, Any], now: datetime) -> Commit:
    instance_id, name = str(item["instanceId"]), str(item["name"])
    if not instance_id:
        raise ValueError("instanceId must not be empty")
    validate_instance_id(instance_id)  # the start rules: no leading @ (entities), no / \ ? #, <= 256
    status = RuntimeStatus(item.get("runtimeStatus", "Completed"))
    created = parse_time(item["createdTime"]) if item.get("createdTime") else now
    updated = parse_time(item["lastUpdatedTime"]) if item.get("lastUpdatedTime") else created
    history = item.get("history")
    if history is None:
        history = [orchestrator_started(created),
                   execution_started(created, instance_id, "seeded", name, _text(item, "input")),
                   orchestrator_completed(created)]
        if status.is_terminal:
            history += [orchestrator_started(updated),
                        event(EventType.ExecutionCompleted, updated, OrchestrationStatus=status.number,
                              Result=_text(item, "output")),
                        orchestrator_completed(updated)]
    else:
        history = [{**e, "EventType": _event_type(e["EventType"])} for e in history]
    instance = Instance(
        instance_id=instance_id, name=name, execution_id="seeded", runtime_status=status,
        created_time=to_micros(created), last_updated_time=to_micros(updated), input=_text(item, "input"),
        output=_text(item, "output"), custom_status=_text(item, "customStatus"),
        completed_time=to_micros(updated) if status.is_terminal else None, history_length=len(history))
    return Commit(new_instances=[instance], history_appends=[(instance_id, 0, history)])


def _event_type(value: object) -> int:
    """A DTFx EventType given by name or number; anything else is refused."""
    try:
        if isinstance(value, str):
            return int(EventType[value])
        if isinstance(value, int) and not isinstance(value, bool):
            return int(EventType(value))
    except (KeyError, ValueError) as error:
        raise ValueError(f"unknown EventType {value!r}") from error
    raise ValueError(f"unknown EventType {value!r}")
