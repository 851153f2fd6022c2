"""What commands show: text for people on stdout (tables, status blocks) or JSON for scripts; progress and
confirmation prompts on stderr, so stdout stays clean for pipes."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TextIO

from durable_local.manage.errors import UsageError

INSTANCE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("INSTANCE ID", "instanceId"),
    ("NAME", "name"),
    ("STATUS", "runtimeStatus"),
    ("CREATED", "createdTime"),
    ("LAST UPDATED", "lastUpdatedTime"),
)


class Output:
    """Writes a command's result to stdout: text (`--output text`), JSON (`--output json`: indented on a
    terminal, one compact line in a pipe, where indenting 100,000 instances would double the time) or JSON
    Lines (`--output jsonl`: one compact value per line, written as it arrives)."""

    def __init__(self, fmt: str = "text", stream: TextIO | None = None) -> None:
        self.format = fmt
        self.json = fmt in ("json", "jsonl")
        self._stream = stream

    @property
    def stream(self) -> TextIO:
        return self._stream or sys.stdout

    def line(self, text: str = "") -> None:
        self.stream.write(text + "\n")

    def emit_json(self, value: Any) -> None:
        if self.format == "json" and is_terminal(self.stream):
            self.stream.write(json.dumps(value, indent=2, ensure_ascii=False) + "\n")
        else:
            self.stream.write(json.dumps(value, ensure_ascii=False, separators=(",", ":")) + "\n")

    @property
    def color(self) -> bool:
        """Whether text output may be coloured (a terminal, and `NO_COLOR` not set)."""
        return color_enabled(self.stream)

    def emit_lines(self, values: Iterable[Any]) -> None:
        """JSON Lines: each value compact on its own line."""
        encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
        self.stream.writelines(encode(value) + "\n" for value in values)


def is_terminal(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def compact_json(value: Any, limit: int | None = None) -> str:
    """One-line JSON of `value`, cut to `limit` characters with an ellipsis."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    if limit is not None and len(text) > limit:
        return text[: max(limit - 1, 0)] + "…"
    return text


def format_table(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    paint: Callable[[int, str, str], str] | None = None,
) -> str:
    """Left-aligned columns separated by two spaces, a header row first; no trailing spaces. `paint(column,
    raw cell, padded cell)` may colour a body cell after padding (escape codes take no width)."""
    widths = [len(h) for h in headers]
    for row in rows:
        for index, cell in enumerate(row):
            widths[index] = max(widths[index], len(cell))

    def render(cells: Sequence[str], painted: bool) -> str:
        padded = [cell.ljust(widths[i]) for i, cell in enumerate(cells)]
        if painted and paint is not None:
            padded = [paint(i, cells[i], text) for i, text in enumerate(padded)]
        return "  ".join(padded).rstrip()

    return "\n".join([render(headers, False), *(render(row, True) for row in rows)])


STATUS_COLORS = {
    "Completed": "32",
    "Failed": "31",
    "Terminated": "33",
    "Canceled": "33",
    "Suspended": "35",
    "Running": "36",
    "Pending": "36",
    "ContinuedAsNew": "36",
}


def color_enabled(stream: TextIO, environ: Mapping[str, str] | None = None) -> bool:
    """Colour only on a terminal, never when `NO_COLOR` is set (https://no-color.org) or TERM is dumb."""
    env = os.environ if environ is None else environ
    return is_terminal(stream) and not env.get("NO_COLOR") and env.get("TERM") != "dumb"


def paint_status(text: str, status: str | None, enabled: bool) -> str:
    """`text` in the colour of runtime status `status` when colour is enabled."""
    code = STATUS_COLORS.get(status or "")
    return f"\x1b[{code}m{text}\x1b[0m" if enabled and code else text


