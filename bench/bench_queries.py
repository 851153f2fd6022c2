"""Benchmark of instance management at scale: stores of 10K, 100K and 1M instances, measured over real HTTP.

For each size, a store is built with direct SQLite inserts (`scale_store.py`: a year of a realistic mix of
statuses, names and id shapes, about 10 history events per instance), then `durable host start` serves it
(the bench app) and every figure is measured over real HTTP with one client connection, one request at a time:
- start: from spawning the host process to its first answer (Python start, app import, store open);
- get one status (random ids): median and p95;
- one page of 100 for each filter of `FILTERS` (Durable HTTP API) and `EXTENSION_FILTERS` (local-host
  extensions, `/admin/host/instances`), medians; counts per status with a histogram (`/admin/host/counts`);
- paging through every instance with `x-ms-continuation-token` (top=100): total time;
- purge by filter (Completed instances created in the first half of the year, with their history):
  instances per second, and the write-ahead log's size when it ends;
- `kill -9` during a second purge (Failed instances), then a restart: start time, and the count summary
  checked against a full count of the instances (every committed batch gone, nothing else);
- the store's size per instance and the host's resident memory (now and peak) before and after paging and
  purging.

Run: .venv/bin/python bench/bench_queries.py [--sizes 10000,100000,1000000] [--folder DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from scale_store import HUB, build_store

from durable_local.testing import LocalHost, http_request

APP = Path(__file__).resolve().parent / "app"
API = "/runtime/webhooks/durabletask"
MONTH = "createdTimeFrom=2025-03-01T00:00:00Z&createdTimeTo=2025-03-31T23:59:59Z"
WEEK = "createdTimeFrom=2025-06-02T00:00:00Z&createdTimeTo=2025-06-08T23:59:59Z"
FILTERS = {
    "runtimeStatus=Failed": "runtimeStatus=Failed",
    "created in one month": MONTH,
    "Failed + one month": f"runtimeStatus=Failed&{MONTH}",
    "Running,Pending,Suspended + one week": f"runtimeStatus=Running,Pending,Suspended&{WEEK}",
    "prefix, ~30 matches (invoice-00123)": "instanceIdPrefix=invoice-00123",
    "prefix, 0.6% of the hub (audit-)": "instanceIdPrefix=audit-",
    "prefix, 50% of the hub (order-)": "instanceIdPrefix=order-",
    "prefix 0.6% + Failed + one month": f"instanceIdPrefix=audit-&runtimeStatus=Failed&{MONTH}",
    "prefix 5% + Suspended (sync-)": "instanceIdPrefix=sync-&runtimeStatus=Suspended",
}
EXTENSION_FILTERS = {
    "name (3% of the hub)": "name=Escalate",
    "name + Failed + one month": f"name=Escalate&runtimeStatus=Failed&{MONTH}",
}
COUNT_FILTERS = {
    "everything": "",
    "Failed,Running": "runtimeStatus=Failed,Running",
    "one month": MONTH,
    "one day (15-minute buckets)": "createdTimeFrom=2025-06-03T00:00:00Z&createdTimeTo=2025-06-03T23:59:59Z",
    "name": "name=Escalate",
    "prefix 0.6% (audit-)": "instanceIdPrefix=audit-",
    "prefix 50% (order-), first answer": "instanceIdPrefix=order-",
}


def _memory(host: LocalHost) -> str:
    assert host.process is not None
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{host.process.pid}/status").read_text().splitlines())
    return f"{int(fields['VmRSS'].split()[0]) // 1024} MiB (peak {int(fields['VmHWM'].split()[0]) // 1024} MiB)"


def _store_size(path: Path) -> int:
    return sum(os.path.getsize(p) for p in (path, Path(f"{path}-wal")) if p.exists())


def _start(host: LocalHost) -> float:
    began = time.perf_counter()
    host.start()
    return time.perf_counter() - began


async def _median(get: Callable[[str], Awaitable[float]], path: str, runs: int) -> float:
    await get(path)  # warm
    return statistics.median([await get(path) for _ in range(runs)])


async def measure(host: LocalHost, count: int, figures: dict[str, str]) -> None:
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1)) as session:
        async def get(path: str, headers: dict[str, str] | None = None) -> float:
            began = time.perf_counter()
            async with session.get(host.url(path), headers=headers) as reply:
                await reply.read()
                assert reply.status in (200, 202), (path, reply.status)
            return (time.perf_counter() - began) * 1000

        rng = random.Random(1)
        ids = _sample_ids(host.store, rng, count, 1000)
        samples = [await get(f"{API}/instances/{instance_id}") for instance_id in ids]
        figures["get one status"] = (f"median {statistics.median(samples):.2f} ms, "
                                     f"p95 {statistics.quantiles(samples, n=20)[18]:.2f} ms")
        for label, query in FILTERS.items():
            figures[f"page of 100: {label}"] = f"{await _median(get, f'{API}/instances?{query}', 30):.2f} ms"
        for label, query in EXTENSION_FILTERS.items():
            figures[f"page of 100 (extension): {label}"] = \
                f"{await _median(get, f'/admin/host/instances?{query}', 30):.2f} ms"
        for label, query in COUNT_FILTERS.items():
            if "first answer" in label:
                figures[f"counts + histogram: {label}"] = f"{await get(f'/admin/host/counts?{query}'):.1f} ms"
                figures["counts + histogram: the same again (reused if the first took > 50 ms)"] = \
                    f"{await get(f'/admin/host/counts?{query}'):.2f} ms"
            else:
                figures[f"counts + histogram: {label}"] = \
                    f"{await _median(get, f'/admin/host/counts?{query}', 20):.2f} ms"
        figures["host memory before paging"] = _memory(host)
        began, seen, token = time.perf_counter(), 0, None
        while True:
            async with session.get(host.url(f"{API}/instances?showInput=false"),
                                   headers={"x-ms-continuation-token": token} if token else None) as reply:
                body = await reply.read()
                token = reply.headers.get("x-ms-continuation-token")
            seen += body.count(b'"instanceId"')
            if not token:
                break
        assert seen == count, seen
        figures[f"page through all {count:,} (top=100)"] = f"{time.perf_counter() - began:.1f} s"
        figures["host memory after paging"] = _memory(host)
        began = time.perf_counter()
        async with session.delete(host.url(f"{API}/instances?createdTimeFrom=2025-01-01T00:00:00Z"
                                           "&createdTimeTo=2025-06-30T23:59:59Z&runtimeStatus=Completed")) as reply:
            deleted = (await reply.json())["instancesDeleted"]
        elapsed = time.perf_counter() - began
        figures["purge by filter (Completed, first half of the year)"] = (
            f"{deleted:,} with history in {elapsed:.1f} s = {deleted / elapsed:,.0f}/s")
        wal = Path(f"{host.store}-wal")
        figures["WAL after the purge"] = f"{(wal.stat().st_size if wal.exists() else 0) / 2**20:.1f} MiB"
        figures["host memory after the purge"] = _memory(host)


def _rows(path: Path, sql: str) -> list[tuple[Any, ...]]:
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


def _sample_ids(path: Path, rng: random.Random, count: int, samples: int) -> list[str]:
    """Existing ids picked at random: the first id at or after a random point of the id space."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        kinds = ("audit", "invoice", "order", "report", "sync")
        sql = "SELECT instance_id FROM instances WHERE hub = ? AND instance_id >= ? ORDER BY instance_id LIMIT 1"
        return [db.execute(sql, (HUB, f"{rng.choice(kinds)}-{rng.randrange(count):07d}")).fetchone()[0]
                for _ in range(samples)]
    finally:
        db.close()


