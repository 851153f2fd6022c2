"""Clients for the app's own Azure Storage (its tables, the archive container).

They come from a connection named X, read the way the Functions host reads connection settings:

- a connection string in `X` (`UseDevelopmentStorage=true` means Azurite on its default ports), else
- identity: `X__tableServiceUri` / `X__blobServiceUri` / `X__queueServiceUri`, or `X__accountName` (the public
  cloud's `https://{account}.{service}.core.windows.net`), with a token from azure-identity:
  `ManagedIdentityCredential` when `X__credential=managedidentity` (the user-assigned identity of
  `X__clientId` when set), else `DefaultAzureCredential` (so `az login` works on a developer's machine).

These are the shapes of "Identity-based connections" in
https://learn.microsoft.com/azure/azure-functions/functions-reference#configure-an-identity-based-connection
and of the settings Microsoft's azd template gives a Flex Consumption app
(Azure-Samples/durable-functions-quickstart-python-azd, infra/app/api.bicep: `AzureWebJobsStorage__credential`,
`__clientId`, `__blobServiceUri`, `__queueServiceUri`, `__tableServiceUri`; no connection string).

Errors name the setting that is missing or wrong; they never contain a setting's value, which may hold a key.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from azure.core.credentials import AccessToken
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError

from blueprints._settings import SettingError

DEVELOPMENT_STORAGE = (
    "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
    "AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;"
    "BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;"
    "QueueEndpoint=http://127.0.0.1:10001/devstoreaccount1;"
    "TableEndpoint=http://127.0.0.1:10002/devstoreaccount1;"
)
SERVICES = ("table", "blob", "queue")
MANAGED_IDENTITY = "managedidentity"
_CLIENT_OPTIONS: dict[str, Any] = {"retry_total": 2, "connection_timeout": 10, "read_timeout": 30}
_TOKEN_REFRESH_MARGIN_SECONDS = 300

# azure-core logs every request and response at INFO (about 25 lines per table call), which would flood the
# app's logs in Application Insights: keep its warnings only. azure-identity logs each token at INFO too.
QUIET_LOGGERS = ("azure.core.pipeline.policies.http_logging_policy", "azure.identity")
for _name in QUIET_LOGGERS:
    logging.getLogger(_name).setLevel(logging.WARNING)


def _value(name: str) -> str:
    return os.environ.get(name, "").strip()


def is_development_storage(connection_string: str) -> bool:
    return connection_string.replace(" ", "").rstrip(";").lower() == "usedevelopmentstorage=true"


@dataclass(frozen=True)
class StorageConnection:
    """One resolved connection: a connection string, or service endpoints plus how to get a token."""

    name: str
    connection_string: str | None = None
    endpoints: tuple[tuple[str, str], ...] = ()
    managed_identity: bool = False
    client_id: str | None = None

    def endpoint(self, service: str) -> str:
        """The https endpoint of `service` (table, blob or queue); a SettingError naming the setting if none."""
        found = dict(self.endpoints).get(service)
        if not found:
            raise SettingError(
                f"storage connection {self.name} has no {service} endpoint: set {self.name}__{service}ServiceUri "
                f"or {self.name}__accountName"
            )
        return found

    @property
    def credential_description(self) -> str:
        if not self.managed_identity:
            return "DefaultAzureCredential"
        return f"managed identity {self.client_id}" if self.client_id else "system-assigned managed identity"


def is_configured(name: str) -> bool:
    """Whether any setting shape of connection `name` is present."""
    prefix = name + "__"
    return bool(_value(name)) or any(key.startswith(prefix) and value.strip() for key, value in os.environ.items())


def _service_uri(name: str, service: str) -> str | None:
    setting = f"{name}__{service}ServiceUri"
    uri = _value(setting)
    if not uri:
        account = _value(f"{name}__accountName")
        return f"https://{account}.{service}.core.windows.net" if account else None
    parts = urlsplit(uri)
    if parts.scheme != "https" or not parts.netloc:
        # azure-core refuses to send a bearer token over plain http, so say so up front, naming the setting.
        raise SettingError(f"app setting {setting} must be an https:// URL (identity tokens need TLS)")
    return uri.rstrip("/")


def resolve(name: str) -> StorageConnection:
    """Read connection `name` from the app settings (see the module docstring for the shapes)."""
    connection_string = _value(name)
    if connection_string:
        if is_development_storage(connection_string):
            connection_string = DEVELOPMENT_STORAGE
        return StorageConnection(name, connection_string=connection_string)
    account = _value(f"{name}__accountName")
    if account and not account.isalnum():
        raise SettingError(f"app setting {name}__accountName must be a storage account name (letters and digits)")
    endpoints = tuple((service, uri) for service in SERVICES if (uri := _service_uri(name, service)))
    if not endpoints:
        raise SettingError(
            f"storage connection {name} is not configured: set a connection string in {name}, or "
            f"{name}__tableServiceUri / {name}__blobServiceUri / {name}__queueServiceUri (or {name}__accountName) "
            f"with {name}__credential=managedidentity and {name}__clientId"
        )
    credential = _value(f"{name}__credential")
    if credential and credential.lower() != MANAGED_IDENTITY:
        raise SettingError(f"app setting {name}__credential must be 'managedidentity', not '{credential}'")
    return StorageConnection(
        name,
        endpoints=endpoints,
        managed_identity=bool(credential),
        client_id=_value(f"{name}__clientId") or None,
    )


def first_configured(*names: str) -> StorageConnection:
    """The first of `names` that is configured in any shape (the last one's error when none is)."""
    for name in names[:-1]:
        if is_configured(name):
            return resolve(name)
    return resolve(names[-1])


# Tokens, cached across requests. The async credentials own an aiohttp session bound to one event loop, so a
# fresh credential fetches each token and is closed at once; the token (not the credential) is what is kept.
_tokens: dict[tuple[bool, str | None, tuple[str, ...]], AccessToken] = {}


class TokenUnavailableError(ClientAuthenticationError):
    """The credential could not issue a token (as opposed to storage refusing one)."""


class CachedTokenCredential:
    """An async token credential for one connection: a cached token while it has 5 minutes left, else a new
    one from `ManagedIdentityCredential(client_id=...)` or `DefaultAzureCredential`."""

    def __init__(self, connection: StorageConnection) -> None:
        self._connection = connection

    def _new_credential(self) -> Any:
        from azure.identity.aio import DefaultAzureCredential, ManagedIdentityCredential

        if self._connection.managed_identity:
            return ManagedIdentityCredential(client_id=self._connection.client_id)
        if self._connection.client_id:
            return DefaultAzureCredential(managed_identity_client_id=self._connection.client_id)
        return DefaultAzureCredential()

    async def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        key = (self._connection.managed_identity, self._connection.client_id, scopes)
        cached = _tokens.get(key)
        if cached and cached.expires_on - time.time() > _TOKEN_REFRESH_MARGIN_SECONDS:
            return cached
        from azure.core.exceptions import AzureError

        credential = self._new_credential()
        try:
            token: AccessToken = await credential.get_token(*scopes, **kwargs)
        except AzureError as error:
            raise TokenUnavailableError(_first_line(error)) from error
        finally:
            await credential.close()
        _tokens[key] = token
        return token

    async def close(self) -> None:
        return None

    async def __aenter__(self) -> CachedTokenCredential:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        return None


def forget_cached_tokens() -> None:
    """Drop every cached token (tests that switch identities between calls use this)."""
    _tokens.clear()


def _client(connection: StorageConnection, service: str, client_type: Any, **options: Any) -> Any:
    options = {**_CLIENT_OPTIONS, **options}
    if connection.connection_string is not None:
        try:
            return client_type.from_connection_string(connection.connection_string, **options)
        except ValueError as error:  # the SDK's message never repeats the string; ours names the setting
            raise SettingError(f"app setting {connection.name} is not a valid storage connection string") from error
    return client_type(connection.endpoint(service), credential=CachedTokenCredential(connection), **options)


@asynccontextmanager
async def storage_errors(connection: StorageConnection, service: str) -> AsyncIterator[None]:
    """Turn authentication and authorization failures into a SettingError that names the connection and the
    credential (a 500 naming what to fix), instead of an SDK traceback."""
    try:
        yield
    except HttpResponseError as error:
        # azure-data-tables re-raises a credential's failure as a plain HttpResponseError caused by it.
        cause: BaseException | None = error
        while cause is not None and not isinstance(cause, TokenUnavailableError):
            cause = cause.__cause__
        if cause is not None:
            raise SettingError(
                f"storage connection {connection.name} could not authenticate with "
                f"{connection.credential_description}: {_first_line(cause)}"
            ) from error
        if error.status_code != 403:
            raise
        code = getattr(error, "error_code", None) or "Forbidden"
        raise SettingError(
            f"storage connection {connection.name} was refused by the {service} service (403 {code}); "
            f"check that {connection.credential_description} has the storage data role it needs"
        ) from error


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


@asynccontextmanager
async def table_service(connection_setting: str, **options: Any) -> AsyncIterator[Any]:
    """An async `azure.data.tables.aio.TableServiceClient` for connection `connection_setting`; `options` go to
    the client (azure-core transport options such as `connection_verify`)."""
    from azure.data.tables.aio import TableServiceClient

    connection = resolve(connection_setting)
    client = _client(connection, "table", TableServiceClient, **options)
    async with storage_errors(connection, "table"), client as service:
        yield service


@asynccontextmanager
async def blob_service(connection_setting: str, **options: Any) -> AsyncIterator[Any]:
    """An async `azure.storage.blob.aio.BlobServiceClient` for connection `connection_setting` (the archive
    container's); `options` go to the client."""
    from azure.storage.blob.aio import BlobServiceClient

    connection = resolve(connection_setting)
    client = _client(connection, "blob", BlobServiceClient, **options)
    async with storage_errors(connection, "blob"), client as service:
        yield service


def table_service_for(connection: StorageConnection) -> Any:
    """An async TableServiceClient for an already resolved connection (use it with `async with`)."""
    from azure.data.tables.aio import TableServiceClient

    return _client(connection, "table", TableServiceClient)
