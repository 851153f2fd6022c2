"""Function keys for the local host: which key a request presents, what level it grants, where keys are kept.

Off by default, as under `func start`; `durable host start --enforce-keys` turns it on. The rules follow the
Functions host (Azure/azure-functions-host):

- the key is the `x-functions-key` header, else the `code` query parameter; the header wins when both are
  sent (`AuthenticationLevelHandler.GetAuthorizationKeyInfoAsync`);
- a key's level (`SecretManager.GetAuthorizationLevelAsync`): the master key is `admin`; a system key
  (`systemKeys`) is `system`, named by its key name; a host key (`functionKeys`) or one of the function's own
  keys is `function`;
- a requirement is met (`AuthUtility.PrincipalHasAuthLevelClaim`) by `admin` always, otherwise only by the
  exact level (and key name, when one is required): a system key does not open a `function` route, and a host
  key does not open the Durable HTTP API, which wants the `durabletask_extension` system key (the extension's
  webhook, as on Azure);
- a request that does not meet the requirement gets 401 with an empty body.

Keys are kept in a JSON file in the shape of the host's secrets file `host.json` (`masterKey`, `functionKeys`,
`systemKeys`, entries `{"name": ..., "value": ...}`), with each function's own keys under `functions`
(`{"FunctionName": [{"name": "default", "value": ...}]}`; the real host keeps them in one file per function).
Its default place is beside the store (`.durable/store.keys.json` for `.durable/store.sqlite`); `--keys-file`
names another. Missing keys are generated on first start (master, host key `default`, system key
`durabletask_extension`, a `default` key per HTTP function) and written back, readable by the owner only.
Key values are never logged in full (`masked`).
"""

from __future__ import annotations

import hmac
import json
import os
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from pathlib import Path
from typing import Any

MASTER_KEY_NAME = "master"
DEFAULT_KEY_NAME = "default"
DURABLE_SYSTEM_KEY_NAME = "durabletask_extension"
KEY_HEADER = "x-functions-key"
KEY_QUERY_PARAMETER = "code"


class KeysFileError(ValueError):
    """The keys file cannot be read or has the wrong shape."""


class AuthLevel(IntEnum):
    """Azure's `AuthorizationLevel` (WebJobs.Extensions.Http), in its order."""

    ANONYMOUS = 0
    FUNCTION = 1
    SYSTEM = 2
    ADMIN = 3

    @classmethod
    def of_trigger(cls, value: object) -> AuthLevel:
        """An HTTP trigger's `authLevel` (`function` when absent, as the trigger attribute's default)."""
        text = str(value or "function").strip().lower()
        return {"anonymous": cls.ANONYMOUS, "function": cls.FUNCTION, "admin": cls.ADMIN,
                "system": cls.SYSTEM}.get(text, cls.FUNCTION)


def generate_key() -> str:
    """A new random key value: URL-safe, so it needs no escaping in `?code=`, and never starting with `-`, so
    `--code KEY` on a command line is not read as another option."""
    while (key := secrets.token_urlsafe(40)).startswith("-"):
        pass
    return key


def masked(value: str) -> str:
    """A key value as it may appear in a log line: its first four characters."""
    return value[:4] + "..." if value else ""


def _equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def _match(keys: Mapping[str, str], value: str) -> str | None:
    return next((name for name, known in keys.items() if _equal(known, value)), None)


