"""Binding expressions in binding properties (blob paths, table keys and filters), resolved as the WebJobs SDK does.

Followed: Azure/azure-webjobs-sdk `src/Microsoft.Azure.WebJobs.Host/Bindings/Path/` — `BindingTemplateParser`
(the `{...}` tokens of a template), `BindingTemplateToken` (`NewExpression`, `ExpressionToken.Evaluate`,
`BuildCapturePattern`) and `BindingParameterResolver` (the built-ins `rand-guid` and `datetime`), and
`NameResolverExtensions.ResolveWholeString` for `%AppSetting%` (`durable_local.vocabulary`).

- `%Setting%` is replaced by the app setting first (a missing setting is an error).
- `{name}` takes `name` from the binding data, looked up case-insensitively (the SDK's binding data
  dictionaries use `StringComparer.OrdinalIgnoreCase`); `{a.b}` walks into an object (a JSON trigger payload's
  property, case-insensitively as `JObject.TryGetValue(..., OrdinalIgnoreCase)`); `{name:format}` formats
  the value (dates and numbers). A value that is an object or a list cannot stand in a path (the SDK accepts
  only primitive JSON values) and is an error, as is a name with no value (`No value for named parameter`).
- Built-ins, used when the binding data has no such name: `{rand-guid}` (a new GUID, `{rand-guid:N}` etc. with a
  .NET GUID format: N, D, B, P) and `{DateTime}` (UTC now; default format `yyyy-MM-ddTHH-mm-ssZ`, a path-safe
  form; `{DateTime:yyyy/MM/dd}` with a .NET custom date format).
- Binding data: the trigger's metadata (a queue trigger's `QueueTrigger`, `Id`, `DequeueCount`...; a blob
  trigger's `name`-style parameters from its path pattern, `BlobTrigger`, `Uri`) and, when the trigger payload
  is a JSON object, its top-level properties (`{Id}` from a queue message `{"Id": ...}`), as the SDK's
  `BindingDataProvider` adds a POCO/JSON trigger's members; HTTP calls give query and route parameters.
- `match(pattern, text)`: a path pattern such as `samples-workitems/{name}.txt` matched against a blob path,
  giving `{"name": ...}` (`BuildCapturePattern`: each `{x}` is a greedy `(?<x>.*)`, the literals escaped,
  anchored at both ends), or None when it does not match.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from durable_local.vocabulary import resolve_setting_references

DEFAULT_DATETIME_FORMAT = "yyyy-MM-ddTHH-mm-ssZ"
_IDENTIFIER = re.compile(r"^[A-Za-z_$][A-Za-z0-9_.\-$]*$")
_DOTNET_DATE_TOKENS = re.compile(r"yyyy|yy|MM|M|dd|d|HH|H|hh|h|mm|m|ss|s|fffffff|ffffff|fff|ff|f|tt|'[^']*'|.",
                                 re.DOTALL)
_DATE_FIELDS: dict[str, Callable[[datetime], int]] = {
    "M": lambda v: v.month, "d": lambda v: v.day, "H": lambda v: v.hour, "h": lambda v: (v.hour % 12) or 12,
    "m": lambda v: v.minute, "s": lambda v: v.second,
}


class BindingExpressionError(ValueError):
    """A binding expression that cannot be parsed or has no value."""


@dataclass(frozen=True)
class Token:
    """A literal (`expression` is None) or a `{...}` expression: its dotted parts and optional format."""

    literal: str | None = None
    parts: tuple[str, ...] = ()
    format: str | None = None
    builtin: str | None = None  # "rand-guid" or "datetime"


def parse(template: str) -> list[Token]:
    """The tokens of a template (`BindingTemplateParser`): literals and `{expression}`s; braces must pair."""
    tokens: list[Token] = []
    position = 0
    while position < len(template):
        start = template.find("{", position)
        close = template.find("}", position)
        if close >= 0 and (start < 0 or close < start):
            raise BindingExpressionError(f"Invalid template '{template}': '}}' at position {close} has no '{{'")
        if start < 0:
            tokens.append(Token(literal=template[position:]))
            break
        if start > position:
            tokens.append(Token(literal=template[position:start]))
        end = template.find("}", start + 1)
        nested = template.find("{", start + 1)
        if end < 0 or 0 <= nested < end:
            raise BindingExpressionError(f"Invalid template '{template}': '{{' at position {start} is not closed")
        tokens.append(_expression(template[start + 1:end], template))
        position = end + 1
    return tokens


def _builtin(expression: str) -> str | None:
    lowered = expression.lower()
    for name in ("rand-guid", "datetime"):
        if lowered == name or lowered.startswith(name + ":"):
            return name
    return None


def _expression(text: str, template: str) -> Token:
    """`BindingTemplateToken.NewExpression`: a built-in keeps its format after the colon; anything else splits
    `name:format`; the name is dotted identifiers, and its first part has no '-'."""
    builtin = _builtin(text)
    if builtin is not None:
        format_ = text[len(builtin) + 1:] if len(text) > len(builtin) else None
        return Token(parts=(text[:len(builtin)],), format=format_ or None, builtin=builtin)
    expression, _, format_ = text.partition(":")
    if not expression or not _IDENTIFIER.match(expression):
        raise BindingExpressionError(f"Invalid template expression '{{{text}}}' in '{template}'")
    parts = tuple(expression.split("."))
    if "-" in parts[0]:
        raise BindingExpressionError(f"The parameter name '{parts[0]}' is invalid (in '{template}')")
    if any(not part.strip() for part in parts):
        raise BindingExpressionError(f"Illegal expression '{{{text}}}' in '{template}'")
    return Token(parts=parts, format=format_ or None)


def parameter_names(template: str) -> list[str]:
    """The binding data names a template uses (built-ins left out)."""
    return [token.parts[0] for token in parse(template) if token.literal is None and token.builtin is None]


def match(pattern: str, text: str) -> dict[str, str] | None:
    """The `{name}` values that make `pattern` read `text` (`BuildCapturePattern`), or None if it cannot."""
    regex = ["^"]
    for token in parse(pattern):
        if token.literal is not None:
            regex.append(re.escape(token.literal))
        elif len(token.parts) != 1 or token.builtin is not None:
            raise BindingExpressionError(f"The pattern '{pattern}' can only capture plain names, not "
                                         f"'{{{'.'.join(token.parts)}}}'")
        else:
            regex.append(f"(?P<{_group(token.parts[0])}>.*)")
    regex.append("$")
    found = re.match("".join(regex), text, re.DOTALL)
    if found is None:
        return None
    names = {_group(token.parts[0]): token.parts[0] for token in parse(pattern) if token.literal is None}
    return {names[group]: value for group, value in found.groupdict().items()}


def _group(name: str) -> str:
    return "g_" + re.sub(r"[^A-Za-z0-9_]", lambda m: f"_{ord(m.group()):x}_", name)


def binding_data(data: Mapping[str, Any], payload: str | None = None) -> dict[str, Any]:
    """Binding data with a JSON object payload's top-level properties added (the trigger metadata wins)."""
    merged: dict[str, Any] = {}
    if payload:
        try:
            parsed = json.loads(payload)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict):
            merged.update(parsed)
    merged.update(data)
    return merged


