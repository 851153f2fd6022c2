"""The store's schema version: an unversioned store migrates in place and keeps its data; normal starts don't."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from durable_local.host.records import Commit, Instance, RuntimeStatus
from durable_local.host.schema import LATEST_VERSION, MICROS_PER_DAY, SchemaError, schema_version
from durable_local.host.store import Store

V0_FIXTURE = Path(__file__).parent / "fixtures" / "store_v0.sql"
JAN_1 = 1767225600000000  # 2026-01-01T00:00:00Z in microseconds


def _v0_store(path: Path) -> Path:
    db = sqlite3.connect(path)
    db.executescript(V0_FIXTURE.read_text())
    db.commit()
    assert schema_version(db) == 0
    db.close()
    return path


def _rows(path: Path, sql: str) -> list[tuple[object, ...]]:
    db = sqlite3.connect(path)
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


def _every_row(table: str) -> str:
    """Every row of a table in the columns of version 0 (version 2 adds `instance_created` to history)."""
    columns = "hub, instance_id, seq, event" if table == "history" else "*"
    return f"SELECT {columns} FROM {table} ORDER BY 1, 2, 3"


def test_an_unversioned_store_migrates_to_the_latest_version_and_keeps_every_row(tmp_path: Path) -> None:
    path = _v0_store(tmp_path / "store.sqlite")
    tables = ("instances", "history", "messages", "work_items", "host_state", "timer_triggers")
    before = {table: _rows(path, _every_row(table)) for table in tables}

    store = Store(path, "OldHub")
    assert store.migrations_applied == list(range(1, LATEST_VERSION + 1))
    assert schema_version(store.db) == LATEST_VERSION
    order = store.get_instance("order-1")
    assert order is not None and order.runtime_status == RuntimeStatus.Completed and order.output == '"done"'
    child = store.get_instance("order-3:child")
    assert child is not None and child.parent_instance_id == "order-3"
    assert [e["EventType"] for e in store.history("order-1")] == [12, 0, 1]
    assert store.state("virtual-time") == "2026-01-02T00:00:00+00:00"
    store.close()

    assert {table: _rows(path, _every_row(table)) for table in tables} == before
    # the lease columns are kept: the workers' lease owner and attempt count build on them
    assert _rows(path, "SELECT lease_owner, lease_expires FROM work_items") == [("host-1", 1767312260000000)]


def test_the_migration_fills_the_count_summary_from_existing_instances_without_entities(tmp_path: Path) -> None:
    path = _v0_store(tmp_path / "store.sqlite")
    Store(path, "OldHub").close()
    counts = _rows(path, "SELECT hub, runtime_status, day, name, count FROM instance_counts ORDER BY 1, 2, 3, 4")
    jan_1, jan_2 = JAN_1 // MICROS_PER_DAY, JAN_1 // MICROS_PER_DAY + 1
    assert counts == [
        ("OldHub", "Completed", jan_1, "ProcessOrder", 1),
        ("OldHub", "Failed", jan_2, "ProcessOrder", 1),
        ("OldHub", "Running", jan_2, "ChargeCard", 1),
        ("OldHub", "Running", jan_2, "ProcessOrder", 1),
        ("OtherHub", "Completed", jan_1, "ProcessOrder", 1),
    ]


def test_a_migrated_store_opens_again_without_running_any_step(tmp_path: Path) -> None:
    path = _v0_store(tmp_path / "store.sqlite")
    Store(path, "OldHub").close()
    store = Store(path, "OldHub")
    assert store.migrations_applied == []
    store.close()


def test_a_new_store_starts_at_the_latest_version(tmp_path: Path) -> None:
    store = Store(tmp_path / "new.sqlite", "Hub")
    assert schema_version(store.db) == LATEST_VERSION
    store.close()


def test_a_store_from_a_newer_version_is_refused_with_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "future.sqlite"
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {LATEST_VERSION + 1}")
    db.close()
    with pytest.raises(SchemaError, match="newer durable-local"):
        Store(path, "Hub")
    Store(tmp_path / "other.sqlite", "Hub").close()  # the failed open released its lock and connection
    with pytest.raises(SchemaError):
        Store(path, "Hub")  # and the lock of the refused store itself was released too


def _instance(instance_id: str, status: RuntimeStatus, created: int, name: str = "Flow") -> Instance:
    return Instance(instance_id=instance_id, name=name, execution_id="e", runtime_status=status,
                    created_time=created, last_updated_time=created)


def test_the_count_summary_follows_inserts_replacements_status_changes_and_deletes(tmp_path: Path) -> None:
    store = Store(tmp_path / "store.sqlite", "Hub")

    def summary() -> list[tuple[object, ...]]:
        return store.db.execute("SELECT runtime_status, name, count FROM instance_counts WHERE count != 0 "
                                "ORDER BY 1, 2").fetchall()

    store.apply(Commit(new_instances=[_instance("a", RuntimeStatus.Pending, JAN_1),
                                      _instance("b", RuntimeStatus.Pending, JAN_1),
                                      _instance("@e@k", RuntimeStatus.Running, JAN_1, "e")]))
    assert summary() == [("Pending", "Flow", 2)]
    store.apply(Commit(instances=[_instance("a", RuntimeStatus.Completed, JAN_1)]))
    assert summary() == [("Completed", "Flow", 1), ("Pending", "Flow", 1)]
    store.apply(Commit(new_instances=[_instance("a", RuntimeStatus.Pending, JAN_1, "Other")]))  # a restart
    assert summary() == [("Pending", "Flow", 1), ("Pending", "Other", 1)]
    store.purge(["a", "b", "@e@k"])
    assert summary() == []
    store.close()
