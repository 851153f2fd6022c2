"""A queue message is deleted only after its function succeeded: a host stopped while the function runs leaves
the message to be delivered again (at least once), here in the in-process mode (`--workers 0`).

App: tests/apps/queue_bindings_app (`slow_order` runs on at its first delivery).
"""

from __future__ import annotations

import json
from pathlib import Path

from azure.core.exceptions import ResourceNotFoundError
from azure.storage.queue import BinaryBase64DecodePolicy, BinaryBase64EncodePolicy, QueueClient

from durable_local.testing import LocalHost, eventually
from tests.conftest import Azurite

APP_DIR = Path(__file__).resolve().parents[1] / "apps" / "queue_bindings_app"


def test_a_message_whose_host_stopped_mid_function_is_delivered_again(azurite: Azurite) -> None:
    slow = QueueClient.from_connection_string(azurite.connection_string, "slow",
                                              message_encode_policy=BinaryBase64EncodePolicy())
    done = QueueClient.from_connection_string(azurite.connection_string, "slow-done",
                                              message_decode_policy=BinaryBase64DecodePolicy())
    host = LocalHost(APP_DIR, env={"AzureWebJobsStorage": azurite.connection_string}, workers=0)
    try:
        host.start()
        slow.create_queue()
        slow.send_message(b"slow 1")
        eventually(lambda: "Executing 'Functions.slow_order'" in host.log(), timeout=30,
                   message="the first delivery running")
        host.stop()
        host.start()

        def finished() -> list[bytes]:
            return [message.content for message in done.receive_messages()]

        [content] = eventually(finished, timeout=30, ignoring=(ResourceNotFoundError,),
                               message="the message handled after the restart")
    finally:
        host.close()
    assert json.loads(content) == {"body": "slow 1", "dequeue_count": 2}
