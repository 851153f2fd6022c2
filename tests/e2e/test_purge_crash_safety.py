"""A host killed (`kill -9`) during a bulk purge restarts on a consistent store: whole instances gone or kept."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from durable_local.testing import DURABLE_API, LocalHost, http_request

APP = Path(__file__).resolve().parents[1] / "apps" / "core_app"
API = DURABLE_API
START = datetime(2025, 1, 1, tzinfo=UTC)


def _rows(store: Path, sql: str) -> list[tuple[object, ...]]:
    db = sqlite3.connect(store)
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


def test_a_purge_killed_midway_leaves_whole_instances_and_exact_counts(tmp_path: Path) -> None:
    store = tmp_path / "store.sqlite"
    counters = tmp_path / "counters"
    counters.mkdir()
    env = {"CORE_APP_COUNTERS": str(counters), "TICK_SCHEDULE": "0 0 0 * * *"}
    host = LocalHost(APP, store=store, env=env)
    host.start()
    try:
        for first in range(0, 24000, 3000):
            host.seed([{"instanceId": f"doomed-{n:05d}", "name": "Hello", "runtimeStatus": "Completed",
                        "createdTime": (START + timedelta(seconds=n)).isoformat(), "input": {"n": n},
                        "output": "x" * 200} for n in range(first, first + 3000)])
        host.seed([{"instanceId": f"kept-{n}", "name": "Hello", "runtimeStatus": "Failed",
                    "createdTime": START.isoformat()} for n in range(50)])
        purge = threading.Thread(target=lambda: _ignore_disconnect(host.url(
            f"{API}/instances?createdTimeFrom=2024-01-01T00:00:00Z&runtimeStatus=Completed")))
        purge.start()
        time.sleep(0.3)
        host.kill()
        purge.join()
        host.start()  # the same store: the next start opens it as it is on disk
        counts = http_request("GET", host.url("/admin/host/counts")).json()["counts"]
    finally:
        host.close()
    left = dict(_rows(store, "SELECT runtime_status, COUNT(*) FROM instances GROUP BY 1"))
    assert left.get("Failed") == 50  # never touched
    assert {k: v for k, v in counts.items() if v} == left  # the count summary moved with each committed batch
    orphans = _rows(store, "SELECT COUNT(*) FROM history h WHERE NOT EXISTS (SELECT 1 FROM instances i "
                           "WHERE i.hub = h.hub AND i.instance_id = h.instance_id)")
    assert orphans == [(0,)]  # no history without its instance
    lengths = _rows(store, "SELECT COUNT(*) FROM instances i WHERE i.history_length != (SELECT COUNT(*) FROM "
                           "history h WHERE h.hub = i.hub AND h.instance_id = i.instance_id)")
    assert lengths == [(0,)]  # and no instance that lost part of its history
    assert _rows(store, "PRAGMA integrity_check") == [("ok",)]


def _ignore_disconnect(url: str) -> None:
    with contextlib.suppress(OSError):  # the host is killed under the request
        http_request("DELETE", url, timeout=60)
