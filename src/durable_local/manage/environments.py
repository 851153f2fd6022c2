"""Named environments (profiles): which app the CLI (and the dashboard) talks to, so one command line serves
local, staging and production.

A TOML file, `$DURABLE_CONFIG`, else `$XDG_CONFIG_HOME/durable/environments.toml`, else
`~/.config/durable/environments.toml`:

    default = "local"                      # optional: used when neither --env nor $DURABLE_ENV names one

    [environments.local]
    base_url = "http://localhost:7071"

    [environments.staging]
    base_url = "https://myapp-staging.azurewebsites.net"
    task_hub = "StagingHub"                # optional: else --task-hub-name, else host.json
    key_env = "STAGING_DURABLE_KEY"        # the system key is read from this environment variable, or
    # key_command = "az functionapp keys list -g my-rg -n myapp-staging --query systemKeys.durabletask_extension -o tsv"
    # key = "..."                          # the key itself, only if you write it there yourself

`key_command` runs without a shell (split like a POSIX command line) when a command needs the key; its
standard output, stripped, is the key. The key never appears in `durable env list/show` output.

`resolve(name)` is the one entry point: it picks the environment (`name`, else `$DURABLE_ENV`, else the file's
`default`) and returns its base URL, key and task hub.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from durable_local.manage.errors import CliError, UsageError

CONFIG_ENV = "DURABLE_CONFIG"
ENVIRONMENT_ENV = "DURABLE_ENV"
KEY_COMMAND_TIMEOUT = 60.0
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
_FIELDS = ("base_url", "task_hub", "key_env", "key_command", "key")


def config_path(environ: Mapping[str, str] | None = None) -> Path:
    """Where the environments file is (it need not exist)."""
    env = os.environ if environ is None else environ
    if env.get(CONFIG_ENV):
        return Path(env[CONFIG_ENV]).expanduser()
    base = Path(env["XDG_CONFIG_HOME"]).expanduser() if env.get("XDG_CONFIG_HOME") else Path.home() / ".config"
    return base / "durable" / "environments.toml"


@dataclass(frozen=True)
class Environment:
    """One named environment as written in the file; `key()` fetches the system key from where it is kept."""

    name: str
    base_url: str
    task_hub: str | None = None
    key_env: str | None = None
    key_command: str | None = None
    key_value: str | None = None

    def key_source(self) -> str:
        """Where the key comes from, for people (never the key itself)."""
        if self.key_env:
            return f"environment variable {self.key_env}"
        if self.key_command:
            return f"command: {self.key_command}"
        if self.key_value:
            return "the environments file (key = ...)"
        return "none"

    def key(self, environ: Mapping[str, str] | None = None) -> str | None:
        """The system key, or None when the environment has none; a clear error when its source fails."""
        env = os.environ if environ is None else environ
        if self.key_env:
            value = env.get(self.key_env)
            if not value:
                raise CliError(f"environment '{self.name}' reads its key from ${self.key_env}, which is not set")
            return value
        if self.key_command:
            return _run_key_command(self.name, self.key_command)
        return self.key_value

    def describe(self) -> dict[str, Any]:
        """The environment as JSON for `durable env show`, with the key's source instead of the key."""
        return {"name": self.name, "baseUrl": self.base_url, "taskHub": self.task_hub, "key": self.key_source()}


@dataclass(frozen=True)
class Resolved:
    """What a command (or the dashboard) needs to reach the app of an environment."""

    name: str
    base_url: str
    key: str | None
    task_hub: str | None


def _run_key_command(name: str, command: str) -> str:
    try:
        argv = shlex.split(command)
        done = subprocess.run(argv, capture_output=True, text=True, timeout=KEY_COMMAND_TIMEOUT, check=False)
    except (ValueError, OSError) as error:
        raise CliError(f"environment '{name}': cannot run key_command {command!r}: {error}") from error
    except subprocess.TimeoutExpired as error:
        raise CliError(f"environment '{name}': key_command took longer than {KEY_COMMAND_TIMEOUT:g} s") from error
    if done.returncode != 0:
        tail = " ".join(done.stderr.split())[-300:]
        raise CliError(f"environment '{name}': key_command exited {done.returncode}: {tail}")
    key = done.stdout.strip()
    if not key:
        raise CliError(f"environment '{name}': key_command printed no key")
    return key


def _check_name(name: str) -> str:
    if not _NAME.match(name):
        raise UsageError(f"invalid environment name {name!r}: use letters, digits, '-', '_' or '.'")
    return name


