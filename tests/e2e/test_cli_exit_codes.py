"""The `durable` CLI never exits 0 after a server error (5xx) or an answer it cannot interpret: run as a child
process against the local host serving tests/apps/failing_app, whose routes stand for a failing server
(`/api/server-error/...`: 500) and for a server that is not the Durable HTTP API (`/api/not-an-api/...`)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from durable_local.testing import LocalHost

APP = Path(__file__).resolve().parents[1] / "apps" / "failing_app"
COMMANDS = [
    ["get-runtime-status", "--id", "some-instance"],
    ["get-history", "--id", "some-instance"],
    ["get-instances"],
    ["terminate", "--id", "some-instance", "--no-wait"],
    ["raise-event", "--id", "some-instance", "--event-name", "E", "--event-data", "1"],
    ["suspend", "--id", "some-instance"],
    ["rewind", "--id", "some-instance"],
    ["wait", "--id", "some-instance", "--timeout", "2"],
]


@pytest.fixture(scope="module")
def host() -> Iterator[LocalHost]:
    with LocalHost(APP) as running:
        yield running


def durable(base_url: str, argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "durable_local", *argv, "--base-url", base_url],
                          capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)


@pytest.mark.parametrize("argv", COMMANDS, ids=lambda argv: argv[0])
def test_a_500_answer_ends_the_command_with_exit_1(host: LocalHost, argv: list[str]) -> None:
    result = durable(f"{host.base_url}/api/server-error", argv)
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "500" in result.stderr or "Something went wrong" in result.stderr, result.stderr


@pytest.mark.parametrize("argv", COMMANDS[:3], ids=lambda argv: argv[0])
def test_an_answer_that_is_not_the_durable_api_ends_with_exit_1(host: LocalHost, argv: list[str]) -> None:
    result = durable(f"{host.base_url}/api/not-an-api", argv)
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert result.stderr.strip()
