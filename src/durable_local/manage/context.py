"""What every command handler gets: its parsed flags, the app's settings, an API client and the output;
plus the lookups several commands share (an instance's status, a selection of instances)."""

from __future__ import annotations

import argparse
import os
import sys
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from durable_local.manage import environments
from durable_local.manage.client import DEFAULT_BASE_URL, DurableClient, InstanceQuery, Response
from durable_local.manage.errors import CliError, UsageError
from durable_local.manage.output import Output, Progress
from durable_local.manage.settings import AppSettings

BASE_URL_ENV = "DURABLE_BASE_URL"
SYSTEM_KEY_ENV = "DURABLE_SYSTEM_KEY"


@dataclass
class Context:
    """One command run: flags, settings, the client for the chosen app and task hub, and the output."""

    args: argparse.Namespace
    settings: AppSettings
    client: DurableClient
    out: Output
    task_hub: str | None
    task_hub_source: str = "host.json"

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Context:
        """Flags first, then the chosen environment (`--env`, `$DURABLE_ENV`), then `$DURABLE_BASE_URL` and
        `$DURABLE_SYSTEM_KEY`, then the app folder's host.json and the defaults."""
        settings = AppSettings(Path(args.app_dir))
        environment = environments.selected(getattr(args, "env", None))
        if args.task_hub_name:
            task_hub, source = args.task_hub_name, "--task-hub-name"
        elif environment and environment.task_hub:
            task_hub, source = environment.task_hub, f"environment '{environment.name}'"
        else:
            task_hub, source = settings.task_hub(None), str(settings.app_dir / "host.json")
        base_url = check_base_url(
            args.base_url
            or (environment.base_url if environment else None)
            or os.environ.get(BASE_URL_ENV)
            or DEFAULT_BASE_URL
        )
        code = args.code or (environment.key() if environment else None) or os.environ.get(SYSTEM_KEY_ENV) or None
        client = DurableClient(base_url, code=code, task_hub=task_hub, connection=args.connection_string_setting)
        return cls(args, settings, client, Output(args.output), task_hub, source)

    def check_served_task_hub(self) -> None:
        """Refuse to work on a task hub the local host does not run, instead of answering "No instances found".

        Only the local host says which hub it runs; on Azure and under `func start`, `taskHub=` legitimately
        reads other hubs of the storage account, so nothing is checked there. A hub the host does not run but
        whose data is in its store (an earlier `--task-hub`) can still be read, with a note on stderr.
        """
        if not self.task_hub:
            return
        served = self.client.local_host_task_hub()
        if served is None or served == self.task_hub:
            return
        stored = self.client.task_hub_admin("GET", self.task_hub)
        summary = stored.json() if stored.status == 200 else None
        if isinstance(summary, dict) and summary.get("instances"):
            sys.stderr.write(
                f"note: the local host at {self.client.base_url} runs task hub '{served}'; showing the stored "
                f"data of task hub '{self.task_hub}' (from {self.task_hub_source})\n"
            )
            return
        raise CliError(
            f"the local host at {self.client.base_url} runs task hub '{served}', not '{self.task_hub}' (from "
            f"{self.task_hub_source}); start it with `durable host start --task-hub {self.task_hub}`, or pass "
            f"--task-hub-name {served}"
        )

    def in_hub(self) -> str:
        return f" in task hub '{self.task_hub}'" if self.task_hub else ""

    def not_found(self, instance_id: str) -> CliError:
        return CliError(f"no instance with ID '{instance_id}' found{self.in_hub()}")

    def status(self, instance_id: str, *, show_input: bool = False, show_history: bool = False) -> dict[str, Any]:
        """The instance's status JSON, or a one-line 'not found' error."""
        response = self.client.get_status(
            instance_id, show_input=show_input, show_history=show_history, show_history_output=show_history
        )
        if response.status == 404:
            raise self.not_found(instance_id)
        status = self.client.expect(response, 200, 202, 500).json()
        if not isinstance(status, dict) or "runtimeStatus" not in status:
            raise CliError(f"GET {response.url} did not return a status object")
        return status

    def operation_error(self, response: Response, instance_id: str, action: str, hint: str = "") -> CliError:
        """Explain a refused instance operation: unknown instance (404), or its current state (410, 500)."""
        if response.status == 404:
            return self.not_found(instance_id)
        if response.status in (400, 410, 500):
            try:
                current = self.status(instance_id).get("runtimeStatus")
            except CliError as error:
                if response.status == 400:
                    return error
                current = None
            if current and response.status != 400:
                return CliError(f"cannot {action} instance '{instance_id}': its status is {current}{hint}")
            detail = response.detail()
            if detail:
                return CliError(f"cannot {action} instance '{instance_id}': {detail}")
        try:
            self.client.expect(response)
        except CliError as error:
            return error
        return CliError(f"cannot {action} instance '{instance_id}'")

    def select(self, query: InstanceQuery, *, page_size: int = 500) -> list[dict[str, Any]]:
        """Every instance matching `query`, paging through the API, with progress on stderr."""
        progress = Progress()
        found: list[dict[str, Any]] = []
        pages = 0
        for items, token in self.client.iter_pages(query, top=page_size):
            found.extend(items)
            pages += 1
            if token is not None:  # more pages to come: worth telling
                progress.update(f"Listing instances: {len(found)} so far...")
        if pages > 1:
            progress.done(f"Listing instances: {len(found)} found.")
        return found


def check_base_url(text: str) -> str:
    """An http(s) URL with a host and no spaces, or a usage error naming --base-url."""
    try:
        parts = urllib.parse.urlsplit(text)
        valid = parts.scheme in ("http", "https") and bool(parts.hostname) and " " not in text
        _ = parts.port  # raises ValueError for a malformed port
    except ValueError:
        valid = False
    if not valid:
        raise UsageError(f"--base-url must be an http(s) URL such as http://localhost:7071, not {text!r}")
    return text
