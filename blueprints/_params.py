"""Reading requests strictly: route values, query parameters and JSON bodies, each checked or a 400."""

import json
import math
import re
from datetime import UTC, datetime
from typing import Any

import azure.functions as func

from blueprints._http import bad_request

MAX_INSTANCE_ID_LENGTH = 256
MAX_WAIT_SECONDS = 230
MIN_RETRY_INTERVAL_SECONDS = 0.1  # a shorter polling interval only burns CPU
MAX_JSON_DEPTH = 64  # Newtonsoft.Json 13's default MaxDepth, which the Functions host's JSON readers use
MAX_CONTINUATION_TOKEN_LENGTH = 4096
# The function key: Azure passes it in the query string (`?code=`), so every route accepts it.
FUNCTION_KEY_PARAMETER = "code"
_TOKEN_CHARS = re.compile(r"^[\x21-\x7e]+$")
EARLIEST_YEAR = 1601  # Azure Table storage's minimum date; the SDK also writes earlier years unpadded
_FORBIDDEN_ID_CHARS = re.compile(r"[/\\?#\x00-\x1f\x7f]")


def instance_id(req: func.HttpRequest) -> str:
    """The `{instanceId}` route value."""
    value = req.route_params.get("instanceId", "")
    if not value:
        raise bad_request("the instance ID in the route is empty")
    if value in (".", ".."):
        raise bad_request(f"instance ID '{value}' cannot be used: a URL path cannot carry it")
    return value


def accept_only(req: func.HttpRequest, *names: str) -> None:
    """Refuse (400) any query parameter the route does not understand, naming it.

    Names are case-sensitive, as `req.params` is on Azure: a lower-case `createdtimeto` would otherwise be
    ignored and a purge would run to now. `code` (the function key) is always accepted, in any case.
    """
    for key in req.params:
        if key in names or key.lower() == FUNCTION_KEY_PARAMETER:
            continue
        near = next((name for name in names if name.lower() == key.lower()), None)
        if near is not None:
            raise bad_request(f"query parameter '{key}' is not understood: parameter names are case-sensitive; "
                              f"did you mean '{near}'?")
        accepted = ", ".join(names) if names else "none"
        raise bad_request(f"query parameter '{key}' is not understood by this route (it accepts: {accepted})")


def new_instance_id(value: str | None) -> str | None:
    """An instance ID chosen by the caller, checked against Durable's rules; None lets Durable pick one."""
    if not value:
        return None
    if value.startswith("@"):
        raise bad_request(f"instance ID '{value}' must not start with '@' (reserved for entities)")
    if value in (".", ".."):
        raise bad_request(f"instance ID '{value}' cannot be used: a URL path cannot carry it")
    if _FORBIDDEN_ID_CHARS.search(value):
        raise bad_request(f"instance ID '{value}' must not contain /, \\, ?, # or control characters")
    if len(value) > MAX_INSTANCE_ID_LENGTH:
        raise bad_request(f"instance ID is {len(value)} characters long; "
                          f"the limit is {MAX_INSTANCE_ID_LENGTH}")
    return value


def json_body(req: func.HttpRequest) -> Any:
    """The request body parsed as JSON; an empty body is None."""
    raw = req.get_body()
    if not raw.strip():
        return None
    depth = json_depth(raw)
    if depth > MAX_JSON_DEPTH:
        raise bad_request(f"the request body nests JSON {depth} levels deep; the limit is {MAX_JSON_DEPTH}")
    try:
        return json.loads(raw, parse_constant=_not_json, parse_float=_finite_float)
    except (UnicodeDecodeError, json.JSONDecodeError, ValueError, RecursionError) as error:
        raise bad_request(f"the request body is not valid JSON: {error}") from error


def json_depth(raw: bytes | str) -> int:
    """How deeply arrays and objects nest in JSON text (strings skipped), without parsing it."""
    text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
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
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def _not_json(name: str) -> float:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"{text} is out of range for a JSON number")
    return number


def json_body_bytes(req: func.HttpRequest) -> bytes:
    """The request body, checked to be JSON and returned unchanged; an empty body is `null`."""
    raw = req.get_body()
    if not raw.strip():
        return b"null"
    json_body(req)
    return raw


