"""Benchmark of instance management at scale: 100,000 instances with about 10 history events each.

The store is built in-process through the host's own seeding code (a benchmark may; tests seed over HTTP),
then a host serves it and every figure is measured over real HTTP:
- get one status (random ids, one at a time): median and p95;
- one filtered page of 100 (runtimeStatus + createdTime window): median;
- paging through all instances with the continuation-token header (default top=100): total time;
- purge by filter (all Completed instances, with their history): instances per second;
- the host's peak RSS before and after paging and purging.

Run: .venv/bin/python bench/bench_queries.py [--instances 100000]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from durable_local.host.history import EventType, event, execution_started
from durable_local.host.history import orchestrator_completed as oc
from durable_local.host.history import orchestrator_started as os_
from durable_local.host.seeding import seed_commit
from durable_local.host.store import Store
from durable_local.testing import LocalHost

APP = Path(__file__).resolve().parent / "app"
API = "/runtime/webhooks/durabletask"
BASE = datetime(2026, 1, 1, tzinfo=UTC)


def history(instance_id: str, created: datetime) -> list[dict[str, object]]:
    """Ten events: a Hello sequence's shape (start, three activities, completion)."""
    events = [os_(created), execution_started(created, instance_id, "x", "Hello", None)]
    for n in range(3):
        events += [event(EventType.TaskScheduled, created, n, Name="SayHello", Input="[\"\\\"x\\\"\"]"),
                   event(EventType.TaskCompleted, created, TaskScheduledId=n, Result="\"Hello x!\"")]
    return [*events, event(EventType.ExecutionCompleted, created, OrchestrationStatus=1, Result="[]"), oc(created)]


def build(store_path: Path, count: int) -> None:
    store = Store(store_path, "BenchHub")
    rng = random.Random(7)
    for start in range(0, count, 5000):
        items = []
        for n in range(start, min(count, start + 5000)):
            created = BASE + timedelta(seconds=rng.randrange(90 * 86400))
            status = rng.choices(["Completed", "Failed", "Running"], [70, 20, 10])[0]
            instance_id = f"inst-{n:06d}"
            items.append({"instanceId": instance_id, "name": "Hello", "runtimeStatus": status,
                          "createdTime": created.isoformat(), "input": {"n": n}, "output": ["Hello x!"] * 3,
                          "history": history(instance_id, created)})
        store.apply(seed_commit(items, BASE))
    store.close()


async def measure(host: LocalHost, count: int) -> dict[str, str]:
    figures: dict[str, str] = {}
    async with aiohttp.ClientSession() as session:
        async def get(path: str, headers: dict[str, str] | None = None) -> tuple[float, aiohttp.ClientResponse, bytes]:
            began = time.perf_counter()
            async with session.get(host.url(path), headers=headers) as reply:
                body = await reply.read()
            return (time.perf_counter() - began) * 1000, reply, body

        rng = random.Random(1)
        samples = [(await get(f"{API}/instances/inst-{rng.randrange(count):06d}"))[0] for _ in range(1000)]
        figures["get one status"] = (f"median {statistics.median(samples):.2f} ms, "
                                     f"p95 {statistics.quantiles(samples, n=20)[18]:.2f} ms")
        page = (f"{API}/instances?runtimeStatus=Failed&createdTimeFrom=2026-02-01T00:00:00Z"
                f"&createdTimeTo=2026-03-01T00:00:00Z")
        samples = [(await get(page))[0] for _ in range(200)]
        figures["filtered page of 100"] = f"median {statistics.median(samples):.2f} ms"
        figures["peak RSS before paging"] = _rss(host)
        began, seen, token = time.perf_counter(), 0, None
        while True:
            _, reply, body = await get(f"{API}/instances?showInput=false",
                                       {"x-ms-continuation-token": token} if token else None)
            seen += body.count(b'"instanceId"')
            token = reply.headers.get("x-ms-continuation-token")
            if not token:
                break
        assert seen == count, seen
        figures[f"page through all {count:,} (top=100)"] = f"{time.perf_counter() - began:.2f} s"
        figures["peak RSS after paging"] = _rss(host)
        began = time.perf_counter()
        async with session.delete(host.url(f"{API}/instances?createdTimeFrom=2025-01-01T00:00:00Z"
                                           "&runtimeStatus=Completed")) as reply:
            deleted = (await reply.json())["instancesDeleted"]
        elapsed = time.perf_counter() - began
        figures["purge by filter"] = (f"{deleted:,} instances with history in {elapsed:.2f} s "
                                      f"= {deleted / elapsed:,.0f}/s")
        figures["peak RSS after purge"] = _rss(host)
    return figures


def _rss(host: LocalHost) -> str:
    assert host.process is not None
    for line in Path(f"/proc/{host.process.pid}/status").read_text().splitlines():
        if line.startswith("VmHWM"):
            return f"{int(line.split()[1]) / 1024:.0f} MiB"
    return "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--instances", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        store = Path(folder) / "bench.sqlite"
        began = time.perf_counter()
        build(store, args.instances)
        print(f"built {args.instances:,} instances in {time.perf_counter() - began:.1f} s "
              f"({store.stat().st_size / 2**20:.0f} MiB)")
        with LocalHost(APP, store=store) as host:
            for name, value in asyncio.run(measure(host, args.instances)).items():
                print(f"{name}: {value}")


if __name__ == "__main__":
    main()
