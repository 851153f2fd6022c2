"""Rewind a Failed instance, as the Azure Storage provider does (http-api.md §6.4, DOC-IM "Rewind instances").

- The failures that caused the orchestration to fail are rewritten as `GenericEvent`s ("Rewound: ..."), and
  the `ExecutionCompleted` is dropped, so on replay the SDK sees those tasks as still running.
- A failed activity is scheduled again from its `TaskScheduled` event; completed activities keep their
  results and are not re-executed.
- A failed sub-orchestration is rewound too (recursively); when it completes, its parent receives the
  completion as usual.
- An orchestrator that failed by itself (no failed task) gets one new episode.
- Instances whose history has durable timers are refused, as the seed document says ("The rewind feature
  doesn't support rewinding orchestration instances that use durable timers").
- The instance goes back to Pending (DTFx-AS `UpdateStatusForRewindAsync`), then Running on its next episode.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime

from durable_local.host.history import (
    Event,
    EventType,
    event,
    orchestrator_completed,
    orchestrator_started,
    to_micros,
)
from durable_local.host.records import Commit, Instance, Message, RuntimeStatus, WorkItem


class RewindRefused(Exception):
    """The instance cannot be rewound; the message says why."""


#: `load(instance_id)`: the instance's row (None if it does not exist) and its history.
InstanceLoader = Callable[[str], tuple[Instance | None, list[Event]]]


def rewind(load: InstanceLoader, instance: Instance, reason: str | None, now: datetime,
           commit: Commit | None = None) -> Commit:
    """Rewrite `instance` (and its failed sub-orchestrations) for a rewind; `load(id)` gives (Instance, history)."""
    commit = commit if commit is not None else Commit()
    if instance.runtime_status != RuntimeStatus.Failed:
        raise RewindRefused("The rewind operation is only supported on failed orchestration instances.")
    _, history = load(instance.instance_id)
    if any(e["EventType"] == EventType.TimerCreated for e in history):
        raise RewindRefused(
            f"Instance '{instance.instance_id}' uses durable timers, and rewind does not support "
            "orchestration instances that use durable timers.")
    scheduled = {e["EventId"]: e for e in history if e["EventType"] == EventType.TaskScheduled}
    rewritten: list[Event] = []
    reruns: list[Event] = []
    children: list[str] = []
    for item in history:
        kind = item["EventType"]
        if kind == EventType.ExecutionCompleted:
            continue
        if kind == EventType.TaskFailed:
            source = scheduled.get(item.get("TaskScheduledId"))
            if source is not None:
                reruns.append(source)
            rewritten.append(_rewound(item, f"Rewound: activity failure {item.get('Reason')}"))
        elif kind == EventType.SubOrchestrationInstanceFailed:
            created = next((e for e in history if e["EventType"] == EventType.SubOrchestrationInstanceCreated
                            and e["EventId"] == item.get("TaskScheduledId")), None)
            if created is not None:
                children.append(created["InstanceId"])
            rewritten.append(_rewound(item, f"Rewound: sub-orchestration failure {item.get('Reason')}"))
        else:
            rewritten.append(item)
    rewritten += [orchestrator_started(now), event(EventType.ExecutionRewound, now, Reason=reason,
                                                   InstanceId=instance.instance_id),
                  orchestrator_completed(now)]
    updated = Instance(**{**instance.__dict__})
    updated.runtime_status = RuntimeStatus.Pending
    updated.output = None
    updated.completed_time = None
    updated.last_updated_time = to_micros(now)
    updated.history_length = len(rewritten)
    commit.history_resets.append(instance.instance_id)
    commit.history_appends.append((instance.instance_id, 0, rewritten))
    commit.instances.append(updated)
    for source in reruns:
        inputs = json.loads(source.get("Input") or "[null]")
        commit.work_items.append(WorkItem(instance.instance_id, instance.execution_id, source["EventId"],
                                          source["Name"], inputs[0] if inputs else None))
    for child_id in children:
        child, _ = load(child_id)
        if child is not None and child.runtime_status == RuntimeStatus.Failed:
            rewind(load, child, reason, now, commit)
    if not reruns and not children:  # the orchestrator itself failed: give it a fresh episode
        wake = event(EventType.GenericEvent, now, Data=f"Rewound: {reason or ''}")
        commit.messages.append(Message(instance.instance_id, wake, to_micros(now), instance.execution_id))
    return commit


def _rewound(item: Event, text: str) -> Event:
    return {"EventType": int(EventType.GenericEvent), "EventId": -1, "IsPlayed": False,
            "Timestamp": item["Timestamp"], "Data": text}
