"""The app folder's configuration, read as Core Tools reads it before `func start`.

- `local.settings.json`: its `Values` become environment variables of the host process. A variable that is
  already set in the environment wins, so tests and CI can point settings elsewhere without editing files.
- `host.json`: `extensions.http.routePrefix` (default `api`) and `extensions.durableTask.hubName`, which may be
  `%SETTING%` (an unset setting is an error, as in WebJobs' name resolver); without it the local default hub
  is `TestHubName` (EXT `DurableTaskOptions`).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from durable_local.vocabulary import LOCAL_DEFAULT_TASK_HUB, resolve_setting_references

_HUB_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9]{2,44}$")


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

    @classmethod
    def load(cls, app_dir: Path) -> AppConfig:
        settings = _read_json(app_dir / "local.settings.json")
        values = {str(k): str(v) for k, v in (settings.get("Values") or {}).items() if v is not None}
        return cls(app_dir, _read_json(app_dir / "host.json"), values, dict(settings.get("Host") or {}))

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

    @property
    def extensions(self) -> dict[str, Any]:
        return self.host_json.get("extensions") or {}

    def extension(self, name: str) -> dict[str, Any]:
        """host.json `extensions.<name>` (e.g. `queues`), empty when absent."""
        section = self.extensions.get(name)
        return section if isinstance(section, dict) else {}

    @property
    def route_prefix(self) -> str:
        prefix = (self.extensions.get("http") or {}).get("routePrefix", "api")
        return str(prefix or "").strip("/")

    def task_hub(self, override: str | None = None) -> str:
        hub = override or (self.extensions.get("durableTask") or {}).get("hubName") or LOCAL_DEFAULT_TASK_HUB
        try:
            hub = resolve_setting_references(str(hub), os.environ)
        except ValueError as error:
            raise ConfigError(f"The task hub name '{hub}' in host.json: {error}") from error
        if not _HUB_NAME.match(hub):
            raise ConfigError(f"Task hub name '{hub}' is invalid: it must start with a letter, hold only "
                              "letters and digits, and be 3 to 45 characters long.")
        return hub
