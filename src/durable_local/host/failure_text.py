"""Failure text as the host records it: never raising, and bounded in size.

User code can raise anything: an exception whose `__str__` raises, one that cannot be pickled, one with a
20 MB message. The text recorded for it (TaskFailed `Reason`/`Details`, the instance's output, the
sub-orchestration failure sent to a parent) is built here, so that building it cannot fail and one exception
cannot grow the store by gigabytes (the text is copied into several history rows and replayed each episode).

Limit: `MAX_FAILURE_TEXT` characters (16 KiB) for each exception message, stack trace, TaskFailed `Reason`, and
an orchestration's failure output and details. An activity's `Details` JSON is built from the bounded message
and stack, so it stays valid JSON of at most about 5 x 16 KiB. Longer text keeps its head and its last 1,024
characters (where a stack trace's innermost frame is), with a marker saying how many characters were left out.
Azure stores larger failure text (in blobs); this is a documented local difference.
"""

from __future__ import annotations

import traceback

MAX_FAILURE_TEXT = 16 * 1024
TAIL_CHARS = 1024


def truncated(text: str, limit: int = MAX_FAILURE_TEXT) -> str:
    """`text` cut to at most `limit` characters (head, a marker, tail), unchanged when it fits."""
    if len(text) <= limit:
        return text
    marker = f"... [{len(text) - limit} characters truncated by the local host] ..."
    tail = min(TAIL_CHARS, limit // 4)
    head = max(limit - tail - len(marker), 0)
    return text[:head] + marker + text[len(text) - tail:]


def truncated_or_none(text: str | None, limit: int = MAX_FAILURE_TEXT) -> str | None:
    return None if text is None else truncated(text, limit)


def safe_str(error: BaseException) -> str:
    """`str(error)`, or a placeholder when the exception's `__str__` itself raises (or returns a non-str)."""
    try:
        text = str(error)
    except Exception as failure:  # a broken __str__ must not leave the work item unfinished
        return f"<str() of {type(error).__name__} raised {type(failure).__name__}>"
    return text if isinstance(text, str) else f"<str() of {type(error).__name__} returned a non-string>"


def exception_message(error: BaseException) -> str:
    """`Type: message`, bounded."""
    return truncated(f"{type(error).__name__}: {safe_str(error)}")


def exception_stack(error: BaseException) -> str:
    """The formatted traceback, bounded (`traceback` already survives a broken `__str__`)."""
    try:
        text = "".join(traceback.format_exception(error)).strip()
    except Exception as failure:
        text = f"<the traceback of {type(error).__name__} could not be formatted: {type(failure).__name__}>"
    return truncated(text)
