"""The sequencing algorithm against the real SDK: orchestrators replayed over hand-built histories.

Each test runs a real `azure-functions-durable` orchestrator on a history, then the host's `Sequencer` on the
actions it returned, and asserts the new work (ids, kinds, names, fire times) the real host would schedule.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import azure.durable_functions as df
import pytest

from durable_local.host.history import EventType, event, execution_started, orchestrator_started
from durable_local.host.sequencer import OrchestrationFailure, Replay, Sequencer

T0 = datetime(2026, 1, 1, tzinfo=UTC)
ACTIVITIES = {"hello", "flaky", "square"}
ORCHESTRATORS = {"child"}


def resolve(kind: str, name: str) -> str | None:
    known = ACTIVITIES if kind == "activity" else ORCHESTRATORS if kind == "orchestrator" else set()
    return name if name.lower() in known else None


def run(orchestrator: Any, history: list[dict[str, Any]], given: Any = None) -> tuple[dict[str, Any], Replay]:
    handle = df.Orchestrator.create(orchestrator)
    context = {"history": history, "input": json.dumps(given), "instanceId": "inst", "isReplaying": False,
               "parentInstanceId": None, "upperSchemaVersion": 1, "upperSchemaVersionNew": 2,
               "maximumShortTimerDuration": "6.00:00:00", "longRunningTimerIntervalDuration": "3.00:00:00"}
    try:
        state = json.loads(handle(json.dumps(context)))
    except Exception as error:  # the SDK reports orchestrator failures with the state after a marker
        state = json.loads(str(error).split("$OutOfProcData$:", 1)[1])
    replay = Sequencer(instance_id="inst", execution_id="exec1", resolve=resolve,
                       known=lambda kind: "none").run(state["actions"], history)
    return state, replay


def start(at: datetime = T0) -> list[dict[str, Any]]:
    return [orchestrator_started(at), execution_started(at, "inst", "exec1", "orch", json.dumps("null"))]


def scheduled(replay: Replay) -> list[tuple[int, str, str | None]]:
    return [(w.sequence_id, w.kind, w.name) for w in replay.new_work]


def hello_sequence(context: df.DurableOrchestrationContext):
    results = []
    for city in ["Tokyo", "Seattle", "London"]:
        results.append((yield context.call_activity("Hello", city)))
    return results


def test_first_episode_schedules_the_first_activity_with_id_0():
    _, replay = run(hello_sequence, start())
    assert scheduled(replay) == [(0, "activity", "Hello")]
    assert replay.new_work[0].input == '"Tokyo"'


def test_completion_advances_the_sequence_to_id_1():
    history = start() + [event(EventType.TaskScheduled, T0, 0, Name="Hello"),
                         orchestrator_started(T0 + timedelta(seconds=1)),
                         event(EventType.TaskCompleted, T0, TaskScheduledId=0, Result='"Hello Tokyo!"')]
    _, replay = run(hello_sequence, history)
    assert scheduled(replay) == [(1, "activity", "Hello")]
    assert replay.new_work[0].input == '"Seattle"'


def test_completed_sequence_schedules_nothing_and_returns_every_result():
    history = start()
    for sequence_id, city in enumerate(["Tokyo", "Seattle", "London"]):
        history += [event(EventType.TaskScheduled, T0, sequence_id, Name="Hello"), orchestrator_started(T0),
                    event(EventType.TaskCompleted, T0, TaskScheduledId=sequence_id, Result=json.dumps(city))]
    state, replay = run(hello_sequence, history)
    assert replay.new_work == []
    assert state["isDone"] is True and state["output"] == ["Tokyo", "Seattle", "London"]


def fan_out(context: df.DurableOrchestrationContext):
    return sum((yield context.task_all([context.call_activity("Square", n) for n in range(3)])))


def test_fan_out_allocates_one_id_per_activity_in_order():
    _, replay = run(fan_out, start())
    assert scheduled(replay) == [(0, "activity", "Square"), (1, "activity", "Square"), (2, "activity", "Square")]
    assert [w.input for w in replay.new_work] == ["0", "1", "2"]


def with_retry(context: df.DurableOrchestrationContext):
    options = df.RetryOptions(first_retry_interval_in_milliseconds=5000, max_number_of_attempts=2)
    return (yield context.call_activity_with_retry("Flaky", options, None))


def failed(sequence_id: int) -> dict[str, Any]:
    return event(EventType.TaskFailed, T0, TaskScheduledId=sequence_id, Reason="Activity function 'Flaky' failed: "
                 " ValueError: no", Details="{}")


def test_retry_schedules_a_timer_after_a_failure_at_now_plus_the_interval():
    failure_time = T0 + timedelta(seconds=3)
    history = start() + [event(EventType.TaskScheduled, T0, 0, Name="Flaky"), orchestrator_started(failure_time),
                         failed(0)]
    _, replay = run(with_retry, history)
    assert scheduled(replay) == [(1, "timer", None)]
    assert replay.new_work[0].fire_at == failure_time + timedelta(seconds=5)


def test_retry_runs_the_next_attempt_when_the_retry_timer_fires():
    history = start() + [event(EventType.TaskScheduled, T0, 0, Name="Flaky"), orchestrator_started(T0), failed(0),
                         event(EventType.TimerCreated, T0, 1, FireAt="x"), orchestrator_started(T0),
                         event(EventType.TimerFired, T0, TimerId=1)]
    _, replay = run(with_retry, history)
    assert scheduled(replay) == [(2, "activity", "Flaky")]


def test_retry_adds_a_zero_delay_timer_after_the_last_attempt_then_fails():
    last = T0 + timedelta(seconds=9)
    history = start() + [event(EventType.TaskScheduled, T0, 0, Name="Flaky"), orchestrator_started(T0), failed(0),
                         event(EventType.TimerCreated, T0, 1, FireAt="x"), orchestrator_started(T0),
                         event(EventType.TimerFired, T0, TimerId=1), event(EventType.TaskScheduled, T0, 2,
                                                                           Name="Flaky"),
                         orchestrator_started(last), failed(2)]
    state, replay = run(with_retry, history)
    assert scheduled(replay) == [(3, "timer", None)] and replay.new_work[0].fire_at == last
    assert not state.get("error")
    history += [event(EventType.TimerCreated, last, 3, FireAt="x"), orchestrator_started(last),
                event(EventType.TimerFired, last, TimerId=3)]
    state, replay = run(with_retry, history)
    assert replay.new_work == []
    assert "Activity function 'Flaky' failed" in state["error"]


def approval(context: df.DurableOrchestrationContext):
    timer = context.create_timer(context.current_utc_datetime + timedelta(hours=1))
    answer = context.wait_for_external_event("Approval")
    winner = yield context.task_any([answer, timer])
    if winner == answer:
        timer.cancel()
        return answer.result
    return "timed out"


def test_event_versus_timer_waits_take_one_id_for_the_timer_only():
    _, replay = run(approval, start())
    assert scheduled(replay) == [(0, "timer", None)]
    assert replay.new_work[0].fire_at == T0 + timedelta(hours=1)


def test_task_any_with_the_event_first_cancels_the_timer_and_completes():
    history = start() + [event(EventType.TimerCreated, T0, 0, FireAt="x"), orchestrator_started(T0),
                         event(EventType.EventRaised, T0, Name="Approval", Input='"yes"')]
    state, replay = run(approval, history)
    assert replay.new_work == []
    assert state["isDone"] and state["output"] == "yes"
    timer_action = state["actions"][0][0]["compoundActions"][1]
    assert timer_action["actionType"] == 5 and timer_action["isCanceled"] is True


def parent(context: df.DurableOrchestrationContext):
    first = yield context.call_sub_orchestrator("Child", 1)
    second = yield context.call_sub_orchestrator("Child", 2, "my-child")
    return [first, second]


def test_sub_orchestrations_get_the_default_id_execution_colon_sequence():
    _, replay = run(parent, start())
    assert scheduled(replay) == [(0, "suborchestration", "Child")]
    assert replay.new_work[0].instance_id == "exec1:0"
    history = start() + [event(EventType.SubOrchestrationInstanceCreated, T0, 0, Name="Child", InstanceId="exec1:0"),
                         orchestrator_started(T0),
                         event(EventType.SubOrchestrationInstanceCompleted, T0, TaskScheduledId=0, Result="1")]
    _, replay = run(parent, history)
    assert scheduled(replay) == [(1, "suborchestration", "Child")]
    assert replay.new_work[0].instance_id == "my-child"


def eternal(context: df.DurableOrchestrationContext):
    count = context.get_input()
    yield context.call_activity("Hello", count)
    context.continue_as_new(count + 1)


def test_continue_as_new_is_reported_with_its_input():
    history = [orchestrator_started(T0), execution_started(T0, "inst", "exec1", "orch", None)]
    handle_input = start()
    handle_input[1]["Input"] = json.dumps("4")
    history = handle_input + [event(EventType.TaskScheduled, T0, 0, Name="Hello"), orchestrator_started(T0),
                              event(EventType.TaskCompleted, T0, TaskScheduledId=0, Result="null")]
    state, replay = run(eternal, history, given=4)
    assert state["isDone"] is True
    assert replay.continue_as_new is True and replay.continue_as_new_input == "5"


def test_history_that_no_longer_matches_the_code_names_the_sequence_id_and_both_operations():
    history = start() + [event(EventType.TaskScheduled, T0, 0, Name="Goodbye"), orchestrator_started(T0)]
    with pytest.raises(OrchestrationFailure) as failure:
        run(hello_sequence, history)
    message = str(failure.value)  # DTFx's wording (TaskOrchestrationContext.HandleTaskScheduledEvent)
    assert message.startswith("Non-Deterministic workflow detected:")
    assert "sequence number 0" in message and "'Goodbye'" in message and "'Hello'" in message


def test_an_unknown_activity_fails_the_orchestration_with_the_extension_message():
    def calls_missing(context: df.DurableOrchestrationContext):
        yield context.call_activity("Missing", None)

    with pytest.raises(OrchestrationFailure, match="The function 'Missing' doesn't exist"):
        run(calls_missing, start())


def test_events_buffered_before_the_wait_are_consumed_once_case_insensitively():
    def two_waits(context: df.DurableOrchestrationContext):
        first = yield context.wait_for_external_event("Go")
        yield context.call_activity("Hello", first)
        second = yield context.wait_for_external_event("Go")
        return [first, second]

    history = start() + [event(EventType.EventRaised, T0, Name="GO", Input='"early"')]
    state, replay = run(two_waits, history)
    # The SDK keys events by exact name; the host's buffer is case-insensitive, so the host schedules
    # nothing new until the SDK itself resolves the wait.
    assert state["isDone"] is False
    history = start() + [event(EventType.EventRaised, T0, Name="Go", Input='"early"')]
    _, replay = run(two_waits, history)
    assert scheduled(replay) == [(0, "activity", "Hello")]
