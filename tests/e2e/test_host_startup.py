"""`durable host start` as a user meets it: the function listing, clear start-up errors, a clean Ctrl+C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from durable_local.testing import LocalHost, eventually, free_port, http_request

APP = Path(__file__).resolve().parents[1] / "apps" / "core_app"


def start_app(folder: Path, source: str) -> subprocess.CompletedProcess[str]:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "function_app.py").write_text(source)
    (folder / "host.json").write_text('{"version": "2.0"}')
    return subprocess.run([sys.executable, "-m", "durable_local", "host", "start", "--port", str(free_port()),
                           "--store", str(folder / "s.sqlite")], cwd=folder, capture_output=True, text=True,
                          timeout=60)


def test_an_app_that_fails_to_import_is_a_clear_error(tmp_path: Path) -> None:
    result = start_app(tmp_path / "broken", "import azure.functions as func\nraise RuntimeError('bad config')\n")
    assert result.returncode == 1
    assert "The app module 'function_app' failed to import: RuntimeError: bad config" in result.stderr


def start_serve_and_interrupt(app: Path, store: Path, env: dict[str, str] | None = None) -> tuple[int, str, int]:
    """`durable host start` in `app` until it serves, then Ctrl+C: its exit code, its stderr and its port."""
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "durable_local", "host", "start", "--port", str(port),
                                "--store", str(store)], cwd=app, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        eventually(lambda: http_request("GET", f"http://127.0.0.1:{port}/admin/host/status").status == 200,
                   timeout=60, ignoring=(OSError,), message="the host serving")
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
    return process.returncode, stderr, port


def test_a_function_with_an_unsupported_trigger_is_listed_in_error_and_the_host_serves(tmp_path: Path) -> None:
    folder = tmp_path / "service_bus"
    folder.mkdir()
    (folder / "function_app.py").write_text(
        "import azure.functions as func\napp = func.FunctionApp()\n\n"
        "@app.service_bus_queue_trigger(arg_name='msg', queue_name='work', connection='ServiceBus')\n"
        "def on_message(msg: func.ServiceBusMessage) -> None:\n    pass\n")
    (folder / "host.json").write_text('{"version": "2.0"}')
    returncode, stderr, _ = start_serve_and_interrupt(folder, folder / "s.sqlite")
    assert returncode == 0
    assert "on_message: [ERROR] Function 'on_message' uses binding type(s) serviceBusTrigger" in stderr


def test_start_lists_functions_like_func_start_and_ctrl_c_exits_cleanly(tmp_path: Path) -> None:
    env = {**os.environ, "TICK_SCHEDULE": "0 0 0 * * *", "CORE_APP_COUNTERS": str(tmp_path)}
    returncode, stderr, port = start_serve_and_interrupt(APP, tmp_path / "s.sqlite", env)
    assert returncode == 0
    assert f"http_start: [POST] http://localhost:{port}/api/orchestrators/{{functionName}}/{{instanceId?}}" in stderr
    assert "        Hello: orchestrationTrigger" in stderr and "        Tick: timerTrigger" in stderr
    assert "Host started. Press Ctrl+C to stop." in stderr


def test_a_second_host_on_the_same_store_is_refused(tmp_path: Path) -> None:
    store = tmp_path / "shared.sqlite"
    env = {"TICK_SCHEDULE": "0 0 0 * * *", "CORE_APP_COUNTERS": str(tmp_path)}
    with LocalHost(APP, env=env, store=store):
        second = subprocess.run([sys.executable, "-m", "durable_local", "host", "start", "--port", str(free_port()),
                                 "--store", str(store)], cwd=APP, env={**os.environ, **env}, capture_output=True,
                                text=True, timeout=60)
    assert second.returncode == 1 and "another local host is already using the store" in second.stderr
