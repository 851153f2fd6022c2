"""App settings the functions read, with their defaults; read at call time, never at import time."""

import os
from dataclasses import dataclass

from blueprints._http import RequestError
from blueprints._status import terminal_status_names


class SettingError(RequestError):
    """Raised when an app setting is missing or malformed; served as a 500 naming the setting."""

    def __init__(self, message: str) -> None:
        super().__init__(500, message)


def setting(name: str, default: str) -> str:
    value = os.environ.get(name, "").strip()
    return value or default


def number_setting(name: str, default: float) -> float:
    raw = setting(name, str(default))
    try:
        value = float(raw)
    except ValueError as error:
        raise SettingError(f"app setting {name} must be a number, not '{raw}'") from error
    if value < 0:
        raise SettingError(f"app setting {name} must not be negative, not '{raw}'")
    return value


@dataclass(frozen=True)
class PurgeSettings:
    """How the daily purge works: what it deletes and how long it may run."""

    retention_days: float
    runtime_statuses: tuple[str, ...]
    window_hours: float
    time_budget_seconds: float

    @classmethod
    def from_environment(cls) -> "PurgeSettings":
        statuses = [part.strip() for part in setting("PURGE_RUNTIME_STATUSES", "Completed").split(",")]
        try:
            names = terminal_status_names([s for s in statuses if s], "PURGE_RUNTIME_STATUSES")
        except RequestError as error:
            raise SettingError(error.message) from error
        window_hours = number_setting("PURGE_WINDOW_HOURS", 24)
        if window_hours <= 0:
            raise SettingError("app setting PURGE_WINDOW_HOURS must be greater than zero")
        return cls(
            retention_days=number_setting("RETENTION_DAYS", 30),
            runtime_statuses=names or ("Completed",),
            window_hours=window_hours,
            time_budget_seconds=number_setting("PURGE_TIME_BUDGET_SECONDS", 240),
        )
