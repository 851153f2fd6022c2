"""The app's own Azure Tables (management payloads, operator configuration), through azure-data-tables.

They live in the storage account of connection `APP_STORAGE_CONNECTION` when any of its settings is present
(a connection string in `APP_STORAGE_CONNECTION`, or `APP_STORAGE_CONNECTION__tableServiceUri` /
`__accountName` with `__credential` and `__clientId`), else of `AzureWebJobsStorage` (the Functions host's own
connection, in either shape). Locally that is Azurite; see `blueprints/_storage.py` for the shapes.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Any

from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from azure.data.tables.aio import TableClient

from blueprints._storage import first_configured, storage_errors, table_service_for

APP_STORAGE_CONNECTIONS = ("APP_STORAGE_CONNECTION", "AzureWebJobsStorage")
_METADATA = ("PartitionKey", "RowKey", "Timestamp", "etag")


@asynccontextmanager
async def open_table(table_name: str, *, create: bool = False) -> AsyncIterator[TableClient]:
    """A client for `table_name`; with `create`, the table is created when missing."""
    connection = first_configured(*APP_STORAGE_CONNECTIONS)
    async with storage_errors(connection, "table"), table_service_for(connection) as service:
        table: TableClient = service.get_table_client(table_name)
        if create:
            with suppress(ResourceExistsError):
                await table.create_table()
        yield table


async def read_row(table_name: str, partition_key: str, row_key: str) -> dict[str, Any] | None:
    """The properties of one row (without keys and metadata), or None when the row or table is missing."""
    async with open_table(table_name) as table:
        try:
            entity = await table.get_entity(partition_key, row_key)
        except ResourceNotFoundError:
            return None
    return {key: value for key, value in entity.items() if key not in _METADATA}


async def upsert_row(table_name: str, partition_key: str, row_key: str, properties: dict[str, Any]) -> None:
    """Write one row, replacing any row with the same keys; creates the table when missing."""
    async with open_table(table_name, create=True) as table:
        await table.upsert_entity({"PartitionKey": partition_key, "RowKey": row_key, **properties})
