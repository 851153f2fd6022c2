"""Replay fidelity: the local host's orchestration semantics and history match the real extension/DTFx.

Sub-orchestration ids, when an instance completes, non-determinism failures, history inputs, timestamps and
versions. Each test states what the real host does, with the spec section or the extension/DTFx source it
follows. The app is tests/apps/replay_app.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from durable_local.testing import DURABLE_API, LocalHost

APP_DIR = Path(__file__).resolve().parents[1] / "apps" / "replay_app"


@pytest.fixture(scope="module")
def host() -> Iterator[LocalHost]:
    with LocalHost(APP_DIR) as running:
        yield running


@pytest.fixture(scope="module")
def vhost() -> Iterator[LocalHost]:
    with LocalHost(APP_DIR, virtual_clock=True, clock_start=datetime(2026, 1, 1, tzinfo=UTC)) as running:
        yield running


def start(host: LocalHost, name: str, body: Any = None, instance_id: str | None = None) -> str:
    reply = host.post(f"{DURABLE_API}/orchestrators/{name}" + (f"/{instance_id}" if instance_id else ""), body)
    assert reply.status == 202, reply.body
    return str(reply.json()["id"])


def status(host: LocalHost, instance_id: str, query: str = "") -> dict[str, Any]:
    reply = host.get(f"{DURABLE_API}/instances/{instance_id}{query}")
    assert reply.status in (200, 202), reply.body
    return reply.json()


def raise_event(host: LocalHost, instance_id: str, name: str, data: Any) -> None:
    assert host.post(f"{DURABLE_API}/instances/{instance_id}/raiseEvent/{name}", data).status == 202


def test_sub_orchestration_with_the_parents_own_id_fails_the_parent(host: LocalHost) -> None:
    # EXT DurableOrchestrationContext.CallDurableTaskFunctionAsync: ArgumentException "The instance ID of a
    # sub-orchestration must be different than the instance ID of a parent orchestration." (sdk-protocol.md §3.7).
    instance_id = start(host, "SelfAsChild")
    final = host.wait_for_status(instance_id, timeout=5)
    assert final["runtimeStatus"] == "Failed"
    assert "must be different than the instance ID of a parent orchestration" in str(final["output"])
    history = status(host, instance_id, "?showHistory=true")["historyEvents"]
    assert history[0]["EventType"] == "ExecutionStarted" and history[0]["FunctionName"] == "SelfAsChild"


def test_sub_orchestration_start_does_not_clobber_a_running_instance(host: LocalHost) -> None:
    # DTFx TaskOrchestrationDispatcher.ReconcileMessagesWithState: an ExecutionStarted for an instance that already
    # has one is dropped ("Duplicate start event"); DTFx-AS OrchestrationSessionManager: no de-dupe for
    # sub-orchestrations beyond that. The running instance keeps its input and history.
    target = f"target-{uuid.uuid4().hex[:8]}"
    start(host, "WaitForGo", json.dumps("original"), target)  # as the SDK client sends it
    host.wait_for_status(target, {"Running"})
    parent = start(host, "CallExisting", json.dumps(target))
    host.wait_for_status(parent, {"Running"})
    host.wait_idle()
    assert status(host, target)["input"] == json.dumps("original")
    started = status(host, target, "?showHistory=true")["historyEvents"][0]
    assert started["EventType"] == "ExecutionStarted" and "original" in str(started["Input"])


def test_instance_completes_only_when_the_replayed_program_finishes(host: LocalHost) -> None:
    # EXT OutOfProcOrchestrationShim.ScheduleDurableTaskEvents awaits ReplayOOProcOrchestration before it looks at
    # isDone; Python puts only not-yet-scheduled children in a compound action (sdk-protocol.md §3.5 notes, §3.7
    # step 2-4), so the program waits on WhenAny([Mark]) and the instance completes after Mark.
    instance_id = start(host, "AnyWithFinishedTask")
    final = host.wait_for_status(instance_id)
    assert final["runtimeStatus"] == "Completed" and final["output"] == "done"
    history = status(host, instance_id, "?showHistory=true")["historyEvents"]
    assert [e.get("FunctionName") for e in history if e["EventType"] == "TaskCompleted"] == ["Echo", "Mark"]


def test_activity_scheduled_in_the_completing_episode_is_recorded_and_sent(host: LocalHost) -> None:
    # DTFx TaskOrchestrationDispatcher.OnProcessWorkItemAsync: every ScheduleTask/CreateSubOrchestration/
    # CreateTimer decision of the episode is recorded and its message sent, also when an OrchestrationComplete
    # decision is in the same episode (sdk-protocol.md §3.2 rule 2: scheduled events, then ExecutionCompleted).
    instance_id = start(host, "FinishWhileScheduling")
    host.wait_for_status(instance_id, {"Running"})
    raise_event(host, instance_id, "Go", "early")
    host.wait_idle()
    raise_event(host, instance_id, "Ready", True)
    assert host.wait_for_status(instance_id)["runtimeStatus"] == "Completed"
    history = status(host, instance_id, "?showHistory=true")["historyEvents"]
    kinds = [e["EventType"] for e in history]
    assert "TaskScheduled" in kinds and kinds.index("TaskScheduled") < kinds.index("ExecutionCompleted")
    assert history[kinds.index("TaskScheduled")]["Name"] == "Mark"


def test_non_determinism_failure_is_reported_as_dtfx_does(host: LocalHost) -> None:
    # DTFx TaskOrchestrationExecutor.ExecuteCore catches NonDeterministicOrchestrationException (message
    # "Non-Deterministic workflow detected: " + details, TaskOrchestrationContext.HandleTaskScheduledEvent) and calls
    # FailOrchestration(exception): ExecutionCompleted.Result = exception.Message, not wrapped by the shim.
    instance_id = start(host, "ChangedCode")
    final = host.wait_for_status(instance_id)
    assert final["runtimeStatus"] == "Failed"
    assert str(final["output"]).startswith("Non-Deterministic workflow detected:"), final["output"]


def test_history_inputs_are_the_raw_strings(host: LocalHost) -> None:
    # EXT DurableClient.GetDurableOrchestrationStatusAsync: ExecutionStarted keeps its Input string; completions
    # get historyItem["Input"] = taskScheduledData.Input (a string); only Result is parsed (ConvertOutputToJToken).
    instance_id = start(host, "OneActivity", {"trip": 1})
    host.wait_for_status(instance_id)
    history = status(host, instance_id, "?showHistory=true")["historyEvents"]
    assert isinstance(history[0]["Input"], str), history[0]
    completed = next(e for e in history if e["EventType"] == "TaskCompleted")
    assert isinstance(completed["Input"], str), completed


def test_history_timestamps_are_trimmed_like_newtonsoft(vhost: LocalHost) -> None:
    # http-api.md §4.3: "History timestamps are Newtonsoft ISO with up to 7 fractional digits and trailing zeros
    # trimmed" (DTFX-AS Utils.SerializeToJson; EXT ConvertToJArray uses DateParseHandling.None).
    instance_id = start(vhost, "OneActivity", 1)
    vhost.wait_for_status(instance_id)
    history = status(vhost, instance_id, "?showHistory=true")["historyEvents"]
    stamps = [e[key] for e in history for key in ("Timestamp", "ScheduledTime") if key in e]
    assert stamps and all(not re.search(r"\.\d*0Z$", stamp) for stamp in stamps), stamps


def test_pending_task_scheduled_row_has_no_version(host: LocalHost) -> None:
    # EXT DurableClient.GetDurableOrchestrationStatusAsync: case TaskScheduled / SubOrchestrationInstanceCreated:
    # historyItem.Remove("Version").
    target = f"pending-{uuid.uuid4().hex[:8]}"
    parent = start(host, "CallExisting", json.dumps(target))
    host.wait_for_status(parent, {"Running"})
    host.wait_idle()
    history = status(host, parent, "?showHistory=true")["historyEvents"]
    created = next(e for e in history if e["EventType"] == "SubOrchestrationInstanceCreated")
    assert "Version" not in created, created
    raise_event(host, target, "Go", 1)
    host.wait_for_status(parent)


def test_terminated_child_reports_the_reason_without_details(host: LocalHost) -> None:
    # DTFx TaskOrchestrationContext.HandleExecutionTerminatedEvent: CompleteOrchestration(reason, null, Terminated);
    # TaskOrchestrationDispatcher.ProcessWorkflowCompletedTaskDecision: SubOrchestrationInstanceFailedEvent(
    # Result, Details) with those values. Python raises Exception(f"{Reason} \n {Details}") (sdk-protocol.md §3.2).
    child = f"child-{uuid.uuid4().hex[:8]}"
    parent = start(host, "CatchChildFailure", json.dumps(child))
    host.wait_for_status(child, {"Running"})
    assert host.post(f"{DURABLE_API}/instances/{child}/terminate?reason=bye").status == 202
    final = host.wait_for_status(parent)
    assert final["output"] == {"error": "bye \n None"}, final["output"]
