"""Errors a `durable` command reports as one line on stderr, each with the exit code it ends with."""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2


class CliError(Exception):
    """Raised when a command cannot do what was asked; the message is shown as is, on one line."""

    exit_code = EXIT_FAILURE

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(message.split()))
        self.message = " ".join(message.split())


class UsageError(CliError):
    """Raised for a bad flag value or a missing confirmation: the caller must change the command line."""

    exit_code = EXIT_USAGE


class ApiError(CliError):
    """Raised when the Durable HTTP API answers with an unexpected status code."""

    def __init__(self, method: str, url: str, status: int, detail: str) -> None:
        self.method = method
        self.url = url
        self.status = status
        self.detail = detail
        suffix = f": {detail}" if detail else ""
        super().__init__(f"{method} {url} returned HTTP {status}{suffix}")
