"""The app folder's configuration, read as Core Tools reads it before `func start`.

- `local.settings.json`: its `Values` become environment variables of the host process. A variable that is
  already set in the environment wins, so tests and CI can point settings elsewhere without editing files.
- `host.json`: `extensions.http.routePrefix` (default `api`) and `extensions.durableTask.hubName`, which may be
  `%SETTING%` (an unset setting is an error, as in WebJobs' name resolver); without it the local default hub
  is `TestHubName` (EXT `DurableTaskOptions`).
- `AzureFunctionsJobHost__*` app settings (environment variables, or `Values` of local.settings.json) override
  host.json values. They are applied here, once, in `AppConfig.load` (`host_json.merge`), so `host_json` and
  `host` (typed readers: `host.integer("extensions.queues.maxDequeueCount", 5)`) are the merged view for every
  reader; `apply_settings` logs which keys were overridden (names, not values).
- `extensions.durableTask.storageProvider.type`: the local host has one backend, SQLite. Another provider
  (`azureManaged` for the Durable Task Scheduler, `mssql`, `netherite`) is logged at start as not used here,
  and the host runs on SQLite: the app's code is the same whichever backend runs it.
- `extensionBundle`: checked at start (`extension_bundle`): missing is a warning, a wrong `id` or a range
  without a 4.x bundle an error.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from durable_local.host.extension_bundle import ExtensionBundleError, check_extension_bundle
from durable_local.host.host_json import HostJson, HostJsonError, merge
from durable_local.vocabulary import LOCAL_DEFAULT_TASK_HUB, resolve_setting_references

log = logging.getLogger(__name__)
_HUB_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9]{2,44}$")
# host.json paths the local host acts on (lower case; a path under one of them counts): an override of any other
# key is accepted but changes nothing here, and the start says so (`AppConfig.unread_overrides`).
READ_HOST_JSON_PATHS = ("extensionbundle", "extensions.http.routeprefix", "extensions.durabletask.hubname",
                        "extensions.durabletask.storageprovider", "extensions.queues",
                        "extensions.blobs.poisonblobthreshold")


class ConfigError(ValueError):
    """host.json or local.settings.json cannot be used."""


def _read_json(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        data = json.loads(strip_json_comments(path.read_text(encoding="utf-8-sig")))
    except ValueError as error:
        raise ConfigError(f"{path.name} is not valid JSON: {error}") from error
    if not isinstance(data, dict):
        raise ConfigError(f"{path.name} must hold a JSON object.")
    return data


def strip_json_comments(text: str) -> str:
    """Remove `//` and `/* */` comments outside strings: the host's JSON reader (Newtonsoft) accepts them."""
    out: list[str] = []
    position, length, in_string = 0, len(text), False
    while position < length:
        char = text[position]
        if in_string:
            out.append(char)
            if char == "\\" and position + 1 < length:
                out.append(text[position + 1])
                position += 1
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
            out.append(char)
        elif text.startswith("//", position):
            end = text.find("\n", position)
            position = length if end < 0 else end
            continue
        elif text.startswith("/*", position):
            end = text.find("*/", position + 2)
            position = length if end < 0 else end + 2
            continue
        else:
            out.append(char)
        position += 1
    return "".join(out)


