"""Bulk purges leave a small write-ahead log behind; slow counts are reused for a while and say how old they are."""

from __future__ import annotations

import os
from pathlib import Path

from durable_local.host.instance_counts import CountCache
from durable_local.host.records import Commit, Instance, RuntimeStatus
from durable_local.host.store import CHECKPOINT_PAGES, InstanceQuery, Store

START = 1735689600000000


def _instances(count: int) -> list[Instance]:
    return [Instance(instance_id=f"i-{n:05d}", name="Flow", execution_id="e", runtime_status=RuntimeStatus.Completed,
                     created_time=START + n, last_updated_time=START + n, input="x" * 500) for n in range(count)]


def test_a_bulk_purge_truncates_the_write_ahead_log_when_it_ends(tmp_path: Path) -> None:
    store = Store(tmp_path / "store.sqlite", "Hub")
    for first in range(0, 6000, 1000):
        store.apply(Commit(new_instances=_instances(6000)[first:first + 1000],
                           history_appends=[(f"i-{n:05d}", 0, [{"EventType": 0, "Input": "y" * 800}] * 5)
                                            for n in range(first, first + 1000)]))
    with store.bulk_writes():
        with store.bulk_writes():  # nested (two purges at once): only the outer one ends the bulk mode
            assert store.purge_batch(InstanceQuery(statuses=(RuntimeStatus.Completed,)), 2500) == 2500
        assert store.db.execute("PRAGMA wal_autocheckpoint").fetchone()[0] != CHECKPOINT_PAGES
        while store.purge_batch(InstanceQuery(statuses=(RuntimeStatus.Completed,)), 2500):
            pass
    assert os.path.getsize(str(store.path) + "-wal") == 0
    assert store.db.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == CHECKPOINT_PAGES
    assert store.query(InstanceQuery(), 10, None) == ([], None)
    assert store.history("i-00001") == []
    store.close()


def test_a_slow_count_is_reused_with_its_age_and_a_fast_one_is_always_fresh(tmp_path: Path) -> None:
    store = Store(tmp_path / "store.sqlite", "Hub")
    store.apply(Commit(new_instances=_instances(50)))
    query = InstanceQuery(prefix="i-")
    fresh = CountCache()
    fresh.SLOW_SECONDS = 3600.0  # nothing is slow enough to keep
    slow = CountCache()
    slow.SLOW_SECONDS = 0.0  # everything is kept (for 20 times its cost, here a few ms)
    slow.COST_FACTOR = 10_000
    assert fresh.counts(store.db, "Hub", query)[0].total == 50
    first, age = slow.counts(store.db, "Hub", query)
    assert first.total == 50 and age == 0.0
    store.purge([f"i-{n:05d}" for n in range(10)])
    again, age = slow.counts(store.db, "Hub", query)
    assert again.total == 50 and age > 0  # the cached answer, and it says it is not fresh
    assert fresh.counts(store.db, "Hub", query)[0].total == 40
    assert slow.counts(store.db, "Hub", InstanceQuery(prefix="i-0000"))[0].total == 0  # another filter: computed
    store.close()
