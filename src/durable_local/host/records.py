"""The records the host keeps per task hub: instances, inbox messages and activity work items."""

from __future__ import annotations

from dataclasses import dataclass, field

from durable_local.host.history import Event
from durable_local.vocabulary import TERMINAL_STATUSES, RuntimeStatus

__all__ = ["TERMINAL_STATUSES", "Commit", "Instance", "Message", "RuntimeStatus", "WorkItem"]


@dataclass
class Instance:
    """One row of the instances table: the CQRS read model of an orchestration instance."""

    instance_id: str
    name: str
    execution_id: str
    runtime_status: RuntimeStatus
    created_time: int  # microseconds since the epoch, UTC
    last_updated_time: int
    input: str | None = None  # JSON text as stored by the extension (string literal for SDK starts)
    output: str | None = None
    custom_status: str | None = None
    completed_time: int | None = None
    parent_instance_id: str | None = None
    parent_execution_id: str | None = None
    parent_sequence_id: int | None = None
    history_length: int = 0


@dataclass
class Message:
    """An event waiting in an instance's inbox; timers are messages whose `visible_at` is the fire time."""

    instance_id: str
    event: Event
    visible_at: int
    execution_id: str | None = None
    id: int | None = None

    @property
    def event_type(self) -> int:
        return int(self.event["EventType"])


@dataclass
class WorkItem:
    """An activity execution to run (at least once); its completion becomes a message to the instance."""

    instance_id: str
    execution_id: str
    sequence_id: int
    name: str
    input: str | None
    id: int | None = None
    attempt: int = 1  # the how-many-th run this is; crashes so far = attempt - 1 (store: the lease owner column)


@dataclass
class Commit:
    """Everything one or more episodes change, written in a single transaction."""

    instances: list[Instance] = field(default_factory=list)  # upserted
    new_instances: list[Instance] = field(default_factory=list)  # inserted or replacing terminal ones
    history_appends: list[tuple[str, int, list[Event]]] = field(default_factory=list)  # id, start seq, events
    history_resets: list[str] = field(default_factory=list)  # instance ids whose history is deleted first
    consumed_messages: list[int] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)
    work_items: list[WorkItem] = field(default_factory=list)
    completed_work: list[int] = field(default_factory=list)
    deleted_instances: list[str] = field(default_factory=list)  # entities that no longer exist

    def merge(self, other: Commit) -> None:
        for name in self.__dataclass_fields__:
            getattr(self, name).extend(getattr(other, name))

    def is_empty(self) -> bool:
        return not any(getattr(self, name) for name in self.__dataclass_fields__)

