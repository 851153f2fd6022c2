"""A task hub's artifacts in an Azure Storage account (http-api.md sections 5.1 and 5.7), found and deleted
exactly: tables `{hub}History`, `{hub}Instances`, `{hub}Partitions`; queues `{hub}-control-NN` and
`{hub}-workitems`; containers `{hub}-leases`, `{hub}-applease`, `{hub}-largemessages` (lower-case hub in queue
and container names). Nothing else in the account is touched, even when its name starts with the hub's."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from durable_local.manage.errors import CliError, UsageError

_HUB_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9]{2,44}$")
_CLIENT_OPTIONS: dict[str, Any] = {"retry_total": 1, "connection_timeout": 10, "read_timeout": 30}


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


class StorageAccount:
    """The table, queue and blob services of one storage account, reached through a connection string."""

    def __init__(self, connection_string: str) -> None:
        try:
            from azure.data.tables import TableServiceClient
            from azure.storage.blob import BlobServiceClient
            from azure.storage.queue import QueueServiceClient
        except ImportError as error:  # the queue and blob SDKs come with the dev extra
            raise CliError(
                f"deleting a task hub from Azure Storage needs {error.name}: "
                "pip install azure-storage-queue azure-storage-blob"
            ) from error
        try:
            self.tables = TableServiceClient.from_connection_string(connection_string, **_CLIENT_OPTIONS)
            self.queues = QueueServiceClient.from_connection_string(connection_string, **_CLIENT_OPTIONS)
            self.blobs = BlobServiceClient.from_connection_string(connection_string, **_CLIENT_OPTIONS)
        except ValueError as error:
            raise UsageError(f"invalid storage connection string: {error}") from error
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
