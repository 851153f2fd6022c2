"""The same Hello sequence (a workflow of 3 steps) on DBOS Transact with its SQLite system database, for comparison.

DBOS is not a dependency of this project: install it into the venv first (`.venv/bin/pip install dbos`).
Measures, like `bench_host.py`: one-at-a-time latency (start a workflow and wait for its result), throughput
with 1,000 workflows started at once (`DBOS.start_workflow`, then waiting for every result), and the CPU time of
the process per workflow. DBOS runs workflows in threads of the calling process (no HTTP in front), so its
figures have no HTTP cost in them; ours do.

Run: .venv/bin/python bench/bench_dbos.py [--latency-runs 200] [--instances 1000]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from dbos import DBOS, DBOSConfig

CITIES = ["Tokyo", "Seattle", "London"]


@DBOS.step()
def say_hello(city: str) -> str:
    return f"Hello {city}!"


@DBOS.workflow()
def hello() -> list[str]:
    return [say_hello(city) for city in CITIES]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--latency-runs", type=int, default=200)
    parser.add_argument("--instances", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        config: DBOSConfig = {"name": "bench", "system_database_url": f"sqlite:///{Path(folder) / 'dbos.sqlite'}",
                              "run_admin_server": False}
        DBOS(config=config)
        DBOS.launch()
        try:
            samples = []
            for _ in range(args.latency_runs + 10):
                began = time.perf_counter()
                assert DBOS.start_workflow(hello).get_result() == [f"Hello {c}!" for c in CITIES]
                samples.append((time.perf_counter() - began) * 1000)
            latency = samples[10:]
            cpu_began, began = time.process_time(), time.perf_counter()
            handles = [DBOS.start_workflow(hello) for _ in range(args.instances)]
            for handle in handles:
                handle.get_result()
            elapsed, cpu = time.perf_counter() - began, time.process_time() - cpu_began
        finally:
            DBOS.destroy()
    print(f"DBOS latency (start -> result, one at a time, n={len(latency)}): median "
          f"{statistics.median(latency):.2f} ms, p95 {statistics.quantiles(latency, n=20)[18]:.2f} ms")
    print(f"DBOS throughput ({args.instances} started at once): {args.instances / elapsed:.0f} workflows/s; "
          f"CPU {cpu * 1000 / args.instances:.2f} ms per workflow")


if __name__ == "__main__":
    main()
