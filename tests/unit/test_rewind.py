"""Rewind as a pure rewrite: which events are rewritten, what is scheduled again, which instances go back.

`rewind(load, instance, reason, now)` is given hand-built histories (DTFx event shapes) and returns the
`Commit` the host would write; nothing runs.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from durable_local.host.history import (
    Event,
    EventType,
    event,
    execution_started,
    orchestrator_completed,
    orchestrator_started,
    to_micros,
)
from durable_local.host.records import Instance, RuntimeStatus
from durable_local.host.rewind import RewindRefused, rewind

T0 = datetime(2026, 1, 1, tzinfo=UTC)
NOW = T0 + timedelta(hours=1)


def failed(instance_id: str, status: RuntimeStatus = RuntimeStatus.Failed) -> Instance:
    row = Instance(instance_id, "Orch", f"exec-{instance_id}", status, to_micros(T0), to_micros(T0))
    row.output, row.completed_time = '"it broke"', to_micros(T0)
    return row


def start(instance_id: str) -> list[Event]:
    return [orchestrator_started(T0), execution_started(T0, instance_id, f"exec-{instance_id}", "Orch", None)]


def end() -> list[Event]:
    return [event(EventType.ExecutionCompleted, T0, OrchestrationStatus=3, Result='"it broke"'),
            orchestrator_completed(T0)]


Loader = Callable[[str], tuple[Instance | None, list[Event]]]


def loader(histories: dict[str, tuple[Instance, list[Event]]]) -> Loader:
    """`load(id)` as the host gives it to rewind: the instance row and its history."""
    return lambda instance_id: histories.get(instance_id, (None, []))


def test_only_failed_instances_can_be_rewound() -> None:
    for status in (RuntimeStatus.Completed, RuntimeStatus.Running, RuntimeStatus.Terminated):
        row = failed("a", status)
        with pytest.raises(RewindRefused, match="only supported on failed orchestration instances"):
            rewind(loader({"a": (row, start("a"))}), row, None, NOW)


def test_instances_with_durable_timers_are_refused() -> None:
    row = failed("t")
    history = [*start("t"), event(EventType.TimerCreated, T0, 0, FireAt="2026-01-01T00:00:00Z"), *end()]
    with pytest.raises(RewindRefused, match="durable timers"):
        rewind(loader({"t": (row, history)}), row, None, NOW)


def test_a_failed_activity_is_rewritten_and_scheduled_again_while_completed_ones_keep_their_results() -> None:
    row = failed("a")
    history = [*start("a"),
               event(EventType.TaskScheduled, T0, 0, Name="Good", Input=json.dumps(['"x"'])),
               event(EventType.TaskCompleted, T0, TaskScheduledId=0, Result='"ok"'),
               event(EventType.TaskScheduled, T0, 1, Name="Bad", Input=json.dumps(['{"n": 2}'])),
               event(EventType.TaskFailed, T0, TaskScheduledId=1, Reason="boom", Details="trace"),
               *end()]
    commit = rewind(loader({"a": (row, history)}), row, "fixed it", NOW)

    assert commit.history_resets == ["a"]
    [(instance_id, start_seq, rewritten)] = commit.history_appends
    assert (instance_id, start_seq) == ("a", 0)
    kinds = [e["EventType"] for e in rewritten]
    assert EventType.ExecutionCompleted not in kinds and EventType.TaskFailed not in kinds
    assert EventType.TaskCompleted in kinds  # the good activity's result stays: it is not run again
    generic = [e for e in rewritten if e["EventType"] == EventType.GenericEvent]
    assert [e["Data"] for e in generic] == ["Rewound: activity failure boom"]
    assert kinds[-3:] == [EventType.OrchestratorStarted, EventType.ExecutionRewound, EventType.OrchestratorCompleted]
    assert rewritten[-2]["Reason"] == "fixed it"

    [work] = commit.work_items
    assert (work.instance_id, work.execution_id, work.sequence_id, work.name) == ("a", "exec-a", 1, "Bad")
    assert work.input == '{"n": 2}'  # the activity's input text, from the TaskScheduled event's one-item list
    [updated] = commit.instances
    assert updated.runtime_status == RuntimeStatus.Pending
    assert updated.output is None and updated.completed_time is None
    assert updated.last_updated_time == to_micros(NOW) and updated.history_length == len(rewritten)
    assert commit.messages == []  # the rescheduled activity wakes the orchestration
    assert row.runtime_status == RuntimeStatus.Failed  # the caller's row is not changed in place


def test_a_failed_sub_orchestration_is_rewound_with_its_parent() -> None:
    parent, child, done_child = failed("p"), failed("c"), failed("d", RuntimeStatus.Completed)
    parent_history = [*start("p"),
                      event(EventType.SubOrchestrationInstanceCreated, T0, 0, Name="Child", InstanceId="c"),
                      event(EventType.SubOrchestrationInstanceFailed, T0, TaskScheduledId=0, Reason="child broke"),
                      event(EventType.SubOrchestrationInstanceCreated, T0, 1, Name="Child", InstanceId="d"),
                      event(EventType.SubOrchestrationInstanceCompleted, T0, TaskScheduledId=1, Result="1"),
                      *end()]
    child_history = [*start("c"), event(EventType.TaskScheduled, T0, 0, Name="Step", Input=json.dumps(["1"])),
                     event(EventType.TaskFailed, T0, TaskScheduledId=0, Reason="step broke"), *end()]
    load = loader({"p": (parent, parent_history), "c": (child, child_history), "d": (done_child, start("d"))})
    commit = rewind(load, parent, None, NOW)

    assert commit.history_resets == ["p", "c"]
    assert [i.instance_id for i in commit.instances] == ["p", "c"]
    assert all(i.runtime_status == RuntimeStatus.Pending for i in commit.instances)
    parent_events = commit.history_appends[0][2]
    assert [e["Data"] for e in parent_events if e["EventType"] == EventType.GenericEvent] == [
        "Rewound: sub-orchestration failure child broke"]
    assert [(w.instance_id, w.name) for w in commit.work_items] == [("c", "Step")]
    assert commit.messages == []


def test_an_orchestrator_that_failed_by_itself_gets_one_new_episode() -> None:
    row = failed("o")
    commit = rewind(loader({"o": (row, [*start("o"), *end()])}), row, "retry", NOW)
    assert commit.work_items == []
    [wake] = commit.messages
    assert (wake.instance_id, wake.execution_id, wake.visible_at) == ("o", "exec-o", to_micros(NOW))
    assert wake.event_type == EventType.GenericEvent and wake.event["Data"] == "Rewound: retry"
