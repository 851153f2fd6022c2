"""One orchestration episode: deliver inbox messages, run the orchestrator, turn its actions into a Commit.

Mirrors what DTFx's `TaskOrchestrationDispatcher` plus the extension's shim do per work item
(sdk-protocol.md §3.1-3.9):

- an episode appends `OrchestratorStarted(now)`, the delivered events, the scheduled events of new work
  and `OrchestratorCompleted` (plus `ExecutionCompleted` when the execution ends);
- `IsPlayed` is true before the last OrchestratorStarted, so the SDK's `is_replaying` matches the host's;
- terminate, suspend and resume are handled by the host without running the orchestrator;
- completions for another execution (after continue-as-new) are discarded, as DTFx does;
- a failing orchestrator fails the instance with "Orchestrator function '{name}' failed: {error}" and the
  parent, if any, receives SubOrchestrationInstanceFailed; a completed one sends its output up.
"""

from __future__ import annotations

import copy
import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from durable_local.host.failure_text import exception_message, truncated_or_none
from durable_local.host.history import (
    Event,
    EventType,
    event,
    execution_started,
    history_time,
    orchestrator_completed,
    orchestrator_started,
    to_micros,
)
from durable_local.host.invoke import Invocation
from durable_local.host.records import Commit, Instance, Message, RuntimeStatus, WorkItem
from durable_local.host.sequencer import (
    FunctionResolver,
    NonDeterminismError,
    OrchestrationFailure,
    Replay,
    Sequencer,
    Work,
)

log = logging.getLogger(__name__)

OUT_OF_PROC_MARKER = "\n\n$OutOfProcData$:"
CONTROL_TYPES = (EventType.ExecutionTerminated, EventType.ExecutionSuspended, EventType.ExecutionResumed)

#: Calls an orchestrator function (by name) with the context JSON, in this process.
OrchestratorInvoker = Callable[[str, str], Invocation]


@dataclass
class _Outcome:
    """What the orchestrator asked for in this episode."""

    state: dict[str, Any] | None
    error: str | None = None
    details: str | None = None
    nondeterminism_failure: bool = False  # a non-determinism failure, reported without the shim's prefix


@dataclass
class PendingEpisode:
    """An episode waiting for its orchestrator call; `context` is the trigger value to call it with."""

    commit: Commit
    instance: Instance
    started: Event
    sent: list[Event]
    new_events: list[Event]
    now: datetime
    context: str


def new_execution_id() -> str:
    return uuid.uuid4().hex


def compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


