"""Query-string parsing as the extension's `HttpApiHandler` does it (http-api.md §1.5).

Keys are case-insensitive. Booleans use `bool.TryParse` (case-insensitive true/false, anything else is the
default); `top` uses `int.TryParse`; dates use `DateTime.TryParse` (unparsable means "not provided");
`runtimeStatus` values are split on commas across every occurrence and parsed case-sensitively, numbers
allowed, unknown names dropped — so no valid value means no filter.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from durable_local.host.history import parse_time
from durable_local.host.records import RuntimeStatus


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
            return int(value)
        except ValueError:
            return None

    def number(self, key: str) -> float | None:
        value = (self.get(key) or "").strip()
        try:
            return float(value)
        except ValueError:
            return None

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
