"""Flag values as Core Tools accepts them: JSON inline or `@file`, runtime statuses, dates and booleans."""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from durable_local import vocabulary
from durable_local.manage.errors import UsageError

# Every runtime status, in the order Core Tools and the docs list them (the .NET numbers are in vocabulary).
RUNTIME_STATUSES: tuple[str, ...] = (
    "Pending",
    "Running",
    "Completed",
    "ContinuedAsNew",
    "Failed",
    "Canceled",
    "Terminated",
    "Suspended",
)
TERMINAL_STATUSES: tuple[str, ...] = tuple(vocabulary.TERMINAL_STATUSES)
ACTIVE_STATUSES: tuple[str, ...] = tuple(vocabulary.ACTIVE_STATUSES)
_BY_LOWER = {name.lower(): name for name in RUNTIME_STATUSES}
_TRUE = {"true", "1", "yes", "y", "on"}
_FALSE = {"false", "0", "no", "n", "off"}

MIN_DATETIME = datetime(1, 1, 1, tzinfo=UTC)


def parse_json_value(text: str, *, flag: str = "--input") -> Any:
    """`@path/file.json` (or `@-` for stdin) is read and must be JSON; inline text is JSON if it parses,
    else it is sent as a JSON string (so `--event-data hello` sends `"hello"`)."""
    if text.startswith("@"):
        source = text[1:]
        if not source:
            raise UsageError(f"{flag} @: give a file name after '@', e.g. {flag} @data.json")
        if source == "-":
            content, where = sys.stdin.read(), "standard input"
        else:
            path = Path(source)
            try:
                content = path.read_text(encoding="utf-8-sig")
            except OSError as error:
                raise UsageError(f"{flag}: cannot read {source}: {error.strerror or error}") from error
            where = source
        try:
            return json.loads(content)
        except json.JSONDecodeError as error:
            raise UsageError(f"{flag}: {where} is not valid JSON ({error.msg} at line {error.lineno})") from error
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def parse_status_token(token: str) -> list[str]:
    """One command-line token of `--runtime-status`: one name or several comma-separated, any case."""
    names: list[str] = []
    for part in token.split(","):
        part = part.strip()
        if not part:
            continue
        canonical = _BY_LOWER.get(part.lower())
        if canonical is None:
            raise argparse.ArgumentTypeError(
                f"unknown runtime status {part!r}; choose from {', '.join(RUNTIME_STATUSES)}"
            )
        names.append(canonical)
    if not names:
        raise argparse.ArgumentTypeError("empty runtime status")
    return names


def flatten_statuses(groups: Iterable[Sequence[str]] | None) -> list[str]:
    """Merge the per-token lists of `--runtime-status` into one list, keeping the first occurrence of each."""
    result: list[str] = []
    for group in groups or ():
        for name in group:
            if name not in result:
                result.append(name)
    return result


class StatusListAction(argparse.Action):
    """`--runtime-status a b,c --runtime-status d`: all values of all occurrences, flattened, deduplicated."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        current = list(getattr(namespace, self.dest, None) or [])
        for name in flatten_statuses(values):
            if name not in current:
                current.append(name)
        setattr(namespace, self.dest, current)


def parse_datetime(text: str) -> datetime:
    """An ISO 8601 date or date-time (e.g. `2018-03-10T23:59Z`, 7 fraction digits allowed); naive is UTC."""
    try:
        value = datetime.fromisoformat(text.strip())
        return (value.replace(tzinfo=UTC) if value.tzinfo is None else value).astimezone(UTC)
    except (ValueError, OverflowError):
        raise argparse.ArgumentTypeError(
            f"invalid date/time {text!r}; use ISO 8601 such as 2018-03-10T13:57:31Z"
        ) from None


def format_datetime(value: datetime) -> str:
    """The UTC ISO 8601 form the Durable HTTP API parses, e.g. `0001-01-01T00:00:00Z` (four-digit years)."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def parse_bool(text: str) -> bool:
    """`true`/`false` (and yes/no, 1/0), any case, as `--show-input true` in the Core Tools examples."""
    lowered = text.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def positive_int(text: str) -> int:
    """An integer of at least 1 (`--top`)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def non_negative_float(text: str) -> float:
    """A number of seconds, 0 or more (`--timeout`)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number of seconds, got {text!r}")
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, got {text}")
    return value


def event_name(text: str) -> str:
    """A non-empty event name (`--event-name`)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("must not be empty")
    return text
