"""Hostile and careless requests against the local host running the project's app: clear 4xx, never a 500,
a stall or a store that grows without bound."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest
from _app import app_host

from durable_local.testing import LocalHost

API = "/runtime/webhooks/durabletask"
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
