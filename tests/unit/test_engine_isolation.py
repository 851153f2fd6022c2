"""A host error in one instance's episode fails that instance only; the rest of the batch still runs."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from durable_local.host.clock import Clock
from durable_local.host.engine import Engine
from durable_local.host.history import EventType, event, to_micros
from durable_local.host.indexing import FunctionIndex
from durable_local.host.records import Commit, Instance, Message, RuntimeStatus
from durable_local.host.runners import FunctionRunner
from durable_local.host.status import parse_to_token
from durable_local.host.store import Store

NOW = datetime(2026, 1, 1, tzinfo=UTC)


class NoUserCode:
    """The batch below never reaches user code: both episodes end inside the host."""

    index = FunctionIndex()
    pids: list[int] = []

    async def orchestrate(self, calls: list[Any]) -> list[Any]:
        assert not calls
        return []


def test_a_failing_episode_is_isolated_and_its_messages_consumed(tmp_path: Path) -> None:
    store = Store(tmp_path / "store.sqlite", "Hub")
    engine = Engine(store, cast(FunctionRunner, NoUserCode()), Clock())
    rows = [Instance(name, "orch", "e", RuntimeStatus.Running, to_micros(NOW), to_micros(NOW))
            for name in ("broken", "fine")]
    raised = [Message(row.instance_id, event(EventType.EventRaised, NOW, Name="x", Input="1"), to_micros(NOW))
              for row in rows]
    store.apply(Commit(new_instances=rows, messages=raised))
    seen: list[str] = []

    def prepare(instance, history, messages, now):  # the engine's own episode runner, failing for one instance
        seen.append(instance.instance_id)
        if instance.instance_id == "broken":
            raise KeyError("EventType")
        return Commit(consumed_messages=[m.id for m in messages])

    engine.episodes.prepare = prepare  # type: ignore[method-assign]
    asyncio.run(engine._run_episodes(store.ready_instances(to_micros(NOW), 10), NOW))

    assert seen == ["broken", "fine"]
    broken = store.get_instance("broken")
    assert broken is not None and broken.runtime_status == RuntimeStatus.Failed
    assert parse_to_token(broken.output) == "The local host could not run this episode: KeyError: 'EventType'"
    assert store.ready_instances(to_micros(NOW), 10) == []  # nothing is retried forever
    store.close()
