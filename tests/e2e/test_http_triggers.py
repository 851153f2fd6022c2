"""HTTP triggers: what a `func start` user observes at the HTTP trigger surface and at startup.

Each test states what the real Functions host / Core Tools does, with the source it follows. The app is
tests/apps/http_trigger_app; tests that need another host.json or local.settings.json copy it to a temp folder.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from durable_local.testing import LocalHost, eventually, free_port, http_request

APP_DIR = Path(__file__).resolve().parents[1] / "apps" / "http_trigger_app"


@pytest.fixture(scope="module")
def host() -> Iterator[LocalHost]:
    with LocalHost(APP_DIR) as running:
        yield running


def copy_app(tmp_path: Path) -> Path:
    app = tmp_path / "app"
    shutil.copytree(APP_DIR, app, ignore=shutil.ignore_patterns("__pycache__", ".durable"))
    return app


def test_repeated_query_parameter_values_are_joined_with_commas(host: LocalHost) -> None:
    reply = host.get("/api/echo/x?a=1&a=2")
    assert reply.status == 200
    assert reply.json()["params"]["a"] == "1,2"


def test_repeated_request_headers_are_joined_with_commas(host: LocalHost) -> None:
    with socket.create_connection(("127.0.0.1", host.port), timeout=10) as sock:
        sock.sendall(b"GET /api/echo/y HTTP/1.1\r\nHost: localhost\r\nX-Multi: one\r\nX-Multi: two\r\n"
                     b"Connection: close\r\n\r\n")
        raw = b""
        while chunk := sock.recv(65536):
            raw += chunk
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    assert json.loads(body)["x-multi"] == "one,two"


def test_every_set_cookie_header_reaches_the_client(host: LocalHost) -> None:
    sock = socket.create_connection(("127.0.0.1", host.port), timeout=10)
    with sock:
        sock.sendall(b"GET /api/cookies HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        raw = b""
        while chunk := sock.recv(65536):
            raw += chunk
    head = raw.partition(b"\r\n\r\n")[0].decode().lower()
    cookies = [line for line in head.split("\r\n") if line.startswith("set-cookie:")]
    assert len(cookies) == 2, head


def test_non_text_mimetype_gets_no_charset(host: LocalHost) -> None:
    reply = host.get("/api/echo/z")
    assert reply.status == 200
    assert reply.header("Content-Type") == "application/json"


def test_wrong_method_is_404_like_the_functions_host(host: LocalHost) -> None:
    assert host.get("/api/getonly").status == 200
    assert host.post("/api/getonly").status == 404


def test_longer_template_wins_over_shorter_one_like_the_functions_host(host: LocalHost) -> None:
    reply = host.get("/api/items")
    assert reply.status == 200
    assert reply.body == b"items_one:None"


def test_multi_segment_route_prefix(tmp_path: Path) -> None:
    app = copy_app(tmp_path)
    (app / "host.json").write_text(json.dumps({"version": "2.0", "extensions": {"http": {"routePrefix": "api/v1"}}}))
    with LocalHost(app) as running:
        assert running.get("/api/v1/getonly").status == 200


def _start_process(app: Path, tmp_path: Path, *extra: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "durable_local", "host", "start", "--store",
                             str(tmp_path / "store.sqlite"), *extra], cwd=app,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.kill()
    process.wait()


def test_port_taken_on_ipv4_fails_the_start(tmp_path: Path) -> None:
    port = free_port()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as other:
        other.bind(("127.0.0.1", port))
        other.listen()
        process = _start_process(copy_app(tmp_path), tmp_path, "--port", str(port))
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            pass
        finally:
            _stop(process)
        assert process.returncode not in (None, 0, -9)


def test_local_settings_host_local_http_port_is_used(tmp_path: Path) -> None:
    app = copy_app(tmp_path)
    port = free_port()
    (app / "local.settings.json").write_text(json.dumps(
        {"IsEncrypted": False, "Values": {"FUNCTIONS_WORKER_RUNTIME": "python"}, "Host": {"LocalHttpPort": port}}))
    process = _start_process(app, tmp_path)
    try:
        def answered() -> int | None:
            assert process.poll() is None, "the host exited"
            return http_request("GET", f"http://127.0.0.1:{port}/api/getonly", timeout=2).status

        status = eventually(answered, timeout=20, interval=0.1, ignoring=(OSError,), message="the host serving")
    finally:
        _stop(process)
    assert status == 200
