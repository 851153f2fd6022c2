"""ASP.NET Core route templates, as the Functions host matches HTTP trigger routes.

Supported: literal segments, `{name}`, optional `{name?}`, defaults `{name=value}`, catch-all `{*name}`,
and the inline constraints `int`, `long`, `bool`, `guid`, `alpha`, `double`, `decimal`, `float`,
`datetime`, `min(n)`, `max(n)`, `length(n)`, `minlength(n)`, `maxlength(n)`, `range(a,b)` and `regex(...)`.
Matching is case-insensitive. When several templates match, the more specific wins, in the Functions host's
order (`WebJobsRouteBuilder.RouteComparison`): per segment, a literal beats a constrained parameter (more
constraints first), which beats a plain parameter, which beats a catch-all; when the shared segments tie, the
longer template wins. So `orchestrators/{functionName}/wait` wins over
`orchestrators/{functionName}/{instanceId?}` for `.../wait`. `%2F` stays encoded in route values (Kestrel).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from urllib.parse import unquote

_PARAMETER = re.compile(r"^\{(?P<star>\*{1,2})?(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?P<constraints>(:[^=?}]+)*)"
                        r"(?P<optional>\?)?(=(?P<default>[^}]*))?\}$")


_ENCODED_SLASH = re.compile(r"%2[Ff]")
_MAX_SEGMENTS = 64


class RouteTemplateError(ValueError):
    """A route template that the host cannot parse."""


def _is_number(parse: Callable[[str], object]) -> Callable[[str], bool]:
    def check(value: str) -> bool:
        try:
            parse(value)
        except (ValueError, InvalidOperation):
            return False
        return True
    return check


def _constraint(text: str) -> Callable[[str], bool]:
    name, _, argument = text.partition("(")
    argument = argument[:-1] if argument.endswith(")") else argument
    name = name.lower()
    simple: dict[str, Callable[[str], bool]] = {
        "int": lambda v: bool(re.fullmatch(r"-?\d+", v)) and -2**31 <= int(v) < 2**31,
        "long": lambda v: bool(re.fullmatch(r"-?\d+", v)) and -2**63 <= int(v) < 2**63,
        "bool": lambda v: v.lower() in ("true", "false"),
        "guid": _is_number(uuid.UUID),
        "alpha": lambda v: bool(re.fullmatch(r"[A-Za-z]+", v)),
        "double": _is_number(float), "float": _is_number(float), "decimal": _is_number(Decimal),
        "datetime": _is_number(datetime.fromisoformat),
    }
    if name in simple:
        return simple[name]
    if name in ("min", "max"):
        bound = int(argument)
        return lambda v: bool(re.fullmatch(r"-?\d+", v)) and (int(v) >= bound if name == "min" else int(v) <= bound)
    if name == "range":
        low, high = (int(part) for part in argument.split(","))
        return lambda v: bool(re.fullmatch(r"-?\d+", v)) and low <= int(v) <= high
    if name in ("length", "minlength", "maxlength"):
        parts = [int(part) for part in argument.split(",")]
        if name == "minlength":
            return lambda v: len(v) >= parts[0]
        if name == "maxlength":
            return lambda v: len(v) <= parts[0]
        return (lambda v: parts[0] <= len(v) <= parts[1]) if len(parts) == 2 else (lambda v: len(v) == parts[0])
    if name == "regex":
        pattern = re.compile(argument, re.IGNORECASE)
        return lambda v: bool(pattern.search(v))
    raise RouteTemplateError(f"unsupported route constraint '{text}'")


@dataclass(frozen=True)
class _Segment:
    literal: str | None = None
    name: str | None = None
    optional: bool = False
    default: str | None = None
    catch_all: bool = False
    checks: tuple[Callable[[str], bool], ...] = ()

    @property
    def rank(self) -> float:
        """Inbound precedence of the segment: lower is more specific; more constraints rank ahead of fewer."""
        if self.literal is not None:
            return 1
        if self.catch_all:
            return 5
        return 2 - min(len(self.checks), 50) / 100 if self.checks else 3


class RouteTemplate:
    """A parsed template; `match(path)` gives the route values or None."""

    def __init__(self, template: str) -> None:
        self.template = template.strip("/")
        self.segments: list[_Segment] = []
        for part in filter(None, self.template.split("/")):
            parsed = _PARAMETER.match(part)
            if parsed is None:
                if "{" in part or "}" in part:
                    raise RouteTemplateError(f"unsupported route segment '{part}' in '{template}'")
                self.segments.append(_Segment(literal=part.lower()))
                continue
            constraints = [c for c in (parsed["constraints"] or "").split(":") if c]
            self.segments.append(_Segment(
                name=parsed["name"], optional=bool(parsed["optional"]) or parsed["default"] is not None,
                default=parsed["default"], catch_all=bool(parsed["star"]),
                checks=tuple(_constraint(c) for c in constraints)))
        self.precedence = tuple(segment.rank for segment in self.segments)

    def sort_key(self) -> tuple[float, ...]:
        """Segment by segment, the more specific first; when the shared segments tie, the longer template first
        (azure-functions-host `WebJobsRouteBuilder.RouteComparison`)."""
        return self.precedence + (9.0,) * (_MAX_SEGMENTS - len(self.precedence))

    def match(self, path: str) -> dict[str, str] | None:
        # Kestrel decodes the path but leaves %2F encoded, so a route value may contain "%2F", never "/".
        parts = [unquote(_ENCODED_SLASH.sub(lambda m: "%25" + m.group(0)[1:], part))
                 for part in path.strip("/").split("/")] if path.strip("/") else []
        values: dict[str, str] = {}
        for position, segment in enumerate(self.segments):
            if segment.catch_all:
                rest = "/".join(parts[position:])
                if rest:
                    values[segment.name or ""] = rest
                elif segment.default is not None:
                    values[segment.name or ""] = segment.default
                return values
            if position >= len(parts):
                if segment.literal is None and segment.optional:
                    if segment.default is not None:
                        values[segment.name or ""] = segment.default
                    continue
                return None
            value = parts[position]
            if segment.literal is not None:
                if value.lower() != segment.literal:
                    return None
            elif not value or not all(check(value) for check in segment.checks):
                return None
            else:
                values[segment.name or ""] = value
        return values if len(parts) <= len(self.segments) else None


class RouteTable:
    """Routes of one kind of target (HTTP functions), matched by path, then precedence, then order added."""

    def __init__(self) -> None:
        self._routes: list[tuple[RouteTemplate, object]] = []

    def add(self, template: str, target: object) -> None:
        self._routes.append((RouteTemplate(template), target))
        self._routes.sort(key=lambda item: item[0].sort_key())

    def match(self, path: str) -> list[tuple[object, dict[str, str]]]:
        """Every matching target with its route values, most specific first."""
        found = []
        for template, target in self._routes:
            values = template.match(path)
            if values is not None:
                found.append((target, values))
        return found
