"""What the local host cannot load is named precisely and does not stop the rest.

A function with a binding the local host does not run (here a Twilio output) is listed in error at start with
the reason, as the Functions host lists a function whose binding cannot be loaded, and the other functions run.
A v1-model app (function.json folders) is refused with a message that says so and points to the v2 guide.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from durable_local.testing import LocalHost

APPS = Path(__file__).resolve().parents[1] / "apps"


@pytest.fixture(scope="module")
def host() -> Iterator[LocalHost]:
    with LocalHost(APPS / "twilio_output_app") as running:
        yield running


def test_a_function_with_a_twilio_output_is_listed_in_error_with_the_reason(host: LocalHost) -> None:
    log = host.log()
    line = next(line for line in log.splitlines() if "send_sms:" in line)
    assert "[ERROR]" in line and "twilioSms" in line and "does not support" in line


def test_the_function_in_error_is_not_served(host: LocalHost) -> None:
    assert host.get("/api/sms").status == 404


def test_the_rest_of_the_app_runs_beside_the_function_in_error(host: LocalHost) -> None:
    reply = host.post("/api/start/greet")
    assert reply.status == 202, reply.body
    status = host.wait_for_status(reply.json()["id"], {"Completed"})
    assert status["output"] == "Hello Twilio-free!"


def test_a_v1_model_app_is_refused_with_a_pointer_to_the_v2_guide() -> None:
    host = LocalHost(APPS / "v1_model_app")
    try:
        with pytest.raises(RuntimeError) as refused:
            host.start()
    finally:
        host.close()
    text = str(refused.value)
    assert "v1-model app" in text and "HttpStart" in text
    assert "learn.microsoft.com/azure/azure-functions/functions-reference-python" in text
