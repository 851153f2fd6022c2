"""Queue bindings on Azurite: queue outputs from HTTP, timer and activity functions; the queue trigger with its
message metadata, deletion after success, and the poison queue after `maxDequeueCount`; a function whose
connection setting is missing is listed in error while the rest runs.

App: tests/apps/queue_bindings_app (host.json: maxPollingInterval 200 ms, maxDequeueCount 2).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from azure.core.exceptions import ResourceNotFoundError
from azure.storage.queue import BinaryBase64DecodePolicy, BinaryBase64EncodePolicy, QueueClient

from durable_local.testing import LocalHost, eventually
from tests.conftest import Azurite

APP_DIR = Path(__file__).resolve().parents[1] / "apps" / "queue_bindings_app"


@pytest.fixture(scope="module")
def host(azurite: Azurite) -> Iterator[LocalHost]:
    with LocalHost(APP_DIR, env={"AzureWebJobsStorage": azurite.connection_string}) as running:
        yield running


def _queue(azurite: Azurite, name: str, decode: bool = True) -> QueueClient:
    return QueueClient.from_connection_string(azurite.connection_string, name,
                                              message_decode_policy=BinaryBase64DecodePolicy() if decode else None)


def _take(azurite: Azurite, name: str, count: int, decode: bool = True) -> list[Any]:
    """Wait until `count` messages can be taken from queue `name`; delete and return them."""
    queue = _queue(azurite, name, decode)
    taken: list[Any] = []

    def enough() -> bool:
        for message in queue.receive_messages(max_messages=32, visibility_timeout=30):
            taken.append(message)
            queue.delete_message(message)
        return len(taken) >= count

    eventually(enough, timeout=60, interval=0.2, ignoring=(ResourceNotFoundError,),
               message=f"{count} message(s) in queue {name}")
    return taken


def _received(azurite: Azurite, count: int = 1) -> list[dict[str, Any]]:
    return [json.loads(message.content) for message in _take(azurite, "received", count)]


def _count(azurite: Azurite, name: str) -> int:
    return int(_queue(azurite, name).get_queue_properties().approximate_message_count)


def test_an_http_queue_output_reaches_the_queue_trigger_with_its_metadata(host: LocalHost, azurite: Azurite) -> None:
    before = datetime.now(UTC) - timedelta(minutes=1)
    reply = host.post("/api/send", raw=b"order 1")
    assert reply.status == 202, reply.body
    [received] = _received(azurite)
    assert received["body"] == "order 1"
    assert received["id"] and received["pop_receipt"]
    assert received["dequeue_count"] == 1
    inserted = datetime.fromisoformat(received["insertion_time"])
    assert before < inserted < datetime.now(UTC) + timedelta(minutes=1)
    assert datetime.fromisoformat(received["expiration_time"]) - inserted == timedelta(days=7)
    assert datetime.fromisoformat(received["time_next_visible"]) > inserted
    eventually(lambda: _count(azurite, "orders") == 0, timeout=30, message="the handled message deleted")


def test_a_list_set_on_a_queue_output_is_one_base64_message_per_item(host: LocalHost, azurite: Azurite) -> None:
    reply = host.post("/api/send-many", ["first", "second"])
    assert reply.status == 202, reply.body
    raw = _take(azurite, "batch", 2, decode=False)
    assert sorted(base64.b64decode(message.content) for message in raw) == [b"first", b"second"]


def test_an_output_queue_deleted_while_the_host_runs_is_created_again(host: LocalHost, azurite: Azurite) -> None:
    assert host.post("/api/send-many", ["before"]).status == 202
    _take(azurite, "batch", 1)
    _queue(azurite, "batch").delete_queue()
    assert host.post("/api/send-many", ["after"]).status == 202
    assert [message.content for message in _take(azurite, "batch", 1)] == [b"after"]


def test_an_activity_writes_its_queue_output(host: LocalHost, azurite: Azurite) -> None:
    reply = host.post("/api/start/lisbon")
    assert reply.status == 202, reply.body
    status = host.wait_for_status(reply.json()["id"], {"Completed"})
    assert status["output"] == "enqueued lisbon"
    assert [item["body"] for item in _received(azurite)] == ["from activity: lisbon"]


def test_a_queue_triggered_function_starts_an_orchestration(host: LocalHost, azurite: Azurite) -> None:
    starts = QueueClient.from_connection_string(azurite.connection_string, "starts",
                                                message_encode_policy=BinaryBase64EncodePolicy())
    starts.create_queue()
    starts.send_message(b"porto")
    status = host.wait_for_status("from-queue-porto", {"Completed"})
    assert status["output"] == "enqueued porto"
    assert [item["body"] for item in _received(azurite)] == ["from activity: porto"]


def test_a_timer_function_writes_its_queue_output(host: LocalHost, azurite: Azurite) -> None:
    assert host.run_function("nightly").status == 202
    assert [item["body"] for item in _received(azurite)] == ["from timer"]


def test_a_message_whose_function_always_fails_ends_in_the_poison_queue(host: LocalHost, azurite: Azurite) -> None:
    assert host.post("/api/send-doomed", raw=b"bad order").status == 202
    [poisoned] = _take(azurite, "doomed-poison", 1)
    assert poisoned.content == b"bad order"
    assert _count(azurite, "doomed") == 0
    log = host.log()
    assert log.count("RuntimeError: cannot handle bad order") == 2  # maxDequeueCount 2 in host.json
    assert "Moving message to queue 'doomed-poison'" in log


def test_a_queue_triggered_function_runs_by_hand_with_the_admin_api(host: LocalHost, azurite: Azurite) -> None:
    assert host.run_function("on_order", input="by hand").status == 202
    [received] = _received(azurite)
    assert received["body"] == "by hand"


def test_a_function_whose_connection_setting_is_missing_is_listed_in_error(host: LocalHost) -> None:
    line = next(line for line in host.log().splitlines() if "unreachable:" in line)
    assert "[ERROR]" in line and "MissingStorage" in line
    assert host.get("/api/send").status in (404, 405)  # the rest of the app is served (send takes POST only)
