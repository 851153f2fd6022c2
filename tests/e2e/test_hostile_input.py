"""Hostile and careless requests against the local host running the project's app: clear 4xx, never a 500,
a stall or a store that grows without bound."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest
from _app import app_host

from durable_local.testing import DURABLE_API, LocalHost, eventually

API = DURABLE_API
MiB = 1024 * 1024


@pytest.fixture(scope="module")
def app(azurite: Any) -> Iterator[LocalHost]:
    with app_host(azurite) as host:
        yield host


def raw_exchange(host: LocalHost, head: str, body_chunks: Iterator[bytes]) -> bytes:
    """Send a request head and body chunks over a socket until the server answers or closes; the answer."""
    with socket.create_connection(("127.0.0.1", host.port), timeout=60) as sock:
        sock.sendall(head.encode())
        try:
            for chunk in body_chunks:
                sock.sendall(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed before the whole body was sent
        return read_response(sock)


def read_response(sock: socket.socket) -> bytes:
    """One HTTP response (head and Content-Length body), without waiting for the connection to close."""
    answer = b""
    try:
        while b"\r\n\r\n" not in answer and (data := sock.recv(65536)):
            answer += data
        head, _, body = answer.partition(b"\r\n\r\n")
        length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                       if line.lower().startswith(b"content-length:")), 0)
        while len(body) < length and (data := sock.recv(65536)):
            body += data
        return head + b"\r\n\r\n" + body
    except (ConnectionResetError, TimeoutError):
        return answer


def test_a_101_mib_body_with_content_length_gets_413_before_it_is_read(app: LocalHost) -> None:
    size = 101 * MiB
    head = (f"POST {API}/orchestrators/HelloWorld HTTP/1.1\r\nHost: 127.0.0.1:{app.port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {size}\r\n\r\n")
    answer = raw_exchange(app, head, iter([b" " * MiB]))  # one MiB of it: the answer comes without the rest
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b"104857600 bytes" in answer
    assert app.get("/admin/host/status").status == 200


def test_a_chunked_body_over_the_cap_gets_413(app: LocalHost) -> None:
    head = (f"POST {API}/orchestrators/HelloWorld HTTP/1.1\r\nHost: 127.0.0.1:{app.port}\r\n"
            "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")

    def chunks() -> Iterator[bytes]:
        block = b" " * MiB
        for _ in range(101):
            yield f"{len(block):x}\r\n".encode() + block + b"\r\n"
        yield b"0\r\n\r\n"

    answer = raw_exchange(app, head, chunks())
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert app.get("/admin/host/status").status == 200


def approval_with_a_one_second_timer(app: LocalHost) -> str:
    reply = app.post(f"{API}/orchestrators/ApprovalWorkflow", {"requestId": "t", "timeoutHours": 1 / 3600})
    assert reply.status == 202, reply.body
    return str(reply.json()["id"])


@pytest.mark.parametrize("query", ["timeout=2&pollingInterval=nan", "timeout=inf&pollingInterval=1",
                                   "timeout=nan&pollingInterval=nan", "timeout=1e999&pollingInterval=1",
                                   "timeout=100000&pollingInterval=1"])
def test_unbounded_wait_numbers_get_400_and_timers_keep_ticking(app: LocalHost, query: str) -> None:
    reply = app.post(f"{API}/orchestrators/HelloWorld?{query}", {"name": "x"}, timeout=20)
    assert reply.status == 400, reply.body
    assert "timeout" in reply.json()["ExceptionMessage"] or "pollingInterval" in reply.json()["ExceptionMessage"]
    done = app.wait_for_status(approval_with_a_one_second_timer(app), timeout=30)
    assert done["runtimeStatus"] == "Completed" and done["output"]["outcome"] == "Escalated"


def test_restart_refuses_a_nan_polling_interval(app: LocalHost) -> None:
    first = app.post(f"{API}/orchestrators/HelloWorld", {"name": "x"}).json()["id"]
    app.wait_for_status(first)
    reply = app.post(f"{API}/instances/{first}/restart?timeout=2&pollingInterval=nan")
    assert reply.status == 400


def test_a_tiny_polling_interval_still_answers(app: LocalHost) -> None:
    reply = app.post(f"{API}/orchestrators/HelloWorld?timeout=10&pollingInterval=0.000001", {"name": "tiny"})
    assert reply.status == 200, reply.body
    assert reply.json() == "Hello tiny!"


def test_a_wait_stops_when_the_client_disconnects(app: LocalHost) -> None:
    with socket.create_connection(("127.0.0.1", app.port), timeout=10) as sock:
        sock.sendall((f"POST {API}/orchestrators/ApprovalWorkflow?timeout=200&pollingInterval=1 HTTP/1.1\r\n"
                      f"Host: 127.0.0.1:{app.port}\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n"
                      "{}").encode())
        time.sleep(0.5)
    eventually(lambda: "the client disconnected" in app.log(), timeout=20, interval=0.1,
               message="the host noticing the disconnection")
    assert "stopped waiting for instance" in app.log()


def test_the_app_wait_route_stops_when_the_client_disconnects(app: LocalHost) -> None:
    with socket.create_connection(("127.0.0.1", app.port), timeout=10) as sock:
        sock.sendall((f"POST /orchestrators/ApprovalWorkflow/wait?timeout=200&retryInterval=0.5 HTTP/1.1\r\n"
                      f"Host: 127.0.0.1:{app.port}\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n"
                      "{}").encode())
        time.sleep(1)
    eventually(lambda: "Cancelled: the client disconnected" in app.log(), timeout=20, interval=0.1,
               message="the host cancelling the function")
    assert "Executed 'Functions.start_and_wait' (Cancelled: the client disconnected)" in app.log()


def test_nan_and_infinity_inputs_are_listed_as_newtonsoft_prints_them(app: LocalHost) -> None:
    instance_id = f"nan-{time.time_ns()}"
    reply = app.post(f"{API}/orchestrators/HelloWorld/{instance_id}",
                     raw=b'{"name": NaN, "up": Infinity, "down": -Infinity, "big": 1e999}',
                     headers={"Content-Type": "application/json"})
    assert reply.status == 202, reply.body
    app.wait_for_status(instance_id)
    expected = {"name": "NaN", "up": "Infinity", "down": "-Infinity", "big": "Infinity"}
    assert app.get(f"{API}/instances/{instance_id}").json()["input"] == expected
    listed = app.get(f"{API}/instances?instanceIdPrefix={instance_id}").json()
    assert [item["input"] for item in listed] == [expected]
    page = app.get(f"/instances?instanceIdPrefix={instance_id}")
    assert page.status == 200, page.body
    assert [item["input"] for item in page.json()["instances"]] == [expected]
    one = app.get(f"/instances/{instance_id}")
    assert one.status == 200, one.body
    assert one.json()["input"] == expected


def test_deeply_nested_json_gets_400_from_every_body_reader(app: LocalHost) -> None:
    deep = b"[" * 50_000 + b"]" * 50_000
    json_type = {"Content-Type": "application/json"}
    started = app.post(f"{API}/orchestrators/HelloWorld", raw=deep, headers=json_type)
    assert started.status == 400 and "levels deep" in started.json()["ExceptionMessage"]
    running = app.post(f"{API}/orchestrators/ApprovalWorkflow", {"requestId": "deep"}).json()["id"]
    raised = app.post(f"{API}/instances/{running}/raiseEvent/Approval", raw=deep, headers=json_type)
    assert raised.status == 400
    assert app.post("/admin/host/seed", raw=deep, headers=json_type).status == 400
    assert app.post("/admin/host/purge-instances", raw=deep, headers=json_type).status == 400
    assert app.post(f"{API}/orchestrators/HelloWorld", raw=b"[" * 64 + b"]" * 64, headers=json_type).status == 202


@pytest.mark.parametrize("instance_id", ["%2E", "%2E%2E"])
def test_dot_instance_ids_get_400_from_the_api(app: LocalHost, instance_id: str) -> None:
    reply = app.post(f"{API}/orchestrators/HelloWorld/{instance_id}", {"name": "x"})
    assert reply.status == 400, reply.body


@pytest.mark.parametrize("token", ["WzFlMzAsIngiXQ", "WzEwMDAwMDAwMDAwMDAwMDAwMDAwMDAwLCJ4Il0",
                                   "WyJhIiwieCJd", "W1tbW1tbW1tbW1tbXV1dXV1dXV1dXV1dXQ", "bm90IGpzb24", "%00"])
def test_forged_continuation_tokens_get_400(app: LocalHost, token: str) -> None:
    reply = app.get(f"{API}/instances", headers={"x-ms-continuation-token": token})
    assert reply.status == 400, reply.body
    entities = app.get(f"{API}/entities", headers={"x-ms-continuation-token": token})
    assert entities.status == 400, entities.body


def test_a_huge_top_is_a_bounded_page(app: LocalHost) -> None:
    for top in ("99999999999999999999", "2147483648", "5000"):
        reply = app.get(f"{API}/instances?top={top}&showInput=false")
        assert reply.status == 200, (top, reply.body)
        assert len(reply.json()) <= 1000


def test_testing_endpoints_refuse_non_finite_seconds(app: LocalHost) -> None:
    for body in (b'{"timeout": NaN}', b'{"timeout": Infinity}', b'{"timeout": -1}', b'{"timeout": "5"}'):
        reply = app.post("/admin/host/idle", raw=body, headers={"Content-Type": "application/json"})
        assert reply.status == 400, body
        assert "timeout" in reply.json()["error"]
    assert app.post("/admin/host/idle", {"timeout": 5}).status == 200