class EpisodeRunner:
    """Runs episodes for one task hub; knows the registered functions through `resolve`/`known`."""

    def __init__(self, invoke: OrchestratorInvoker, resolve: FunctionResolver,
                 known: Callable[[str], str], lookup: Callable[[str], Instance | None]) -> None:
        self._invoke = invoke
        self._resolve = resolve
        self._known = known
        self._lookup = lookup  # reads an instance (to refuse starting a child over a running one)

    def run(self, instance: Instance | None, history: list[Event], messages: list[Message],
            now: datetime) -> Commit:
        """One whole episode, calling the orchestrator in this process."""
        prepared = self.prepare(instance, history, messages, now)
        if isinstance(prepared, Commit):
            return prepared
        return self.complete(prepared, self._invoke(prepared.instance.name, prepared.context))

    def prepare(self, instance: Instance | None, history: list[Event], messages: list[Message],
                now: datetime) -> Commit | PendingEpisode:
        """Everything before the orchestrator call: a finished Commit, or the call still to make."""
        commit = Commit(consumed_messages=[m.id for m in messages if m.id is not None])
        if instance is None or instance.runtime_status.is_terminal:
            if instance is not None and messages:
                log.debug("discarding %d message(s) for %s instance %s", len(messages),
                          instance.runtime_status.value, instance.instance_id)
            return commit  # messages for a finished or purged instance are dropped
        suspended = instance.runtime_status == RuntimeStatus.Suspended
        # Stale completions (another execution) are dropped; so is a suspend that arrives while suspended
        # (DTFx `HandleEventWhileSuspended`).
        current = [m for m in messages if m.execution_id in (None, instance.execution_id)
                   and not (suspended and m.event_type == EventType.ExecutionSuspended)]
        batch = _take_batch(current, suspended=suspended)
        keep = {id(m) for m in current if all(m is not b for b in batch)}
        commit.consumed_messages = [m.id for m in messages if m.id is not None and id(m) not in keep]
        if not batch:
            return commit
        updated = copy.copy(instance)
        updated.last_updated_time = to_micros(now)
        control = batch[-1].event_type
        if control == EventType.ExecutionTerminated:
            self._terminate(updated, [m.event for m in batch], now, commit)
        elif control in (EventType.ExecutionSuspended, EventType.ExecutionResumed):
            suspended = control == EventType.ExecutionSuspended
            self._append(commit, updated, [orchestrator_started(now), dict(batch[0].event),
                                           orchestrator_completed(now)])
            updated.runtime_status = RuntimeStatus.Suspended if suspended else RuntimeStatus.Running
        else:
            pending = self._prepare_orchestration(updated, history, batch, now, commit)
            if pending is not None:
                return pending
        commit.instances.append(updated)
        return commit

    # -- control operations ----------------------------------------------------------------------------
    def _terminate(self, instance: Instance, delivered: list[Event], now: datetime, commit: Commit) -> None:
        """Terminate without running the orchestrator; events delivered with it are recorded, not run."""
        reason = delivered[-1].get("Input")
        self._append(commit, instance, [
            orchestrator_started(now), *(dict(e) for e in delivered),
            event(EventType.ExecutionCompleted, now, OrchestrationStatus=RuntimeStatus.Terminated.number, Result=reason,
                  FailureDetails=None),
            orchestrator_completed(now)])
        instance.runtime_status = RuntimeStatus.Terminated
        instance.output = reason
        instance.completed_time = to_micros(now)
        # DTFx completes a terminated child with Details null; the parent sees "{reason} \n None".
        self._notify_parent(instance, commit, now, failed=True, result=reason, details=None)

    # -- running the orchestrator ----------------------------------------------------------------------
    def _prepare_orchestration(self, instance: Instance, history: list[Event], batch: list[Message],
                               now: datetime, commit: Commit) -> PendingEpisode | None:
        new_events = [orchestrator_started(now)] + [dict(m.event) for m in batch]
        started = next((e for e in history + new_events if e["EventType"] == EventType.ExecutionStarted), None)
        if started is None:  # e.g. an event raised before a restart reset the history
            log.warning("instance %s has no ExecutionStarted; dropping %d event(s)", instance.instance_id,
                        len(batch))
            return None
        full = history + new_events
        boundary = len(full) - len(new_events)
        sent = [{**e, "IsPlayed": index < boundary and e["EventType"] != EventType.OrchestratorStarted}
                for index, e in enumerate(full)]
        return PendingEpisode(commit, instance, started, sent, new_events, now, self._context(instance, started, sent))

    def complete(self, pending: PendingEpisode, invocation: Invocation) -> Commit:
        """Everything after the orchestrator call: replay its actions and build the episode's Commit."""
        self._orchestrate(pending, self._outcome(invocation))
        pending.commit.instances.append(pending.instance)
        return pending.commit

    def _orchestrate(self, pending: PendingEpisode, outcome: _Outcome) -> None:
        instance, started, sent, new_events, now, commit = (pending.instance, pending.started, pending.sent,
                                                             pending.new_events, pending.now, pending.commit)
        replay = Replay()
        if outcome.state is not None:
            try:
                sequencer = Sequencer(instance_id=instance.instance_id, execution_id=instance.execution_id,
                                      resolve=self._resolve, known=self._known)
                replay = sequencer.run(outcome.state.get("actions") or [], sent)
            except NonDeterminismError as failure:  # DTFx fails with its own message, not the shim's wrapper
                outcome = _Outcome(None, str(failure), None, nondeterminism_failure=True)
            except OrchestrationFailure as failure:
                outcome = _Outcome(None, str(failure), f"Message: {failure}")
        state = outcome.state or {}
        custom = state.get("customStatus")
        instance.custom_status = compact(custom) if custom is not None else None
        if instance.runtime_status in (RuntimeStatus.Pending, RuntimeStatus.ContinuedAsNew):
            instance.runtime_status = RuntimeStatus.Running

        # The shim sets the output or the failure only after its replayed program has awaited every action
        # (OutOfProcOrchestrationShim.ScheduleDurableTaskEvents): until then the instance keeps running.
        finished = outcome.state is None or replay.program_finished
        new_events += [work.scheduled_event(now) for work in replay.new_work]
        # DTFx sends every decision of the episode, the last one included, under the current execution id.
        self._schedule(instance, replay.new_work, now, commit)
        if outcome.error is not None and finished:
            reason = outcome.error if outcome.nondeterminism_failure else \
                f"Orchestrator function '{instance.name}' failed: {outcome.error}"
            self._finish(instance, commit, new_events, now, RuntimeStatus.Failed, reason, outcome.details)
        elif state.get("isDone") and finished and replay.continue_as_new:
            self._continue_as_new(instance, started, replay.continue_as_new_input, now, commit)
        elif state.get("isDone") and finished:
            output = compact(state["output"]) if state.get("output") is not None else None
            self._finish(instance, commit, new_events, now, RuntimeStatus.Completed, output, None)
        else:
            new_events.append(orchestrator_completed(now))
            self._append(commit, instance, new_events)

    @staticmethod
    def _context(instance: Instance, started: Event, history: list[Event]) -> str:
        """The orchestration trigger's value (sdk-protocol.md §3.1)."""
        stored_input = started.get("Input")
        try:
            context_input = json.loads(stored_input) if stored_input is not None else None
        except ValueError:
            context_input = stored_input
        parent = started.get("ParentInstance") or {}
        return json.dumps({
            "history": history,
            "input": context_input,
            "instanceId": instance.instance_id,
            "isReplaying": bool(started.get("IsPlayed")),
            "parentInstanceId": (parent.get("OrchestrationInstance") or {}).get("InstanceId"),
            "upperSchemaVersion": 1,
            "upperSchemaVersionNew": 2,
            "longRunningTimerIntervalDuration": "3.00:00:00",
            "maximumShortTimerDuration": "6.00:00:00",
            "defaultHttpAsyncRequestSleepTimeMillseconds": 30000,
        })

    @staticmethod
    def _outcome(invocation: Invocation) -> _Outcome:
        """Read the SDK's answer: the state JSON, or an exception carrying it after the marker (§3.9)."""
        if invocation.error is not None:
            text, stack = invocation.error, invocation.stack or ""
            if OUT_OF_PROC_MARKER in text:
                state = json.loads(text.split(OUT_OF_PROC_MARKER, 1)[1])
                message = str(state.get("error") or text.split(OUT_OF_PROC_MARKER, 1)[0])
                return _Outcome(state, message, f"Message: {message}, StackTrace: {stack}")
            return _Outcome(None, text, f"Message: {text}, StackTrace: {stack}")
        result = invocation.result
        try:
            state = json.loads(result) if isinstance(result, str) else result
        except ValueError:
            return _Outcome(None, f"The orchestrator returned invalid JSON: {result!r}")
        if not isinstance(state, dict):
            return _Outcome(None, f"The orchestrator returned an unexpected value: {result!r}")
        if state.get("error"):
            return _Outcome(state, str(state["error"]), f"Message: {state['error']}")
        return _Outcome(state)

    # -- endings ---------------------------------------------------------------------------------------
    def _finish(self, instance: Instance, commit: Commit, new_events: list[Event], now: datetime,
                status: RuntimeStatus, result: str | None, details: str | None) -> None:
        if status != RuntimeStatus.Completed:  # failure text is bounded (failure_text)
            result, details = truncated_or_none(result), truncated_or_none(details)
        completed = event(EventType.ExecutionCompleted, now, OrchestrationStatus=status.number, Result=result,
                          FailureDetails=None if details is None else {"ErrorMessage": result,
                                                                       "Details": details})
        self._append(commit, instance, [*new_events, completed, orchestrator_completed(now)])
        instance.runtime_status = status
        instance.output = result
        instance.completed_time = to_micros(now)
        self._notify_parent(instance, commit, now, failed=status != RuntimeStatus.Completed, result=result,
                            details=details)

    def _continue_as_new(self, instance: Instance, started: Event, input_text: str | None, now: datetime,
                         commit: Commit) -> None:
        instance.execution_id = new_execution_id()
        instance.runtime_status = RuntimeStatus.Running  # the new execution starts at once (sdk-protocol.md §3.7)
        instance.input = compact(input_text)
        instance.output = None
        instance.history_length = 0
        commit.history_resets.append(instance.instance_id)
        restarted = execution_started(now, instance.instance_id, instance.execution_id, instance.name,
                                      compact(input_text), started.get("ParentInstance"))
        commit.messages.append(Message(instance.instance_id, restarted, to_micros(now), instance.execution_id))

    def _notify_parent(self, instance: Instance, commit: Commit, now: datetime, *, failed: bool,
                       result: str | None, details: str | None) -> None:
        if instance.parent_instance_id is None or instance.parent_sequence_id is None:
            return
        if failed:
            done = event(EventType.SubOrchestrationInstanceFailed, now,
                         TaskScheduledId=instance.parent_sequence_id, Reason=result, Details=details)
        else:
            done = event(EventType.SubOrchestrationInstanceCompleted, now,
                         TaskScheduledId=instance.parent_sequence_id, Result=result)
        commit.messages.append(Message(instance.parent_instance_id, done, to_micros(now),
                                       instance.parent_execution_id))

    # -- new work --------------------------------------------------------------------------------------
    def _schedule(self, instance: Instance, work: list[Work], now: datetime, commit: Commit) -> None:
        for item in work:
            if item.kind == "activity":
                commit.work_items.append(WorkItem(instance.instance_id, instance.execution_id,
                                                  item.sequence_id, item.name or "", item.input))
            elif item.kind == "timer":
                if item.canceled or item.fire_at is None:
                    continue
                fired = event(EventType.TimerFired, now, TimerId=item.sequence_id,
                              FireAt=history_time(item.fire_at))
                commit.messages.append(Message(instance.instance_id, fired, to_micros(item.fire_at),
                                               instance.execution_id))
            elif item.kind == "suborchestration":
                self._create_child(instance, item, now, commit)
        self._send_entity_messages(instance, work, now, commit)

    def _create_child(self, parent: Instance, work: Work, now: datetime, commit: Commit) -> None:
        child_id = work.instance_id or ""
        existing = self._lookup(child_id)
        if existing is not None and not existing.runtime_status.is_terminal:
            # DTFx drops a start message for a running instance ("Duplicate start event").
            log.warning("not starting sub-orchestration %s: an instance with that id is %s", child_id,
                        existing.runtime_status.value)
            return
        execution_id = new_execution_id()
        stored_input = compact(work.input)
        parent_ref = {"Name": parent.name, "Version": "", "TaskScheduleId": work.sequence_id,
                      "OrchestrationInstance": {"InstanceId": parent.instance_id,
                                                "ExecutionId": parent.execution_id}}
        commit.new_instances.append(Instance(
            instance_id=child_id, name=work.name or "", execution_id=execution_id,
            runtime_status=RuntimeStatus.Pending, created_time=to_micros(now), last_updated_time=to_micros(now),
            input=stored_input, parent_instance_id=parent.instance_id,
            parent_execution_id=parent.execution_id, parent_sequence_id=work.sequence_id))
        started = execution_started(now, child_id, execution_id, work.name or "", stored_input, parent_ref)
        commit.messages.append(Message(child_id, started, to_micros(now), execution_id))

    def _send_entity_messages(self, instance: Instance, work: list[Work], now: datetime,
                              commit: Commit) -> None:
        for item in work:
            if item.kind == "event" and item.instance_id:
                request = event(EventType.EventRaised, now, Name=item.name, Input=item.entity_request())
                commit.messages.append(Message(item.instance_id, request, to_micros(now)))

    @staticmethod
    def _append(commit: Commit, instance: Instance, events: list[Event]) -> None:
        commit.history_appends.append((instance.instance_id, instance.history_length, events))
        instance.history_length += len(events)