def resolve(template: str, data: Mapping[str, Any], environ: Mapping[str, str] | None = None,
            now: datetime | None = None) -> str:
    """`template` with `%Setting%` and every `{expression}` resolved (see the module docstring)."""
    text = resolve_setting_references(template, os.environ if environ is None else environ)
    return "".join(token.literal if token.literal is not None else _evaluate(token, data, now, template)
                   for token in parse(text))


def _lookup(data: Mapping[str, Any], name: str) -> tuple[bool, Any]:
    if name in data:
        return True, data[name]
    lowered = name.lower()
    for key, value in data.items():
        if key.lower() == lowered:
            return True, value
    return False, None


def _evaluate(token: Token, data: Mapping[str, Any], now: datetime | None, template: str) -> str:
    found, value = _lookup(data, token.parts[0])
    if found:
        for part in token.parts[1:]:
            if isinstance(value, str):
                with contextlib.suppress(ValueError):
                    value = json.loads(value)
            if not isinstance(value, Mapping):
                raise BindingExpressionError(f"Error while accessing '{part}' in '{template}': property doesn't "
                                             "exist.")
            found, value = _lookup(value, part)
            if not found:
                raise BindingExpressionError(f"Error while accessing '{part}' in '{template}': property doesn't "
                                             "exist.")
    elif token.builtin == "rand-guid":
        return _format_guid(uuid.uuid4(), token.format)
    elif token.builtin == "datetime":
        return format_datetime(now or datetime.now(UTC), token.format or DEFAULT_DATETIME_FORMAT)
    else:
        raise BindingExpressionError(f"No value for named parameter '{token.parts[0]}' (in '{template}').")
    return _to_text(value, token, template)


