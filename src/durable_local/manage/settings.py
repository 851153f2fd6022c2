"""Where the app's settings come from, as Core Tools reads them: the environment first, then the `Values`
of `local.settings.json`; the task hub from `host.json` (`extensions.durableTask.hubName`, with `%SETTING%`
resolved, overridden by an `AzureFunctionsJobHost__extensions__durableTask__hubName` setting as on the host)."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from durable_local.manage.errors import CliError, UsageError
from durable_local.vocabulary import SettingNotFoundError, resolve_setting_references

logger = logging.getLogger(__name__)

DEVELOPMENT_STORAGE = "UseDevelopmentStorage=true"
AZURITE_CONNECTION_STRING = (
    "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
    "AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;"
    "BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;"
    "QueueEndpoint=http://127.0.0.1:10001/devstoreaccount1;"
    "TableEndpoint=http://127.0.0.1:10002/devstoreaccount1;"
)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8-sig"))
    except OSError as error:
        raise CliError(f"cannot read {path}: {error.strerror or error}") from error
    except json.JSONDecodeError as error:
        raise CliError(f"{path} is not valid JSON ({error.msg} at line {error.lineno})") from error


@dataclass
class AppSettings:
    """The settings of the app folder the command runs from (or `--app-dir`)."""

    app_dir: Path
    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)

    def local_values(self) -> dict[str, str]:
        """`Values` of `local.settings.json`, or nothing when the file does not exist."""
        path = self.app_dir / "local.settings.json"
        if not path.is_file():
            return {}
        data = _read_json(path)
        values = data.get("Values") if isinstance(data, dict) else None
        return {str(k): str(v) for k, v in values.items()} if isinstance(values, dict) else {}

    def setting(self, name: str) -> str | None:
        """An app setting: environment variable first, then `local.settings.json` `Values`."""
        if name in self.environ:
            return self.environ[name]
        return self.local_values().get(name)

    def host_json_hub_name(self) -> str | None:
        """host.json `extensions.durableTask.hubName` (or 1.x `durableTask.hubName`), settings resolved."""
        path = self.app_dir / "host.json"
        if not path.is_file():
            return None
        data = _read_json(path)
        if not isinstance(data, dict):
            return None
        # The host's own merge of `AzureFunctionsJobHost__*` overrides, so the CLI names the hub the host serves.
        from durable_local.host.host_json import HostJsonError, merge  # the CLI imports no host module at start

        try:
            merged = merge(data, {**self.local_values(), **self.environ})
            hub = merged.string("extensions.durableTask.hubName") or merged.string("durableTask.hubName")
        except HostJsonError as error:
            raise CliError(str(error)) from error
        if not hub:
            return None
        return self.resolve_references(str(hub), source="host.json hubName")

    def resolve_references(self, text: str, *, source: str) -> str:
        """Replace each `%NAME%` with the app setting NAME, as the Functions host does for binding values."""

        try:
            return resolve_setting_references(text, self.setting)
        except SettingNotFoundError as error:
            raise CliError(f"{source} refers to app setting %{error.name}%, which is set neither in the "
                           "environment nor in local.settings.json") from error
        except ValueError as error:
            raise CliError(f"{source}: {error}") from error

    def task_hub(self, explicit: str | None) -> str | None:
        """`--task-hub-name`, else host.json's hub name, else None (the app's own default hub)."""
        if explicit:
            return explicit
        hub = self.host_json_hub_name()
        if hub:
            logger.debug("task hub %s from %s", hub, self.app_dir / "host.json")
        return hub

    def connection_string(self, setting_name: str) -> str:
        """The connection string in app setting `setting_name` (Azurite's for `UseDevelopmentStorage`)."""
        value = self.setting(setting_name)
        if not value:
            raise UsageError(
                f"app setting {setting_name!r} is set neither in the environment nor in "
                f"{self.app_dir / 'local.settings.json'}"
            )
        if value.strip().rstrip(";").lower() == DEVELOPMENT_STORAGE.lower():
            return AZURITE_CONNECTION_STRING
        return value
