"""Benchmark of the local host's hot path: the 3-activity Hello sequence (bench/app).

For each process model given with `--workers` (default `0,1,2`: in-process, one worker, two workers), prints
(docs/benchmarks.md):
1. latency: one instance at a time, HTTP start to Completed (start with `timeout`, which the host answers when
   the commit that completes the instance lands), median and p95 over N runs;
2. throughput: 1,000 instances started at once over HTTP, instances per second until all are Completed, and
   the CPU time the host and its worker processes spent per instance during that run;
3. ratios: the same orchestrator replayed over the same histories through the SDK alone (four episodes per
   instance); wall: SDK-only time per instance / host wall time per instance (1 / throughput); CPU: SDK-only
   CPU time per instance / CPU time of the host and all workers per instance.

Run: .venv/bin/python bench/bench_host.py [--latency-runs 200] [--instances 1000] [--workers 0,1,2]
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


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of these processes so far (/proc/PID/stat fields 14 and 15)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def host_pids(host: LocalHost) -> list[int]:
    assert host.process is not None
    return [host.process.pid, *host.worker_pids()]


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


def sdk_only_seconds_per_instance(store: Path, instances: int) -> tuple[float, float]:
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
    began, cpu_began = time.perf_counter(), time.process_time()
    for context in contexts:
        handle(context=context)
    return (time.perf_counter() - began) / len(ids), (time.process_time() - cpu_began) / len(ids)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--latency-runs", type=int, default=200)
    parser.add_argument("--instances", type=int, default=1000)
    parser.add_argument("--workers", default="0,1,2", help="process models to compare (0 = in-process)")
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, {_cpu()}, Python {platform.python_version()}, "
          f"load average {os.getloadavg()[0]:.1f}")
    sdk: tuple[float, float] | None = None
    for workers in [int(w) for w in args.workers.split(",")]:
        with tempfile.TemporaryDirectory() as folder:
            store = Path(folder) / "bench.sqlite"
            with LocalHost(APP, store=store, workers=workers) as host:
                lat = asyncio.run(latency(host, args.latency_runs))
                pids = host_pids(host)
                cpu_before = cpu_seconds(pids)
                rate = asyncio.run(throughput(host, args.instances))
                cpu = (cpu_seconds(pids) - cpu_before) / args.instances
                rss = _peak_rss_mib(host)
            if sdk is None:
                sdk = sdk_only_seconds_per_instance(store, args.instances)
        label = "in-process" if workers == 0 else f"{workers} worker(s)"
        print(f"[{label}] latency (HTTP start -> Completed, one at a time, n={len(lat)}): median "
              f"{statistics.median(lat):.2f} ms, p95 {statistics.quantiles(lat, n=20)[18]:.2f} ms")
        print(f"[{label}] throughput ({args.instances} started at once): {rate:.0f} instances/s; CPU of host + "
              f"workers {cpu * 1000:.2f} ms per instance; host peak RSS {rss}")
        print(f"[{label}] SDK-only replay: {sdk[0] * 1000:.2f} ms wall, {sdk[1] * 1000:.2f} ms CPU per instance; "
              f"ratio wall {sdk[0] * rate:.2f}, ratio CPU {sdk[1] / cpu:.2f}")


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