def host_failure(instance: Instance | None, messages: list[Message], now: datetime, error: Exception) -> Commit:
    """Fail an instance whose episode raised inside the host, consuming its messages (never retried forever)."""
    commit = Commit(consumed_messages=[m.id for m in messages if m.id is not None])
    if instance is not None and not instance.runtime_status.is_terminal:
        failed = copy.copy(instance)
        failed.runtime_status = RuntimeStatus.Failed
        failed.output = compact(f"The local host could not run this episode: {exception_message(error)}")
        failed.last_updated_time = failed.completed_time = to_micros(now)
        commit.instances.append(failed)
    return commit


def _take_batch(messages: list[Message], suspended: bool) -> list[Message]:
    """Messages delivered together: up to the first control message, or that control message alone.

    A terminate ends the batch wherever it is; a suspend or resume is delivered alone. The control message
    is always last in the batch.
    """
    if suspended:
        controls = [m for m in messages if m.event_type in (EventType.ExecutionTerminated,
                                                            EventType.ExecutionResumed)]
        return controls[:1]
    for position, message in enumerate(messages):
        if message.event_type == EventType.ExecutionTerminated:
            return messages[:position + 1]  # DTFx terminates at once, with what came before it
    batch: list[Message] = []
    for message in messages:
        if message.event_type in CONTROL_TYPES:
            return batch or [message]
        batch.append(message)
    return batch

