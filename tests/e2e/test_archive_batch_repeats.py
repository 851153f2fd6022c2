"""The archive's batch blob when a batch is written again after a crash: the repeat lists only the instances the
first attempt left (and later ones), so the blob keeps the earlier records it does not rewrite, once each."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import pytest
from azure.storage.blob import BlobServiceClient

from blueprints import _archive

CONTAINER = "archive-repeats"


def line(instance_id: str, status: str = "Completed") -> dict[str, Any]:
    return {"format": _archive.FORMAT, "taskHub": "TestHub", "exportedAt": "2026-11-28T00:00:00.000000Z",
            "source": "local-host", "historyKind": "raw",
            "status": {"instanceId": instance_id, "name": "HelloWorld", "runtimeStatus": status}, "history": []}


@pytest.fixture
def storage(azurite, monkeypatch):
    monkeypatch.delenv("APP_STORAGE_CONNECTION", raising=False)
    monkeypatch.setenv("AzureWebJobsStorage", azurite.connection_string)
    service = BlobServiceClient.from_connection_string(azurite.connection_string)
    return service.get_container_client(CONTAINER)


def archived(storage, name: str) -> list[tuple[str, str]]:
    text = storage.download_blob(name).readall().decode()
    return [(item["status"]["instanceId"], item["status"]["runtimeStatus"])
            for item in map(json.loads, text.splitlines())]


def test_a_repeated_batch_keeps_the_records_of_instances_the_first_attempt_purged(storage):
    name = f"TestHub/2026-11-28/retention-purge-{uuid.uuid4().hex}-00000.jsonl"
    # first attempt: a, b, c archived; a and b purged, then the host is killed
    asyncio.run(_archive.write_batch(CONTAINER, name, [line("a"), line("b"), line("c")]))
    # the repeat lists what is left from the start of the window: c (again) and d
    asyncio.run(_archive.write_batch(CONTAINER, name, [line("c", "Failed"), line("d")]))
    assert archived(storage, name) == [("a", "Completed"), ("b", "Completed"), ("c", "Failed"), ("d", "Completed")]


def test_a_first_write_holds_exactly_its_records(storage):
    name = f"TestHub/2026-11-28/bulk-purge-{uuid.uuid4().hex}-00001.jsonl"
    asyncio.run(_archive.write_batch(CONTAINER, name, [line("x"), line("y")]))
    assert archived(storage, name) == [("x", "Completed"), ("y", "Completed")]