def _parse(name: str, raw: Any, path: Path) -> Environment:
    if not isinstance(raw, dict):
        raise CliError(f"{path}: [environments.{name}] must be a table")
    unknown = sorted(set(raw) - set(_FIELDS))
    if unknown:
        raise CliError(
            f"{path}: environment '{name}' has unknown field(s) {', '.join(unknown)}; known: {', '.join(_FIELDS)}"
        )
    values = {key: raw.get(key) for key in _FIELDS}
    for key, value in values.items():
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise CliError(f"{path}: environment '{name}': {key} must be a non-empty string")
    if not values["base_url"]:
        raise CliError(f"{path}: environment '{name}' has no base_url")
    if sum(1 for key in ("key_env", "key_command", "key") if values[key]) > 1:
        raise CliError(f"{path}: environment '{name}': give one of key_env, key_command or key")
    return Environment(
        name, values["base_url"], values["task_hub"], values["key_env"], values["key_command"], values["key"]
    )


@dataclass(frozen=True)
class EnvironmentsFile:
    """The parsed file: its environments by name and the optional default."""

    path: Path
    environments: dict[str, Environment]
    default: str | None = None

    @classmethod
    def load(cls, path: Path | None = None) -> EnvironmentsFile:
        path = path or config_path()
        if not path.is_file():
            return cls(path, {})
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except OSError as error:
            raise CliError(f"cannot read {path}: {error.strerror or error}") from error
        except tomllib.TOMLDecodeError as error:
            raise CliError(f"{path} is not valid TOML: {error}") from error
        unknown = sorted(set(data) - {"default", "environments"})
        if unknown:
            raise CliError(f"{path}: unknown top-level key(s) {', '.join(unknown)}; known: default, environments")
        tables = data.get("environments") or {}
        if not isinstance(tables, dict):
            raise CliError(f"{path}: 'environments' must be a table of [environments.NAME] tables")
        environments = {name: _parse(name, raw, path) for name, raw in tables.items()}
        default = data.get("default")
        if default is not None and default not in environments:
            raise CliError(f"{path}: default = {default!r} names no [environments.{default}] table")
        return cls(path, environments, default)

    def get(self, name: str) -> Environment:
        try:
            return self.environments[name]
        except KeyError:
            known = ", ".join(sorted(self.environments)) or "none defined"
            raise UsageError(f"unknown environment {name!r} (in {self.path}: {known})") from None

    def with_environment(self, environment: Environment) -> EnvironmentsFile:
        """The same file with `environment` added or replaced."""
        return EnvironmentsFile(self.path, {**self.environments, environment.name: environment}, self.default)

    def without(self, name: str) -> EnvironmentsFile:
        """The same file without environment `name` (and without a default that named it)."""
        remaining = {key: env for key, env in self.environments.items() if key != name}
        return EnvironmentsFile(self.path, remaining, self.default if self.default != name else None)

    def render(self) -> str:
        """The file's TOML text (comments of a hand-written file are not kept)."""
        lines = [f"default = {_toml_string(self.default)}", ""] if self.default else []
        for env in self.environments.values():
            lines.append(f"[environments.{_toml_key(env.name)}]")
            for key, value in (
                ("base_url", env.base_url),
                ("task_hub", env.task_hub),
                ("key_env", env.key_env),
                ("key_command", env.key_command),
                ("key", env.key_value),
            ):
                if value is not None:
                    lines.append(f"{key} = {_toml_string(value)}")
            lines.append("")
        return "\n".join(lines)

    def save(self, *, private: bool = False) -> None:
        """Write the file atomically (a temporary file renamed over it); `private` makes it owner-only."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_name(self.path.name + ".tmp")
        temporary.write_text(self.render(), encoding="utf-8")
        if private or (self.path.exists() and self.path.stat().st_mode & 0o077 == 0):
            temporary.chmod(0o600)
        temporary.replace(self.path)


def _toml_string(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)  # a JSON string is a TOML basic string


def _toml_key(name: str) -> str:
    return name if re.match(r"^[A-Za-z0-9_-]+$", name) else _toml_string(name)


def selected_name(
    explicit: str | None, loaded: EnvironmentsFile, environ: Mapping[str, str] | None = None
) -> str | None:
    """`--env`, else `$DURABLE_ENV`, else the file's `default`, else None (no environment)."""
    env = os.environ if environ is None else environ
    return explicit or env.get(ENVIRONMENT_ENV) or loaded.default


def selected(explicit: str | None = None, *, path: Path | None = None) -> Environment | None:
    """The chosen environment's definition (its key not fetched), or None when none is chosen."""
    loaded = EnvironmentsFile.load(path)
    name = selected_name(explicit, loaded)
    return loaded.get(_check_name(name)) if name else None


def resolve(name: str | None = None, *, path: Path | None = None) -> Resolved | None:
    """Base URL, system key and task hub of environment `name` (else `$DURABLE_ENV`, else the file's default);
    None when no environment is chosen. The dashboard and the CLI both start here."""
    environment = selected(name, path=path)
    if environment is None:
        return None
    return Resolved(environment.name, environment.base_url, environment.key(), environment.task_hub)
