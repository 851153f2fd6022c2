"""Helpers for the dashboard's tests: `durable dashboard` in a child process, and a real headless Chromium
(Debian's `chromium`) driven by Playwright for Python.

Without Chromium or Playwright the browser tests skip with a message saying how to enable them, except when
`CI` is set: then they fail, so CI never passes without running them.
"""

from __future__ import annotations

import http.client
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from durable_local.testing import Response, free_port

CHROMIUM = os.environ.get("DURABLE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
ENABLE_HINT = ("the browser tests need Debian's chromium and Playwright for Python: run `apt-get install chromium` "
               "(as root; ./scripts/setup does it when it can) and `./scripts/setup`")


class Dashboard:
    """A running `durable dashboard`: its URL with the token, and its log."""

    def __init__(self, process: subprocess.Popen[str], url: str, log_path: Path, port: int, banner: str) -> None:
        self.process = process
        self.banner = banner
        self.url = url
        self.log_path = log_path
        self.port = port
        self.origin = f"http://127.0.0.1:{port}"
        self.token = url.split("token=", 1)[1]

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@contextmanager
def dashboard(base_url: str | None, *extra: str, cwd: str | None = None,
              env: dict[str, str] | None = None) -> Iterator[Dashboard]:
    """Start `durable dashboard --base-url base_url` (None: no flag) on a free port; yield once it printed its
    URL."""
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="dashboard-") as workdir:
        log_path = Path(workdir) / "dashboard.log"
        stdout_path = Path(workdir) / "stdout.txt"
        command = [sys.executable, "-m", "durable_local", "dashboard", "--port", str(port), *extra,
                   *(["--base-url", base_url] if base_url else [])]
        with log_path.open("w") as log, stdout_path.open("w") as out:
            process = subprocess.Popen(command, cwd=cwd or workdir, stdout=out, stderr=log, text=True,
                                       env={**os.environ, **(env or {})})
        try:
            deadline = time.monotonic() + 30
            url = ""
            while not url:
                if process.poll() is not None:
                    raise RuntimeError(f"dashboard exited with {process.returncode}: {log_path.read_text()}")
                if time.monotonic() > deadline:
                    raise TimeoutError(f"dashboard did not start: {log_path.read_text()}")
                lines = [line.strip() for line in stdout_path.read_text().splitlines()]
                url = next((line for line in lines if "?token=" in line), "")
                time.sleep(0.05)
            yield Dashboard(process, url, log_path, port, stdout_path.read_text())
        finally:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def browser_or_skip() -> Any:
    """Playwright's sync API started with Debian's Chromium, or a skip (a failure when CI is set)."""
    problem = ""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        problem = "Playwright for Python is not installed"
    if not problem and not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        problem = f"no Chromium at {CHROMIUM}"
    if problem:
        if os.environ.get("CI"):
            pytest.fail(f"{problem}: in CI the browser tests must run; {ENABLE_HINT}")
        pytest.skip(f"{problem}; {ENABLE_HINT}")
    return sync_playwright


@contextmanager
def chromium() -> Iterator[Any]:
    """One headless Chromium for a test module."""
    sync_playwright = browser_or_skip()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM if os.path.exists(CHROMIUM) else
                                             shutil.which("chromium"), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def request(method: str, url: str, *, headers: dict[str, str] | None = None, data: bytes | None = None) -> Response:
    """One request over a real socket that does not follow redirects (to see the token's 302 and cookie)."""
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
    try:
        connection.request(method, parts.path + ("?" + parts.query if parts.query else ""), body=data,
                           headers=headers or {})
        reply = connection.getresponse()
        return Response(reply.status, dict(reply.getheaders()), reply.read())
    finally:
        connection.close()


def get(url: str, *, headers: dict[str, str] | None = None) -> Response:
    return request("GET", url, headers=headers)


def post(url: str, *, headers: dict[str, str] | None = None, data: bytes = b"") -> Response:
    return request("POST", url, data=data, headers={"Content-Type": "application/x-www-form-urlencoded",
                                                     **(headers or {})})