def _cell(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else compact_json(value, 60)


def format_instances(instances: Sequence[dict[str, Any]], *, color: bool = False) -> str:
    """The `get-instances` table: id, name, status (by name), created and last-updated times."""
    rows = [[_cell(item.get(key)) for _, key in INSTANCE_COLUMNS] for item in instances]
    status_column = [key for _, key in INSTANCE_COLUMNS].index("runtimeStatus")

    def paint(column: int, raw: str, padded: str) -> str:
        return paint_status(padded, raw, color) if column == status_column else padded

    return format_table([title for title, _ in INSTANCE_COLUMNS], rows, paint if color else None)


def input_as_seen(value: Any) -> Any:
    """An input as a Python orchestrator's `get_input()` sees it: the Python SDK (and `durable start-new`)
    send a non-object input as a JSON string holding its JSON text, which the SDK decodes; so a string that
    is JSON is shown decoded, and an input displays the same however the instance was started."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def split_failure(output: Any) -> tuple[str, str | None]:
    r"""A Failed instance's output as (message, details): the extension writes `"{reason} \n {details}"`,
    the details being the .NET exception JSON (with the Python traceback inside) or a stack trace."""
    text = output if isinstance(output, str) else compact_json(output)
    message, separator, details = text.partition("\n")
    return message.strip(), (details.strip() or None) if separator else None


def readable_details(details: str) -> str:
    """Failure details for people: the Python traceback inside the .NET exception JSON when there is one."""
    try:
        data = json.loads(details)
    except ValueError:
        return details
    while isinstance(data, dict):
        for key in ("RemoteStackTrace", "StackTrace", "StackTraceString"):
            if isinstance(data.get(key), str) and data[key].strip():
                return str(data[key])
        data = data.get("InnerException")
    return json.dumps(json.loads(details), indent=2, ensure_ascii=False)


def format_status(
    status: dict[str, Any], *, show_input: bool, show_output: bool, details: bool = False, color: bool = False
) -> str:
    """An instance's status as `Label: value` lines; input and output only when asked for. A failure shows its
    message first and its details (the traceback) only with `details`."""
    fields: list[tuple[str, Any]] = [
        ("Instance ID", status.get("instanceId")),
        ("Name", status.get("name")),
        ("Runtime status", status.get("runtimeStatus")),
        ("Created", status.get("createdTime")),
        ("Last updated", status.get("lastUpdatedTime")),
    ]
    if status.get("customStatus") is not None:
        fields.append(("Custom status", status["customStatus"]))
    if show_input:
        fields.append(("Input", input_as_seen(status.get("input"))))
    failure: tuple[str, str | None] | None = None
    if show_output and status.get("runtimeStatus") == "Failed" and status.get("output") is not None:
        failure = split_failure(status["output"])
        fields.append(("Failure", failure[0]))
        if failure[1] is not None:
            fields.append(("Details", readable_details(failure[1]) if details else "(--details shows them)"))
    elif show_output:
        fields.append(("Output", status.get("output")))
    width = max(len(label) for label, _ in fields) + 1
    lines = []
    for label, value in fields:
        if label in ("Input", "Output", "Custom status"):
            text = json.dumps(value, indent=2, ensure_ascii=False)
        else:
            text = "" if value is None else str(value)
        if label == "Runtime status":
            text = paint_status(text, text, color)
        lines.append(f"{label + ':':<{width}} " + text.replace("\n", "\n" + " " * (width + 1)))
    return "\n".join(lines)


_DETAIL_KEYS = ("Result", "Reason", "Details", "Input", "FireAt", "InstanceId")


def format_history(events: Sequence[dict[str, Any]]) -> str:
    """History events as a table: timestamp, event type, function or event name, and the main detail."""
    rows = []
    for event in events:
        name = event.get("FunctionName") or event.get("Name") or ""
        detail = next((f"{key}={_cell(event[key])}" for key in _DETAIL_KEYS if event.get(key) is not None), "")
        if event.get("OrchestrationStatus"):
            detail = f"{event['OrchestrationStatus']} {detail}".strip()
        rows.append([_cell(event.get("Timestamp")), _cell(event.get("EventType")), _cell(name), detail])
    return format_table(["TIMESTAMP", "EVENT", "NAME", "DETAIL"], rows)


class Progress:
    """Progress of a long operation on stderr: one rewritten line on a terminal, else a line a second."""

    def __init__(self, stream: TextIO | None = None, *, interval: float = 1.0) -> None:
        self._stream = stream
        self.interval = interval
        self._last: float | None = None
        self._pending = ""
        self._shown = False

    @property
    def stream(self) -> TextIO:
        return self._stream or sys.stderr

    def _tty(self) -> bool:
        isatty = getattr(self.stream, "isatty", None)
        return bool(isatty and isatty())

    def update(self, text: str) -> None:
        now = time.monotonic()
        self._pending = text
        if self._tty():
            self.stream.write("\r\x1b[K" + text)
            self.stream.flush()
            self._shown = True
        elif self._last is None or now - self._last >= self.interval:
            self.stream.write(text + "\n")
            self._last = now
            self._pending = ""

    def done(self, text: str | None = None) -> None:
        final = text or self._pending
        if self._tty():
            if final:
                self.stream.write("\r\x1b[K" + final + "\n")
            elif self._shown:
                self.stream.write("\n")
        elif final:
            self.stream.write(final + "\n")
        self.stream.flush()


def confirm(
    question: str, *, assume_yes: bool, what: str, stdin: TextIO | None = None, stderr: TextIO | None = None
) -> bool:
    """Ask `question [y/N]` on stderr. `--yes` answers yes; without a terminal on stdin, refuse (exit 2)."""
    if assume_yes:
        return True
    source = stdin or sys.stdin
    prompt_to = stderr or sys.stderr
    isatty = getattr(source, "isatty", None)
    if not (isatty and isatty()):
        raise UsageError(
            f"refusing to {what} without confirmation: stdin is not a terminal; "
            "pass --yes to go ahead, or --dry-run to see what would change"
        )
    prompt_to.write(f"{question} [y/N] ")
    prompt_to.flush()
    answer = source.readline()
    return answer.strip().lower() in ("y", "yes")
