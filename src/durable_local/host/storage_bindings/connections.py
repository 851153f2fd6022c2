"""A storage binding's `connection`, resolved to Azure SDK clients as the Functions host resolves it.

For a connection named X (the binding's `connection` property, default `AzureWebJobsStorage`):

- a connection string in app setting `AzureWebJobsX`, else `X` (azure-webjobs-sdk
  `IConfigurationExtensions.GetWebJobsConnectionString`: the prefixed name first, then the plain one);
  `UseDevelopmentStorage=true` means Azurite on its default ports;
- else identity-based: `X__accountName` and/or `X__queueServiceUri` / `X__blobServiceUri` /
  `X__tableServiceUri` (https), with `X__credential=managedidentity` and `X__clientId`
  (https://learn.microsoft.com/azure/azure-functions/functions-reference#configure-an-identity-based-connection).

The shapes are parsed by `durable_local.manage.storage.target_from_setting` (the CLI reads the same settings).
A connection that is missing or malformed raises `ConnectionSettingError` with a message that names the setting
and never echoes a key; the host lists the function in error with it. Clients are the SDK's asyncio clients,
made once per connection and closed by `Connections.close`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from durable_local.manage.errors import CliError
from durable_local.manage.storage import StorageTarget, target_from_setting

DEFAULT_CONNECTION = "AzureWebJobsStorage"
PREFIX = "AzureWebJobs"
_CLIENT_OPTIONS: dict[str, Any] = {"retry_total": 2, "connection_timeout": 10, "read_timeout": 30}


class ConnectionSettingError(ValueError):
    """A binding's storage connection is not set, or cannot be used."""


def connection_name(binding: Mapping[str, Any]) -> str:
    return str(binding.get("connection") or DEFAULT_CONNECTION)


def resolve(name: str, environ: Mapping[str, str] | None = None) -> StorageTarget:
    """The storage account connection `name` points to (see the module docstring)."""
    env = os.environ if environ is None else environ

    def setting(key: str) -> str | None:
        if key == name and not name.startswith(PREFIX):
            prefixed = env.get(PREFIX + name, "").strip()
            if prefixed:
                return prefixed
        return env.get(key)

    try:
        target = target_from_setting(name, setting)
    except CliError as error:
        raise ConnectionSettingError(f"Storage connection '{name}': {error}") from error
    if target.connection_string is not None:
        _check_connection_string(name, target.connection_string)
    return target


def _check_connection_string(name: str, connection_string: str) -> None:
    from azure.storage.queue import QueueServiceClient

    try:
        QueueServiceClient.from_connection_string(connection_string)
    except ValueError as error:  # never echo the string: it holds the account key
        raise ConnectionSettingError(f"Storage connection '{name}': the app setting does not hold a valid storage "
                                     "connection string") from error


def _async_credential(target: StorageTarget) -> Any:
    from azure.identity.aio import DefaultAzureCredential, ManagedIdentityCredential

    if target.managed_identity:
        return ManagedIdentityCredential(client_id=target.client_id)
    if target.client_id:
        return DefaultAzureCredential(managed_identity_client_id=target.client_id)
    return DefaultAzureCredential()


class Connections:
    """The asyncio service clients of the connections the app's bindings use, one per connection and service."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self.environ = environ
        self._clients: dict[tuple[str, str], Any] = {}
        self._credentials: list[Any] = []
        self.created: set[tuple[str, str, str]] = set()  # (connection, service, name) known to exist

    def check(self, name: str, service: str) -> None:
        """Raise `ConnectionSettingError` when connection `name` cannot reach `service` (queue, blob, table)."""
        target = resolve(name, self.environ)
        if target.connection_string is None:
            try:
                target.endpoint(service)
            except CliError as error:
                raise ConnectionSettingError(f"Storage connection '{name}': {error}") from error

    def queue_service(self, name: str) -> Any:
        """An `azure.storage.queue.aio.QueueServiceClient` for connection `name`."""
        from azure.storage.queue.aio import QueueServiceClient

        return self._client(name, "queue", QueueServiceClient)

    def blob_service(self, name: str) -> Any:
        """An `azure.storage.blob.aio.BlobServiceClient` for connection `name`."""
        from azure.storage.blob.aio import BlobServiceClient

        return self._client(name, "blob", BlobServiceClient)

    def table_service(self, name: str) -> Any:
        """An `azure.data.tables.aio.TableServiceClient` for connection `name`."""
        from azure.data.tables.aio import TableServiceClient

        return self._client(name, "table", TableServiceClient)

    def _client(self, name: str, service: str, client_type: Any) -> Any:
        key = (name, service)
        if key not in self._clients:
            target = resolve(name, self.environ)
            if target.connection_string is not None:
                client = client_type.from_connection_string(target.connection_string, **_CLIENT_OPTIONS)
            else:
                credential = _async_credential(target)
                self._credentials.append(credential)
                client = client_type(target.endpoint(service), credential=credential, **_CLIENT_OPTIONS)
            self._clients[key] = client
        return self._clients[key]

    async def close(self) -> None:
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.close()
        credentials, self._credentials = self._credentials, []
        for credential in credentials:
            await credential.close()
