"""Query-string parsing as the extension's `HttpApiHandler` does it (http-api.md §1.5).

Keys are case-insensitive. Booleans use `bool.TryParse` (case-insensitive true/false, anything else is the
default); `top` uses `int.TryParse` (beyond Int32: "not provided"); dates use `DateTime.TryParse`
(unparsable means "not provided");
`runtimeStatus` values are split on commas across every occurrence and parsed case-sensitively, numbers
allowed, unknown names dropped — so no valid value means no filter.

Numbers are the local host's exception to that leniency: `double.TryParse` accepts `NaN` and `Infinity`, which
as a timeout or polling interval would stall a wait (a NaN corrupts the event loop's timer heap), so a value
that parses to a non-finite number raises `QueryError` (400).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime

from durable_local.host.history import parse_time
from durable_local.host.records import RuntimeStatus

INT32_MAX = 2**31 - 1


class QueryError(ValueError):
    """A query value the host refuses (answered with 400)."""


class Query:
    """Case-insensitive access to a query string's values (every occurrence kept)."""

    def __init__(self, items: Iterable[tuple[str, str]]) -> None:
        self._values: dict[str, list[str]] = {}
        for key, value in items:
            self._values.setdefault(key.lower(), []).append(value)

    def get(self, key: str) -> str | None:
        values = self._values.get(key.lower())
        return values[0] if values else None

    def all(self, key: str) -> list[str]:
        return list(self._values.get(key.lower(), []))

    def flag(self, key: str, default: bool) -> bool:
        value = (self.get(key) or "").strip().lower()
        return {"true": True, "false": False}.get(value, default)

    def integer(self, key: str) -> int | None:
        value = (self.get(key) or "").strip()
        try:
            number = int(value)
        except ValueError:
            return None
        return number if -INT32_MAX - 1 <= number <= INT32_MAX else None

    def number(self, key: str) -> float | None:
        """A number, or None when absent or unparsable; a non-finite one (nan, inf, 1e999) raises QueryError."""
        value = (self.get(key) or "").strip()
        try:
            number = float(value)
        except ValueError:
            return None
        if not math.isfinite(number):
            raise QueryError(f"query parameter '{key}' must be a finite number, not '{value}'")
        return number

    def time(self, key: str) -> datetime | None:
        value = self.get(key)
        if value is None:
            return None
        try:
            return parse_time(value)
        except ValueError:
            return None

    def statuses(self, key: str = "runtimeStatus") -> tuple[RuntimeStatus, ...]:
        found: list[RuntimeStatus] = []
        for value in self.all(key):
            for name in value.split(","):
                status = parse_status(name.strip())
                if status is not None and status not in found:
                    found.append(status)
        return tuple(found)


def parse_status(name: str) -> RuntimeStatus | None:
    """`Enum.TryParse<OrchestrationRuntimeStatus>` without ignoreCase: exact names or their numbers."""
    if name.isascii() and name.isdigit():
        return RuntimeStatus.from_number(name)
    try:
        return RuntimeStatus(name)
    except ValueError:
        return None
