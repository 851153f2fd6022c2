"""Archive before purge: write instances to Azure Blob storage, then purge only what was written.

Opt-in with the app setting `ARCHIVE_CONTAINER` (a blob container name; created when missing). The storage
account is the one of the app's own tables (connection `APP_STORAGE_CONNECTION`, else `AzureWebJobsStorage`,
either as a connection string or identity-based, through `_storage.blob_service`).

Each batch becomes one JSON Lines blob, `{taskHub}/{yyyy-mm-dd}/{runId}-{batch:05d}.jsonl`, one object per
instance in the shared archive format (docs/archive-format.md):

    {"format": "durable-instance/1", "taskHub": ..., "exportedAt": ..., "source": "local-host",
     "historyKind": "raw", "status": {...}, "history": [...]}

The history is raw (`historyKind: "raw"`, the events as the SDK replays them, which `durable replay` needs)
where the backend serves it: the local host's `GET /admin/host/instances/{id}/history`, which answers the
whole record. Elsewhere it is the Durable HTTP API's `showHistory` view, marked `historyKind: "http-api"`
(`source: "http-api"`). A batch is written whole or not at all; when the write fails, no instance of the batch
is purged and each is reported as failed with the reason. A repeat of a batch (after a crash) writes the same
blob again, keeping the records of the earlier attempt that it does not rewrite (the instances that attempt
already purged), so the archive loses no instance and never holds two copies of one.
"""

import asyncio
import json
import logging
import os
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

import aiohttp
import azure.durable_functions as df
from azure.core import MatchConditions
from azure.core.exceptions import ResourceExistsError

from blueprints._bulk_actions import Outcome, purge_all
from blueprints._instances import management_payload
from blueprints._management_api import task_hub
from blueprints._status import TERMINAL_STATUSES
from blueprints._storage import blob_service, first_configured
from blueprints._tables import APP_STORAGE_CONNECTIONS

logger = logging.getLogger(__name__)

FORMAT = "durable-instance/1"
ARCHIVE_CONCURRENCY = 16
_STATUS_KEYS = ("instanceId", "name", "runtimeStatus", "createdTime", "lastUpdatedTime", "input", "output",
                "customStatus")
_TIMEOUT = aiohttp.ClientTimeout(total=120, sock_connect=10)


def archive_container() -> str | None:
    """The container named by `ARCHIVE_CONTAINER`, or None when archiving is off."""
    return os.environ.get("ARCHIVE_CONTAINER", "").strip() or None


def blob_name(task_hub: str, run_id: str, batch: int, day: datetime) -> str:
    return f"{task_hub}/{day.astimezone(UTC):%Y-%m-%d}/{run_id}-{batch:05d}.jsonl"


def record(task_hub: str, status: dict[str, Any], exported_at: datetime) -> dict[str, Any]:
    """One instance in the archive format, from the HTTP API's status with `showHistory`."""
    return {
        "format": FORMAT,
        "taskHub": task_hub,
        "exportedAt": exported_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "source": "http-api",
        "historyKind": "http-api",
        "status": {key: status.get(key) for key in _STATUS_KEYS},
        "history": list(status.get("historyEvents") or []),
    }


@dataclass
class ArchiveResult:
    """What `archive_then_purge` did with one batch."""

    outcomes: list[Outcome] = field(default_factory=list)
    blob: str | None = None

    def count(self, result: str) -> int:
        return sum(1 for outcome in self.outcomes if outcome.result == result)


def raw_history_url(client: df.DurableOrchestrationClient, instance_id: str, hub: str) -> str:
    """The local host's raw-history endpoint for one instance, on the origin of the binding's URLs."""
    parts = urlsplit(management_payload(client, instance_id)["statusQueryGetUri"])
    return urlunsplit((parts.scheme, parts.netloc, f"/admin/host/instances/{quote(instance_id, safe='')}/history",
                       urlencode({"taskHub": hub}), ""))


async def _raw_record(session: aiohttp.ClientSession, client: df.DurableOrchestrationClient, instance_id: str,
                      hub: str) -> tuple[bool, dict[str, Any] | None]:
    """(whether the backend has the raw-history endpoint, the record or None when the instance is gone)."""
    async with session.get(raw_history_url(client, instance_id, hub)) as reply:
        body = await reply.json(content_type=None) if reply.content_type == "application/json" else None
        if reply.status == 200 and isinstance(body, dict) and body.get("historyKind") == "raw":
            return True, body
        if reply.status == 404 and isinstance(body, dict) and "error" in body:
            return True, None  # the endpoint is there; the instance is not
        return False, None


async def _api_record(session: aiohttp.ClientSession, client: df.DurableOrchestrationClient, instance_id: str,
                      hub: str, now: datetime) -> dict[str, Any] | None:
    url = (management_payload(client, instance_id)["statusQueryGetUri"]
           + "&showInput=true&showHistory=true&showHistoryOutput=true")
    async with session.get(url) as reply:
        if reply.status == 404:
            return None
        if reply.status not in (200, 202):
            raise RuntimeError(f"reading the status of '{instance_id}' failed: HTTP {reply.status}")
        body = await reply.json(content_type=None)
        return record(hub, body, now) if isinstance(body, dict) else None