def text(req: func.HttpRequest, name: str, default: str = "") -> str:
    """A free-text query parameter such as `reason`."""
    return req.params.get(name, default)


def boolean(req: func.HttpRequest, name: str, default: bool) -> bool:
    """A `true`/`false` query parameter (any case)."""
    value = req.params.get(name)
    if value is None or value == "":
        return default
    lowered = value.lower()
    if lowered not in ("true", "false"):
        raise bad_request(f"query parameter '{name}' must be true or false, not '{value}'")
    return lowered == "true"


def positive_number(req: func.HttpRequest, name: str, default: float) -> float:
    """A query parameter that must be a finite number greater than zero."""
    value = req.params.get(name)
    if value is None or value == "":
        return default
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not math.isfinite(number) or number <= 0:
        raise bad_request(f"query parameter '{name}' must be a positive number of seconds, not '{value}'")
    if number > MAX_WAIT_SECONDS:
        raise bad_request(f"query parameter '{name}' must be at most {MAX_WAIT_SECONDS} seconds "
                          f"(Azure closes HTTP requests after 230 s), not '{value}'")
    return number


def retry_interval(req: func.HttpRequest, name: str, default: float) -> float:
    """A polling interval: a positive number of seconds, at least `MIN_RETRY_INTERVAL_SECONDS`."""
    number = positive_number(req, name, default)
    if number < MIN_RETRY_INTERVAL_SECONDS:
        raise bad_request(f"query parameter '{name}' must be at least {MIN_RETRY_INTERVAL_SECONDS:g} seconds, "
                          f"not '{req.params.get(name)}'")
    return number


def continuation_token(req: func.HttpRequest, header: str) -> str | None:
    """A continuation token from the `continuationToken` parameter or the header: printable ASCII, bounded."""
    value = req.params.get("continuationToken") or req.headers.get(header) or None
    if value is None:
        return None
    if len(value) > MAX_CONTINUATION_TOKEN_LENGTH or not _TOKEN_CHARS.match(value):
        raise bad_request("the continuation token is not valid: it must be the printable text a previous "
                          f"page returned (at most {MAX_CONTINUATION_TOKEN_LENGTH} characters)")
    return value


def positive_int(req: func.HttpRequest, name: str) -> int | None:
    """A query parameter that must be a whole number greater than zero, or absent."""
    value = req.params.get(name)
    if value is None or value == "":
        return None
    if not (value.isascii() and value.isdigit()) or int(value) <= 0:
        raise bad_request(f"query parameter '{name}' must be a positive integer, not '{value}'")
    return int(value)


def parse_datetime(name: str, value: str) -> datetime:
    """An ISO 8601 date/time from 1601 on (Azure Table's first date); one without an offset is UTC."""
    try:
        moment = datetime.fromisoformat(value.strip())
        moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except (ValueError, OverflowError) as error:
        raise bad_request(f"'{name}' must be an ISO 8601 date/time such as 2024-01-31T12:00:00Z, "
                          f"not '{value}'") from error
    if moment.year < EARLIEST_YEAR:
        raise bad_request(f"'{name}' must not be before {EARLIEST_YEAR}-01-01, not '{value}'")
    return moment


def date_time(req: func.HttpRequest, name: str) -> datetime | None:
    """An ISO 8601 query parameter, or None when absent."""
    value = req.params.get(name)
    if value is None or value == "":
        return None
    return parse_datetime(name, value)


def created_time_range(req: func.HttpRequest) -> tuple[datetime | None, datetime | None]:
    """`createdTimeFrom` and `createdTimeTo`, checked to be in order."""
    start, end = date_time(req, "createdTimeFrom"), date_time(req, "createdTimeTo")
    if start and end and start > end:
        raise bad_request(f"createdTimeFrom ({start.isoformat()}) is after createdTimeTo ({end.isoformat()})")
    return start, end


def list_values(req: func.HttpRequest, name: str) -> list[str]:
    """A comma-separated query parameter as a list of non-empty, trimmed values."""
    value = req.params.get(name) or ""
    return [part.strip() for part in value.split(",") if part.strip()]
