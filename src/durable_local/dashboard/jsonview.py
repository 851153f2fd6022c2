"""Readable, collapsible JSON for the instance view: nested objects and arrays become `<details>` elements (so
they fold without JavaScript), every string is HTML-escaped, and a payload over `LIMIT` characters is shown as
truncated text with a link to download it whole."""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup

LIMIT = 64 * 1024
MAX_DEPTH = 20
OPEN_DEPTH = 2


@dataclass
class Rendered:
    """A JSON value rendered as HTML, with its size and whether it was cut short."""

    html: Markup
    size: int
    truncated: bool
    decoded: bool = False  # the value was a string holding a JSON object or array, shown parsed


def render(value: Any) -> Rendered:
    """HTML for `value`: a collapsible tree, or (over `LIMIT`) the first `LIMIT` characters as text. A string
    that holds a JSON object or array (an input serialized twice, as some clients send it) is shown parsed."""
    decoded = False
    if isinstance(value, str) and value.lstrip()[:1] in ("{", "[") and len(value) <= LIMIT:
        with contextlib.suppress(ValueError):
            value, decoded = json.loads(value), True
    text = json.dumps(value, ensure_ascii=False, indent=2)
    if len(text) > LIMIT:
        html = Markup('<pre class="json-text">{}\n…</pre>').format(text[:LIMIT])
        return Rendered(html, len(text), True)
    return Rendered(Markup('<div class="json">{}</div>').format(_node(value, 0)), len(text), False, decoded)


def _scalar(value: Any) -> Markup:
    if isinstance(value, str):
        return Markup('<span class="j-str">{}</span>').format(json.dumps(value, ensure_ascii=False))
    if value is None:
        return Markup('<span class="j-null">null</span>')
    if isinstance(value, bool):
        return Markup('<span class="j-bool">{}</span>').format("true" if value else "false")
    return Markup('<span class="j-num">{}</span>').format(json.dumps(value))


def _node(value: Any, depth: int) -> Markup:
    if not isinstance(value, dict | list) or depth >= MAX_DEPTH:
        return _scalar(value if not isinstance(value, dict | list) else json.dumps(value))
    if not value:
        return Markup("{}") if isinstance(value, dict) else Markup("[]")
    if isinstance(value, dict):
        items = [Markup('<li><span class="j-key">{}</span>: {}</li>').format(json.dumps(k, ensure_ascii=False),
                                                                                _node(v, depth + 1))
                 for k, v in value.items()]
        label = f"{{…}} {len(value)} key{'s' if len(value) != 1 else ''}"
    else:
        items = [Markup("<li>{}</li>").format(_node(v, depth + 1)) for v in value]
        label = f"[…] {len(value)} item{'s' if len(value) != 1 else ''}"
    opened = Markup(" open") if depth < OPEN_DEPTH else Markup("")
    return Markup('<details{}><summary>{}</summary><ul>{}</ul></details>').format(
        opened, label, Markup("").join(items))
