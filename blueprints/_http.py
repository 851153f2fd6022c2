"""HTTP responses of the app: JSON bodies, JSON errors, and the decorator that maps errors to them.

Every response of the app is JSON. A mistake in a request raises `RequestError` with the status code
and a message naming the problem; `json_errors` turns it into `{"error": "..."}` with that status.
"""

import functools
import json
import logging
import math
from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec

import azure.functions as func

logger = logging.getLogger(__name__)

P = ParamSpec("P")


class RequestError(Exception):
    """Raised when a request cannot be served: bad input (400), unknown instance (404), wrong state (409)."""

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message


def bad_request(message: str) -> RequestError:
    return RequestError(400, message)


def not_found(message: str) -> RequestError:
    return RequestError(404, message)


def conflict(message: str) -> RequestError:
    return RequestError(409, message)


def json_response(
    body: Any, status_code: int = 200, headers: dict[str, str] | None = None
) -> func.HttpResponse:
    """A response whose body is `body` encoded as JSON.

    NaN and infinities (which an instance's input can hold: the Durable API accepts them, as Newtonsoft does)
    are written as Newtonsoft writes them by default (`FloatFormatHandling.String`): "NaN", "Infinity",
    "-Infinity", so the body stays valid JSON.
    """
    try:
        text = json.dumps(body, allow_nan=False)
    except ValueError:
        text = json.dumps(newtonsoft_floats(body), allow_nan=False)
    return func.HttpResponse(
        text,
        status_code=status_code,
        headers=headers,
        mimetype="application/json",
        charset="utf-8",
    )


def newtonsoft_floats(value: Any) -> Any:
    """`value` with every non-finite float replaced by Newtonsoft's string for it."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {key: newtonsoft_floats(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [newtonsoft_floats(item) for item in value]
    return value


def error_response(status_code: int, message: str) -> func.HttpResponse:
    """The app's error shape: `{"error": message}`."""
    return json_response({"error": message}, status_code)


def json_errors(
    handler: Callable[P, Awaitable[func.HttpResponse]],
) -> Callable[P, Awaitable[func.HttpResponse]]:
    """Serve `RequestError`s as JSON errors, and any other failure as a logged JSON 500."""

    @functools.wraps(handler)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> func.HttpResponse:
        try:
            return await handler(*args, **kwargs)
        except RequestError as error:
            return error_response(error.status_code, error.message)
        except Exception as error:
            logger.exception("%s failed", handler.__name__)
            return error_response(500, f"{handler.__name__} failed: {error}")

    return wrapper
