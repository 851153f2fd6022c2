"""The instances view's filter: parsed strictly from the page URL (so a view can be bookmarked), turned back
into a URL, and into the Durable HTTP API's query parameters. Pure logic, no I/O."""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from durable_local.manage.client import InstanceQuery
from durable_local.manage.parsing import RUNTIME_STATUSES

PAGE_SIZES: tuple[int, ...] = (25, 50, 100, 250, 500)
DEFAULT_PAGE_SIZE = 50
ORDERS = ("asc", "desc")
KNOWN_PARAMS = frozenset({"status", "from", "to", "prefix", "name", "q", "size", "after", "order", "refresh"})
_STATUS_BY_LOWER = {name.lower(): name for name in RUNTIME_STATUSES}


class FilterError(ValueError):
    """A parameter of the page URL that the dashboard cannot honour exactly (shown to the user, 400)."""


@dataclass(frozen=True)
class InstanceFilter:
    """What the user asked to see: runtime statuses, created window, id prefix, orchestrator name, free text on
    the id, page size, the continuation token of the page (`after`), and the order within the page."""

    statuses: tuple[str, ...] = ()
    created_from: datetime | None = None
    created_to: datetime | None = None
    prefix: str = ""
    name: str = ""
    text: str = ""
    page_size: int = DEFAULT_PAGE_SIZE
    after: str = ""
    order: str = "asc"
    refresh: bool = True
    extra: Mapping[str, str] = field(default_factory=dict)

    # -- parsing ---------------------------------------------------------------------------------------
    @classmethod
    def from_query(cls, query: Mapping[str, str] | Any) -> InstanceFilter:
        """Parse the page URL's parameters; unknown parameters and bad values raise `FilterError`."""
        keys = list(query.keys())
        unknown = sorted({k for k in keys if k not in KNOWN_PARAMS})
        if unknown:
            raise FilterError(f"unknown parameter(s) {', '.join(unknown)}; known: {', '.join(sorted(KNOWN_PARAMS))}")
        getall = getattr(query, "getall", None)
        raw_statuses: list[str] = list(getall("status", [])) if getall else [query.get("status", "")]
        statuses: list[str] = []
        for token in ",".join(raw_statuses).split(","):
            token = token.strip()
            if not token:
                continue
            name = _STATUS_BY_LOWER.get(token.lower())
            if name is None:
                raise FilterError(f"unknown runtime status {token!r}; known: {', '.join(RUNTIME_STATUSES)}")
            if name not in statuses:
                statuses.append(name)
        created_from = parse_time(query.get("from", ""), "from")
        created_to = parse_time(query.get("to", ""), "to")
        if created_from and created_to and created_from > created_to:
            raise FilterError("'from' is later than 'to'; no instance can match")
        size_text = query.get("size", "") or str(DEFAULT_PAGE_SIZE)
        if not size_text.isdigit() or int(size_text) not in PAGE_SIZES:
            raise FilterError(f"page size must be one of {', '.join(map(str, PAGE_SIZES))}, not {size_text!r}")
        order = query.get("order", "") or "asc"
        if order not in ORDERS:
            raise FilterError(f"order must be 'asc' or 'desc', not {order!r}")
        refresh = query.get("refresh", "on") or "on"
        if refresh not in ("on", "off"):
            raise FilterError(f"refresh must be 'on' or 'off', not {refresh!r}")
        return cls(
            statuses=tuple(statuses),
            created_from=created_from,
            created_to=created_to,
            prefix=query.get("prefix", "").strip(),
            name=query.get("name", "").strip(),
            text=query.get("q", "").strip(),
            page_size=int(size_text),
            after=query.get("after", ""),
            order=order,
            refresh=refresh == "on",
        )

    # -- output ----------------------------------------------------------------------------------------
    def params(self, *, page: bool = True) -> list[tuple[str, str]]:
        """The URL parameters for this filter (`page=False` leaves out the page position)."""
        items: list[tuple[str, str]] = [("status", s) for s in self.statuses]
        if self.created_from:
            items.append(("from", format_time(self.created_from)))
        if self.created_to:
            items.append(("to", format_time(self.created_to)))
        for key, value in (("prefix", self.prefix), ("name", self.name), ("q", self.text)):
            if value:
                items.append((key, value))
        if self.page_size != DEFAULT_PAGE_SIZE:
            items.append(("size", str(self.page_size)))
        if self.order != "asc":
            items.append(("order", self.order))
        if not self.refresh:
            items.append(("refresh", "off"))
        if page and self.after:
            items.append(("after", self.after))
        return items

    def query_string(self, *, page: bool = True) -> str:
        return urllib.parse.urlencode(self.params(page=page))

    def with_page(self, after: str | None) -> InstanceFilter:
        return replace(self, after=after or "")

    def api_query(self) -> InstanceQuery:
        """What the plain Durable HTTP API can filter itself (status, created window, id prefix)."""
        return InstanceQuery(
            created_from=format_time(self.created_from) if self.created_from else None,
            created_to=format_time(self.created_to) if self.created_to else None,
            statuses=list(self.statuses),
            instance_id_prefix=self.prefix or None,
            show_input=False,
        )

    @property
    def needs_local_filter(self) -> bool:
        """True when the plain API cannot apply the whole filter (orchestrator name, free text)."""
        return bool(self.name or self.text)

    def matches(self, item: Mapping[str, Any]) -> bool:
        """The part of the filter the API cannot apply: orchestrator name (exact, any case) and free text."""
        if self.name and str(item.get("name") or "").lower() != self.name.lower():
            return False
        return not (self.text and self.text.lower() not in str(item.get("instanceId") or "").lower())

    @property
    def is_empty(self) -> bool:
        return not (self.statuses or self.created_from or self.created_to or self.prefix or self.name or self.text)


def parse_time(text: str, what: str) -> datetime | None:
    """An ISO 8601 time (a date alone, or `datetime-local`'s `YYYY-MM-DDTHH:MM`); naive means UTC."""
    text = text.strip()
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as error:
        raise FilterError(f"'{what}' must be an ISO 8601 time such as 2026-01-31T12:00:00Z, not {text!r}") from error
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def format_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
