"""Archive before purge: write instances to Azure Blob storage, then purge only what was written.

Opt-in with the app setting `ARCHIVE_CONTAINER` (a blob container name; created when missing). The storage
account is the one of the app's own tables (connection `APP_STORAGE_CONNECTION`, else `AzureWebJobsStorage`,
either as a connection string or identity-based, through `_storage.blob_service`).

Each batch becomes one JSON Lines blob, `{taskHub}/{yyyy-mm-dd}/{runId}-{batch:05d}.jsonl`, one object per
instance in the shared archive format (docs/archive-format.md):

    {"format": "durable-instance/1", "taskHub": ..., "exportedAt": ..., "source": "http-api",
     "historyKind": "http-api", "status": {...}, "history": [...]}

The history is the Durable HTTP API's `showHistory` view (marked `historyKind: "http-api"`), which every
backend serves. A batch is written whole or not at all; when the write fails, no instance of the batch is
purged and each is reported as failed with the reason. A repeat of a batch (after a crash) overwrites the
same blob, so the archive never holds two copies of one batch.
"""

import asyncio
import json
import logging
import os
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aiohttp
import azure.durable_functions as df
from azure.core.exceptions import ResourceExistsError

from blueprints._bulk_actions import Outcome, purge_terminal
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


async def _full_status(session: aiohttp.ClientSession, client: df.DurableOrchestrationClient,
                       instance_id: str) -> dict[str, Any] | None:
    url = (management_payload(client, instance_id)["statusQueryGetUri"]
           + "&showInput=true&showHistory=true&showHistoryOutput=true")
    async with session.get(url) as reply:
        if reply.status == 404:
            return None
        if reply.status not in (200, 202):
            raise RuntimeError(f"reading the status of '{instance_id}' failed: HTTP {reply.status}")
        body = await reply.json(content_type=None)
        return body if isinstance(body, dict) else None


async def write_batch(container: str, name: str, lines: list[dict[str, Any]]) -> None:
    """Write one JSON Lines blob (overwriting a previous attempt of the same batch)."""
    data = "".join(json.dumps(line, separators=(",", ":"), allow_nan=False) + "\n" for line in lines).encode()
    async with blob_service(first_configured(*APP_STORAGE_CONNECTIONS).name) as service:
        container_client = service.get_container_client(container)
        with suppress(ResourceExistsError):
            await container_client.create_container()
        await container_client.upload_blob(name, data, overwrite=True)


async def archive_then_purge(client: df.DurableOrchestrationClient, instance_ids: list[str], run_id: str,
                             batch: int, container: str) -> ArchiveResult:
    """Archive the terminal ones of `instance_ids` in one blob; purge them only once the blob is written."""
    hub = task_hub(client)
    now = datetime.now(UTC)
    result = ArchiveResult()
    limit = asyncio.Semaphore(ARCHIVE_CONCURRENCY)
    async with aiohttp.ClientSession(timeout=_TIMEOUT) as session:

        async def read(instance_id: str) -> tuple[str, dict[str, Any] | None, str]:
            async with limit:
                try:
                    return instance_id, await _full_status(session, client, instance_id), ""
                except Exception as error:
                    return instance_id, None, f"{type(error).__name__}: {error}"[:300]

        statuses = await asyncio.gather(*(read(instance_id) for instance_id in instance_ids))
        lines: list[dict[str, Any]] = []
        for instance_id, status, error in statuses:
            if error:
                result.outcomes.append(Outcome(instance_id, "failed", error))
            elif status is None:
                result.outcomes.append(Outcome(instance_id, "skipped", "no such instance (already purged?)"))
            elif status.get("runtimeStatus") not in TERMINAL_STATUSES:
                result.outcomes.append(Outcome(instance_id, "skipped", f"it is {status.get('runtimeStatus')}; "
                                                                       "only finished instances are purged"))
            else:
                lines.append(record(hub, status, now))
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

        async def purge(instance_id: str) -> Outcome:
            async with limit:
                return await purge_terminal(session, client, instance_id)

        result.outcomes += await asyncio.gather(*(purge(line["status"]["instanceId"]) for line in lines))
    return result
