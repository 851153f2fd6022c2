"""The frames the host and its worker processes exchange over one socket pair.

A frame is a small JSON header plus raw parts: `!II` (header length, parts length), the header's UTF-8 JSON,
then the parts back to back; the header's `"p"` lists each part's length. The big strings that cross the
boundary (an orchestrator's context and state JSON, activity inputs and results, HTTP bodies) travel as raw
parts: no escaping inside another JSON document and no pickling. Several requests can share one frame (the
host sends a batch of orchestrator replays to a worker as one frame), and writes made in one event loop turn are
joined into one socket write (`FrameWriter`).
"""

from __future__ import annotations

import asyncio
import json
import struct
from collections.abc import Sequence
from typing import Any

PREFIX = struct.Struct("!II")
Frame = tuple[dict[str, Any], list[bytes]]


def encode(header: dict[str, Any], parts: Sequence[bytes] = ()) -> bytes:
    header["p"] = [len(part) for part in parts]
    head = json.dumps(header, separators=(",", ":"), default=str).encode()  # enums: by name, as str() gives
    body = b"".join(parts)
    return PREFIX.pack(len(head), len(body)) + head + body


def decode(data: bytes, head_length: int) -> Frame:
    header: dict[str, Any] = json.loads(data[:head_length])
    parts: list[bytes] = []
    position = head_length
    for length in header.get("p") or []:
        parts.append(data[position:position + length])
        position += length
    return header, parts


async def read(reader: asyncio.StreamReader) -> Frame | None:
    """The next frame, or None when the other side closed the connection (or died)."""
    try:
        prefix = await reader.readexactly(PREFIX.size)
        head_length, body_length = PREFIX.unpack(prefix)
        data = await reader.readexactly(head_length + body_length)
    except (asyncio.IncompleteReadError, ConnectionError):
        return None
    return decode(data, head_length)


def text(part: bytes | None) -> str | None:
    return None if part is None else part.decode()


class FrameWriter:
    """Queues frames and writes everything queued in one loop turn with a single `write` call."""

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self.writer = writer
        self._pending: list[bytes] = []

    def send(self, header: dict[str, Any], parts: Sequence[bytes] = ()) -> None:
        if not self._pending:
            asyncio.get_running_loop().call_soon(self._flush)
        self._pending.append(encode(header, parts))

    def _flush(self) -> None:
        data, self._pending = b"".join(self._pending), []
        if data and not self.writer.is_closing():
            self.writer.write(data)
