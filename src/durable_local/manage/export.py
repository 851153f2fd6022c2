"""Instance records in the shared archive/export format (`durable-instance/1`): fetched from a running app, and
written to a `.json` file (one record), a `.jsonl` file (one per line) or a folder (one `.json` per instance).

From the local host the record comes whole from its raw-history endpoint
(`GET /admin/host/instances/{id}/history`, `historyKind: "raw"`); from other hosts (Azure, `func start`) it is
built from the Durable HTTP API's status with `showHistory` (`historyKind: "http-api"`), which drops the
sequence ids replay needs, so replaying it is best effort.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from durable_local.manage.context import Context
from durable_local.manage.errors import CliError, UsageError
from durable_local.manage.parsing import format_datetime
from durable_local.manage.replay import EXPORT_FORMAT, check_record


def fetch_record(ctx: Context, instance_id: str) -> dict[str, Any]:
    """The instance's record: raw history from the local host, else the HTTP API's view."""
    response = ctx.client.raw_history(instance_id)
    if response.status == 200:
        return check_record(response.json(), f"GET {response.url}")
    if response.status == 404 and response.detail():  # the endpoint exists; the instance does not
        raise ctx.not_found(instance_id)
    status = ctx.status(instance_id, show_input=True, show_history=True)
    history = status.pop("historyEvents", None) or []
    return {
        "format": EXPORT_FORMAT,
        "taskHub": ctx.task_hub,
        "exportedAt": format_datetime(datetime.now(UTC)),
        "source": "http-api",
        "historyKind": "http-api",
        "status": status,
        "history": history,
    }


def write_records(path: Path, records: list[dict[str, Any]]) -> str:
    """Write `records` to `path` (by its form, see the module docstring); returns what was written, for people."""
    if path.suffix == ".jsonl":
        text = "".join(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n" for record in records)
        _write(path, text)
        return f"{len(records)} records to {path}"
    if path.suffix == ".json":
        if len(records) != 1:
            raise UsageError(f"{path}: a .json file holds one instance, not {len(records)}; use .jsonl or a folder")
        _write(path, json.dumps(records[0], ensure_ascii=False, indent=2) + "\n")
        return f"1 record to {path}"
    if path.exists() and not path.is_dir():
        raise UsageError(f"{path}: give a .json file, a .jsonl file or a folder")
    path.mkdir(parents=True, exist_ok=True)
    for record in records:
        name = record["status"]["instanceId"].replace("/", "_").replace("\\", "_")
        _write(path / f"{name}.json", json.dumps(record, ensure_ascii=False, indent=2) + "\n")
    return f"{len(records)} records to folder {path}"


def _write(path: Path, text: str) -> None:
    temporary = path.with_name(path.name + ".tmp")
    try:
        temporary.write_text(text, encoding="utf-8")
        temporary.replace(path)
    except OSError as error:
        raise CliError(f"cannot write {path}: {error.strerror or error}") from error
