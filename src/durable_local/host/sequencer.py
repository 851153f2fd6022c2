"""Replays an orchestrator's returned actions over its history, as the extension's C# shim does.

The Python SDK replays user code and returns *all* actions of the execution (schema V2/V3: one list).
The real host then re-runs those actions as a small async program on DTFx
(`OutOfProcOrchestrationShim.ProcessAsyncActionsV2`): each action is invoked and awaited in order, failures
ignored; invoking allocates sequence ids; history events resolve the awaited tasks, whose continuations run
synchronously. Scheduled-type events in history must match the program's actions by id (else the
orchestration is non-deterministic); actions without a matching event are this episode's new work.

This module is that program, in pure Python (sdk-protocol.md §3.6-3.7). Its invariants:

- one counter per execution; activities, sub-orchestrations, timers and entity messages take one id each,
  external-event waits none;
- retries are host-side (DTFx `RetryInterceptor`): after a failed attempt a timer at `now + interval`,
  after it fires the next attempt; after the last failure one more zero-delay timer, then the failure;
- external events: names case-insensitive, waiters LIFO, early events buffered FIFO and consumed once;
- default sub-orchestration id `{executionId}:{sequenceId}` (DTFx `TaskOrchestrationContext`).
"""

from __future__ import annotations

import json
import uuid
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from durable_local.host.history import Event, EventType, event, history_time, parse_time
from durable_local.vocabulary import function_not_found

HTTP_ACTIVITY = "BuiltIn::HttpActivity"


class OrchestrationFailure(Exception):
    """The host fails the orchestration: non-determinism, an unknown function, a malformed action."""


class NonDeterminismError(OrchestrationFailure):
    """History no longer matches the code; the message is DTFx's (`TaskOrchestrationContext.Handle*Event`)."""

    def __init__(self, detail: str) -> None:
        super().__init__("Non-Deterministic workflow detected: " + detail)


_CHANGED = " Was a change made to the orchestrator code after this instance had already started running?"
_CSHARP_ACTIONS = {"activity": "ScheduleTaskOrchestratorAction", "timer": "CreateTimerOrchestratorAction",
                   "suborchestration": "CreateSubOrchestrationAction", "event": "SendEventOrchestratorAction"}


def _non_determinism(recorded: Event, work: Work | None) -> NonDeterminismError:
    """DTFx's message for a scheduled event that the replayed code does not match, verbatim."""
    sid, name, kind = recorded["EventId"], recorded.get("Name"), EventType(recorded["EventType"])
    actual = _CSHARP_ACTIONS[work.kind] if work else ""
    if kind == EventType.TaskScheduled:
        if work is None:
            return NonDeterminismError(
                f"A previous execution of this orchestration scheduled an activity task with sequence ID {sid} and "
                f"name '{name}' (version ''), but the current replay execution hasn't (yet?) scheduled this task."
                + _CHANGED)
        if work.kind != "activity":
            return NonDeterminismError(
                f"A previous execution of this orchestration scheduled an activity task with sequence number {sid} "
                f"named '{name}', but the current orchestration replay instead produced a {actual} action with "
                "this sequence number." + _CHANGED)
        return NonDeterminismError(
            f"A previous execution of this orchestration scheduled an activity task with sequence number {sid} "
            f"named '{name}', but the current orchestration replay instead scheduled an activity task named "
            f"'{work.name}' with this sequence number. " + _CHANGED)
    if kind == EventType.TimerCreated:
        if work is None:
            return NonDeterminismError(
                f"A previous execution of this orchestration scheduled a timer task with sequence number {sid} but "
                "the current replay execution hasn't (yet?) scheduled this task." + _CHANGED)
        return NonDeterminismError(
            f"A previous execution of this orchestration scheduled a timer task with sequence number {sid} named "
            f"but the current orchestration replay instead produced a {actual} action with this sequence number."
            + _CHANGED)
    if kind == EventType.SubOrchestrationInstanceCreated:
        head = (f"A previous execution of this orchestration scheduled a sub-orchestration task with sequence ID "
                f"{sid} and name '{name}' (version '', instance ID '{recorded.get('InstanceId')}'), but the current ")
        if work is None:
            return NonDeterminismError(head + "replay execution hasn't (yet?) scheduled this task." + _CHANGED)
        if work.kind != "suborchestration":
            return NonDeterminismError(
                head + f"orchestration replay instead produced a {actual} action at this sequence number." + _CHANGED)
        return NonDeterminismError(
            head + f"orchestration replay instead scheduled a sub-orchestration task with name {work.name} at this "
            "sequence number." + _CHANGED)
    head = (f"A previous execution of this orchestration scheduled a send event task with sequence ID {sid}, "
            f"type 'EventSent' name '{name}', instance ID '{recorded.get('InstanceId')}', but the current ")
    if work is None:
        return NonDeterminismError(head + "replay execution hasn't (yet?) scheduled this task." + _CHANGED)
    return NonDeterminismError(
        head + f"orchestration replay instead scheduled a {actual} task at this sequence number." + _CHANGED)


