"""The host-worker wire format, the worker count setting, and the attempt count kept in a work item's lease."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from durable_local.host import framing
from durable_local.host.records import Commit, WorkItem
from durable_local.host.store import Store
from durable_local.host.workers import worker_count


def test_a_frame_carries_its_header_and_raw_parts_unchanged() -> None:
    parts = [b'{"history": [1, 2]}', b"", "caf\u00e9 \u2603".encode(), bytes(range(256))]
    data = framing.encode({"t": "o", "id": 7, "n": ["a", "b"]}, parts)

    async def read_all() -> list[framing.Frame | None]:
        reader = asyncio.StreamReader()
        reader.feed_data(data + framing.encode({"id": 8}))
        reader.feed_eof()
        return [await framing.read(reader), await framing.read(reader), await framing.read(reader)]

    first, second, end = asyncio.run(read_all())
    assert first is not None and first[0]["id"] == 7 and first[0]["n"] == ["a", "b"] and first[1] == parts
    assert second is not None and second[0]["id"] == 8 and second[1] == []
    assert end is None  # the other side closed: no frame, no exception


def test_a_frame_cut_short_by_a_dying_process_reads_as_closed() -> None:
    data = framing.encode({"id": 1}, [b"x" * 100])

    async def read_cut() -> framing.Frame | None:
        reader = asyncio.StreamReader()
        reader.feed_data(data[:-10])
        reader.feed_eof()
        return await framing.read(reader)

    assert asyncio.run(read_cut()) is None


def test_the_worker_count_comes_from_the_flag_then_the_setting_then_azures_default(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FUNCTIONS_WORKER_PROCESS_COUNT", raising=False)
    assert worker_count(None) == 1
    monkeypatch.setenv("FUNCTIONS_WORKER_PROCESS_COUNT", "3")
    assert worker_count(None) == 3
    assert worker_count(0) == 0 and worker_count(2) == 2
    for bad in ("0", "11", "two"):
        monkeypatch.setenv("FUNCTIONS_WORKER_PROCESS_COUNT", bad)
        with pytest.raises(ValueError, match="FUNCTIONS_WORKER_PROCESS_COUNT"):
            worker_count(None)
    with pytest.raises(ValueError, match="--workers"):
        worker_count(11)


def test_each_start_of_a_host_counts_one_more_attempt_of_an_unfinished_work_item(tmp_path: Path) -> None:
    store = Store(tmp_path / "store.sqlite", "Hub")
    [item] = store.apply(Commit(work_items=[WorkItem("a", "exec-a", 1, "Step", '"x"')]), lease_owner="host-1")
    assert item.attempt == 1
    assert [w.attempt for w in store.lease_all_work("host-2", expires=0)] == [2]  # host-1 died running it
    again = store.lease_all_work("host-3", expires=0)
    assert [w.attempt for w in again] == [3]
    again[0].attempt = 2  # a clean stop gives the interrupted attempt back
    store.record_attempt(again[0], "host-3")
    assert [w.attempt for w in store.lease_all_work("host-4", expires=0)] == [3]
    store.close()
