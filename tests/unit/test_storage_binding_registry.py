"""The storage binding registry, queue options and the datums the host and worker exchange."""

from __future__ import annotations

import asyncio
import base64
import json
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import azure.functions as func
import pytest

from durable_local.host import invoke
from durable_local.host.config import ConfigError
from durable_local.host.host_json import HostJson, merge
from durable_local.host.indexing import SUPPORTED_BINDINGS, FunctionIndex, FunctionInfo
from durable_local.host.storage_bindings import queues, registry
from durable_local.host.storage_bindings.connections import Connections
from durable_local.host.storage_bindings.invocation import BindingCall, BindingResult, bytes_datum, from_wire


def _info(name: str, bindings: list[dict[str, Any]]) -> FunctionInfo:
    return FunctionInfo(name=name, trigger_type=bindings[0]["type"], trigger=bindings[0], bindings=bindings,
                        callable=lambda **_: None, is_async=False, accepts_context=False)


def test_every_registered_binding_type_is_in_the_one_supported_list() -> None:
    assert {"queue", "queueTrigger"} <= set(registry.REGISTRY)
    assert set(registry.REGISTRY) <= SUPPORTED_BINDINGS


def test_a_function_whose_connection_is_missing_is_listed_in_error_and_the_others_stay() -> None:
    index = FunctionIndex()
    index.add(_info("send", [{"type": "httpTrigger", "name": "req", "direction": "in"},
                             {"type": "queue", "name": "out", "direction": "out", "queueName": "orders",
                              "connection": "Missing"}]))
    index.add(_info("listen", [{"type": "queueTrigger", "name": "msg", "direction": "in", "queueName": "orders",
                                "connection": "Present"}]))
    index.add(_info("plain", [{"type": "httpTrigger", "name": "req", "direction": "in"}]))
    registry.check_index(index, Connections({"Present": "UseDevelopmentStorage=true"}))
    assert sorted(index.functions) == ["listen", "plain"]
    assert "Storage connection 'Missing'" in index.errors["send"]


def test_a_function_with_an_invalid_queue_name_is_listed_in_error() -> None:
    index = FunctionIndex()
    index.add(_info("listen", [{"type": "queueTrigger", "name": "msg", "direction": "in", "queueName": "Bad_Name"}]))
    index.add(_info("braces", [{"type": "queueTrigger", "name": "msg", "direction": "in", "queueName": "q-{x}"}]))
    registry.check_index(index, Connections({"AzureWebJobsStorage": "UseDevelopmentStorage=true"}))
    assert "not valid" in index.errors["listen"] and "not valid" in index.errors["braces"] and not index.functions


def _queues(section: dict[str, Any], settings: dict[str, str] | None = None) -> queues.QueueOptions:
    return queues.QueueOptions.from_host_json(merge({"extensions": {"queues": section}}, settings or {}))


def test_queue_options_defaults_follow_queues_options() -> None:
    options = queues.QueueOptions.from_host_json(HostJson())
    assert (options.max_polling_interval, options.visibility_timeout, options.batch_size,
            options.max_dequeue_count, options.base64) == (60.0, 0.0, 16, 5, True)


def test_queue_options_read_host_json_time_spans_and_refuse_bad_values() -> None:
    options = _queues({"maxPollingInterval": "00:00:00.200", "visibilityTimeout": "00:00:05", "batchSize": 4,
                       "newBatchThreshold": 1, "maxDequeueCount": 2, "messageEncoding": "none"})
    assert (options.max_polling_interval, options.visibility_timeout, options.batch_size,
            options.new_batch_threshold, options.max_dequeue_count, options.base64) == (0.2, 5.0, 4, 1, 2, False)
    for bad in ({"batchSize": 33}, {"maxPollingInterval": "soon"}, {"messageEncoding": "utf8"},
                {"maxPollingInterval": "00:00:00.050"}, {"maxDequeueCount": 0}):
        with pytest.raises(ConfigError):
            _queues(bad)


