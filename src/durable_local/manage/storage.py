"""A task hub's artifacts in an Azure Storage account (http-api.md sections 5.1 and 5.7), found and deleted
exactly: tables `{hub}History`, `{hub}Instances`, `{hub}Partitions`; queues `{hub}-control-NN` and
`{hub}-workitems`; containers `{hub}-leases`, `{hub}-applease`, `{hub}-largemessages` (lower-case hub in queue
and container names). Nothing else in the account is touched, even when its name starts with the hub's.

The account is reached by a connection string or, as a Flex Consumption app with shared keys off is, by
identity: see `target_from_setting` and `target_from_flags`."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from durable_local.manage.errors import CliError, UsageError
from durable_local.manage.settings import AZURITE_CONNECTION_STRING, DEVELOPMENT_STORAGE

_HUB_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9]{2,44}$")
_CLIENT_OPTIONS: dict[str, Any] = {"retry_total": 1, "connection_timeout": 10, "read_timeout": 30}
SERVICES = ("table", "blob", "queue")


@dataclass(frozen=True)
class Artifact:
    """One storage resource of a task hub: its kind (`table`, `queue` or `container`) and exact name."""

    kind: str
    name: str

    def __str__(self) -> str:
        return f"{self.kind} {self.name}"


def validate_hub_name(hub: str) -> None:
    """Azure Storage hub names: a letter, then letters or digits, 3 to 45 characters (http-api.md 5.8)."""
    if not _HUB_NAME.match(hub):
        raise UsageError(f"invalid task hub name {hub!r}: use 3 to 45 letters or digits, starting with a letter")


def table_names(hub: str) -> list[str]:
    return [f"{hub}History", f"{hub}Instances", f"{hub}Partitions"]


def container_names(hub: str) -> list[str]:
    lower = hub.lower()
    return [f"{lower}-leases", f"{lower}-applease", f"{lower}-largemessages"]


def is_hub_queue(hub: str, name: str) -> bool:
    """`{hub}-workitems` or a control queue `{hub}-control-00` ... `-99` (partitionCount is at most 16)."""
    lower = hub.lower()
    return name == f"{lower}-workitems" or re.fullmatch(re.escape(f"{lower}-control-") + r"\d{2}", name) is not None


def hub_artifacts(hub: str, tables: list[str], queues: list[str], containers: list[str]) -> list[Artifact]:
    """Which of the account's existing names belong to `hub` (table names compare case-insensitively)."""
    wanted_tables = {name.lower() for name in table_names(hub)}
    wanted_containers = set(container_names(hub))
    found = [Artifact("table", name) for name in tables if name.lower() in wanted_tables]
    found += [Artifact("queue", name) for name in sorted(queues) if is_hub_queue(hub, name)]
    found += [Artifact("container", name) for name in containers if name in wanted_containers]
    return found


@dataclass(frozen=True)
class StorageTarget:
    """Where a storage account is and how to authenticate: a connection string, or service endpoints reached
    with a token (`ManagedIdentityCredential` for `client_id` when `managed_identity`, else
    `DefaultAzureCredential`, so `az login` works). `source` names the setting or flag, for error messages; the
    connection string itself never appears in one."""

    source: str
    connection_string: str | None = None
    endpoints: tuple[tuple[str, str], ...] = ()
    managed_identity: bool = False
    client_id: str | None = None

    def endpoint(self, service: str) -> str:
        found = dict(self.endpoints).get(service)
        if not found:
            raise UsageError(
                f"{self.source} gives no {service} endpoint: set {self._uri_setting(service)} or an account name"
            )
        return found

    def _uri_setting(self, service: str) -> str:
        if self.source.startswith("--"):
            return f"--{service}-service-uri"
        return f"{self.source}__{service}ServiceUri"

    def credential(self) -> Any:
        """A sync azure-identity credential for this target."""
        from azure.identity import DefaultAzureCredential, ManagedIdentityCredential

        if self.managed_identity:
            return ManagedIdentityCredential(client_id=self.client_id)
        if self.client_id:
            return DefaultAzureCredential(managed_identity_client_id=self.client_id)
        return DefaultAzureCredential()


