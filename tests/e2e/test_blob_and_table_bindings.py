"""Blob and table bindings on Azurite, end to end on the local host: blob input and output on HTTP, timer, activity
and queue-triggered functions with binding expressions in their paths; table input by keys and by filter/take,
table output of one entity or a list.

App: tests/apps/blob_table_bindings_app.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables import TableServiceClient
from azure.storage.blob import BlobServiceClient
from azure.storage.queue import BinaryBase64EncodePolicy, QueueClient

from durable_local.testing import LocalHost, eventually
from tests.conftest import Azurite

APP_DIR = Path(__file__).resolve().parents[1] / "apps" / "blob_table_bindings_app"


@pytest.fixture(scope="module")
def host(azurite: Azurite) -> Iterator[LocalHost]:
    env = {"AzureWebJobsStorage": azurite.connection_string, "OUTBOX_CONTAINER": "outbox"}
    with LocalHost(APP_DIR, env=env) as running:
        yield running


@pytest.fixture(scope="module")
def blobs(azurite: Azurite) -> BlobServiceClient:
    return BlobServiceClient.from_connection_string(azurite.connection_string)


@pytest.fixture(scope="module")
def tables(azurite: Azurite) -> TableServiceClient:
    return TableServiceClient.from_connection_string(azurite.connection_string)


def _put(blobs: BlobServiceClient, container: str, name: str, content: bytes) -> None:
    client = blobs.get_container_client(container)
    if not client.exists():
        client.create_container()
    client.upload_blob(name, content, overwrite=True)


def _read(blobs: BlobServiceClient, container: str, name: str) -> bytes:
    return bytes(blobs.get_blob_client(container, name).download_blob().readall())


def _eventually_read(blobs: BlobServiceClient, container: str, name: str) -> bytes:
    found: list[bytes] = []
    eventually(lambda: found.append(_read(blobs, container, name)) is None, timeout=60, interval=0.2,
               ignoring=(ResourceNotFoundError,), message=f"blob {container}/{name}")
    return found[0]


def test_an_http_function_reads_a_blob_input_and_writes_a_blob_output(host: LocalHost,
                                                                      blobs: BlobServiceClient) -> None:
    _put(blobs, "inbox", "letter.txt", b"hello blob")
    reply = host.post("/api/copy/letter.txt")
    assert reply.status == 200, reply.body
    assert reply.body == b"copied 10 bytes"
    assert _read(blobs, "outbox", "letter.txt.copy") == b"HELLO BLOB"


def test_a_blob_input_annotated_str_or_bytes_gets_the_plain_value(host: LocalHost, blobs: BlobServiceClient) -> None:
    _put(blobs, "inbox", "note.txt", "olá".encode())
    reply = host.get("/api/as-text/note.txt")
    assert reply.status == 200, reply.body
    assert reply.json() == {"text": ["str", "olá"], "raw": ["bytes", list("olá".encode())]}


def test_a_missing_input_blob_binds_none(host: LocalHost, blobs: BlobServiceClient) -> None:
    reply = host.post("/api/copy/absent.txt")
    assert reply.status == 404
    assert not blobs.get_blob_client("outbox", "absent.txt.copy").exists()


def test_a_rand_guid_path_writes_a_new_blob_per_call(host: LocalHost, blobs: BlobServiceClient) -> None:
    assert host.post("/api/write-text", raw=b"first").status == 201
    assert host.post("/api/write-text", raw=b"second").status == 201
    container = blobs.get_container_client("generated")
    names = [blob.name for blob in container.list_blobs()]
    assert len(names) == 2
    assert sorted(_read(blobs, "generated", name) for name in names) == [b"first", b"second"]


def test_a_timer_function_writes_a_blob_named_by_the_date(host: LocalHost, blobs: BlobServiceClient) -> None:
    assert host.run_function("stamp").status == 202
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    assert _eventually_read(blobs, "stamps", f"{today}.txt") == b"from timer"


def test_an_activity_reads_a_blob_and_writes_a_table_entity(host: LocalHost, blobs: BlobServiceClient,
                                                            tables: TableServiceClient) -> None:
    _put(blobs, "inbox", "report.txt", b"quarterly numbers")
    reply = host.post("/api/archive/q1")
    assert reply.status == 202, reply.body
    status = host.wait_for_status(reply.json()["id"], {"Completed", "Failed"})
    assert status["runtimeStatus"] == "Completed", status
    assert status["output"] == "archived 17 characters"
    entity = tables.get_table_client("archive").get_entity("reports", "q1")
    assert entity["Text"] == "quarterly numbers"


def test_a_queue_message_names_its_blobs_through_its_json_properties(host: LocalHost, azurite: Azurite,
                                                                      blobs: BlobServiceClient) -> None:
    _put(blobs, "inbox", "order.txt", b"two lamps")
    queue = QueueClient.from_connection_string(azurite.connection_string, "blob-jobs",
                                               message_encode_policy=BinaryBase64EncodePolicy())
    queue.create_queue()
    queue.send_message(json.dumps({"OrderId": "o-7", "Name": "order.txt"}).encode())
    assert _eventually_read(blobs, "processed", "o-7-order.txt") == b"o-7: two lamps"


def test_queue_trigger_names_an_output_blob(host: LocalHost, azurite: Azurite, blobs: BlobServiceClient) -> None:
    queue = QueueClient.from_connection_string(azurite.connection_string, "blob-names",
                                               message_encode_policy=BinaryBase64EncodePolicy())
    queue.create_queue()
    queue.send_message(b"chosen-name.txt")
    assert _eventually_read(blobs, "by-name", "chosen-name.txt") == b"named by the message"


def test_table_output_inserts_a_list_and_table_input_reads_one_by_its_keys(host: LocalHost) -> None:
    people = [{"PartitionKey": "lisbon", "RowKey": "ana", "Age": 41},
              {"PartitionKey": "lisbon", "RowKey": "rui", "Age": 25},
              {"PartitionKey": "lisbon", "RowKey": "eva", "Age": 67},
              {"PartitionKey": "lisbon", "RowKey": "joao", "Age": 35},
              {"PartitionKey": "porto", "RowKey": "ines", "Age": 50}]
    reply = host.post("/api/people", raw=json.dumps(people).encode())
    assert reply.status == 201, reply.body
    found = host.get("/api/people/lisbon/ana")
    assert found.status == 200, found.body
    entity = found.json()
    assert (entity["PartitionKey"], entity["RowKey"], entity["Age"]) == ("lisbon", "ana", 41)
    assert datetime.fromisoformat(entity["Timestamp"]).year >= 2024
    assert host.get("/api/people/lisbon/nobody").status == 404


def test_table_input_by_filter_takes_at_most_take_entities_of_the_partition(host: LocalHost) -> None:
    people = [{"PartitionKey": "faro", "RowKey": name, "Age": age}
              for name, age in (("a", 31), ("b", 20), ("c", 45), ("d", 60))]
    people.append({"PartitionKey": "braga", "RowKey": "z", "Age": 90})
    assert host.post("/api/people", raw=json.dumps(people).encode()).status == 201
    reply = host.get("/api/people/faro")
    assert reply.status == 200, reply.body
    found = reply.json()
    assert len(found) == 2
    assert all(item["PartitionKey"] == "faro" and item["Age"] > 30 for item in found)
    assert {item["RowKey"] for item in found} <= {"a", "c", "d"}


def test_a_table_output_entity_without_keys_fails_the_call_and_stores_nothing(host: LocalHost,
                                                                               tables: TableServiceClient) -> None:
    reply = host.post("/api/people", raw=json.dumps({"PartitionKey": "nowhere", "Age": 1}).encode())
    assert reply.status == 500
    assert list(tables.get_table_client("people").query_entities("PartitionKey eq 'nowhere'")) == []


def test_inserting_an_entity_that_exists_fails_the_call(host: LocalHost) -> None:
    row = [{"PartitionKey": "dup", "RowKey": "one", "Age": 1}]
    assert host.post("/api/people", raw=json.dumps(row).encode()).status == 201
    assert host.post("/api/people", raw=json.dumps(row).encode()).status == 500


def _fired(blobs: BlobServiceClient, name: str) -> list[dict[str, object]]:
    container = blobs.get_container_client("fired")
    if not container.exists():
        return []
    return [json.loads(_read(blobs, "fired", blob.name)) for blob in container.list_blobs(name_starts_with=f"{name}/")]


def _receipts(blobs: BlobServiceClient, function: str, container: str, name: str) -> list[dict[str, str]]:
    hosts = blobs.get_container_client("azure-webjobs-hosts")
    listing = hosts.list_blobs(name_starts_with="blobreceipts/", include=["metadata"])
    return [dict(blob.metadata or {}) for blob in listing
            if f"/Host.Functions.{function}/" in blob.name and blob.name.endswith(f"/{container}/{name}")]


def test_a_blob_fires_its_trigger_once_and_again_after_it_is_overwritten(host: LocalHost,
                                                                         blobs: BlobServiceClient) -> None:
    _put(blobs, "uploads", "first.txt", b"version one")
    eventually(lambda: len(_fired(blobs, "first")) == 1, timeout=60, interval=0.2, message="first.txt fired")
    [record] = _fired(blobs, "first")
    assert record == {"name": "uploads/first.txt", "length": 11, "content": "version one",
                      "uri": record["uri"]}
    assert str(record["uri"]).endswith("/uploads/first.txt")
    eventually(lambda: [r.get("IncompleteReceipt") for r in _receipts(blobs, "on_upload", "uploads", "first.txt")]
               == [None], timeout=30, interval=0.2, message="a complete receipt for first.txt")
    # a later blob fires, so the scans went on: the first one did not fire again
    _put(blobs, "uploads", "second.txt", b"other")
    eventually(lambda: len(_fired(blobs, "second")) == 1, timeout=60, interval=0.2, message="second.txt fired")
    assert len(_fired(blobs, "first")) == 1
    _put(blobs, "uploads", "first.txt", b"version two")
    eventually(lambda: len(_fired(blobs, "first")) == 2, timeout=60, interval=0.2, message="first.txt fired again")
    assert sorted(str(r["content"]) for r in _fired(blobs, "first")) == ["version one", "version two"]
    assert len(_receipts(blobs, "on_upload", "uploads", "first.txt")) == 2  # one receipt per ETag


def test_a_blob_that_does_not_match_the_pattern_does_not_fire(host: LocalHost, blobs: BlobServiceClient) -> None:
    _put(blobs, "uploads", "skipped.csv", b"a,b")
    _put(blobs, "uploads", "marker.txt", b"m")
    eventually(lambda: len(_fired(blobs, "marker")) == 1, timeout=60, interval=0.2, message="marker.txt fired")
    assert _receipts(blobs, "on_upload", "uploads", "skipped.csv") == []


def test_a_blob_whose_function_keeps_failing_goes_to_the_poison_queue(host: LocalHost, azurite: Azurite,
                                                                       blobs: BlobServiceClient) -> None:
    _put(blobs, "broken", "bad.bin", b"\x00\x01")
    etag = blobs.get_blob_client("broken", "bad.bin").get_blob_properties().etag.strip('"')
    poison = QueueClient.from_connection_string(azurite.connection_string, "webjobs-blobtrigger-poison")
    found: list[dict[str, str]] = []

    def poisoned() -> bool:
        for message in poison.receive_messages(max_messages=32, visibility_timeout=30):
            body = json.loads(base64.b64decode(message.content))
            found.append({**body, "ETag": body["ETag"].strip('"')})
            poison.delete_message(message)
        return bool(found)

    eventually(poisoned, timeout=60, interval=0.2, ignoring=(ResourceNotFoundError,), message="a poison message")
    assert found == [{"Type": "BlobTrigger", "FunctionId": "Host.Functions.on_broken", "BlobType": "BlockBlob",
                      "ContainerName": "broken", "BlobName": "bad.bin", "ETag": etag}]
    [receipt] = _receipts(blobs, "on_broken", "broken", "bad.bin")
    assert receipt == {"DequeueCount": "2"}  # two attempts (poisonBlobThreshold 2), then completed


def test_a_blob_triggered_function_runs_by_hand_on_the_blob_it_is_given(host: LocalHost,
                                                                         blobs: BlobServiceClient) -> None:
    _put(blobs, "uploads", "manual.txt", b"by hand")
    eventually(lambda: len(_fired(blobs, "manual")) == 1, timeout=60, interval=0.2, message="manual.txt fired")
    assert host.run_function("on_upload", "uploads/manual.txt").status == 202
    eventually(lambda: len(_fired(blobs, "manual")) == 2, timeout=60, interval=0.2, message="a run by hand")
    assert [r["content"] for r in _fired(blobs, "manual")] == ["by hand", "by hand"]


@pytest.mark.parametrize("given", ["other/manual.txt", "uploads/manual.csv", None])
def test_running_a_blob_trigger_by_hand_on_a_blob_outside_its_pattern_is_refused(host: LocalHost,
                                                                                  given: str | None) -> None:
    reply = host.run_function("on_upload", given)
    assert reply.status == 400
    assert "error" in reply.json()
