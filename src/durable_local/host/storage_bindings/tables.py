"""Table storage bindings: table input and table output, on Azure Table storage (Azurite locally).

The host does the I/O (azure-data-tables' asyncio client through the binding's `connection`); the Python worker
has no table converter, so values cross as JSON text (the generic binding), as they do from the Functions host.
Properties (`tableName`, `partitionKey`, `rowKey`, `filter`) take binding expressions (`expressions`).

- Input (`table`, direction in): with `partitionKey` and `rowKey`, the one entity as a JSON object (`None`
  when there is none, as the Tables extension binds null for a missing entity); otherwise a JSON array of the
  entities matching `filter` (an OData filter) and `partitionKey` if given, at most `take` of them. Each entity
  has its `PartitionKey`, `RowKey`, `Timestamp` (ISO 8601) and properties (dates as ISO 8601 text, binary as
  base64).
- Output (`table`, direction out): a JSON object or array of objects; each is inserted (an entity that exists
  already is a conflict and fails the invocation, as the Tables extension's `Add` does). `PartitionKey` and
  `RowKey` come from the entity, else from the binding's `partitionKey` / `rowKey`; an entity without both is
  refused. The table is created if missing.
"""

from __future__ import annotations

import base64
import contextlib
import json
from datetime import datetime
from typing import Any

from durable_local.host.storage_bindings import expressions
from durable_local.host.storage_bindings.blobs import binding_data
from durable_local.host.storage_bindings.connections import connection_name
from durable_local.host.storage_bindings.invocation import WireDatum, datum_bytes, string_datum
from durable_local.host.storage_bindings.registry import BindingContext, BindingType, register

_KEY_PROPERTIES = ("partitionKey", "rowKey", "filter", "tableName")


def _property(binding: dict[str, Any], name: str, context: BindingContext) -> str | None:
    raw = binding.get(name)
    if raw is None or raw == "":
        return None
    return expressions.resolve(str(raw), binding_data(context))


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def entity_json(entity: Any) -> dict[str, Any]:
    """An entity (azure.data.tables `TableEntity`) as JSON-ready values."""
    found: dict[str, Any] = {}
    metadata = getattr(entity, "metadata", {}) or {}
    for name, value in entity.items():
        found[name] = _json_value(value)
    ordered = {"PartitionKey": found.pop("PartitionKey", None), "RowKey": found.pop("RowKey", None)}
    timestamp = metadata.get("timestamp")
    if timestamp is not None:
        ordered["Timestamp"] = _json_value(timestamp)
    return {**ordered, **found}


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(bytes(value)).decode()
    inner = getattr(value, "value", None)  # EntityProperty (e.g. an Int64 or GUID)
    if inner is not None and not isinstance(value, str | int | float | bool):
        return _json_value(inner)
    return value


def check_binding(binding: dict[str, Any]) -> None:
    """Start-time check: a table name, well-formed expressions, a positive `take`."""
    if not binding.get("tableName"):
        raise ValueError("the table binding has no tableName")
    for name in _KEY_PROPERTIES:
        if binding.get(name):
            expressions.parse(str(binding[name]))
    take = binding.get("take")
    if take not in (None, "") and (not str(take).isdigit() or int(take) < 1):
        raise ValueError(f"the table binding's take must be a positive number, not {take!r}")


async def read_table(binding: dict[str, Any], context: BindingContext) -> WireDatum | None:
    from azure.core.exceptions import ResourceNotFoundError

    table = context.connections.table_service(connection_name(binding)).get_table_client(
        _property(binding, "tableName", context))
    partition, row = _property(binding, "partitionKey", context), _property(binding, "rowKey", context)
    if partition is not None and row is not None:
        try:
            entity = await table.get_entity(partition, row)
        except ResourceNotFoundError:
            return None
        return string_datum(json.dumps(entity_json(entity)))
    clauses = [f"({text})" for text in (_property(binding, "filter", context),) if text]
    if partition is not None:
        clauses.insert(0, f"PartitionKey eq {_quote(partition)}")
    take = int(binding["take"]) if binding.get("take") not in (None, "") else None
    entities: list[dict[str, Any]] = []
    try:
        pages = table.query_entities(" and ".join(clauses)) if clauses else table.list_entities()
        async for entity in pages:
            entities.append(entity_json(entity))
            if take is not None and len(entities) >= take:
                break
    except ResourceNotFoundError:  # no table yet: no entities
        entities = []
    return string_datum(json.dumps(entities))


def entities_of(datum: WireDatum, binding: dict[str, Any], context: BindingContext) -> list[dict[str, Any]]:
    """The entities an output datum stands for (see the module docstring); ValueError for anything else."""
    try:
        parsed = json.loads(datum_bytes(datum)) if datum.get("type") != "json" else json.loads(datum["value"])
    except ValueError as error:
        raise ValueError("a table output must be a JSON object or an array of objects") from error
    items = parsed if isinstance(parsed, list) else [parsed]
    partition, row = _property(binding, "partitionKey", context), _property(binding, "rowKey", context)
    entities: list[dict[str, Any]] = []
    for item in items:
        if not isinstance(item, dict):
            raise ValueError("a table output must be a JSON object or an array of objects")
        entity = dict(item)
        if partition is not None:
            entity.setdefault("PartitionKey", partition)
        if row is not None:
            entity.setdefault("RowKey", row)
        if not isinstance(entity.get("PartitionKey"), str) or not isinstance(entity.get("RowKey"), str):
            raise ValueError("a table output entity needs a PartitionKey and a RowKey (strings)")
        entities.append(entity)
    return entities


async def write_table(binding: dict[str, Any], datum: WireDatum, context: BindingContext) -> None:
    from azure.core.exceptions import ResourceExistsError

    entities = entities_of(datum, binding, context)
    service = context.connections.table_service(connection_name(binding))
    name = _property(binding, "tableName", context)
    with contextlib.suppress(ResourceExistsError):
        await service.create_table(name)
    table = service.get_table_client(name)
    for entity in entities:
        await table.create_entity(entity)


register("table", BindingType("table", read=read_table, write=write_table, check=check_binding))
