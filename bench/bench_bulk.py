"""Benchmark of bulk management on the local host: the app's bulk operations and retention purge, and
`durable purge-history`, on a store of 100,000 instances (70% Completed, 20% Running, 10% Failed, created 40 to
130 days ago, each with the seeded minimal history).

Each figure starts from a fresh copy of the store, with the project's app (repo root) and Azurite:
- bulk terminate (`POST /bulk/terminate?runtimeStatus=Running`): instances per second that reached Terminated,
  from the request until the last one is Terminated;
- retention purge (`purge_history_timer` -> `RetentionPurge`, RETENTION_DAYS=30, Completed): instances/s from
  the trigger until the run's output;
- retention purge with `ARCHIVE_CONTAINER` (blobs in Azurite), on a smaller store (`--archive-instances`);
- `durable purge-history --yes` (all finished instances): instances/s of the whole command (process start included);
- bulk purge with an instance ID prefix (`POST /bulk/purge?instanceIdPrefix=inst-01`): it lists the IDs and
  purges them one by one through the Durable HTTP API (the built-in purge by filter ignores the prefix).

Run: .venv/bin/python bench/bench_bulk.py [--instances 100000] [--archive-instances 10000]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
from durable_local.host.seeding import seed_commit  # noqa: E402
from durable_local.host.store import Store  # noqa: E402
from durable_local.testing import LocalHost  # noqa: E402

API = "/runtime/webhooks/durabletask"
HUB = "DurableFunctionsHub"
ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


def build(path: Path, count: int) -> dict[str, int]:
    store = Store(path, HUB)
    rng = random.Random(7)
    now = datetime.now(UTC)
    counts: dict[str, int] = {}
    for start in range(0, count, 5000):
        items = []
        for n in range(start, min(count, start + 5000)):
            status = rng.choices(["Completed", "Running", "Failed"], [70, 20, 10])[0]
            counts[status] = counts.get(status, 0) + 1
            created = now - timedelta(days=40, seconds=rng.randrange(90 * 86400))
            items.append({"instanceId": f"inst-{n:06d}", "name": "HelloWorld", "runtimeStatus": status,
                          "createdTime": created.isoformat(), "input": {"n": n}, "output": "Hello!"})
        store.apply(seed_commit(items, now))
    store.close()
    return counts


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def azurite() -> Iterator[str]:
    """An in-memory Azurite; yields its connection string."""
    ports = [_free_port() for _ in range(3)]
    command = [str(ROOT / "node_modules" / ".bin" / "azurite"), "--silent", "--skipApiVersionCheck", "--loose",
               "--inMemoryPersistence", "--disableTelemetry", "--blobPort", str(ports[0]), "--queuePort",
               str(ports[1]), "--tablePort", str(ports[2])]
    with tempfile.TemporaryDirectory() as folder:
        process = subprocess.Popen(command, cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            for port in ports:
                deadline = time.monotonic() + 60
                while socket.socket().connect_ex(("127.0.0.1", port)) != 0:
                    if time.monotonic() > deadline:
                        raise TimeoutError("Azurite did not start")
                    time.sleep(0.1)
            yield (f"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={ACCOUNT_KEY};"
                   f"BlobEndpoint=http://127.0.0.1:{ports[0]}/devstoreaccount1;"
                   f"QueueEndpoint=http://127.0.0.1:{ports[1]}/devstoreaccount1;"
                   f"TableEndpoint=http://127.0.0.1:{ports[2]}/devstoreaccount1;")
        finally:
            process.terminate()
            process.wait(10)


@contextmanager
def app_on(store: Path, connection: str, **settings: str) -> Iterator[LocalHost]:
    env = {"AzureWebJobsStorage": connection, "FUNCTIONS_WORKER_RUNTIME": "python", "RETENTION_DAYS": "30",
           "PURGE_RUNTIME_STATUSES": "Completed", "PURGE_WINDOW_HOURS": "24", **settings}
    with LocalHost(ROOT, store=store, env=env, startup_timeout=120) as host:
        yield host


def until(condition: Callable[[], bool], timeout: float = 1800, interval: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the benchmark step did not finish")
        time.sleep(interval)


def finished(host: LocalHost, instance_id: str) -> dict[str, Any] | None:
    reply = host.get(f"{API}/instances/{instance_id}")
    body = reply.json() if reply.status in (200, 202) else None
    return body if body and body["runtimeStatus"] in ("Completed", "Failed", "Terminated") else None


def none_left(host: LocalHost, status: str) -> bool:
    return host.get(f"{API}/instances?runtimeStatus={status}&top=1&showInput=false").json() == []


def bulk_terminate(base: Path, work: Path, connection: str, running: int) -> str:
    shutil.copy(base, work)
    with app_on(work, connection, BULK_PAGE_SIZE="1000") as host:
        began = time.perf_counter()
        reply = host.post("/bulk/terminate?runtimeStatus=Running&concurrency=64")
        bulk_id = reply.json()["id"]
        until(lambda: finished(host, bulk_id) is not None)
        until(lambda: none_left(host, "Running"))
        elapsed = time.perf_counter() - began
        done = finished(host, bulk_id)["output"]["done"]  # type: ignore[index]
    assert done == running, (done, running)
    return f"{done:,} Running -> Terminated in {elapsed:.1f} s = {done / elapsed:,.0f}/s"


def retention(base: Path, work: Path, connection: str, **settings: str) -> str:
    shutil.copy(base, work)
    with app_on(work, connection, **settings) as host:
        began = time.perf_counter()
        host.run_function("purge_history_timer")
        run_id = f"retention-purge-{datetime.now(UTC):%Y-%m-%d}"
        until(lambda: finished(host, run_id) is not None, interval=0.2)
        elapsed = time.perf_counter() - began
        output = finished(host, run_id)["output"]  # type: ignore[index]
    return (f"{output['purged']:,} purged in {output['windows']} windows, {elapsed:.1f} s = "
            f"{output['purged'] / elapsed:,.0f}/s")


def purge_history_cli(base: Path, work: Path, connection: str) -> str:
    shutil.copy(base, work)
    with app_on(work, connection) as host:
        began = time.perf_counter()
        result = subprocess.run(
            [sys.executable, "-m", "durable_local", "purge-history", "--base-url", host.base_url, "--yes",
             "-o", "json"], capture_output=True, text=True, check=True, env={**os.environ, "NO_COLOR": "1"})
        elapsed = time.perf_counter() - began
    deleted = json.loads(result.stdout.strip().splitlines()[-1])["instancesDeleted"]
    return f"{deleted:,} purged in {elapsed:.1f} s = {deleted / elapsed:,.0f}/s (the whole command)"


def bulk_purge_prefix(base: Path, work: Path, connection: str) -> str:
    shutil.copy(base, work)
    with app_on(work, connection, BULK_PAGE_SIZE="1000") as host:
        began = time.perf_counter()
        bulk_id = host.post("/bulk/purge?instanceIdPrefix=inst-01&concurrency=64").json()["id"]
        until(lambda: finished(host, bulk_id) is not None, interval=0.2)
        elapsed = time.perf_counter() - began
        output = finished(host, bulk_id)["output"]  # type: ignore[index]
    return f"{output['done']:,} purged of {output['matched']:,} listed in {elapsed:.1f} s = " \
           f"{output['done'] / elapsed:,.0f}/s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--instances", type=int, default=100_000)
    parser.add_argument("--archive-instances", type=int, default=10_000)
    parser.add_argument("--only", choices=["terminate", "retention", "archive", "purge-history", "prefix"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder, azurite() as connection:
        base, small, work = Path(folder) / "base.sqlite", Path(folder) / "small.sqlite", Path(folder) / "work.sqlite"
        began = time.perf_counter()
        counts = build(base, args.instances)
        print(f"built {args.instances:,} instances {counts} in {time.perf_counter() - began:.1f} s")
        steps: dict[str, Callable[[], str]] = {
            "terminate": lambda: bulk_terminate(base, work, connection, counts["Running"]),
            "retention": lambda: retention(base, work, connection),
            "purge-history": lambda: purge_history_cli(base, work, connection),
            "prefix": lambda: bulk_purge_prefix(base, work, connection),
        }
        for name, step in steps.items():
            if args.only in (None, name):
                print(f"{name}: {step()}", flush=True)
        if args.only in (None, "archive"):
            build(small, args.archive_instances)
            print(f"retention purge with archive ({args.archive_instances:,} instances): "
                  f"{retention(small, work, connection, ARCHIVE_CONTAINER='bench-archive')}", flush=True)


if __name__ == "__main__":
    main()
