"""Durable Functions' vocabulary, in one place for the local host, the CLI and the test harness.

What lives here is what the real Functions host and Durable extension spell one way everywhere:

- the Durable HTTP API's base paths, its paging header and the local default task hub;
- runtime statuses (`OrchestrationRuntimeStatus`): their names, the .NET numbers the history and the
  `runtimeStatus=` filter use, and which ones are terminal;
- the "function doesn't exist" message the extension writes for an unknown orchestrator, activity or entity;
- `%SETTING%` references (host.json values, timer schedules, binding values) and how a missing setting fails.

The function app (`blueprints/`) is deployed without `durable_local`, so it keeps its own copy of the parts it
needs (`blueprints/_status.py`); tests/unit/test_vocabulary.py keeps the two in agreement.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from enum import StrEnum

DURABLE_API = "/runtime/webhooks/durabletask"
"""The Durable HTTP API's base path on a Functions host (the extension's webhook path)."""

LEGACY_DURABLE_API = "/admin/extensions/DurableTaskExtension"
"""The Functions 1.x path of the same API, which the extension still serves."""

CONTINUATION_HEADER = "x-ms-continuation-token"
"""The header that carries the next page's token of an instance or entity listing, both ways."""

LOCAL_DEFAULT_TASK_HUB = "TestHubName"
"""The task hub of an app whose host.json names none, when it runs locally (EXT `DurableTaskOptions`)."""


class RuntimeStatus(StrEnum):
    """`OrchestrationRuntimeStatus` names, as the status API spells them, and their .NET numbers.

    https://github.com/Azure/durabletask/blob/main/src/DurableTask.Core/OrchestrationStatus.cs
    """

    Running = "Running"
    Completed = "Completed"
    ContinuedAsNew = "ContinuedAsNew"
    Failed = "Failed"
    Canceled = "Canceled"
    Terminated = "Terminated"
    Pending = "Pending"
    Suspended = "Suspended"

    @property
    def number(self) -> int:
        """The .NET enum value (`ExecutionCompleted.OrchestrationStatus` in history, `runtimeStatus=3`)."""
        return _NUMBERS[self]

    @classmethod
    def from_number(cls, number: int | str) -> RuntimeStatus | None:
        """The status with that .NET number (as an int or its decimal text), or None."""
        try:
            return _BY_NUMBER.get(int(number))
        except ValueError:
            return None

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL_STATUSES


_NUMBERS = {RuntimeStatus.Running: 0, RuntimeStatus.Completed: 1, RuntimeStatus.ContinuedAsNew: 2,
            RuntimeStatus.Failed: 3, RuntimeStatus.Canceled: 4, RuntimeStatus.Terminated: 5, RuntimeStatus.Pending: 6,
            RuntimeStatus.Suspended: 7}
_BY_NUMBER = {number: status for status, number in _NUMBERS.items()}

TERMINAL_STATUSES: tuple[RuntimeStatus, ...] = (RuntimeStatus.Completed, RuntimeStatus.Failed,
                                                RuntimeStatus.Terminated, RuntimeStatus.Canceled)
"""Statuses an instance never leaves by itself (only rewind, restart or purge act on it afterwards)."""

ACTIVE_STATUSES: tuple[RuntimeStatus, ...] = (RuntimeStatus.Pending, RuntimeStatus.Running, RuntimeStatus.Suspended,
                                              RuntimeStatus.ContinuedAsNew)
"""The statuses of an instance that may still change (the CLI's default for terminate)."""


def function_not_found(name: object, kind: str, known: str) -> str:
    """The extension's error for an unknown function of `kind` (orchestrator, activity or entity).

    `known` is the "Additional info" text listing the registered functions of that kind
    (EXT `DurableTaskExtension.ThrowIfFunctionDoesNotExist`).
    """
    return f"The function '{name}' doesn't exist, is disabled, or is not an {kind} function. Additional info: {known}"


class SettingNotFoundError(ValueError):
    """A `%NAME%` reference to an app setting that is not set."""

    def __init__(self, name: str) -> None:
        super().__init__(f"'%{name}%' does not resolve to a value.")
        self.name = name


def resolve_setting_references(text: str, settings: Mapping[str, str] | Callable[[str], str | None]) -> str:
    """Replace every `%NAME%` in `text` with the app setting NAME, as the Functions host resolves them.

    Follows WebJobs' `NameResolverExtensions.ResolveWholeString`
    (https://github.com/Azure/azure-webjobs-sdk/blob/dev/src/Microsoft.Azure.WebJobs.Host/NameResolverExtensions.cs):
    every `%...%` pair is a reference, a missing setting raises `SettingNotFoundError`, and a `%` without
    its closing `%` raises ValueError. `settings` is a mapping (e.g. `os.environ`) or a lookup function.
    """
    lookup = settings.get if isinstance(settings, Mapping) else settings
    resolved: list[str] = []
    position = 0
    while True:
        start = text.find("%", position)
        if start < 0:
            resolved.append(text[position:])
            return "".join(resolved)
        end = text.find("%", start + 1)
        if end < 0:
            raise ValueError(f"The '%' at position {start} of {text!r} does not have a closing '%'")
        name = text[start + 1:end]
        value = lookup(name)
        if value is None:
            raise SettingNotFoundError(name)
        resolved += [text[position:start], value]
        position = end + 1