@dataclass
class Work:
    """One piece of new work an episode schedules; `scheduled_event()` is what goes into history."""

    sequence_id: int
    kind: str  # "activity" | "timer" | "suborchestration" | "event"
    name: str | None = None
    input: str | None = None
    instance_id: str | None = None
    fire_at: datetime | None = None
    canceled: bool = False
    request_id: str | None = None  # entity call: id the response EventRaised is named after
    is_signal: bool = False
    parent_instance_id: str | None = None
    parent_execution_id: str | None = None

    def scheduled_event(self, timestamp: datetime) -> Event:
        sid = self.sequence_id
        if self.kind == "activity":
            return event(EventType.TaskScheduled, timestamp, sid, Name=self.name, Version="",
                         Input=json.dumps([self.input]))
        if self.kind == "timer":
            assert self.fire_at is not None
            return event(EventType.TimerCreated, timestamp, sid, FireAt=history_time(self.fire_at))
        if self.kind == "suborchestration":
            return event(EventType.SubOrchestrationInstanceCreated, timestamp, sid, Name=self.name,
                         Version="", InstanceId=self.instance_id, Input=self.input)
        return event(EventType.EventSent, timestamp, sid, InstanceId=self.instance_id, Name=self.name,
                     Input=self.entity_request())

    def entity_request(self) -> str:
        """The RequestMessage JSON an entity operation carries (EXT `EntityScheduler/RequestMessage.cs`)."""
        message: dict[str, Any] = {"op": self.name, "input": json.dumps(self.input), "id": self.request_id,
                                   "parent": self.parent_instance_id,
                                   "parentExecution": self.parent_execution_id}
        if self.is_signal:
            message = {"op": self.name, "signal": True, "input": json.dumps(self.input), "id": self.request_id}
        return json.dumps(message)


class _Future:
    """A task of the replayed program: done once, success or failure, continuations run synchronously."""

    __slots__ = ("_callbacks", "done", "failed")

    def __init__(self) -> None:
        self.done = False
        self.failed = False
        self._callbacks: list[Callable[[_Future], None]] = []

    def resolve(self, failed: bool = False) -> None:
        if self.done:
            return
        self.done, self.failed = True, failed
        callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            callback(self)

    def then(self, callback: Callable[[_Future], None]) -> None:
        if self.done:
            callback(self)
        else:
            self._callbacks.append(callback)


def _when_all(children: list[_Future]) -> _Future:
    result = _Future()
    remaining = [len(children)]

    def one_done(child: _Future) -> None:
        remaining[0] -= 1
        if remaining[0] == 0:
            result.resolve(failed=any(c.failed for c in children))

    if not children:
        result.resolve()
    for child in children:
        child.then(one_done)
    return result


def _when_any(children: list[_Future]) -> _Future:
    result = _Future()
    for child in children:
        child.then(lambda c: result.resolve(failed=False))
    if not children:
        result.resolve()
    return result


#: Resolves a function name of a kind ("activity", "orchestrator", "entity") to its registered name.
FunctionResolver = Callable[[str, str], str | None]


@dataclass
class Replay:
    """The result of replaying one episode: new work in id order, and a continue-as-new input if any."""

    new_work: list[Work] = field(default_factory=list)
    continue_as_new: bool = False
    continue_as_new_input: str | None = None
    program_finished: bool = False  # every action awaited: only then may the shim complete the instance


