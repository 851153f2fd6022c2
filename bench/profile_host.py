"""Where the host process's time goes under load: py-spy samples of the host while 1,000 Hello sequences run.

Starts the host on bench/app (`--workers N`, default 1), starts 1,000 instances at once over HTTP, samples the
host process (not its workers) with py-spy for the whole run, and sorts every sample into one part of the
host by the deepest frame that names it: user code (in-process mode only), SQLite store, sequencing and
episodes, HTTP (aiohttp and the Durable HTTP API), IPC with the workers (framing, pool), the event loop's own
wake-ups and scheduling, other. Only samples of the thread holding the GIL count (`--gil`): the host's
Python time, not its waits. Prints milliseconds per instance for each part (a process the OS has descheduled
while holding the GIL is sampled where it stands, so on a loaded machine every part grows).

Needs py-spy in the venv (`.venv/bin/pip install py-spy`; not a project dependency) and the right to trace a
child process (root, or ptrace_scope 0).

Run: .venv/bin/python bench/profile_host.py [--workers 1] [--instances 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_host import APP, throughput

from durable_local.testing import LocalHost

RATE = 250  # samples per second
# (part, substrings of a frame); the deepest frame matching any part decides the sample's part.
PARTS = [
    ("user code (SDK replay, activities)", ("azure/durable_functions", "function_app.py", "host/calls.py")),
    ("SQLite store", ("host/store.py", "sqlite3")),
    ("sequencing and episodes", ("host/sequencer.py", "host/episodes.py", "host/entities.py", "host/history.py",
                                 "host/rewind.py")),
    ("IPC with the workers", ("host/framing.py", "host/workers.py")),
    ("HTTP (aiohttp, Durable HTTP API)", ("aiohttp", "host/durable_api.py", "host/server.py", "host/status.py",
                                          "multidict", "yarl", "http/")),
    ("JSON encoding and decoding", ("json/",)),
    ("engine dispatch", ("host/engine.py",)),
    ("event loop wake-ups and scheduling", ("asyncio/", "selectors.py")),
]


def classify(stack: str) -> str:
    frames = stack.split(";")
    for frame in reversed(frames):
        for part, needles in PARTS:
            if any(needle in frame for needle in needles):
                return part
    return "other"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--instances", type=int, default=1000)
    args = parser.parse_args()
    py_spy = Path(sys.executable).parent / "py-spy"
    with tempfile.TemporaryDirectory() as folder, LocalHost(APP, store=Path(folder) / "s.sqlite",
                                                            workers=args.workers) as host:
        assert host.process is not None
        raw = Path(folder) / "profile.txt"
        spy = subprocess.Popen([str(py_spy), "record", "--pid", str(host.process.pid), "--format", "raw",
                                "--rate", str(RATE), "--output", str(raw), "--nonblocking", "--gil"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1.0)  # py-spy attaches
        rate = asyncio.run(throughput(host, args.instances))
        spy.send_signal(2)
        spy.wait(30)
        samples: collections.Counter[str] = collections.Counter()
        for line in raw.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            if stack and count.isdigit():
                samples[classify(stack)] += int(count)
    total = sum(samples.values())
    seconds = total / RATE
    print(f"{args.instances} instances at {rate:.0f}/s with {args.workers} worker(s); {total} samples of the host "
          f"process holding the GIL ({seconds:.1f} s)")
    for part, count in samples.most_common():
        print(f"  {part:40s} {100 * count / total:5.1f}%  {count / RATE * 1000 / args.instances:6.2f} ms per instance")


if __name__ == "__main__":
    main()
