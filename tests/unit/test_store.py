"""The SQLite store on its own: the one write path, the inbox, work items, keyset paging, purge, task hubs.

Each test opens a real store file in a temporary folder and checks what a later read (or a reopened store)
sees; no host, no HTTP.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from durable_local.host.history import EventType, event, execution_started, orchestrator_started, to_micros
from durable_local.host.records import Commit, Instance, Message, RuntimeStatus, WorkItem
from durable_local.host.store import InstanceQuery, Store, StoreLockedError

T0 = datetime(2026, 1, 1, tzinfo=UTC)
HUB = "StoreHub"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store(tmp_path / "store.sqlite", HUB)
    yield opened
    opened.close()


def instance(instance_id: str, status: RuntimeStatus = RuntimeStatus.Running, created: datetime = T0,
             name: str = "Orch") -> Instance:
    return Instance(instance_id, name, f"exec-{instance_id}", status, to_micros(created), to_micros(created))


def raised(instance_id: str, at: datetime, name: str = "Go") -> Message:
    return Message(instance_id, event(EventType.EventRaised, at, Name=name, Input="1"), to_micros(at))


def seed(store: Store, count: int, prefix: str = "i-", status: RuntimeStatus = RuntimeStatus.Completed) -> list[str]:
    rows = [instance(f"{prefix}{n:03d}", status, T0 + timedelta(seconds=n)) for n in range(count)]
    store.apply(Commit(new_instances=rows))
    return [row.instance_id for row in rows]


def test_a_commit_is_read_back_and_survives_a_reopen(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite"
    first = Store(path, HUB)
    history = [orchestrator_started(T0), execution_started(T0, "a", "exec-a", "Orch", '"in"')]
    row = instance("a")
    row.input, row.history_length = '"in"', 2
    first.apply(Commit(new_instances=[row], history_appends=[("a", 0, history)]))
    first.close()

    reopened = Store(path, HUB)
    try:
        assert reopened.get_instance("a") == row
        assert reopened.history("a") == history
        assert reopened.get_instance("a", hub="OtherHub") is None
    finally:
        reopened.close()


def test_a_second_store_on_the_same_file_is_refused_until_the_first_closes(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite"
    first = Store(path, HUB)
    with pytest.raises(StoreLockedError, match="already using the store"):
        Store(path, HUB)
    first.close()
    Store(path, HUB).close()


def test_updates_change_status_fields_and_history_resets_replace_the_history(store: Store) -> None:
    store.apply(Commit(new_instances=[instance("a")],
                       history_appends=[("a", 0, [orchestrator_started(T0), orchestrator_started(T0)])]))
    done = instance("a", RuntimeStatus.Completed)
    done.output, done.completed_time, done.history_length = '"out"', to_micros(T0), 1
    store.apply(Commit(instances=[done], history_resets=["a"],
                       history_appends=[("a", 0, [event(EventType.GenericEvent, T0, Data="only")])]))
    assert store.get_instance("a") == done
    assert [e["EventType"] for e in store.history("a")] == [EventType.GenericEvent]


def test_a_failed_commit_writes_nothing(store: Store) -> None:
    store.apply(Commit(new_instances=[instance("a")]))
    broken = Commit(new_instances=[instance("b")], messages=[raised("b", T0)])
    broken.history_appends.append(("b", 0, [{"not": {1, 2}}]))  # a set is not JSON: fails mid-transaction
    with pytest.raises(TypeError):
        store.apply(broken)
    assert store.get_instance("b") is None
    assert store.messages("b", to_micros(T0)) == []


def test_messages_become_ready_at_their_visible_time_in_order(store: Store) -> None:
    later = T0 + timedelta(minutes=5)
    store.apply(Commit(new_instances=[instance("a")], messages=[raised("a", later, "second"), raised("a", T0)]))
    assert store.ready_instances(to_micros(T0), 10) == ["a"]
    assert [m.event["Name"] for m in store.messages("a", to_micros(T0))] == ["Go"]
    assert store.next_visible_after(to_micros(T0)) == to_micros(later)
    assert [m.event["Name"] for m in store.messages("a", to_micros(later))] == ["Go", "second"]

    consumed = [m.id for m in store.messages("a", to_micros(later)) if m.id is not None]
    store.apply(Commit(consumed_messages=consumed))
    assert not store.has_ready_messages(to_micros(later))
    assert store.next_visible_after(to_micros(T0)) is None


def test_a_suspended_instance_is_ready_only_for_terminate_and_resume(store: Store) -> None:
    store.apply(Commit(new_instances=[instance("s", RuntimeStatus.Suspended)], messages=[raised("s", T0)]))
    assert store.ready_instances(to_micros(T0), 10) == []
    resume = Message("s", event(EventType.ExecutionResumed, T0, Reason="go"), to_micros(T0))
    store.apply(Commit(messages=[resume]))
    assert store.ready_instances(to_micros(T0), 10) == ["s"]


def test_messages_to_an_instance_not_yet_created_are_ready(store: Store) -> None:
    store.apply(Commit(messages=[raised("@counter@k", T0)]))  # e.g. the first signal to an entity
    assert store.ready_instances(to_micros(T0), 10) == ["@counter@k"]


def test_work_items_are_leased_again_after_a_restart_until_completed(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite"
    first = Store(path, HUB)
    created = first.apply(Commit(new_instances=[instance("a")],
                                 work_items=[WorkItem("a", "exec-a", 0, "Step", '"x"'),
                                             WorkItem("a", "exec-a", 1, "Step", '"y"')]), lease_owner="host-1")
    assert all(item.id is not None for item in created)
    first.apply(Commit(completed_work=[created[0].id or 0]))
    first.close()  # as if killed: the second item never finished

    second = Store(path, HUB)
    try:
        again = second.lease_all_work("host-2", expires=0)
        assert [(w.sequence_id, w.name, w.input, w.id) for w in again] == [(1, "Step", '"y"', created[1].id)]
    finally:
        second.close()


def test_listing_pages_by_created_time_and_id_with_a_continuation_key(store: Store) -> None:
    ids = seed(store, 25)
    seen: list[str] = []
    after = None
    pages = 0
    while True:
        page, after = store.query(InstanceQuery(), 10, after)
        seen += [item.instance_id for item in page]
        pages += 1
        if after is None:
            break
    assert seen == ids and pages == 3


def test_listing_merges_several_statuses_in_created_order(store: Store) -> None:
    rows = [instance(f"m-{n}", status, T0 + timedelta(seconds=n))
            for n, status in enumerate([RuntimeStatus.Failed, RuntimeStatus.Running, RuntimeStatus.Completed,
                                        RuntimeStatus.Failed, RuntimeStatus.Running])]
    store.apply(Commit(new_instances=rows))
    query = InstanceQuery(statuses=(RuntimeStatus.Running, RuntimeStatus.Failed))
    page, after = store.query(query, 3, None)
    assert [i.instance_id for i in page] == ["m-0", "m-1", "m-3"] and after is not None
    rest, after = store.query(query, 3, after)
    assert [i.instance_id for i in rest] == ["m-4"] and after is None


def test_filters_on_created_and_updated_time_and_id_prefix(store: Store) -> None:
    seed(store, 5, prefix="a-")
    seed(store, 5, prefix="b-")
    by_prefix, _ = store.query(InstanceQuery(prefix="b-"), 100, None)
    assert [i.instance_id for i in by_prefix] == [f"b-{n:03d}" for n in range(5)]
    window = InstanceQuery(created_from=to_micros(T0 + timedelta(seconds=1)),
                           created_to=to_micros(T0 + timedelta(seconds=2)), prefix="a-")
    assert [i.instance_id for i in store.query(window, 100, None)[0]] == ["a-001", "a-002"]
    updated = InstanceQuery(updated_from=to_micros(T0 + timedelta(seconds=4)), prefix="a-")
    assert [i.instance_id for i in store.query(updated, 100, None)[0]] == ["a-004"]


def test_entities_and_orchestrations_are_listed_apart(store: Store) -> None:
    store.apply(Commit(new_instances=[instance("orch"), instance("@counter@k", name="counter")]))
    assert [i.instance_id for i in store.query(InstanceQuery(), 10, None)[0]] == ["orch"]
    assert [i.instance_id for i in store.query(InstanceQuery(entities=True), 10, None)[0]] == ["@counter@k"]


def test_purge_removes_the_instance_with_its_history_messages_and_work(store: Store) -> None:
    store.apply(Commit(new_instances=[instance("a"), instance("b")],
                       history_appends=[("a", 0, [orchestrator_started(T0)]), ("b", 0, [orchestrator_started(T0)])],
                       messages=[raised("a", T0), raised("b", T0)],
                       work_items=[WorkItem("a", "exec-a", 0, "Step", None)]))
    assert store.purge(["a", "never-was"]) == 1
    assert store.get_instance("a") is None and store.history("a") == []
    assert store.messages("a", to_micros(T0)) == []
    assert store.lease_all_work("host", 0) == []
    assert store.get_instance("b") is not None and len(store.history("b")) == 1  # nothing more than named


def test_purge_batch_takes_at_most_its_limit_of_matching_instances(store: Store) -> None:
    seed(store, 6, prefix="done-")
    seed(store, 2, prefix="live-", status=RuntimeStatus.Running)
    completed = InstanceQuery(statuses=(RuntimeStatus.Completed,))
    assert store.purge_batch(completed, 4) == 4
    assert store.purge_batch(completed, 4) == 2
    assert store.purge_batch(completed, 4) == 0
    assert [i.instance_id for i in store.query(InstanceQuery(), 10, None)[0]] == ["live-000", "live-001"]


def test_a_deleted_entity_keeps_the_messages_sent_to_it(store: Store) -> None:
    store.apply(Commit(new_instances=[instance("@box@k", name="box")]))
    store.apply(Commit(deleted_instances=["@box@k"], messages=[raised("@box@k", T0)]))
    assert store.get_instance("@box@k") is None
    assert len(store.messages("@box@k", to_micros(T0))) == 1  # the next operation recreates it


def test_deleting_a_task_hub_leaves_other_hubs_alone(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite"
    mine = Store(path, HUB)
    try:
        mine.apply(Commit(new_instances=[instance("a")], messages=[raised("a", T0)]))
        mine.save_state("clock", "x")
        mine.hub = "OtherHub"  # the same store serving another hub's rows, as `taskHub=` reads do
        mine.apply(Commit(new_instances=[instance("z")]))
        mine.hub = HUB
        assert mine.hub_summary(HUB)["instances"] == 1 and mine.hub_summary(HUB)["messages"] == 1
        counts = mine.delete_hub(HUB)
        assert counts["instances"] == 1 and counts["messages"] == 1
        assert mine.get_instance("a") is None and mine.messages("a", to_micros(T0)) == []
        assert mine.state("clock") == "x"  # the host's own state (its virtual time) is not task hub data
        assert mine.get_instance("z", hub="OtherHub") is not None
    finally:
        mine.close()


def test_timer_trigger_status_and_host_state_round_trip(store: Store) -> None:
    assert store.timer_status("Tick") == (None, None, None)
    store.save_timer_status("Tick", 1, 2, 3)
    store.save_timer_status("Tick", 4, None, 5)
    assert store.timer_status("Tick") == (4, None, 5)
    assert store.state("virtual-now") is None
    store.save_state("virtual-now", "2030-01-01T00:00:00+00:00")
    assert store.state("virtual-now") == "2030-01-01T00:00:00+00:00"
