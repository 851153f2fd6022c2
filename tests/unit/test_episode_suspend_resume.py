"""Episode handling of suspend and resume: the host's EpisodeRunner driven over a real Store, message by message.

Replay fidelity seen through HTTP is in tests/e2e/test_replay_fidelity.py; each test states what the real host
does, with its source.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from durable_local.host.episodes import EpisodeRunner
from durable_local.host.history import (
    EventType,
    event,
    execution_started,
    orchestrator_completed,
    orchestrator_started,
    to_micros,
)
from durable_local.host.records import Commit, Instance, Message, RuntimeStatus
from durable_local.host.store import Store

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def never_invoked(name: str, context: str) -> str:
    raise AssertionError("suspend and resume must not run the orchestrator")


def drain(store: Store, runner: EpisodeRunner, now: datetime) -> None:
    """Run episodes as the engine's loop does until no instance has a ready message."""
    for _ in range(20):
        ready = store.ready_instances(to_micros(now), 10)
        if not ready:
            return
        for instance_id in ready:
            instance = store.get_instance(instance_id)
            store.apply(runner.run(instance, store.history(instance_id), store.messages(instance_id, to_micros(now)),
                                   now))
    raise AssertionError("episodes did not settle")


def test_suspend_received_while_suspended_is_ignored_not_replayed_after_resume(tmp_path: Path) -> None:
    # DTFx TaskOrchestrationContext.HandleEventWhileSuspended drops ExecutionSuspended events that arrive while
    # suspended; OrchestrationRuntimeState sets Running on ExecutionResumed. Two suspend requests that both pass
    # the HTTP status check (instance still Running, http-api.md §1.3 (8)) followed by one resume end Running.
    store = Store(tmp_path / "store.sqlite", "EpisodeHub")
    try:
        _suspend_twice_then_resume(store)
    finally:
        store.close()


def _suspend_twice_then_resume(store: Store) -> None:
    runner = EpisodeRunner(never_invoked, lambda kind, name: name, lambda kind: "", store.get_instance)
    instance = Instance("i1", "orch", "e1", RuntimeStatus.Running, to_micros(T0), to_micros(T0), history_length=3)
    history = [orchestrator_started(T0), execution_started(T0, "i1", "e1", "orch", None), orchestrator_completed(T0)]
    store.apply(Commit(new_instances=[instance], history_appends=[("i1", 0, history)]))

    t1 = T0 + timedelta(seconds=1)
    store.apply(Commit(messages=[Message("i1", event(EventType.ExecutionSuspended, t1, Reason="one"), to_micros(t1)),
                                 Message("i1", event(EventType.ExecutionSuspended, t1, Reason="two"), to_micros(t1))]))
    drain(store, runner, t1)
    assert store.get_instance("i1").runtime_status == RuntimeStatus.Suspended

    t2 = T0 + timedelta(seconds=2)
    store.apply(Commit(messages=[Message("i1", event(EventType.ExecutionResumed, t2, Reason="go"), to_micros(t2))]))
    drain(store, runner, t2)
    assert store.get_instance("i1").runtime_status == RuntimeStatus.Running