def crash_during_purge(host: LocalHost, figures: dict[str, str]) -> None:
    """`kill -9` half a second into a purge; the restarted host's counts must equal a full count."""
    before = _rows(host.store, "SELECT COUNT(*) FROM instances WHERE runtime_status = 'Failed'")[0][0]
    purge = threading.Thread(target=lambda: _quietly(lambda: http_request(
        "DELETE", host.url(f"{API}/instances?createdTimeFrom=2025-01-01T00:00:00Z&runtimeStatus=Failed"),
        timeout=600)))
    purge.start()
    time.sleep(0.5)
    host.kill()
    purge.join()
    figures["start after kill -9 during a purge"] = f"{_start(host):.2f} s"
    counted = dict(_rows(host.store, "SELECT runtime_status, COUNT(*) FROM instances "
                                     "WHERE substr(instance_id, 1, 1) != '@' GROUP BY 1"))
    reply = http_request("GET", host.url("/admin/host/counts"))
    summary = {k: v for k, v in reply.json()["counts"].items() if v}
    history_orphans = _rows(host.store, "SELECT COUNT(*) FROM (SELECT DISTINCT instance_id FROM history h WHERE NOT "
                                        "EXISTS (SELECT 1 FROM instances i WHERE i.hub = h.hub AND "
                                        "i.instance_id = h.instance_id))")[0][0]
    left = counted.get("Failed", 0)
    figures["after kill -9 during a purge"] = (
        f"{before - left:,} of {before:,} Failed purged before the kill; counts summary "
        f"{'equals' if summary == counted else 'DIFFERS FROM'} a full count; {history_orphans} orphaned histories")


def _quietly(call: Callable[[], object]) -> None:
    with contextlib.suppress(OSError):  # the host was killed under the request
        call()


def run_size(folder: Path, count: int) -> dict[str, str]:
    figures: dict[str, str] = {}
    store = folder / f"store-{count}.sqlite"
    began = time.perf_counter()
    build_store(store, count)
    figures["build (direct SQLite inserts)"] = f"{time.perf_counter() - began:.0f} s"
    size = _store_size(store)
    figures["store size"] = f"{size / 2**20:,.0f} MiB = {size / count / 1024:.2f} KiB per instance"
    host = LocalHost(APP, store=store, task_hub=HUB, startup_timeout=120)
    try:
        figures["start (spawn to first answer)"] = f"{_start(host):.2f} s"
        asyncio.run(measure(host, count, figures))
        size = _store_size(store)
        remaining = _rows(store, "SELECT COUNT(*) FROM instances")[0][0]
        figures["store size after the purge"] = f"{size / 2**20:,.0f} MiB for {remaining:,} instances (no VACUUM)"
        crash_during_purge(host, figures)
    finally:
        host.close()
    for suffix in ("", "-wal", "-shm", ".lock"):
        Path(f"{store}{suffix}").unlink(missing_ok=True)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--folder", help="where to build the stores (default: a temporary folder)")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    with tempfile.TemporaryDirectory(dir=args.folder) as folder:
        for count in sizes:
            print(f"\n== {count:,} instances", flush=True)
            for name, value in run_size(Path(folder), count).items():
                print(f"{name}: {value}", flush=True)


if __name__ == "__main__":
    main()
