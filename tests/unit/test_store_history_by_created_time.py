"""History keyed by its instance's created time (schema version 2): migrated from version 1, read and written
through the instance's row, moved with a restart, and deleted whole by purges."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from durable_local.host.records import Commit, Instance, RuntimeStatus
from durable_local.host.schema import MIGRATIONS, SCHEMA_V0, _in_transaction, _script, schema_version
from durable_local.host.store import InstanceQuery, Store

JAN_1 = 1767225600000000  # 2026-01-01T00:00:00Z in microseconds
DAY = 86_400_000_000


def _v1_store(path: Path) -> None:
    """A store as version 1 wrote it: history keyed by (hub, instance_id, seq)."""
    db = sqlite3.connect(path, isolation_level=None)
    _in_transaction(db, _script(SCHEMA_V0), 0)
    _in_transaction(db, MIGRATIONS[0].apply, 1)
    rows = [("Hub", f"i-{n}", "Flow", "e", "Completed", JAN_1 + n * DAY, JAN_1 + n * DAY) for n in range(5)]
    db.executemany("INSERT INTO instances (hub, instance_id, name, execution_id, runtime_status, created_time, "
                   "last_updated_time) VALUES (?,?,?,?,?,?,?)", rows)
    db.executemany("INSERT INTO history VALUES (?,?,?,?)",
                   [("Hub", f"i-{n}", seq, f'{{"EventType":{seq},"EventId":-1}}') for n in range(5) for seq in range(3)]
                   + [("Hub", "orphan", 0, '{"EventType":0}')])
    assert schema_version(db) == 1
    db.close()


def _instance(instance_id: str, created: int, status: RuntimeStatus = RuntimeStatus.Completed) -> Instance:
    return Instance(instance_id=instance_id, name="Flow", execution_id="e", runtime_status=status,
                    created_time=created, last_updated_time=created)


def _history_keys(store: Store) -> list[tuple[object, ...]]:
    return store.db.execute("SELECT instance_id, instance_created, seq FROM history ORDER BY 1, 2, 3").fetchall()


def test_a_version_1_store_migrates_its_history_under_each_instance_created_time(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite"
    _v1_store(path)
    store = Store(path, "Hub")
    assert 2 in store.migrations_applied
    assert [e["EventType"] for e in store.history("i-3")] == [0, 1, 2]
    keys = _history_keys(store)
    assert ("i-3", JAN_1 + 3 * DAY, 2) in keys
    assert ("orphan", 0, 0) in keys  # kept, under created time 0
    assert len(keys) == 16
    store.close()


def test_a_purge_by_created_time_deletes_the_history_of_exactly_the_purged_instances(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite"
    _v1_store(path)
    store = Store(path, "Hub")
    purged = store.purge_batch_ids(InstanceQuery(created_from=JAN_1 + DAY, created_to=JAN_1 + 3 * DAY,
                                                 statuses=(RuntimeStatus.Completed,)), 10)
    assert purged == ["i-1", "i-2", "i-3"]
    assert {row[0] for row in _history_keys(store)} == {"i-0", "i-4", "orphan"}
    assert [e["EventType"] for e in store.history("i-4")] == [0, 1, 2]
    store.close()


def test_a_restart_with_the_same_id_replaces_the_history_under_the_new_created_time(tmp_path: Path) -> None:
    store = Store(tmp_path / "store.sqlite", "Hub")
    store.apply(Commit(new_instances=[_instance("a", JAN_1)],
                       history_appends=[("a", 0, [{"EventType": 0}, {"EventType": 1}])]))
    store.apply(Commit(new_instances=[_instance("a", JAN_1 + DAY)], history_appends=[("a", 0, [{"EventType": 12}])]))
    assert store.history("a") == [{"EventType": 12}]
    assert _history_keys(store) == [("a", JAN_1 + DAY, 0)]
    store.apply(Commit(history_resets=["a"], history_appends=[("a", 0, [{"EventType": 5}])]))  # continue-as-new
    assert _history_keys(store) == [("a", JAN_1 + DAY, 0)] and store.history("a") == [{"EventType": 5}]
    store.purge(["a"])
    assert _history_keys(store) == []
    store.close()


def test_history_for_an_instance_that_is_not_in_the_store_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    store = Store(tmp_path / "store.sqlite", "Hub")
    with pytest.raises(ValueError, match="not in the store"):
        store.apply(Commit(new_instances=[_instance("a", JAN_1)],
                           history_appends=[("a", 0, [{"EventType": 0}]), ("ghost", 0, [{"EventType": 0}])]))
    assert store.get_instance("a") is None and _history_keys(store) == []
    store.close()
