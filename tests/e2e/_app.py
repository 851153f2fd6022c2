"""Helpers for the function app's end-to-end tests: the app at the repo root on a LocalHost, with Azurite.

Each test module starts one host (module-scoped fixture) because a start costs about a second.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from durable_local.testing import LocalHost, Response

APP_DIR = Path(__file__).resolve().parents[2]


def app_settings(connection_string: str, **extra: str) -> dict[str, str]:
    """The app settings of local.settings.json.example, pointed at the test's Azurite."""
    return {
        "AzureWebJobsStorage": connection_string,
        "FUNCTIONS_WORKER_RUNTIME": "python",
        "PURGE_SCHEDULE": "0 0 0 * * *",
        "PURGE_RUNTIME_STATUSES": "Completed",
        "RETENTION_DAYS": "30",
        "PURGE_WINDOW_HOURS": "24",
        "PAYLOAD_TABLE_NAME": "ManagementPayloads",
        "CONFIG_TABLE_NAME": "OperatorSettings",
        **extra,
    }


@contextmanager
def app_host(azurite: Any, *, virtual_clock: bool = False, clock_start: datetime | None = None,
             **settings: str) -> Iterator[LocalHost]:
    host = LocalHost(APP_DIR, virtual_clock=virtual_clock, clock_start=clock_start,
                     env=app_settings(azurite.connection_string, **settings))
    with host:
        yield host


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def error_of(reply: Response) -> str:
    """The message of a JSON error reply (and a check that the reply is one)."""
    body = reply.json()
    assert isinstance(body, dict) and isinstance(body.get("error"), str), reply.body
    return body["error"]


def start(host: LocalHost, name: str, body: Any = None, instance_id: str | None = None) -> str:
    path = f"/orchestrators/{name}" + (f"/{instance_id}" if instance_id else "")
    reply = host.post(path, body)
    assert reply.status == 202, reply.body
    return str(reply.json()["id"])