class Sequencer:
    """Runs the action program against the history of the current execution; see the module docstring."""

    def __init__(self, *, instance_id: str, execution_id: str, resolve: FunctionResolver,
                 known: Callable[[str], str]) -> None:
        self.instance_id = instance_id
        self.execution_id = execution_id
        self._resolve = resolve
        self._known = known  # kind -> "Additional info" text listing registered functions
        self._seq = 0
        self._now: datetime | None = None
        self._pending: dict[int, Work] = {}
        self._open: dict[int, _Future] = {}
        self._entity_requests: dict[str, _Future] = {}
        self._waiters: dict[str, list[_Future]] = defaultdict(list)
        self._buffered: dict[str, deque[Any]] = defaultdict(deque)
        self._replay = Replay()

    # -- the program -------------------------------------------------------------------------------------
    def run(self, actions: list[Any], history: list[Event]) -> Replay:
        """Replay `actions` (the SDK's `actions` field) over `history` (what was sent to the SDK)."""
        if not isinstance(actions, list):
            raise OrchestrationFailure("The orchestrator returned malformed actions.")
        if len(actions) > 1:
            raise OrchestrationFailure(
                f"Expected exactly one list of actions for replay schema V2 or later, got {len(actions)}.")
        program = list(actions[0]) if actions else []
        for item in history:
            self._process(item, program)
        self._replay.new_work = [self._pending[key] for key in sorted(self._pending)]
        return self._replay

    def _start_program(self, program: list[dict[str, Any]]) -> None:
        position = [0]

        def step(_: _Future | None = None) -> None:
            while position[0] < len(program):
                future = self._invoke(program[position[0]])
                position[0] += 1
                if not future.done:
                    future.then(step)
                    return
            self._replay.program_finished = True

        step()

    # -- history -----------------------------------------------------------------------------------------
    def _process(self, item: Event, program: list[dict[str, Any]]) -> None:
        kind = item["EventType"]
        if kind == EventType.OrchestratorStarted:
            self._now = parse_time(item["Timestamp"])
        elif kind == EventType.ExecutionStarted:
            self._start_program(program)
        elif kind in (EventType.TaskScheduled, EventType.SubOrchestrationInstanceCreated,
                      EventType.TimerCreated, EventType.EventSent):
            self._match_scheduled(item)
        elif kind in (EventType.TaskCompleted, EventType.SubOrchestrationInstanceCompleted):
            self._complete(item.get("TaskScheduledId"), failed=False)
        elif kind in (EventType.TaskFailed, EventType.SubOrchestrationInstanceFailed):
            self._complete(item.get("TaskScheduledId"), failed=True)
        elif kind == EventType.TimerFired:
            self._complete(item.get("TimerId"), failed=False)
        elif kind == EventType.EventRaised:
            self._raise(item.get("Name") or "", item.get("Input"))

    _EXPECTED = {
        EventType.TaskScheduled: "activity",
        EventType.SubOrchestrationInstanceCreated: "suborchestration",
        EventType.TimerCreated: "timer",
        EventType.EventSent: "event",
    }

    def _match_scheduled(self, item: Event) -> None:
        sequence_id = item["EventId"]
        recorded = EventType(item["EventType"])
        work = self._pending.pop(sequence_id, None)
        recorded_name = item.get("Name")
        if work is None or work.kind != self._EXPECTED[recorded] or (
                work.kind in ("activity", "suborchestration")
                and (work.name or "").casefold() != (recorded_name or "").casefold()):
            raise _non_determinism(item, work)
        if work.kind == "event" and work.request_id is not None and not work.is_signal:
            # An entity call's response is named after the request id recorded in history.
            try:
                recorded_id = json.loads(item.get("Input") or "{}").get("id")
            except (ValueError, AttributeError):
                recorded_id = None
            if recorded_id and recorded_id != work.request_id:
                self._entity_requests[recorded_id] = self._entity_requests.pop(work.request_id)

    def _complete(self, sequence_id: Any, failed: bool) -> None:
        future = self._open.pop(sequence_id, None) if isinstance(sequence_id, int) else None
        if future is not None:
            future.resolve(failed=failed)

    def _raise(self, name: str, data: Any) -> None:
        request = self._entity_requests.pop(name, None)
        if request is not None:
            request.resolve()
            return
        waiters = self._waiters.get(name.casefold())
        if waiters:
            waiters.pop().resolve()
        else:
            self._buffered[name.casefold()].append(data)

    # -- actions -----------------------------------------------------------------------------------------
    def _invoke(self, action: dict[str, Any]) -> _Future:
        if not isinstance(action, dict):
            raise OrchestrationFailure(f"Received a malformed action: {action!r}")
        action_type = action.get("actionType")
        if action_type == 0:
            return self._schedule(self._activity(action))
        if action_type == 8:
            return self._schedule(Work(-1, "activity", HTTP_ACTIVITY, json.dumps(action.get("httpRequest"))))
        if action_type == 2:
            return self._schedule(self._suborchestration(action))
        if action_type in (1, 3):
            build = self._activity if action_type == 1 else self._suborchestration
            return self._retry(lambda: self._schedule(build(action)), action.get("retryOptions") or {})
        if action_type == 5:
            future = self._schedule(Work(-1, "timer", fire_at=parse_time(action["fireAt"]),
                                         canceled=bool(action.get("isCanceled"))))
            if action.get("isCanceled"):
                future.resolve(failed=True)  # cts.Cancel(): the await throws, the id stays allocated
            return future
        if action_type == 6:
            return self._wait_for_event(str(action.get("externalEventName") or ""))
        if action_type in (7, 9):
            return self._entity_message(action, signal=action_type == 9)
        if action_type == 4:
            self._replay.continue_as_new = True
            self._replay.continue_as_new_input = action.get("input")
            return _done()
        if action_type in (11, 12):
            children = [self._invoke(child) for child in action.get("compoundActions") or []]
            return _when_any(children) if action_type == 11 else _when_all(children)
        raise OrchestrationFailure(f"Received an unexpected action type '{action_type}'.")

    def _activity(self, action: dict[str, Any]) -> Work:
        name = self._require("activity", action.get("functionName"))
        return Work(-1, "activity", name, action.get("input"))

    def _suborchestration(self, action: dict[str, Any]) -> Work:
        name = self._require("orchestrator", action.get("functionName"))
        instance_id = action.get("instanceId")
        if instance_id and instance_id == self.instance_id:  # EXT DurableOrchestrationContext, ArgumentException
            raise OrchestrationFailure("The instance ID of a sub-orchestration must be different than the instance "
                                       "ID of a parent orchestration.")
        if instance_id and str(instance_id).startswith("@"):
            raise OrchestrationFailure("Orchestration instance ids must not start with @.")
        return Work(-1, "suborchestration", name, action.get("input"), instance_id=instance_id)

    def _require(self, kind: str, name: Any) -> str:
        resolved = self._resolve(kind, str(name)) if name else None
        if resolved is None:
            raise OrchestrationFailure(function_not_found(name, kind, self._known(kind)))
        return resolved

    def _schedule(self, work: Work) -> _Future:
        work.sequence_id = self._seq
        self._seq += 1
        if work.kind == "suborchestration" and not work.instance_id:
            work.instance_id = f"{self.execution_id}:{work.sequence_id}"
        future = _Future()
        self._pending[work.sequence_id] = work
        self._open[work.sequence_id] = future
        return future

    def _timer(self, fire_at: datetime) -> _Future:
        return self._schedule(Work(-1, "timer", fire_at=fire_at))

    def _retry(self, attempt: Callable[[], _Future], options: dict[str, Any]) -> _Future:
        result = _Future()
        interval = timedelta(milliseconds=int(options.get("firstRetryIntervalInMilliseconds") or 0))
        max_attempts = max(1, int(options.get("maxNumberOfAttempts") or 1))
        attempts = [0]

        def run_attempt(_: _Future | None = None) -> None:
            attempts[0] += 1
            attempt().then(after_attempt)

        def after_attempt(outcome: _Future) -> None:
            now = self._now_or_raise()
            if not outcome.failed:
                result.resolve()
            elif attempts[0] < max_attempts:
                self._timer(now + interval).then(run_attempt)
            else:  # DTFx RetryInterceptor: one more zero-delay timer after the last failure
                self._timer(now).then(lambda _: result.resolve(failed=True))

        run_attempt()
        return result

    def _wait_for_event(self, name: str) -> _Future:
        future = _Future()
        buffered = self._buffered.get(name.casefold())
        if buffered:
            buffered.popleft()
            future.resolve()
        else:
            self._waiters[name.casefold()].append(future)
        return future

    def _entity_message(self, action: dict[str, Any], signal: bool) -> _Future:
        target = str(action.get("instanceId") or "")
        entity_name = target[1:].split("@", 1)[0] if target.startswith("@") else ""
        if self._resolve("entity", entity_name) is None:
            raise OrchestrationFailure(function_not_found(entity_name, "entity", self._known("entity")))
        work = Work(-1, "event", action.get("operation"), action.get("input"), instance_id=target,
                    request_id=str(uuid.uuid4()), is_signal=signal, parent_instance_id=self.instance_id,
                    parent_execution_id=self.execution_id)
        work.sequence_id = self._seq
        self._seq += 1
        self._pending[work.sequence_id] = work
        if signal:
            return _done()
        future = _Future()
        assert work.request_id is not None
        self._entity_requests[work.request_id] = future
        return future

    def _now_or_raise(self) -> datetime:
        if self._now is None:
            raise OrchestrationFailure("The history has no OrchestratorStarted event.")
        return self._now


def _done() -> _Future:
    future = _Future()
    future.resolve()
    return future