def _https_uri(uri: str, source: str) -> str:
    parts = urlsplit(uri)
    if parts.scheme != "https" or not parts.netloc:
        raise UsageError(f"{source} must be an https:// URL (identity tokens are only sent over TLS)")
    return uri.rstrip("/")


def _account_endpoints(account: str | None, uris: dict[str, str | None], source: str) -> tuple[tuple[str, str], ...]:
    if account and not account.isalnum():
        raise UsageError(f"{source} must be a storage account name (letters and digits), not {account!r}")
    endpoints: list[tuple[str, str]] = []
    for service in SERVICES:
        uri = uris.get(service)
        if uri:
            endpoints.append((service, uri))
        elif account:
            endpoints.append((service, f"https://{account}.{service}.core.windows.net"))
    return tuple(endpoints)


def target_from_setting(name: str, setting: Callable[[str], str | None]) -> StorageTarget:
    """Connection `name` read as the Functions host reads it (`setting` looks up one app setting): a connection
    string in `name` (`UseDevelopmentStorage=true` is Azurite), else `name__accountName` or
    `name__tableServiceUri` / `__blobServiceUri` / `__queueServiceUri`, with `name__credential=managedidentity`
    and `name__clientId` (https://learn.microsoft.com/azure/azure-functions/functions-reference
    #configure-an-identity-based-connection)."""

    def value(key: str) -> str | None:
        found = setting(key)
        return found.strip() if found and found.strip() else None

    connection_string = value(name)
    if connection_string:
        if connection_string.rstrip(";").replace(" ", "").lower() == DEVELOPMENT_STORAGE.lower():
            connection_string = AZURITE_CONNECTION_STRING
        return StorageTarget(name, connection_string=connection_string)
    uris = {}
    for service in SERVICES:
        key = f"{name}__{service}ServiceUri"
        raw = value(key)
        uris[service] = _https_uri(raw, f"app setting {key}") if raw else None
    endpoints = _account_endpoints(value(f"{name}__accountName"), uris, f"app setting {name}__accountName")
    if not endpoints:
        raise UsageError(
            f"app setting {name!r} is set neither in the environment nor in local.settings.json (nor "
            f"{name}__accountName or {name}__tableServiceUri/__blobServiceUri/__queueServiceUri for an "
            "identity-based connection)"
        )
    credential = value(f"{name}__credential")
    if credential and credential.lower() != "managedidentity":
        raise UsageError(f"app setting {name}__credential must be 'managedidentity', not {credential!r}")
    return StorageTarget(name, endpoints=endpoints, managed_identity=bool(credential),
                         client_id=value(f"{name}__clientId"))


def target_from_flags(
    account: str | None, uris: dict[str, str | None], client_id: str | None
) -> StorageTarget:
    """`--storage-account` and/or `--{table,blob,queue}-service-uri`, with `--client-id` for a user-assigned
    managed identity (else `DefaultAzureCredential`)."""
    checked = {s: _https_uri(u, f"--{s}-service-uri") if u else None for s, u in uris.items()}
    endpoints = _account_endpoints(account, checked, "--storage-account")
    return StorageTarget("--storage-account", endpoints=endpoints, managed_identity=bool(client_id),
                         client_id=client_id)


