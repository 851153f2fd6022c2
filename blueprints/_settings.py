"""App settings the functions read, with their defaults; read at call time, never at import time."""

import math
import os
from dataclasses import dataclass

from blueprints._http import RequestError
from blueprints._status import terminal_status_names

MAX_RETENTION_DAYS = 100_000  # about 270 years: older cut-offs fall before Azure Table's first date (1601)


class SettingError(RequestError):
    """Raised when an app setting is missing or malformed; served as a 500 naming the setting."""

    def __init__(self, message: str) -> None:
        super().__init__(500, message)


def setting(name: str, default: str) -> str:
    value = os.environ.get(name, "").strip()
    return value or default


def number_setting(name: str, default: float, maximum: float = math.inf) -> float:
    """A non-negative, finite number setting, at most `maximum`; anything else fails closed (SettingError)."""
    raw = setting(name, str(default))
    try:
        value = float(raw)
    except ValueError as error:
        raise SettingError(f"app setting {name} must be a number, not '{raw}'") from error
    if not math.isfinite(value):
        raise SettingError(f"app setting {name} must be a finite number, not '{raw}'")
    if value < 0:
        raise SettingError(f"app setting {name} must not be negative, not '{raw}'")
    if value > maximum:
        raise SettingError(f"app setting {name} must be at most {maximum:g}, not '{raw}'")
    return value


@dataclass(frozen=True)
class PurgeSettings:
    """How the daily retention purge works: what it deletes, in windows of how many hours."""

    retention_days: float
    runtime_statuses: tuple[str, ...]
    window_hours: float
    max_window_hours: float
    progress_seconds: float

    @classmethod
    def from_environment(cls) -> "PurgeSettings":
        statuses = [part.strip() for part in setting("PURGE_RUNTIME_STATUSES", "Completed").split(",")]
        try:
            names = terminal_status_names([s for s in statuses if s], "PURGE_RUNTIME_STATUSES")
        except RequestError as error:
            raise SettingError(error.message) from error
        window_hours = number_setting("PURGE_WINDOW_HOURS", 24, MAX_RETENTION_DAYS * 24)
        if window_hours <= 0:
            raise SettingError("app setting PURGE_WINDOW_HOURS must be greater than zero")
        return cls(
            retention_days=number_setting("RETENTION_DAYS", 30, MAX_RETENTION_DAYS),
            runtime_statuses=names or ("Completed",),
            window_hours=window_hours,
            max_window_hours=max(window_hours, number_setting("PURGE_MAX_WINDOW_HOURS", 8760, MAX_RETENTION_DAYS * 24)),
            progress_seconds=number_setting("PURGE_PROGRESS_SECONDS", 5, 600),
        )


@dataclass(frozen=True)
class BulkSettings:
    """How bulk operations run: instances acted on at once, and instances per page (one continue-as-new each)."""

    concurrency: int
    page_size: int

    @classmethod
    def from_environment(cls) -> "BulkSettings":
        concurrency = int(number_setting("BULK_CONCURRENCY", 16))
        page_size = int(number_setting("BULK_PAGE_SIZE", 500))
        if not 1 <= concurrency <= MAX_BULK_CONCURRENCY:
            raise SettingError(f"app setting BULK_CONCURRENCY must be from 1 to {MAX_BULK_CONCURRENCY}")
        if not 1 <= page_size <= MAX_BULK_PAGE_SIZE:
            raise SettingError(f"app setting BULK_PAGE_SIZE must be from 1 to {MAX_BULK_PAGE_SIZE}")
        return cls(concurrency=concurrency, page_size=page_size)


MAX_BULK_CONCURRENCY = 200
MAX_BULK_PAGE_SIZE = 1000
