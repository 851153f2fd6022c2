"""Blob storage bindings: blob input and blob output, on Azure Storage (Azurite locally).

The host does the I/O (azure-storage-blob's asyncio client through the binding's `connection`); the worker
converts with azure.functions' `BlobConverter` (a `func.InputStream` in, `str`/`bytes`/file-like out).

- `path` is `container/blob`, with binding expressions resolved per invocation (`expressions`: `%Setting%`,
  `{name}` from the trigger's binding data or route, `{queueTrigger}`, a JSON message's properties,
  `{rand-guid}`, `{DateTime}`).
- Input (`blob`, direction in): the blob's content as bytes (`dataType: string`: as text); a blob that does not
  exist gives `None`, as the WebJobs blob binding binds null for a missing blob (azure-webjobs-sdk
  `BlobAttributeBindingProvider`/`BlobsExtensionConfigProvider`: a missing blob binds null for a read).
- Output (`blob`, direction out): the value is uploaded as the blob's whole content (overwriting), the
  container created if missing (WebJobs `BlobsExtensionConfigProvider` creates the container for a write).
"""

from __future__ import annotations

import contextlib
import os
from typing import Any

from durable_local.host.storage_bindings import expressions
from durable_local.host.storage_bindings.connections import connection_name
from durable_local.host.storage_bindings.invocation import WireDatum, bytes_datum, datum_bytes, string_datum
from durable_local.host.storage_bindings.registry import BindingContext, BindingType, register
from durable_local.vocabulary import resolve_setting_references


def split_path(path: str) -> tuple[str, str]:
    """A blob path's container and blob name; ValueError when it has no blob name."""
    container, _, blob = path.strip("/").partition("/")
    if not container or not blob:
        raise ValueError(f"The blob path '{path}' must be 'container/blob'")
    return container, blob


def binding_data(context: BindingContext) -> dict[str, Any]:
    """The invocation's binding data, with a JSON trigger payload's properties (e.g. a queue message's)."""
    payload = context.data.get("QueueTrigger")
    return expressions.binding_data(context.data, payload if isinstance(payload, str) else None)


def resolve_path(binding: dict[str, Any], context: BindingContext) -> tuple[str, str]:
    return split_path(expressions.resolve(str(binding.get("path") or ""), binding_data(context)))


def check_binding(binding: dict[str, Any]) -> None:
    """Start-time check: the path is a well-formed template of the form container/blob, and the app settings
    it names (`%Setting%`) are set, as the Functions host resolves them when it indexes the function."""
    path = resolve_setting_references(str(binding.get("path") or ""), os.environ)
    expressions.parse(path)
    if "/" not in path.strip("/"):
        raise ValueError(f"the blob path '{path}' must be 'container/blob'")


async def read_blob(binding: dict[str, Any], context: BindingContext) -> WireDatum | None:
    from azure.core.exceptions import ResourceNotFoundError

    container, blob = resolve_path(binding, context)
    client = context.connections.blob_service(connection_name(binding)).get_blob_client(container, blob)
    try:
        content: bytes = await (await client.download_blob()).readall()
    except ResourceNotFoundError:
        return None
    data_type = binding.get("dataType")
    if str(getattr(data_type, "name", data_type) or "").lower() == "string":
        return string_datum(content.decode("utf-8", errors="replace"))
    return bytes_datum(content)


async def write_blob(binding: dict[str, Any], datum: WireDatum, context: BindingContext) -> None:
    from azure.core.exceptions import ResourceExistsError

    container, blob = resolve_path(binding, context)
    service = context.connections.blob_service(connection_name(binding))
    with contextlib.suppress(ResourceExistsError):
        await service.get_container_client(container).create_container()
    await service.get_blob_client(container, blob).upload_blob(datum_bytes(datum), overwrite=True)


register("blob", BindingType("blob", read=read_blob, write=write_blob, check=check_binding))
