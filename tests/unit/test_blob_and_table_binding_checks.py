"""Start-time checks of blob and table bindings, the shape of table output entities, and the blob trigger's host id."""

from __future__ import annotations

from typing import Any

import pytest

from durable_local.host.storage_bindings import blob_trigger, blobs, tables
from durable_local.host.storage_bindings.connections import Connections
from durable_local.host.storage_bindings.expressions import BindingExpressionError
from durable_local.host.storage_bindings.invocation import json_datum, string_datum
from durable_local.host.storage_bindings.registry import BindingContext


def test_a_blob_path_must_name_a_container_and_a_blob() -> None:
    assert blobs.split_path("container/a/b.txt") == ("container", "a/b.txt")
    with pytest.raises(ValueError, match="container/blob"):
        blobs.check_binding({"path": "only-a-container"})
    with pytest.raises(BindingExpressionError):
        blobs.check_binding({"path": "c/{name"})


def test_a_blob_path_naming_a_missing_app_setting_is_refused_at_start() -> None:
    with pytest.raises(ValueError, match="NO_SUCH_OUTBOX_SETTING"):
        blobs.check_binding({"path": "%NO_SUCH_OUTBOX_SETTING%/{name}"})


@pytest.mark.parametrize("binding, message", [
    ({"path": "c/{name}", "source": "EventGrid"}, "EventGrid"),
    ({"path": "{container}/x"}, "fixed container"),
    ({"path": "c"}, "container/blob-pattern"),
    ({"path": "c/{a.b}"}, "plain names"),
])
def test_blob_trigger_bindings_the_local_host_cannot_poll_are_refused(binding: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        blob_trigger.check_binding(binding)


def test_a_blob_trigger_path_naming_a_missing_app_setting_is_refused() -> None:
    with pytest.raises(ValueError, match="NO_SUCH_CONTAINER_SETTING"):
        blob_trigger.check_binding({"path": "%NO_SUCH_CONTAINER_SETTING%/{name}"})


def test_a_polling_blob_trigger_binding_is_accepted() -> None:
    blob_trigger.check_binding({"path": "samples-workitems/{name}.txt", "source": "LogsAndContainerScan"})


def test_the_host_id_comes_from_the_setting_lower_cased_and_at_most_32_characters() -> None:
    assert blob_trigger.host_id({"AzureFunctionsWebHost__hostid": "My_Host.Name"}) == "myhostname"
    assert len(blob_trigger.host_id({"AzureFunctionsWebHost__hostid": "x" * 50})) == 32
    assert blob_trigger.host_id({})  # the machine name otherwise


@pytest.mark.parametrize("binding, message", [
    ({}, "tableName"),
    ({"tableName": "t", "take": 0}, "take"),
    ({"tableName": "t", "take": "many"}, "take"),
    ({"tableName": "t", "partitionKey": "{pk"}, "not closed"),
])
def test_malformed_table_bindings_are_refused(binding: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        tables.check_binding(binding)


def _context(data: dict[str, Any] | None = None) -> BindingContext:
    return BindingContext(info=None, connections=Connections({}), data=data or {})  # type: ignore[arg-type]


def test_table_output_entities_take_their_keys_from_the_binding_when_missing() -> None:
    binding = {"tableName": "t", "partitionKey": "{region}", "rowKey": "fixed"}
    entities = tables.entities_of(string_datum('[{"RowKey": "own", "A": 1}, {"B": 2}]'), binding,
                                  _context({"region": "eu"}))
    assert entities == [{"RowKey": "own", "A": 1, "PartitionKey": "eu"},
                        {"B": 2, "PartitionKey": "eu", "RowKey": "fixed"}]


@pytest.mark.parametrize("text", ['"just text"', "[1, 2]", "not json", '{"PartitionKey": "p"}',
                                  '{"PartitionKey": "p", "RowKey": 5}'])
def test_table_output_values_that_are_not_keyed_entities_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        tables.entities_of(string_datum(text), {"tableName": "t"}, _context())


def test_a_json_datum_is_a_table_output_too() -> None:
    assert tables.entities_of(json_datum({"PartitionKey": "p", "RowKey": "r"}), {"tableName": "t"},
                              _context()) == [{"PartitionKey": "p", "RowKey": "r"}]
