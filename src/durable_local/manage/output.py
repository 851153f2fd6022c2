"""What commands show: text for people on stdout (tables, status blocks) or JSON for scripts; progress and
confirmation prompts on stderr, so stdout stays clean for pipes."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterable, Sequence
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


def format_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Left-aligned columns separated by two spaces, a header row first; no trailing spaces."""
    widths = [len(h) for h in headers]
    for row in rows:
        for index, cell in enumerate(row):
            widths[index] = max(widths[index], len(cell))

    def render(cells: Sequence[str]) -> str:
        return "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(cells)).rstrip()

    return "\n".join([render(headers), *(render(row) for row in rows)])


def _cell(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else compact_json(value, 60)


def format_instances(instances: Sequence[dict[str, Any]]) -> str:
    """The `get-instances` table: id, name, status (by name), created and last-updated times."""
    rows = [[_cell(item.get(key)) for _, key in INSTANCE_COLUMNS] for item in instances]
    return format_table([title for title, _ in INSTANCE_COLUMNS], rows)


def format_status(status: dict[str, Any], *, show_input: bool, show_output: bool) -> str:
    """An instance's status as `Label: value` lines; input and output only when asked for."""
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
        fields.append(("Input", status.get("input")))
    if show_output:
        fields.append(("Output", status.get("output")))
    width = max(len(label) for label, _ in fields) + 1
    lines = []
    for label, value in fields:
        if label in ("Input", "Output", "Custom status"):
            text = json.dumps(value, indent=2, ensure_ascii=False)
        else:
            text = "" if value is None else str(value)
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