def test_queue_options_take_azure_functions_job_host_overrides() -> None:
    options = _queues({"maxDequeueCount": 2}, {"AzureFunctionsJobHost__extensions__queues__maxDequeueCount": "7"})
    assert options.max_dequeue_count == 7


def test_queue_output_values_become_messages_through_the_librarys_converter() -> None:
    one = invoke.encode_value("queue", "hello")
    many = invoke.encode_value("queue", ["a", "b"])
    raw = invoke.encode_value("queue", b"\x00\x01")
    assert queues.messages_of(one) == [b"hello"]
    assert queues.messages_of(many) == [b"a", b"b"]
    assert queues.messages_of(raw) == [b"\x00\x01"]
    assert queues.encode_message(b"hello", True) == base64.b64encode(b"hello").decode()
    assert queues.encode_message(b"hello", False) == "hello"


def test_a_received_message_becomes_a_queue_message_with_its_metadata() -> None:
    when = datetime(2026, 11, 28, 8, 0, 0, tzinfo=UTC)
    message = SimpleNamespace(id="m1", content=base64.b64encode("héllo".encode()).decode(), dequeue_count=2,
                              expires_on=when, inserted_on=when, next_visible_on=when, pop_receipt="r1")
    call, data = queues.trigger_of(message, use_base64=True)
    received = invoke.decode_datum("queueTrigger", call.trigger, call.metadata)
    assert isinstance(received, func.QueueMessage)
    assert received.get_body() == "héllo".encode() and received.id == "m1" and received.dequeue_count == 2
    assert received.insertion_time == when and received.pop_receipt == "r1"
    assert data["QueueTrigger"] == "héllo"
    with pytest.raises(ValueError, match="not valid base64"):
        queues.trigger_of(SimpleNamespace(**{**vars(message), "content": "not base64!"}), use_base64=True)


def test_calls_and_results_survive_the_wire() -> None:
    call = BindingCall(bytes_datum(b"\xff"), {"Id": {"type": "string", "value": "x"}}, {"in": bytes_datum(b"1")})
    again = BindingCall.from_json(json.loads(json.dumps(call.to_json())))
    assert again == call
    datum = from_wire(again.trigger)
    assert datum is not None and datum.value == b"\xff"
    result = BindingResult(False, {"$return": {"type": "string", "value": "v"}}, "boom")
    assert BindingResult.from_json(json.loads(json.dumps(result.to_json()))) == result


def test_outputs_are_written_only_for_registered_output_bindings() -> None:
    written: list[tuple[str, Any]] = []

    async def write(binding: dict[str, Any], datum: Any, context: registry.BindingContext) -> None:
        written.append((binding["name"], datum))

    registry.register("testOutput", registry.BindingType("queue", write=write))
    try:
        info = _info("f", [{"type": "timerTrigger", "name": "t", "direction": "in"},
                           {"type": "testOutput", "name": "out", "direction": "out"}])
        context = registry.BindingContext(info, Connections({}))
        asyncio.run(registry.write_outputs(context, {"out": {"type": "string", "value": "v"},
                                                     "other": {"type": "string", "value": "w"}}))
    finally:
        del registry.REGISTRY["testOutput"]
    assert written == [("out", {"type": "string", "value": "v"})]


def test_an_invalid_queues_section_stops_the_start_when_the_app_uses_queue_bindings() -> None:
    index = FunctionIndex()
    index.add(_info("listen", [{"type": "queueTrigger", "name": "msg", "direction": "in", "queueName": "orders"}]))
    with pytest.raises(ConfigError, match="batchSize"):
        registry.check_host_json(index, merge({"extensions": {"queues": {"batchSize": 64}}}, {}))
    registry.check_host_json(FunctionIndex(), merge({"extensions": {"queues": {"batchSize": 64}}}, {}))
