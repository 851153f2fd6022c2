"""The time zone timer-trigger schedules are evaluated in: `WEBSITE_TIME_ZONE`, else `TZ`, else UTC.

On Azure, NCRONTAB schedules run in UTC unless the app setting `WEBSITE_TIME_ZONE` names another zone: a Windows
zone name ("Eastern Standard Time") on Windows, all plans; an IANA name ("America/New_York") on Linux Premium
and Dedicated plans, where `TZ` works as well. Linux Consumption and Flex Consumption ignore both
(https://learn.microsoft.com/azure/azure-functions/functions-bindings-timer#ncrontab-time-zones). The platform
sets the process's local time zone, and the timer trigger evaluates schedules in `TimeZoneInfo.Local`
(azure-webjobs-sdk-extensions `CronSchedule.GetNextOccurrence`).

The local host accepts both kinds of name wherever it runs: Windows names are mapped to IANA names with
`tzlocal.windows_tz.win_tz` (generated from CLDR's windowsZones.xml), and zones come from the standard
library's `zoneinfo`. An unknown `WEBSITE_TIME_ZONE` stops the start (a timer would otherwise fire at other
hours than the user wrote); an unreadable `TZ` (a POSIX rule string, say), which the shell may set for other
reasons, is logged and UTC used.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tzlocal.windows_tz import win_tz

log = logging.getLogger(__name__)

WEBSITE_TIME_ZONE = "WEBSITE_TIME_ZONE"
_WINDOWS_NAMES = {name.lower(): iana for name, iana in win_tz.items()}


class TimeZoneError(ValueError):
    """A WEBSITE_TIME_ZONE that names no time zone."""


def find_zone(name: str) -> ZoneInfo | None:
    """The zone for a Windows name (case-insensitive, as Windows compares them) or an IANA name, or None."""
    text = name.strip()
    iana = _WINDOWS_NAMES.get(text.lower(), text)
    try:
        return ZoneInfo(iana)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


def is_utc(zone: ZoneInfo) -> bool:
    """A zone that is UTC all year round (UTC, Etc/UTC, GMT, "UTC" on Windows...)."""
    probes = (datetime(2001, 1, 15, tzinfo=UTC), datetime(2001, 7, 15, tzinfo=UTC), datetime.now(UTC))
    return all(not probe.astimezone(zone).utcoffset() for probe in probes)


def timer_time_zone(environ: Mapping[str, str]) -> tuple[ZoneInfo | None, str | None]:
    """(zone, the setting that named it), or (None, None) for UTC."""
    website = (environ.get(WEBSITE_TIME_ZONE) or "").strip()
    if website:
        zone = find_zone(website)
        if zone is None:
            raise TimeZoneError(
                f"{WEBSITE_TIME_ZONE} '{website}' names no time zone: use a Windows time zone name such as "
                "'Eastern Standard Time' or an IANA name such as 'America/New_York'.")
        return (None, None) if is_utc(zone) else (zone, WEBSITE_TIME_ZONE)
    posix = (environ.get("TZ") or "").strip().removeprefix(":")
    if posix:
        zone = find_zone(posix)
        if zone is None:
            log.warning("TZ '%s' is not a time zone name the local host can read; timer schedules run in UTC.",
                        posix)
            return None, None
        return (None, None) if is_utc(zone) else (zone, "TZ")
    return None, None