def _to_text(value: Any, token: Token, template: str) -> str:
    """`BindingDataPathHelper.ConvertParameterValueToString`: strings, numbers and GUIDs; a format applies to
    dates and numbers; objects and lists cannot stand in a path."""
    if value is None or isinstance(value, Mapping | list | tuple):
        raise BindingExpressionError(f"The value of '{{{'.'.join(token.parts)}}}' in '{template}' is not a "
                                     "string, number or date")
    if isinstance(value, datetime):
        return format_datetime(value, token.format or DEFAULT_DATETIME_FORMAT)
    if isinstance(value, bool):
        return "True" if value else "False"  # .NET bool.ToString()
    if token.format and isinstance(value, int | float):
        return _format_number(value, token.format)
    if token.format and isinstance(value, str):
        try:
            return format_datetime(datetime.fromisoformat(value), token.format)
        except ValueError:
            return value
    return str(value)


def _format_guid(value: uuid.UUID, format_: str | None) -> str:
    kind = (format_ or "D").upper()
    text = str(value)
    forms = {"D": text, "N": value.hex, "B": "{" + text + "}", "P": "(" + text + ")"}
    if kind not in forms:
        raise BindingExpressionError(f"'{format_}' is not a GUID format (N, D, B or P)")
    return forms[kind]


def _format_number(value: float, format_: str) -> str:
    """.NET standard numeric formats that paths use: D<n> (zero-padded integer), N0-style is not supported."""
    kind, digits = format_[:1].upper(), format_[1:]
    if kind == "D" and isinstance(value, int):
        return str(value).zfill(int(digits or 0))
    if kind == "X" and isinstance(value, int):
        text = format(value, "X" if format_[0] == "X" else "x")
        return text.zfill(int(digits or 0))
    raise BindingExpressionError(f"The number format '{format_}' is not supported (D<n> or X<n>)")


def format_datetime(value: datetime, format_: str) -> str:
    """A .NET custom date and time format string applied to `value` (yyyy, yy, MM, M, dd, d, HH, H, hh, h, mm,
    m, ss, s, f.., tt, quoted literals; other characters are kept)."""
    out: list[str] = []
    for piece in _DOTNET_DATE_TOKENS.findall(format_):
        if piece.startswith("'") and piece.endswith("'") and len(piece) >= 2:
            out.append(piece[1:-1])
        elif piece == "yyyy":
            out.append(f"{value.year:04d}")
        elif piece == "yy":
            out.append(f"{value.year % 100:02d}")
        elif piece[0] in _DATE_FIELDS:  # M, d, H, h, m, s: one letter unpadded, two letters zero-padded
            out.append(f"{_DATE_FIELDS[piece[0]](value):0{len(piece)}d}")
        elif set(piece) == {"f"}:
            out.append(f"{value.microsecond:06d}0"[:len(piece)])
        elif piece == "tt":
            out.append("AM" if value.hour < 12 else "PM")
        else:
            out.append(piece)
    return "".join(out)