class StorageAccount:
    """The table, queue and blob services of one storage account, by connection string or identity."""

    def __init__(self, target: StorageTarget | str) -> None:
        if isinstance(target, str):
            target = StorageTarget("connection string", connection_string=target)
        try:
            from azure.data.tables import TableServiceClient
            from azure.storage.blob import BlobServiceClient
            from azure.storage.queue import QueueServiceClient
        except ImportError as error:  # the queue SDK comes with the dev extra
            raise CliError(
                f"deleting a task hub from Azure Storage needs {error.name}: "
                "pip install azure-storage-queue azure-storage-blob"
            ) from error
        if target.connection_string is not None:
            try:
                self.tables = TableServiceClient.from_connection_string(target.connection_string, **_CLIENT_OPTIONS)
                self.queues = QueueServiceClient.from_connection_string(target.connection_string, **_CLIENT_OPTIONS)
                self.blobs = BlobServiceClient.from_connection_string(target.connection_string, **_CLIENT_OPTIONS)
            except ValueError as error:  # never echo the string: it holds the account key
                raise UsageError(f"{target.source} is not a valid storage connection string") from error
        else:
            credential = target.credential()
            self.tables = TableServiceClient(target.endpoint("table"), credential=credential, **_CLIENT_OPTIONS)
            self.queues = QueueServiceClient(target.endpoint("queue"), credential=credential, **_CLIENT_OPTIONS)
            self.blobs = BlobServiceClient(target.endpoint("blob"), credential=credential, **_CLIENT_OPTIONS)
        self.account_name = getattr(self.blobs, "account_name", None) or "the storage account"

    def _call(self, what: str, action: Callable[[], Any]) -> Any:
        from azure.core.exceptions import AzureError

        try:
            return action()
        except AzureError as error:
            message = str(error).splitlines()[0] if str(error) else type(error).__name__
            raise CliError(f"{what} failed in {self.account_name}: {message}") from error

    def find(self, hub: str) -> list[Artifact]:
        """The hub's artifacts that exist in the account right now."""
        lower = hub.lower()
        tables = self._call("listing tables", lambda: [t.name for t in self.tables.list_tables()])
        queues = self._call(
            "listing queues", lambda: [q.name for q in self.queues.list_queues(name_starts_with=lower + "-")]
        )
        containers = self._call(
            "listing containers",
            lambda: [c.name for c in self.blobs.list_containers(name_starts_with=lower + "-")],
        )
        return hub_artifacts(hub, tables, queues, containers)

    def delete(self, artifact: Artifact) -> bool:
        """Delete one artifact; False when it was already gone."""
        from azure.core.exceptions import ResourceNotFoundError

        actions: dict[str, Callable[[], Any]] = {
            "table": lambda: self.tables.delete_table(artifact.name),
            "queue": lambda: self.queues.delete_queue(artifact.name),
            "container": lambda: self.blobs.delete_container(artifact.name),
        }

        def run() -> bool:
            try:
                actions[artifact.kind]()
            except ResourceNotFoundError:
                return False
            return True

        return bool(self._call(f"deleting {artifact}", run))


def add_identity_arguments(parser: Any) -> None:
    """`delete-task-hub`'s flags for an identity-based account (besides `--connection-string-setting`)."""
    group = parser.add_argument_group("Azure Storage by identity (no keys)")
    group.add_argument("--storage-account", metavar="NAME",
                       help="delete from this storage account (https://NAME.{table,blob,queue}.core.windows.net) "
                       "with a token from azure-identity (az login, or a managed identity)")
    for service in SERVICES:
        group.add_argument(f"--{service}-service-uri", metavar="URL",
                           help=f"the account's {service} endpoint (instead of or besides --storage-account)")
    group.add_argument("--client-id", metavar="ID",
                       help="use the user-assigned managed identity with this client id")


def identity_flags_given(args: Any) -> bool:
    return any(getattr(args, name, None) for name in
               ("storage_account", "table_service_uri", "blob_service_uri", "queue_service_uri"))


def target_from_args(args: Any, setting: Callable[[str], str | None]) -> StorageTarget:
    """The storage target `delete-task-hub` was given: the identity flags, else `--connection-string-setting`."""
    if identity_flags_given(args):
        if args.connection_string_setting:
            raise UsageError("give either --connection-string-setting or --storage-account/--*-service-uri, not both")
        uris = {service: getattr(args, f"{service}_service_uri", None) for service in SERVICES}
        return target_from_flags(args.storage_account, uris, args.client_id)
    if args.client_id:
        raise UsageError("--client-id needs --storage-account or --table/--blob/--queue-service-uri")
    return target_from_setting(args.connection_string_setting, setting)