@dataclass
class HostKeys:
    """The master key, host keys, system keys and each function's keys."""

    master: str
    function_keys: dict[str, str] = field(default_factory=dict)
    system_keys: dict[str, str] = field(default_factory=dict)
    functions: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def durable_system_key(self) -> str:
        return self.system_keys[DURABLE_SYSTEM_KEY_NAME]

    def function_keys_of(self, function_name: str) -> dict[str, str]:
        """A function's own keys (function names compare case-insensitively, as on the host)."""
        for name, keys in self.functions.items():
            if name.lower() == function_name.lower():
                return keys
        return {}

    def level_of(self, value: str, function_name: str | None = None) -> tuple[AuthLevel, str | None]:
        """The level a key value grants, and the key's name (`SecretManager.GetAuthorizationLevelAsync`)."""
        if not value:
            return AuthLevel.ANONYMOUS, None
        if _equal(self.master, value):
            return AuthLevel.ADMIN, MASTER_KEY_NAME
        if (name := _match(self.system_keys, value)) is not None:
            return AuthLevel.SYSTEM, name
        if (name := _match(self.function_keys, value)) is not None:
            return AuthLevel.FUNCTION, name
        if function_name is not None and (name := _match(self.function_keys_of(function_name), value)) is not None:
            return AuthLevel.FUNCTION, name
        return AuthLevel.ANONYMOUS, None

    def allows(self, value: str | None, required: AuthLevel, function_name: str | None = None,
               key_name: str | None = None) -> bool:
        """Whether a presented key meets a requirement (`AuthUtility.PrincipalHasAuthLevelClaim`)."""
        if required == AuthLevel.ANONYMOUS:
            return True
        level, name = self.level_of(value or "", function_name)
        if level == AuthLevel.ADMIN:
            return True
        return level == required and (key_name is None or (name or "").lower() == key_name.lower())

    # -- the file --------------------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        """The host.json secrets shape, plus `functions`."""
        def entries(keys: Mapping[str, str]) -> list[dict[str, Any]]:
            return [{"name": name, "value": value, "encrypted": False} for name, value in keys.items()]

        return {"masterKey": {"name": MASTER_KEY_NAME, "value": self.master, "encrypted": False},
                "functionKeys": entries(self.function_keys), "systemKeys": entries(self.system_keys),
                "functions": {name: entries(keys) for name, keys in self.functions.items()}}

    @classmethod
    def from_json(cls, data: object, source: str) -> HostKeys:
        if not isinstance(data, dict):
            raise KeysFileError(f"{source}: the keys file must hold a JSON object")
        master = data.get("masterKey")
        if isinstance(master, dict):
            master = master.get("value")
        if master is not None and (not isinstance(master, str) or not master):
            raise KeysFileError(f"{source}: 'masterKey' must be a key value or {{\"name\", \"value\"}}")
        functions = data.get("functions")
        functions = {} if functions is None else functions
        if not isinstance(functions, dict):
            raise KeysFileError(f"{source}: 'functions' must map function names to lists of keys")
        return cls(master=master or "",
                   function_keys=_entries(data.get("functionKeys"), f"{source}: 'functionKeys'"),
                   system_keys=_entries(data.get("systemKeys"), f"{source}: 'systemKeys'"),
                   functions={str(name): _entries(keys, f"{source}: 'functions.{name}'")
                              for name, keys in functions.items()})


def _entries(value: object, where: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, list):
        raise KeysFileError(f"{where} must be a list of {{\"name\", \"value\"}} objects")
    keys: dict[str, str] = {}
    for item in value:
        if not (isinstance(item, dict) and isinstance(item.get("name"), str) and item["name"]
                and isinstance(item.get("value"), str) and item["value"]):
            raise KeysFileError(f"{where} must be a list of {{\"name\", \"value\"}} objects with non-empty strings")
        keys[item["name"]] = item["value"]
    return keys


def default_keys_file(store_path: Path) -> Path:
    """Where the keys of a store are kept unless `--keys-file` says otherwise: `store.keys.json` beside it."""
    return store_path.with_name(store_path.stem + ".keys.json")


def read_keys(path: Path) -> HostKeys | None:
    """The keys in `path`, or None when the file does not exist yet."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as error:
        raise KeysFileError(f"cannot read the keys file {path}: {error.strerror or error}") from error
    except UnicodeDecodeError as error:
        raise KeysFileError(f"{path} is not UTF-8 text: {error.reason} at byte {error.start}") from error
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise KeysFileError(f"{path} is not JSON: {error.msg} (line {error.lineno})") from error
    return HostKeys.from_json(data, str(path))


def load_or_create(path: Path, http_functions: Iterable[str] = ()) -> HostKeys:
    """The keys in `path`, with every missing key generated (master, host key `default`, the Durable system
    key, a `default` key for each of `http_functions`); the file is (re)written when anything was added."""
    keys = read_keys(path)
    changed = keys is None
    keys = keys or HostKeys(master="")
    if not keys.master:
        keys.master, changed = generate_key(), True
    if not keys.function_keys:
        keys.function_keys[DEFAULT_KEY_NAME], changed = generate_key(), True
    if DURABLE_SYSTEM_KEY_NAME not in keys.system_keys:
        keys.system_keys[DURABLE_SYSTEM_KEY_NAME], changed = generate_key(), True
    for name in http_functions:
        if not keys.function_keys_of(name):
            keys.functions[name], changed = {DEFAULT_KEY_NAME: generate_key()}, True
    if changed:
        write_keys(path, keys)
    return keys


def write_keys(path: Path, keys: HostKeys) -> None:
    """Write the keys file atomically, readable and writable by the owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)  # a temporary file left by a crash keeps its mode through O_CREAT: reset it
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        json.dump(keys.to_json(), file, indent=2)
        file.write("\n")
    os.replace(temporary, path)


def presented_key(headers: Mapping[str, str], query: Mapping[str, str]) -> str | None:
    """The key a request presents: the `x-functions-key` header, else the `code` query parameter."""
    value = headers.get(KEY_HEADER)
    if value is None:
        value = query.get(KEY_QUERY_PARAMETER)
    return value or None
