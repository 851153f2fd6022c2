"""User code runs in worker processes: blocking or crashing functions never stall or kill the host.

As the Functions host runs a Python app in language worker processes, the local host runs every user function
(orchestrator replays, activities, entities, HTTP and timer triggers) in `--workers N` worker processes. A worker
that exits or is killed is restarted and the work it held is redelivered (the extension aborts the session and
retries: `OutOfProcMiddleware`); after 3 crashes on one work item the activity fails with a clear reason.
"""

from __future__ import annotations

import http.client
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from durable_local.testing import DURABLE_API, LocalHost, eventually, free_port

APP = Path(__file__).resolve().parents[1] / "apps" / "worker_app"
API = DURABLE_API


def start(host: LocalHost, activity: str, args: Any, orchestrator: str = "run_activity") -> str:
    reply = host.post(f"{API}/orchestrators/{orchestrator}", {"activity": activity, "args": args})
    assert reply.status == 202, reply.body
    return str(reply.json()["id"])


def live_workers(host: LocalHost, timeout: float = 30) -> list[int]:
    """The worker pids once at least one worker runs (one may be restarting after a crash test)."""
    return eventually(host.worker_pids, timeout=timeout, message="a running worker process")


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalHost]:
    counters = tmp_path_factory.mktemp("counters")
    with LocalHost(APP, workers=1, env={"WORKER_APP_COUNTERS": str(counters)}) as running:
        yield running


def test_a_blocking_async_activity_does_not_delay_status_queries(host: LocalHost) -> None:
    instance_id = start(host, "block_async", 3)
    host.wait_for_status(instance_id, {"Running"})
    time.sleep(0.3)  # the activity is blocking its worker's event loop now
    slowest = 0.0
    began = time.monotonic()
    while time.monotonic() - began < 2.0:
        sent = time.monotonic()
        reply = host.get(f"{API}/instances/{instance_id}")
        slowest = max(slowest, time.monotonic() - sent)
        assert reply.status == 202 and reply.json()["runtimeStatus"] == "Running"
        time.sleep(0.05)
    assert slowest < 0.5, f"a status query took {slowest:.3f}s while an activity blocked its worker"
    assert host.wait_for_status(instance_id, timeout=30)["output"] == "done"


def test_an_activity_that_exits_its_worker_is_redelivered_to_a_new_worker(host: LocalHost) -> None:
    before = live_workers(host)
    instance_id = start(host, "exit_process", {"key": "exit-once", "crashes": 1})
    status = host.wait_for_status(instance_id, timeout=60)
    assert status["runtimeStatus"] == "Completed" and status["output"] == 2  # the second run succeeded
    after = host.worker_pids()
    assert len(after) == 1 and after != before  # the worker was replaced
    assert "exited with exit code 1 while running Functions.exit_process" in host.log()
    assert host.get("/admin/host/status").status == 200


def test_an_activity_killed_by_a_signal_is_redelivered(host: LocalHost) -> None:
    instance_id = start(host, "kill_process", {"key": "kill-twice", "crashes": 2})
    status = host.wait_for_status(instance_id, timeout=60)
    assert status["runtimeStatus"] == "Completed" and status["output"] == 3
    assert "exited with signal SIGKILL while running Functions.kill_process" in host.log()


def test_an_activity_that_crashes_its_worker_every_time_fails_after_three_crashes(host: LocalHost) -> None:
    instance_id = start(host, "exit_process", {"key": "exit-always", "crashes": 1000})
    status = host.wait_for_status(instance_id, timeout=90)
    assert status["runtimeStatus"] == "Failed"
    assert "Activity function 'exit_process' failed:" in status["output"]
    assert "died 3 times in a row" in status["output"]
    # The host kept serving, and a new worker runs the next work.
    assert live_workers(host)
    again = start(host, "report_pid_async", 0)
    assert host.wait_for_status(again, timeout=60)["runtimeStatus"] == "Completed"


def test_an_orchestrator_that_exits_its_worker_is_replayed_again(host: LocalHost) -> None:
    reply = host.post(f"{API}/orchestrators/exit_in_orchestrator", {"crashes": 1})
    status = host.wait_for_status(reply.json()["id"], timeout=60)
    assert status["runtimeStatus"] == "Completed" and status["output"] == "survived"
    assert "while running orchestrator exit_in_orchestrator" in host.log()


