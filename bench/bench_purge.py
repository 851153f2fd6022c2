"""Where a purge by filter spends its time: in-process with a breakdown per statement, then over HTTP.

Builds a store of N instances (`scale_store.py`; or reuses one given with `--store`, which is copied, never
changed), then purges the Completed instances created in the first half of the year, three ways, each on a
fresh copy of the store:
- in-process, as `durable host start` does it (`Store.bulk_writes` around batches of `PURGE_BATCH`), with the
  CPU time of the host's thread per kind of statement (instance rows with their indexes and count summary,
  history rows, commits), the CPU time of the whole process (the WAL checkpoint thread included) and the
  bytes the process wrote (write-ahead log plus checkpoints, from /proc/self/io);
- over HTTP: `DELETE /runtime/webhooks/durabletask/instances?...` on `durable host start` (the bench app),
  with the host process's CPU time.
Each is repeated `--repeat` times. On a shared machine compare CPU times: wall-clock figures move with the load.

Run: .venv/bin/python bench/bench_purge.py [--instances 1000000] [--repeat 3] [--store PATH] [--folder DIR]
"""

from __future__ import annotations

import argparse
import collections
import os
import shutil
import sqlite3
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from scale_store import HUB, build_store

from durable_local.host.durable_api import PURGE_BATCH
from durable_local.host.history import to_micros
from durable_local.host.records import RuntimeStatus
from durable_local.host.store import InstanceQuery, Store
from durable_local.testing import DURABLE_API, LocalHost, http_request

APP = Path(__file__).resolve().parent / "app"
FROM, TO = datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 6, 30, 23, 59, 59, tzinfo=UTC)
QUERY = InstanceQuery(created_from=to_micros(FROM), created_to=to_micros(TO), statuses=(RuntimeStatus.Completed,))
URL = (f"{DURABLE_API}/instances?createdTimeFrom={FROM:%Y-%m-%dT%H:%M:%SZ}&createdTimeTo={TO:%Y-%m-%dT%H:%M:%SZ}"
       "&runtimeStatus=Completed")


class _TimedConnection:
    """Stands in for the store's connection: the host thread's CPU time per kind of statement."""

    def __init__(self, db: sqlite3.Connection, seconds: collections.Counter[str]) -> None:
        self._db, self._seconds = db, seconds

    @staticmethod
    def _kind(sql: str) -> str:
        words = sql.split()
        if words[0] in ("DELETE", "SELECT") and "FROM" in words:
            return f"{words[0]} {words[words.index('FROM') + 1]}"
        return " ".join(words[:2])

    def execute(self, sql: str, *args: Any) -> Any:
        began = time.thread_time()
        try:
            return self._db.execute(sql, *args)
        finally:
            self._seconds[self._kind(sql)] += time.thread_time() - began

    def executemany(self, sql: str, *args: Any) -> Any:
        began = time.thread_time()
        try:
            return self._db.executemany(sql, *args)
        finally:
            self._seconds[self._kind(sql)] += time.thread_time() - began

    def __getattr__(self, name: str) -> Any:
        return getattr(self._db, name)


def _written_bytes() -> int:
    fields = dict(line.split(": ") for line in Path("/proc/self/io").read_text().splitlines())
    return int(fields["wchar"])


@contextmanager
def _copy(source: Path, folder: Path) -> Iterator[Path]:
    target = folder / "purge-copy.sqlite"
    shutil.copy(source, target)
    os.sync()  # the copy's own writeback must not land in the purge's checkpoints
    try:
        yield target
    finally:
        for suffix in ("", "-wal", "-shm", ".lock"):
            Path(f"{target}{suffix}").unlink(missing_ok=True)


def in_process(source: Path, folder: Path) -> str:
    with _copy(source, folder) as path:
        store = Store(path, HUB)
        seconds: collections.Counter[str] = collections.Counter()
        real = store.db
        store.db = _TimedConnection(real, seconds)  # type: ignore[assignment]
        wrote, cpu, thread, began = _written_bytes(), time.process_time(), time.thread_time(), time.perf_counter()
        deleted = 0
        with store.bulk_writes():
            while batch := store.purge_batch(QUERY, PURGE_BATCH):
                deleted += batch
        elapsed = time.perf_counter() - began
        cpu, thread = time.process_time() - cpu, time.thread_time() - thread
        wrote = _written_bytes() - wrote
        store.db = real
        store.close()
    per = 1e6 / max(deleted, 1)
    parts = ", ".join(f"{kind} {value * per:.1f}" for kind, value in seconds.most_common(6))
    return (f"{deleted:,} in {elapsed:.1f} s = {deleted / elapsed:,.0f}/s; per instance: process CPU "
            f"{cpu * per:.1f} µs (host thread {thread * per:.1f} µs: {parts}), "
            f"written {wrote / max(deleted, 1) / 1024:.1f} KiB")


def over_http(source: Path, folder: Path) -> str:
    with _copy(source, folder) as path:
        host = LocalHost(APP, store=path, task_hub=HUB, startup_timeout=120)
        host.start()
        try:
            assert host.process is not None
            ticks = os.sysconf("SC_CLK_TCK")
            stat = Path(f"/proc/{host.process.pid}/stat")

            def cpu() -> float:
                fields = stat.read_text().rsplit(")", 1)[1].split()
                return (int(fields[11]) + int(fields[12])) / ticks

            used, began = cpu(), time.perf_counter()
            reply = http_request("DELETE", host.url(URL), timeout=1200)
            elapsed, used = time.perf_counter() - began, cpu() - used
        finally:
            host.close()
    deleted = int(reply.json()["instancesDeleted"])
    return (f"{deleted:,} in {elapsed:.1f} s = {deleted / elapsed:,.0f}/s; host process CPU "
            f"{used * 1e6 / max(deleted, 1):.1f} µs per instance")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--instances", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--store", type=Path, help="an existing store built by scale_store.py (copied, never changed)")
    parser.add_argument("--folder", help="where to build and copy stores (default: a temporary folder)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.folder) as name:
        folder = Path(name)
        source = args.store
        if source is None:
            source = folder / "store.sqlite"
            began = time.perf_counter()
            build_store(source, args.instances)
            print(f"built {args.instances:,} instances in {time.perf_counter() - began:.0f} s", flush=True)
        print(f"load average {os.getloadavg()[0]:.2f}", flush=True)
        for run in range(1, args.repeat + 1):
            print(f"in-process, run {run}: {in_process(source, folder)}", flush=True)
        for run in range(1, args.repeat + 1):
            print(f"over HTTP, run {run}: {over_http(source, folder)}", flush=True)
        print(f"load average {os.getloadavg()[0]:.2f}", flush=True)


if __name__ == "__main__":
    main()
