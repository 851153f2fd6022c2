"""Helpers for the `durable` CLI's end-to-end tests: a copy of tests/apps/cli_app served by a LocalHost, and
the CLI run in-process (`durable_local.cli.main`) or, when a terminal is needed, as a child on a pseudo-tty.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import pty
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

from durable_local.cli import main
from durable_local.testing import LocalHost

CLI_APP = Path(__file__).resolve().parents[1] / "apps" / "cli_app"


def copy_app(destination: Path, hub_name: str | None = None) -> Path:
    """A private copy of the CLI test app (tests write data files next to it), optionally with another hub."""
    app_dir = destination / "cli_app"
    shutil.copytree(CLI_APP, app_dir, ignore=shutil.ignore_patterns("__pycache__", ".durable"))
    if hub_name:
        host_json = {"version": "2.0", "extensions": {"durableTask": {"hubName": hub_name}}}
        (app_dir / "host.json").write_text(json.dumps(host_json), encoding="utf-8")
    return app_dir


@contextlib.contextmanager
def cli_host(app_dir: Path, **options: Any) -> Iterator[LocalHost]:
    with LocalHost(app_dir, **options) as host:
        yield host


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


@dataclass
class Cli:
    """Runs `durable ...` in-process from the app folder, against `base_url`, with stdin not a terminal."""

    app_dir: Path
    base_url: str

    def __call__(self, *argv: str, stdin: str = "") -> Result:
        out, err = io.StringIO(), io.StringIO()
        with contextlib.chdir(self.app_dir), mock.patch.dict(os.environ, {"DURABLE_BASE_URL": self.base_url}), \
                mock.patch("sys.stdin", io.StringIO(stdin)), contextlib.redirect_stdout(out), \
                contextlib.redirect_stderr(err):
            try:
                code = main(list(argv))
            except SystemExit as exit_:
                code = exit_.code if isinstance(exit_.code, int) else 1
        return Result(code, out.getvalue(), err.getvalue())

    def ok(self, *argv: str) -> Result:
        result = self(*argv)
        assert result.code == 0, f"durable {' '.join(argv)} -> {result.code}: {result.err}"
        return result


def durable_command() -> list[str]:
    script = Path(sys.executable).with_name("durable")
    return [str(script)] if script.exists() else [sys.executable, "-m", "durable_local"]


def run_in_terminal(argv: list[str], answer: str, cwd: Path, env: dict[str, str],
                    timeout: float = 60) -> Result:
    """`durable argv` as a child whose stdin is a pseudo-terminal, typing `answer` at the prompt."""
    controller, terminal = pty.openpty()
    try:
        with subprocess.Popen([*durable_command(), *argv], cwd=cwd, env={**os.environ, **env}, stdin=terminal,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as child:
            os.write(controller, answer.encode())
            out, err = child.communicate(timeout=timeout)
            return Result(child.returncode, out, err)
    finally:
        os.close(controller)
        os.close(terminal)
