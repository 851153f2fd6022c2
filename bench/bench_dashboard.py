"""Benchmark of `durable dashboard` on a large task hub: 100,000 instances (bench/scale_store.py: a year's mix of
statuses, names and id shapes, ~10 history events each) plus one instance with 1,000 history events.

A local host serves the store; the dashboard talks to it over HTTP, as it would to any app. Every figure is
the dashboard's own server time for one page (its `Server-Timing` header: the calls to the app and the
rendering), measured over real HTTP, median and p95 of N requests:
- the instances view (first page of 50) with filters: runtime status + created window, id prefix, orchestrator
  name (the local host's extension), and free text on the id (filtered by the dashboard);
- the counts and histogram for a filter (loaded separately by the page);
- the instance view of the 1,000-event instance, and of an ordinary one.

Run: .venv/bin/python bench/bench_dashboard.py [--instances 100000] [--repeat 30]
"""

from __future__ import annotations

import argparse
import http.client
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))
from scale_store import HUB, build_store  # noqa: E402

from durable_local.testing import LocalHost, free_port  # noqa: E402

APP = ROOT / "bench" / "app"
BIG = "big-history-0001"


def big_history(events: int) -> list[dict[str, object]]:
    start = datetime(2025, 6, 1, tzinfo=UTC)
    history: list[dict[str, object]] = [
        {"EventType": "OrchestratorStarted", "EventId": -1, "Timestamp": start.isoformat()},
        {"EventType": "ExecutionStarted", "EventId": -1, "Timestamp": start.isoformat(), "Name": "ProcessOrder",
         "Input": '{"n": 1}', "OrchestrationInstance": {"InstanceId": BIG, "ExecutionId": "x"}}]
    task = 0
    while len(history) < events - 1:
        at = start + timedelta(seconds=2 * task)
        history.append({"EventType": "TaskScheduled", "EventId": task, "Timestamp": at.isoformat(), "Name": "Step",
                        "Input": f'"step {task}"'})
        history.append({"EventType": "TaskCompleted", "EventId": -1, "TaskScheduledId": task,
                        "Timestamp": (at + timedelta(seconds=1.5)).isoformat(), "Result": f'"done {task}"'})
        task += 1
    history.append({"EventType": "ExecutionCompleted", "EventId": -1, "OrchestrationStatus": 1,
                    "Timestamp": (start + timedelta(seconds=2 * task)).isoformat(), "Result": '"ok"'})
    return history


def timed_get(port: int, path: str, cookie: str) -> tuple[int, float, int]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        connection.request("GET", path, headers={"Cookie": cookie})
        reply = connection.getresponse()
        body = reply.read()
        timing = reply.getheader("Server-Timing") or "app;dur=nan"
        return reply.status, float(timing.split("dur=")[1]), len(body)
    finally:
        connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--instances", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-dashboard-") as workdir:
        store = Path(workdir) / "store.sqlite"
        started = time.perf_counter()
        build_store(store, args.instances)
        print(f"store of {args.instances:,} instances built in {time.perf_counter() - started:.1f} s")
        with LocalHost(APP, store=store, task_hub=HUB) as host:
            assert host.seed([{"instanceId": BIG, "name": "ProcessOrder", "runtimeStatus": "Completed",
                               "createdTime": "2025-06-01T00:00:00Z", "history": big_history(1000)}]) == 1
            ordinary = host.get(f"/runtime/webhooks/durabletask/instances?top=1&taskHub={HUB}").json()[0]["instanceId"]
            port = free_port()
            board = subprocess.Popen(
                [sys.executable, "-m", "durable_local", "dashboard", "--base-url", host.base_url, "--port",
                 str(port), "--task-hub-name", HUB], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                cwd=workdir)
            try:
                assert board.stdout is not None
                url = ""
                while "?token=" not in url:
                    url = board.stdout.readline().strip()
                token = url.split("token=")[1]
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                connection.request("GET", f"/?token={token}")
                cookie = (connection.getresponse().getheader("Set-Cookie") or "").split(";")[0]
                connection.close()
                cases = [
                    ("instances view: status Failed + created window (June)",
                     "/instances?status=Failed&from=2025-06-01T00:00:00&to=2025-06-30T23:59:59&refresh=off"),
                    ("instances view: id prefix invoice-00012", "/instances?prefix=invoice-00012&refresh=off"),
                    ("instances view: orchestrator SyncInventory + Running",
                     "/instances?name=SyncInventory&status=Running&refresh=off"),
                    ("instances view: no filter, page size 500", "/instances?size=500&refresh=off"),
                    ("instances view: free text '0424' on the id (dashboard-side)", "/instances?q=0424&refresh=off"),
                    ("counts + histogram: status Failed + Running, whole year",
                     "/instances/summary?status=Failed&status=Running"),
                    ("counts + histogram: id prefix invoice-", "/instances/summary?prefix=invoice-"),
                    ("instance view: 1,000 history events", f"/instance/{urllib.parse.quote(BIG)}"),
                    ("instance view: ordinary instance (~10 events)", f"/instance/{urllib.parse.quote(ordinary)}"),
                ]
                print(f"\n| page ({args.instances:,} instances) | median ms | p95 ms | page size |")
                print("|---|---|---|---|")
                for label, path in cases:
                    timed_get(port, path, cookie)  # warm up (extension detection, caches)
                    times = []
                    size = 0
                    for _ in range(args.repeat):
                        status, ms, size = timed_get(port, path, cookie)
                        assert status == 200, (path, status)
                        times.append(ms)
                    times.sort()
                    p95 = times[min(len(times) - 1, int(len(times) * 0.95))]
                    print(f"| {label} | {statistics.median(times):.1f} | {p95:.1f} | {size / 1024:.0f} KiB |")
            finally:
                board.terminate()
                board.wait(10)


if __name__ == "__main__":
    main()
