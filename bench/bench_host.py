"""Benchmark of the local host's hot path: the 3-activity Hello sequence (bench/app).

Prints three figures (README "Benchmarks"):
1. latency: one instance at a time, HTTP start to Completed (start with `timeout`, which the host answers when
   the commit that completes the instance lands), median and p95 over N runs;
2. throughput: 1,000 instances started at once over HTTP, instances per second until all are Completed;
3. ratio: the same orchestrator replayed over the same histories through the SDK alone (four episodes per
   instance), SDK-only time per instance divided by host time per instance (1 / throughput).

Run: .venv/bin/python bench/bench_host.py [--latency-runs 200] [--instances 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from durable_local.testing import LocalHost

APP = Path(__file__).resolve().parent / "app"
API = "/runtime/webhooks/durabletask"


async def latency(host: LocalHost, runs: int) -> list[float]:
    samples = []
    async with aiohttp.ClientSession() as session:
        for _ in range(runs + 10):
            began = time.perf_counter()
            async with session.post(host.url(f"{API}/orchestrators/Hello?timeout=30&pollingInterval=30")) as reply:
                assert reply.status == 200, await reply.text()
                await reply.read()
            samples.append((time.perf_counter() - began) * 1000)
    return samples[10:]  # warm-up excluded


async def throughput(host: LocalHost, count: int) -> float:
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=64)) as session:
        async def start(n: int) -> None:
            async with session.post(host.url(f"{API}/orchestrators/Hello/tp-{n}")) as reply:
                assert reply.status == 202, await reply.text()

        began = time.perf_counter()
        await asyncio.gather(*(start(n) for n in range(count)))
        while True:
            url = host.url(f"{API}/instances?runtimeStatus=Pending,Running&top=1&instanceIdPrefix=tp-")
            async with session.get(url) as reply:
                if not await reply.json():
                    break
            await asyncio.sleep(0.05)  # coarse enough not to load the host it measures (<1% of the run)
        elapsed = time.perf_counter() - began
        async with session.get(host.url(f"{API}/instances?instanceIdPrefix=tp-&runtimeStatus=Completed&top=5000")) \
                as reply:
            assert len(await reply.json()) == count
    return count / elapsed


def sdk_only_seconds_per_instance(store: Path, instances: int) -> float:
    """Replay each stored Hello history through the SDK alone, episode by episode, as the host sends them."""
    sys.path.insert(0, str(APP))
    import function_app

    handle = next(f for f in function_app.app.get_functions()
                  if f.get_function_name() == "Hello").get_user_function()
    db = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
    ids = [row[0] for row in db.execute("SELECT instance_id FROM instances WHERE instance_id LIKE 'tp-%' LIMIT ?",
                                        (instances,))]
    contexts = []
    for instance_id in ids:
        events = [json.loads(row[0]) for row in db.execute(
            "SELECT event FROM history WHERE instance_id=? ORDER BY seq", (instance_id,))]
        starts = [i for i, e in enumerate(events) if e["EventType"] == 12]
        for position, start in enumerate(starts):
            end = starts[position + 1] - 1 if position + 1 < len(starts) else len(events) - 2
            episode = [{**e, "IsPlayed": i < start and e["EventType"] != 12} for i, e in enumerate(events[:end])]
            contexts.append(json.dumps({"history": episode, "input": None, "instanceId": instance_id,
                                        "isReplaying": False, "parentInstanceId": None, "upperSchemaVersion": 1,
                                        "upperSchemaVersionNew": 2,
                                        "longRunningTimerIntervalDuration": "3.00:00:00",
                                        "maximumShortTimerDuration": "6.00:00:00"}))
    began = time.perf_counter()
    for context in contexts:
        handle(context=context)
    return (time.perf_counter() - began) / len(ids)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--latency-runs", type=int, default=200)
    parser.add_argument("--instances", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        store = Path(folder) / "bench.sqlite"
        with LocalHost(APP, store=store) as host:
            lat = asyncio.run(latency(host, args.latency_runs))
            rate = asyncio.run(throughput(host, args.instances))
            rss = _peak_rss_mib(host)
        sdk = sdk_only_seconds_per_instance(store, args.instances)
    cpu = _cpu()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, {cpu}, Python {platform.python_version()}")
    print(f"latency (HTTP start -> Completed, one at a time, n={len(lat)}): median {statistics.median(lat):.2f} ms, "
          f"p95 {statistics.quantiles(lat, n=20)[18]:.2f} ms")
    print(f"throughput ({args.instances} started at once): {rate:.0f} instances/s")
    print(f"SDK-only replay: {sdk * 1000:.2f} ms per instance; host: {1000 / rate:.2f} ms per instance; "
          f"ratio {sdk * rate:.2f}")
    print(f"host peak RSS: {rss}")


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _peak_rss_mib(host: LocalHost) -> str:
    try:
        assert host.process is not None
        for line in Path(f"/proc/{host.process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM"):
                return f"{int(line.split()[1]) / 1024:.0f} MiB"
    except (OSError, AssertionError):
        pass
    return "unknown"


if __name__ == "__main__":
    main()
