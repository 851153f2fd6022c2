"""The test harness on its own: `eventually` (polling without hand-written loops) and the Durable HTTP API client
(its URLs, and what it sends to a real local HTTP server)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest

from durable_local.testing import DURABLE_API, DurableHttpClient, eventually, query_string


def test_eventually_returns_the_first_truthy_value() -> None:
    calls: list[int] = []

    def third_time() -> str | None:
        calls.append(1)
        return "ready" if len(calls) == 3 else None

    assert eventually(third_time, timeout=5, interval=0) == "ready"
    assert len(calls) == 3


def test_eventually_times_out_naming_the_condition_and_the_last_value() -> None:
    started = time.monotonic()
    with pytest.raises(TimeoutError, match=r"the answer: not true within 0.2 s \(last: \[\]\)"):
        eventually(lambda: [], timeout=0.2, interval=0.01, message="the answer")
    assert time.monotonic() - started >= 0.2


def test_eventually_treats_ignored_exceptions_as_not_yet_and_raises_others() -> None:
    attempts: list[int] = []

    def flaky() -> bool:
        attempts.append(1)
        if len(attempts) < 3:
            raise ConnectionRefusedError("not listening yet")
        return True

    assert eventually(flaky, timeout=5, interval=0, ignoring=(OSError,)) is True
    with pytest.raises(ValueError, match="boom"):
        eventually(lambda: (_ for _ in ()).throw(ValueError("boom")), timeout=5, ignoring=(OSError,))


def test_eventually_builds_a_lazy_message_only_on_failure() -> None:
    built: list[int] = []

    def message() -> str:
        built.append(1)
        return "late message"

    assert eventually(lambda: True, message=message)
    assert built == []
    with pytest.raises(TimeoutError, match="late message"):
        eventually(lambda: False, timeout=0, message=message)


def test_query_string_skips_none_spells_booleans_and_repeats_lists() -> None:
    moment = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert query_string({}) == ""
    assert query_string({"showHistory": True, "showInput": False, "reason": None}) == (
        "?showHistory=true&showInput=false")
    assert query_string({"runtimeStatus": ["Failed", "Running"], "top": 5}) == (
        "?runtimeStatus=Failed&runtimeStatus=Running&top=5")
    assert query_string({"createdTimeFrom": moment}) == "?createdTimeFrom=2026-01-02T03%3A04%3A05%2B00%3A00"


def test_client_urls_are_under_the_durable_api_base_path_with_escaped_segments() -> None:
    client = DurableHttpClient("http://example.test:7071/")
    assert client.url("api/x") == "http://example.test:7071/api/x"
    assert client.api_url("instances/a", showHistory=True) == (
        f"http://example.test:7071{DURABLE_API}/instances/a?showHistory=true")
    other = DurableHttpClient("https://app.example", api_path="/admin/extensions/DurableTaskExtension")
    assert other.api_url("instances") == "https://app.example/admin/extensions/DurableTaskExtension/instances"


class _Recorder(BaseHTTPRequestHandler):
    """Answers every request with 200 and a continuation token on the first page; records what it got."""

    seen: ClassVar[list[tuple[str, str, dict[str, str], bytes]]] = []

    def _answer(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.seen.append((self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body))
        page = b'[{"instanceId": "a"}]' if "x-ms-continuation-token" not in self.headers else b'[{"instanceId": "b"}]'
        self.send_response(200)
        if "x-ms-continuation-token" not in self.headers:
            self.send_header("x-ms-continuation-token", "page-2")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(page)))
        self.end_headers()
        self.wfile.write(page)

    do_GET = do_POST = do_DELETE = _answer

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def recorder() -> Iterator[str]:
    _Recorder.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_the_client_sends_its_key_escapes_ids_and_follows_continuation_tokens(recorder: str) -> None:
    client = DurableHttpClient(recorder, key="system-key")
    assert client.raise_event("a/b c", "Go", {"x": 1}).status == 200
    assert [item["instanceId"] for item in client.list_all(runtimeStatus=["Failed", "Running"])] == ["a", "b"]
    assert client.terminate("i1", "done").status == 200

    (method, path, headers, body), first_page, second_page, terminate = _Recorder.seen
    assert (method, path) == ("POST", f"{DURABLE_API}/instances/a%2Fb%20c/raiseEvent/Go")
    assert headers["x-functions-key"] == "system-key" and headers["content-type"] == "application/json"
    assert body == b'{"x": 1}'
    assert first_page[1] == f"{DURABLE_API}/instances?runtimeStatus=Failed&runtimeStatus=Running"
    assert second_page[2]["x-ms-continuation-token"] == "page-2"
    assert terminate[:2] == ("POST", f"{DURABLE_API}/instances/i1/terminate?reason=done")
