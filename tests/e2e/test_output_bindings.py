"""Output bindings as the Python worker passes them: an `Out` object per named output, read after the call.

App: tests/apps/named_http_output_app (Microsoft's Durable samples' starter returning its response through an
HTTP output named `message`).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from durable_local.testing import LocalHost

APP_DIR = Path(__file__).resolve().parents[1] / "apps" / "named_http_output_app"


@pytest.fixture(scope="module")
def host() -> Iterator[LocalHost]:
    with LocalHost(APP_DIR) as running:
        yield running


def test_starter_answers_through_a_named_http_output_and_the_orchestration_completes(host: LocalHost) -> None:
    reply = host.post("/api/orchestrators/hello_sequence", ["Lisbon", "Oslo"])
    assert reply.status == 202, reply.body
    body = reply.json()
    assert body["statusQueryGetUri"].startswith(host.base_url)
    assert reply.header("Location") == body["statusQueryGetUri"]
    status = host.wait_for_status(body["id"], {"Completed"})
    assert status["output"] == ["Hello Lisbon!", "Hello Oslo!"]


def test_a_string_set_on_a_named_http_output_is_the_response_body(host: LocalHost) -> None:
    reply = host.get("/api/plain")
    assert reply.status == 200
    assert reply.body == b"set through Out"


def test_a_named_http_output_never_set_is_a_server_error(host: LocalHost) -> None:
    assert host.get("/api/unset").status == 500
