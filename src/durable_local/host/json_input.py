"""JSON that enters the host in request bodies: nesting depth bounded before parsing (400, never a 500).

Python's `json` parser recurses per nesting level and fails with RecursionError (a 500) on a few thousand
levels; Newtonsoft.Json 13, which the Functions host and the Durable extension read JSON with, stops at
`MaxDepth` 64 by default. The local host refuses deeper bodies with the same limit. NaN and Infinity literals
are accepted, as Newtonsoft accepts them.
"""

from __future__ import annotations

import json
from typing import Any

MAX_JSON_DEPTH = 64


class JsonInputError(ValueError):
    """A request body that is not JSON the host accepts; the message says why."""


def json_depth(text: str) -> int:
    """How deeply arrays and objects nest in JSON text (strings skipped), without parsing it."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
        elif char in "]}":
            depth -= 1
    return deepest


def parse_json_body(raw: bytes | str) -> Any:
    """The body parsed as JSON; JsonInputError when it is not JSON or nests deeper than `MAX_JSON_DEPTH`."""
    try:
        text = raw.decode("utf-8-sig") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError as error:
        raise JsonInputError(f"the body is not UTF-8 text: {error}") from error
    depth = json_depth(text)
    if depth > MAX_JSON_DEPTH:
        raise JsonInputError(f"the JSON nests {depth} levels deep; the limit is {MAX_JSON_DEPTH}")
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as error:
        raise JsonInputError(f"the body is not valid JSON: {error}") from error
