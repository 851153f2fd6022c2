"""host.json as the Functions host sees it: the file, overridden by `AzureFunctionsJobHost__*` app settings.

The Functions host reads host.json through .NET configuration (azure-functions-host
`src/WebJobs.Script/Config/HostJsonFileConfigurationSource.cs`, `HostJsonFileConfigurationProvider.ProcessObject` /
`ProcessArray`): every leaf becomes a key `AzureFunctionsJobHost:path:to:leaf` (array items by index,
`functions:0`). Environment variables are added after it (azure-webjobs-sdk
`WebJobsHostBuilderExtensions.ConfigureWebJobs` -> `TryAddDefaultConfigurationSources` -> `AddEnvironmentVariables`,
called from azure-functions-host `ScriptHostBuilderExtensions.AddScriptHostCore` after the host.json source), so
an app setting `AzureFunctionsJobHost__extensions__durableTask__hubName` (`__` is the section separator) wins
over host.json's `extensions.durableTask.hubName`. Configuration keys are case-insensitive. Core Tools turns
local.settings.json `Values` into environment variables first, so overrides may live there too.

Here the overrides are merged into one JSON tree, once, when the app's configuration is loaded (`merge`); every
reader sees the merged tree. Overridden values are strings, as in .NET configuration, where the options binder
converts a string when it is read: the typed readers of `HostJson` do the same (`integer`, `boolean`,
`timespan` follow `int.Parse`, `bool.Parse` and `TimeSpan.Parse` with the invariant culture) and refuse a value
they cannot convert, naming the key and where it came from, as the binder's "Failed to convert configuration
value" stops the host.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

PREFIX = "AzureFunctionsJobHost"
_SEPARATOR = "__"
_TIMESPAN = re.compile(
    r"^\s*(?P<sign>-)?(?:(?P<days_only>\d+)|(?:(?P<days>\d+)\.)?(?P<hours>\d{1,2}):(?P<minutes>\d{1,2})"
    r"(?::(?P<seconds>\d{1,2})(?:\.(?P<fraction>\d{1,7}))?)?)\s*$")


class HostJsonError(ValueError):
    """An override or a host.json value the host cannot use."""


@dataclass
class HostJson:
    """The merged host.json tree, with where each overridden value came from."""

    data: dict[str, Any] = field(default_factory=dict)
    overridden: dict[str, str] = field(default_factory=dict)  # "extensions.http.routePrefix" -> setting name

    # -- reading -------------------------------------------------------------------------------------------
    def get(self, path: str, default: Any = None) -> Any:
        """The value at a dotted path (`extensions.queues.batchSize`), keys matched case-insensitively."""
        node: Any = self.data
        for part in path.split("."):
            if isinstance(node, dict):
                key = _find_key(node, part)
                if key is None:
                    return default
                node = node[key]
            elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                return default
        return node

    def section(self, path: str) -> dict[str, Any]:
        """The object at a dotted path, or `{}` (a section that is not an object is an error)."""
        value = self.get(path)
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise HostJsonError(f"{self.source(path)} must be an object, not {value!r}.")
        return value

    def source(self, path: str) -> str:
        """Where a value comes from, for messages: the app setting that overrode it, else host.json."""
        setting = self.overridden.get(path.lower())
        return f"app setting {setting}" if setting else f"host.json '{path}'"

    def string(self, path: str, default: str | None = None) -> str | None:
        value = self.get(path)
        if value is None:
            return default
        if isinstance(value, dict | list):
            raise HostJsonError(f"{self.source(path)} must be a value, not an object or array.")
        return _invariant_text(value)

    def integer(self, path: str, default: int) -> int:
        """`int.Parse` (invariant): optional sign and digits; a JSON number must be whole."""
        value = self.get(path)
        if value is None:
            return default
        if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
            raise HostJsonError(f"{self.source(path)} must be a whole number, not {value!r}.")
        if isinstance(value, float):
            return int(value)
        text = _invariant_text(value).strip()
        if not re.fullmatch(r"[+-]?\d+", text):
            raise HostJsonError(f"{self.source(path)} must be a whole number, not {text!r}.")
        return int(text)

    def boolean(self, path: str, default: bool) -> bool:
        """`bool.Parse`: `true` or `false` in any case."""
        value = self.get(path)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text not in ("true", "false"):
            raise HostJsonError(f"{self.source(path)} must be true or false, not {value!r}.")
        return text == "true"

    def timespan(self, path: str, default: timedelta | None = None) -> timedelta | None:
        """`TimeSpan.Parse` (invariant): `d`, `hh:mm`, `hh:mm:ss`, `d.hh:mm:ss[.fffffff]`, optional `-`."""
        value = self.get(path)
        if value is None:
            return default
        parsed = parse_timespan(_invariant_text(value))
        if parsed is None:
            raise HostJsonError(f"{self.source(path)} must be a time span such as 00:05:00 (hh:mm:ss) or "
                                f"1.00:00:00 (d.hh:mm:ss), not {value!r}.")
        return parsed


def parse_timespan(text: str) -> timedelta | None:
    """A .NET `TimeSpan` in its invariant text form, or None when it is not one (hours < 24, minutes and
    seconds < 60, as `TimeSpan.Parse` requires)."""
    match = _TIMESPAN.match(text)
    if not match:
        return None
    if match["days_only"] is not None:
        span = timedelta(days=int(match["days_only"]))
    else:
        hours, minutes, seconds = int(match["hours"]), int(match["minutes"]), int(match["seconds"] or 0)
        if hours > 23 or minutes > 59 or seconds > 59:
            return None
        fraction = (match["fraction"] or "").ljust(7, "0")
        span = timedelta(days=int(match["days"] or 0), hours=hours, minutes=minutes, seconds=seconds,
                         microseconds=int(fraction) // 10)
    return -span if match["sign"] else span


def _invariant_text(value: Any) -> str:
    """A JSON scalar as .NET configuration holds it (`JValue.ToString(InvariantCulture)`)."""
    if isinstance(value, bool):
        return "True" if value else "False"
    return str(value)


def _find_key(node: dict[str, Any], name: str) -> str | None:
    if name in node:
        return name
    lowered = name.lower()
    return next((key for key in node if key.lower() == lowered), None)


def overrides_in(settings: Mapping[str, str]) -> dict[str, str]:
    """The `AzureFunctionsJobHost__...` settings among `settings` (prefix matched case-insensitively)."""
    head = (PREFIX + _SEPARATOR).lower()
    return {name: value for name, value in settings.items() if name.lower().startswith(head)}


def merge(host_json: Mapping[str, Any], settings: Mapping[str, str]) -> HostJson:
    """host.json with every `AzureFunctionsJobHost__*` setting applied, in sorted name order.

    An override may replace a value, add a key or a section, or set an array item by index (`functions__0`;
    as the .NET binder reads array children in index order, indexes past the end append). It may not turn an
    object into a value or a value into an object (`...__http=x` where host.json has an `http` object): the
    binder would silently ignore one of the two, so the host refuses it with a message naming the setting.
    """
    data = _copy(dict(host_json))
    overridden: dict[str, str] = {}
    for name, value in sorted(overrides_in(settings).items(), key=lambda item: item[0].lower()):
        parts = name.split(_SEPARATOR)[1:]
        if not parts or any(not part.strip() for part in parts):
            raise HostJsonError(f"The app setting {name} does not name a host.json key: after "
                                f"{PREFIX}__ it needs section names separated by '__', e.g. "
                                f"{PREFIX}__extensions__durableTask__hubName.")
        real_path = _apply(data, parts, value, name)
        overridden[".".join(real_path).lower()] = name
    return HostJson(_numbered_sections_to_lists(data), overridden)


def _apply(data: dict[str, Any], parts: list[str], value: str, setting: str) -> list[str]:
    """Set `value` at `parts` in `data` (creating sections); returns the path as host.json spells it."""
    node: Any = data
    real: list[str] = []
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        where = ".".join([*real, part])
        if isinstance(node, list):
            if not part.isdigit():
                raise HostJsonError(f"The app setting {setting} names '{part}' inside the array "
                                    f"host.json '{'.'.join(real)}': array items are set by index (__0, __1, ...).")
            position = min(int(part), len(node))
            real.append(str(position))
            if last:
                _check_not_container(node[position] if position < len(node) else None, setting, where)
                if position < len(node):
                    node[position] = value
                else:
                    node.append(value)
                return real
            if position == len(node):
                node.append({})
            child = node[position]
        else:
            key = _find_key(node, part) or part
            real.append(key)
            if last:
                _check_not_container(node.get(key), setting, where)
                node[key] = value
                return real
            child = node.get(key)
            if child is None:
                child = node[key] = {}
        if not isinstance(child, dict | list):
            raise HostJsonError(f"The app setting {setting} treats host.json '{'.'.join(real)}' as a section, "
                                f"but it is the value {child!r}: name the value itself or fix the setting's name.")
        node = child
    return real


def _check_not_container(existing: Any, setting: str, where: str) -> None:
    if isinstance(existing, dict | list):
        raise HostJsonError(f"The app setting {setting} gives host.json '{where}' a single value, but it is "
                            f"{'an object' if isinstance(existing, dict) else 'an array'} there: override its "
                            f"keys one by one ({setting}__<key>).")


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy(item) for item in value]
    return value


def _numbered_sections_to_lists(value: Any) -> Any:
    """A section made only by overrides whose keys are all indexes (`functions__0`) is an array, as the
    binder reads it into a list (children in numeric order)."""
    if isinstance(value, list):
        return [_numbered_sections_to_lists(item) for item in value]
    if not isinstance(value, dict):
        return value
    converted = {key: _numbered_sections_to_lists(item) for key, item in value.items()}
    if converted and all(key.isdigit() for key in converted):
        return [converted[key] for key in sorted(converted, key=int)]
    return converted
