"""Benchmark of `durable get-instances --all` over many instances: the CLI end to end (a child process, its
stdout to a file, as in a pipe), against a local host serving a seeded store.

Measures, for N instances (default 100,000): `-o json` (compact in a pipe), `-o jsonl` (streamed), and the
JSON encoding alone with and without indenting (what the indented output used to cost). The store is built
with scale_store.py (about ten history events per instance).

Run: .venv/bin/python bench/bench_cli_listing.py [--instances 100000] [--top 100]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from bench_queries import APP
from scale_store import HUB, build_store

from durable_local.testing import LocalHost


def timed_cli(argv: list[str], base_url: str, output: Path) -> float:
    env = {**os.environ, "DURABLE_BASE_URL": base_url}
    began = time.perf_counter()
    with output.open("w", encoding="utf-8") as sink:
        subprocess.run([sys.executable, "-m", "durable_local", *argv], stdout=sink, stderr=subprocess.DEVNULL,
                       env=env, check=True, cwd=APP)
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--instances", type=int, default=100_000)
    parser.add_argument("--top", type=int, default=None, help="page size for --all (default: the CLI's)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        store = Path(folder) / "bench.sqlite"
        began = time.perf_counter()
        build_store(store, args.instances)
        print(f"built {args.instances:,} instances in {time.perf_counter() - began:.1f} s")
        page = ["--top", str(args.top)] if args.top else []
        with LocalHost(APP, store=store, task_hub=HUB) as host:
            common = ["get-instances", "--all", "--task-hub-name", HUB, *page]
            out = Path(folder) / "out.json"
            seconds = timed_cli([*common, "-o", "json"], host.base_url, out)
            listed = json.loads(out.read_text(encoding="utf-8"))["instances"]
            assert len(listed) == args.instances, len(listed)
            print(f"durable get-instances --all -o json: {seconds:.2f} s ({out.stat().st_size / 1e6:.1f} MB)")
            seconds = timed_cli([*common, "-o", "jsonl"], host.base_url, out)
            assert sum(1 for _ in out.open(encoding="utf-8")) == args.instances
            print(f"durable get-instances --all -o jsonl: {seconds:.2f} s")
        payload = {"instances": listed, "continuationToken": None}
        began = time.perf_counter()
        json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
        compact = time.perf_counter() - began
        began = time.perf_counter()
        json.dumps(payload, ensure_ascii=False, indent=2)
        indented = time.perf_counter() - began
        print(f"encoding alone: compact {compact:.2f} s, indented {indented:.2f} s")


if __name__ == "__main__":
    main()