@dataclass
class _Reader:
    """Reads archive records: raw history from the local host's endpoint, else the HTTP API's view."""

    session: aiohttp.ClientSession
    client: df.DurableOrchestrationClient
    hub: str
    now: datetime
    raw: bool | None = None  # unknown until the first answer

    async def read(self, instance_id: str) -> dict[str, Any] | None:
        if self.raw is not False:
            available, found = await _raw_record(self.session, self.client, instance_id, self.hub)
            if available:
                self.raw = True
                return found
            self.raw = False
        return await _api_record(self.session, self.client, instance_id, self.hub, self.now)


def _json_lines(lines: list[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(line, separators=(",", ":"), allow_nan=False) + "\n" for line in lines).encode()


def merged_batch(previous: bytes, lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The records of an earlier attempt of this batch that `lines` does not replace, then `lines`.

    A repeat after a crash is not the same batch: the instances the first attempt purged are gone, so the
    repeat lists the ones left (and, paging on, later ones). Their records live only in the earlier blob.
    """
    replaced = {line["status"]["instanceId"] for line in lines}
    kept = [item for item in (json.loads(text) for text in previous.decode().splitlines() if text.strip())
            if item.get("status", {}).get("instanceId") not in replaced]
    return [*kept, *lines]


async def write_batch(container: str, name: str, lines: list[dict[str, Any]]) -> None:
    """Write one JSON Lines blob. A repeat of the batch (after a crash) keeps the records of the earlier
    attempt and replaces those it writes again, so no archived instance is lost and none appears twice."""
    async with blob_service(first_configured(*APP_STORAGE_CONNECTIONS).name) as service:
        container_client = service.get_container_client(container)
        with suppress(ResourceExistsError):
            await container_client.create_container()
        try:
            await container_client.upload_blob(name, _json_lines(lines), overwrite=False)
            return
        except ResourceExistsError:
            pass
        blob = container_client.get_blob_client(name)
        download = await blob.download_blob()
        previous = bytes(await download.readall())
        await blob.upload_blob(_json_lines(merged_batch(previous, lines)), overwrite=True,
                               etag=download.properties.etag, match_condition=MatchConditions.IfNotModified)


async def read_one(reader: _Reader, instance_id: str) -> tuple[str, dict[str, Any] | None, str]:
    """(ID, its archive record or None when it does not exist, the error when reading failed)."""
    try:
        return instance_id, await reader.read(instance_id), ""
    except Exception as error:
        return instance_id, None, f"{type(error).__name__}: {error}"[:300]


async def archive_then_purge(client: df.DurableOrchestrationClient, instance_ids: list[str], run_id: str,
                             batch: int, container: str,
                             excluded: Callable[[str | None], bool] = lambda name: False) -> ArchiveResult:
    """Archive the terminal ones of `instance_ids` in one blob; purge them only once the blob is written."""
    hub = task_hub(client)
    now = datetime.now(UTC)
    result = ArchiveResult()
    limit = asyncio.Semaphore(ARCHIVE_CONCURRENCY)
    async with aiohttp.ClientSession(timeout=_TIMEOUT) as session:

        reader = _Reader(session, client, hub, now)
        if instance_ids:  # the first answer tells whether the backend serves raw history
            first = await read_one(reader, instance_ids[0])

        async def read(instance_id: str) -> tuple[str, dict[str, Any] | None, str]:
            async with limit:
                return await read_one(reader, instance_id)

        records = [first, *await asyncio.gather(*(read(i) for i in instance_ids[1:]))] if instance_ids else []
        lines: list[dict[str, Any]] = []
        for instance_id, found, error in records:
            if error:
                result.outcomes.append(Outcome(instance_id, "failed", error))
            elif found is None:
                result.outcomes.append(Outcome(instance_id, "skipped", "no such instance (already purged?)"))
            elif excluded(found["status"].get("name")):
                result.outcomes.append(Outcome(instance_id, "skipped",
                                               f"it is a management orchestration ({found['status'].get('name')})"))
            elif (status := found["status"].get("runtimeStatus")) not in TERMINAL_STATUSES:
                result.outcomes.append(Outcome(instance_id, "skipped",
                                               f"it is {status}; only finished instances are purged"))
            else:
                lines.append(found)
        if not lines:
            return result
        name = blob_name(hub, run_id, batch, now)
        try:
            await write_batch(container, name, lines)
        except Exception as error:
            logger.warning("archiving %d instances to %s/%s failed; none of them is purged: %s", len(lines),
                           container, name, error)
            reason = f"archive write failed, not purged: {type(error).__name__}: {error}"[:300]
            result.outcomes += [Outcome(line["status"]["instanceId"], "failed", reason) for line in lines]
            return result
        result.blob = name

        result.outcomes += await purge_all(session, client, [line["status"]["instanceId"] for line in lines],
                                           ARCHIVE_CONCURRENCY)
    return result