def test_an_orchestrator_that_crashes_its_worker_every_time_fails_after_three_crashes(host: LocalHost) -> None:
    reply = host.post(f"{API}/orchestrators/exit_in_orchestrator", {"crashes": 1000})
    status = host.wait_for_status(reply.json()["id"], timeout=90)
    assert status["runtimeStatus"] == "Failed"
    assert "crashed its worker process 3 times in a row" in status["output"]


def test_http_triggers_and_activities_run_in_a_worker_not_in_the_host(host: LocalHost) -> None:
    assert host.process is not None
    workers = live_workers(host)
    http_pid = int(host.get("/api/pid").body)
    instance_id = start(host, "report_pid", 0)
    activity_pid = host.wait_for_status(instance_id)["output"]
    assert http_pid in workers and activity_pid in workers
    assert host.process.pid not in (http_pid, activity_pid)


def test_work_spreads_across_several_workers(tmp_path: Path) -> None:
    with LocalHost(APP, workers=2, env={"WORKER_APP_COUNTERS": str(tmp_path)}) as running:
        workers = running.worker_pids()
        assert len(workers) == 2
        reply = running.post(f"{API}/orchestrators/fan_out", {"count": 6})
        status = running.wait_for_status(reply.json()["id"], timeout=60)
        assert status["runtimeStatus"] == "Completed", status["output"]
        assert set(status["output"]) == set(workers)  # both workers ran activities


def test_the_in_process_mode_runs_user_code_in_the_host(tmp_path: Path) -> None:
    with LocalHost(APP, workers=0, env={"WORKER_APP_COUNTERS": str(tmp_path)}) as running:
        assert running.process is not None and running.worker_pids() == []
        instance_id = start(running, "report_pid", 0)
        assert running.wait_for_status(instance_id)["output"] == running.process.pid
        assert int(running.get("/api/pid").body) == running.process.pid


def test_an_activity_that_kills_the_in_process_host_fails_after_three_restarts(tmp_path: Path) -> None:
    """Without workers the crash takes the host down; the attempt count in the store ends the crash loop."""
    store = tmp_path / "store.sqlite"
    running = LocalHost(APP, workers=0, store=store, env={"WORKER_APP_COUNTERS": str(tmp_path)})
    try:
        running.start()
        instance_id = start(running, "exit_process", {"key": "host-exit", "crashes": 1000})
        restarts, status = 0, None
        deadline = time.monotonic() + 120
        while status is None and time.monotonic() < deadline:
            if running.process is None or running.process.poll() is not None:  # the activity killed the host
                running.process = None
                restarts += 1
                try:
                    running.start()  # ...and runs again at start, until the local limit ends it
                except RuntimeError:
                    continue
            try:
                reply = running.get(f"{API}/instances/{instance_id}", timeout=5)
            except (OSError, http.client.HTTPException):  # the host died under the request
                continue
            if reply.status == 200 and reply.json()["runtimeStatus"] == "Failed":
                status = reply.json()
            time.sleep(0.05)
        assert status is not None and "died 3 times in a row" in status["output"], running.log()
        assert restarts == 3, running.log()
        assert (tmp_path / "host-exit").read_text() == "3"
    finally:
        running.close()


def test_an_app_that_fails_to_import_in_its_worker_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "function_app.py").write_text("import azure.functions as func\nraise ImportError('no module x')\n")
    (tmp_path / "host.json").write_text('{"version": "2.0"}')
    result = subprocess.run([sys.executable, "-m", "durable_local", "host", "start", "--port", str(free_port()),
                             "--store", str(tmp_path / "s.sqlite"), "--workers", "2"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "The app module 'function_app' failed to import: ImportError: no module x" in result.stderr


def test_worker_python_arguments_come_from_the_language_worker_setting(tmp_path: Path) -> None:
    """VS Code attaches debugpy this way: languageWorkers__python__arguments="-m debugpy --listen ..."."""
    env = {"WORKER_APP_COUNTERS": str(tmp_path), "languageWorkers__python__arguments": "-X utf8"}
    with LocalHost(APP, workers=1, env=env) as running:
        assert running.get("/api/utf8-mode").body == b"1"