@dataclass
class AppConfig:
    """An app folder's host.json and local.settings.json, as the host reads them at start."""

    app_dir: Path
    host_json: dict[str, Any] = field(default_factory=dict)
    values: dict[str, str] = field(default_factory=dict)
    host_settings: dict[str, Any] = field(default_factory=dict)  # local.settings.json "Host"
    host: HostJson = field(default_factory=HostJson)  # host_json with its overrides, typed readers

    @classmethod
    def load(cls, app_dir: Path, environ: Mapping[str, str] | None = None) -> AppConfig:
        """Read both files and apply `AzureFunctionsJobHost__*` overrides (the environment wins over `Values`)."""
        settings = _read_json(app_dir / "local.settings.json")
        values = {str(k): str(v) for k, v in (settings.get("Values") or {}).items() if v is not None}
        try:
            host = merge(_read_json(app_dir / "host.json"), {**values, **(os.environ if environ is None else environ)})
        except HostJsonError as error:
            raise ConfigError(str(error)) from error
        return cls(app_dir, host.data, values, dict(settings.get("Host") or {}), host)

    @property
    def local_http_port(self) -> int | None:
        """local.settings.json `Host.LocalHttpPort`, which Core Tools uses when `--port` is not given."""
        port = self.host_settings.get("LocalHttpPort")
        try:
            return int(port) if port is not None else None
        except (TypeError, ValueError) as error:
            raise ConfigError(f"local.settings.json Host.LocalHttpPort must be a port number, not {port!r}") from error

    def apply_settings(self) -> None:
        for name, value in self.values.items():
            os.environ.setdefault(name, value)
        os.environ.setdefault("AzureWebJobsScriptRoot", str(self.app_dir))
        if self.host.overridden:
            log.info("host.json values overridden by app settings: %s",
                     ", ".join(sorted(self.host.overridden.values(), key=str.lower)))
        if unread := self.unread_overrides():
            log.warning("These app settings override host.json keys the local host does not use, so they change "
                        "nothing here (they apply on Azure): %s", ", ".join(unread))
        self.report_storage_provider()
        self.check_extension_bundle()
        self.check_function_timeout()

    def unread_overrides(self) -> list[str]:
        """The `AzureFunctionsJobHost__*` settings whose host.json key the local host never reads
        (`READ_HOST_JSON_PATHS`), e.g. `logging`, `functions`, `functionTimeout` or the Durable concurrency
        limits, by setting name."""
        def read(path: str) -> bool:
            return any(path == known or path.startswith(known + ".") for known in READ_HOST_JSON_PATHS)

        return sorted((name for path, name in self.host.overridden.items() if not read(path)), key=str.lower)

    def check_function_timeout(self) -> None:
        """`functionTimeout` must be a TimeSpan (the host binds it at start and stops when it cannot); the
        local host does not enforce it."""
        try:
            self.host.timespan("functionTimeout")
        except HostJsonError as error:
            raise ConfigError(str(error)) from error

    def check_extension_bundle(self) -> None:
        """`extensionBundle` as a Python v2 Durable app needs it (`extension_bundle`): warnings are logged, an
        error stops the start, as on Azure a bundle the host cannot use stops the host."""
        try:
            warnings = check_extension_bundle(self.host.get("extensionBundle"))
        except ExtensionBundleError as error:
            raise ConfigError(str(error)) from error
        for warning in warnings:
            log.warning("%s", warning)

    def report_storage_provider(self) -> None:
        """Log that a configured Durable storage provider other than SQLite is not used locally (no failure)."""
        provider = self.durable_setting("storageProvider.type")
        if provider:
            log.warning("Durable storage provider '%s' (%s) is configured; the local host keeps the task hub in "
                        "its SQLite store instead.", provider, self.host.source("extensions.durableTask."
                                                                                 "storageProvider.type"))

    def durable_setting(self, path: str) -> str | None:
        try:
            return self.host.string(f"extensions.durableTask.{path}")
        except HostJsonError as error:
            raise ConfigError(str(error)) from error

    @property
    def extensions(self) -> dict[str, Any]:
        return self.host.section("extensions")

    @property
    def route_prefix(self) -> str:
        try:
            prefix = self.host.string("extensions.http.routePrefix", "api")
        except HostJsonError as error:
            raise ConfigError(str(error)) from error
        return str(prefix or "").strip("/")

    def task_hub(self, override: str | None = None) -> str:
        hub = override or self.durable_setting("hubName") or LOCAL_DEFAULT_TASK_HUB
        try:
            hub = resolve_setting_references(str(hub), os.environ)
        except ValueError as error:
            raise ConfigError(f"The task hub name '{hub}' in host.json: {error}") from error
        if not _HUB_NAME.match(hub):
            raise ConfigError(f"Task hub name '{hub}' is invalid: it must start with a letter, hold only "
                              "letters and digits, and be 3 to 45 characters long.")
        return hub
