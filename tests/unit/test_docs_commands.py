"""The README's and docs' commands keep working: every `durable ...` line parses with the real CLI parser,
every `./scripts/...`, `.venv/bin/...` and repository path they name exists, every relative link points at a
file inside the repository, and the cheap commands (`--help`, `--version`) run for real."""

from __future__ import annotations

import argparse
import contextlib
import io
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from durable_local.cli import build_parser

REPO = Path(__file__).resolve().parents[2]
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
SHELL_LANGUAGES = {"", "bash", "sh", "shell", "console"}
SEPARATORS = {"&&", "||", ";", "|"}
REDIRECTIONS = {">", ">>", "2>", "2>&1", "<"}
REPO_FOLDERS = ("tests/", "bench/", "samples/", "docs/", "src/", "blueprints/", "scripts/", "infra/", ".ci/")
_FENCE = re.compile(r"^```([\w-]*)\s*\n(.*?)^```", re.MULTILINE | re.DOTALL)
_INLINE = re.compile(r"(?<!`)`([^`\n]+)`(?!`)")
_LINK = re.compile(r"\]\(([^)\s]+)\)")
_PATH_TOKEN = re.compile(r"(?:\./scripts/|\.venv/bin/)[\w./-]+")


@dataclass(frozen=True)
class Command:
    """One command line found in a page: where, and its words."""

    page: str
    words: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.page}: {shlex.join(self.words)}"


def _shell_lines(text: str) -> list[str]:
    """The lines of the page's shell code blocks, continuation lines joined, prompts removed."""
    lines: list[str] = []
    for language, body in _FENCE.findall(text):
        if language.lower() not in SHELL_LANGUAGES:
            continue
        for line in body.replace("\\\n", " ").splitlines():
            stripped = line.strip()
            if stripped.startswith("[") and lines:  # a synopsis continued on the next line
                lines[-1] += " " + stripped
            else:
                lines.append(stripped[2:] if stripped.startswith("$ ") else stripped)
    return [line for line in lines if line and not line.startswith("#")]


def _segments(line: str) -> list[list[str]]:
    """A shell line split into simple commands (at `&&`, `||`, `;`, `|`), comments and env assignments dropped."""
    try:
        words = shlex.split(line, comments=True)
    except ValueError:  # e.g. an example's JSON output, not a command
        return []
    segments: list[list[str]] = [[]]
    redirected = False
    for word in words:
        if word in SEPARATORS:
            segments.append([])
            redirected = False
        elif word in REDIRECTIONS or redirected:
            redirected = True  # a redirection and its file are not arguments
        else:
            segments[-1].append(word)
    result = []
    for segment in segments:
        while segment and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", segment[0]):
            segment = segment[1:]
        if segment:
            result.append(segment)
    return result


def _durable_arguments(words: list[str]) -> list[str] | None:
    """The arguments after `durable` (or `.venv/bin/durable`, `python -m durable_local`), else None."""
    if words[0] == "durable" or words[0].endswith("/durable"):
        return words[1:]
    if Path(words[0]).name.startswith("python") and words[1:3] == ["-m", "durable_local"]:
        return words[3:]
    return None


def documented_commands() -> list[Command]:
    """Every `durable` command line in the shell blocks of the README and docs."""
    found: list[Command] = []
    for page in PAGES:
        name = str(page.relative_to(REPO))
        for line in _shell_lines(page.read_text(encoding="utf-8")):
            for segment in _segments(line):
                arguments = _durable_arguments(segment)
                if arguments is not None:
                    found.append(Command(name, tuple(arguments)))
    return found


def mentioned_commands() -> list[tuple[str, str]]:
    """(page, command name) for every `durable NAME ...` in inline code of the prose (a mention, not a line)."""
    found = []
    for page in PAGES:
        prose = _FENCE.sub("", page.read_text(encoding="utf-8"))
        for code in _INLINE.findall(prose):
            match = re.match(r"(?:\.venv/bin/)?durable ([a-z][a-z-]*)", code)
            if match:
                found.append((str(page.relative_to(REPO)), match.group(1)))
    return sorted(set(found))


COMMANDS = documented_commands()


def test_the_docs_show_durable_commands() -> None:
    pages = {command.page for command in COMMANDS}
    assert {"README.md", "docs/app.md", "docs/cli.md"} <= pages
    assert len(COMMANDS) > 30


def _subcommand_parser(words: tuple[str, ...]) -> tuple[argparse.ArgumentParser, list[str]]:
    """The parser of the (sub)command the words name, and the words after its name."""
    parser: argparse.ArgumentParser = build_parser()
    rest = list(words)
    while rest:
        actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if not actions or rest[0] not in actions[0].choices:
            break
        parser = actions[0].choices[rest.pop(0)]
    return parser, rest


@pytest.mark.parametrize("command", COMMANDS, ids=str)
def test_each_durable_command_line_parses_with_the_real_parser(command: Command) -> None:
    if any(word.startswith("[") for word in command.words):  # a synopsis: its flags must exist
        parser, rest = _subcommand_parser(command.words)
        known = {option for action in parser._actions for option in action.option_strings}
        flags = {word.strip("[]").split("=")[0] for word in rest if word.strip("[").startswith("-")}
        assert flags <= known, f"{command}: {sorted(flags - known)} are not flags of this command"
        return
    parser = build_parser()
    errors = io.StringIO()
    with contextlib.redirect_stderr(errors), contextlib.redirect_stdout(io.StringIO()):
        try:
            args = parser.parse_args(list(command.words))
        except SystemExit as leaving:
            assert leaving.code == 0, f"{command}\n{errors.getvalue()}"  # only --help / --version exit
            return
    assert args.command is not None, f"{command}: no command"


@pytest.mark.parametrize(("page", "name"), mentioned_commands(), ids=lambda value: str(value))
def test_each_command_the_prose_mentions_exists(page: str, name: str) -> None:
    subparsers = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    assert name in subparsers.choices, f"{page} mentions `durable {name}`, which is not a command"


def mentioned_paths() -> list[tuple[str, str]]:
    """(page, path) for every `./scripts/...` and `.venv/bin/...` path and every repository path in a shell
    block (a glob such as `tests/e2e/test_app_*.py` must match something)."""
    found: list[tuple[str, str]] = []
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        name = str(page.relative_to(REPO))
        found += [(name, match.rstrip(".")) for match in _PATH_TOKEN.findall(text)]
        for line in _shell_lines(text):
            for segment in _segments(line):
                found += [(name, word) for word in segment
                          if word.startswith(REPO_FOLDERS) and re.fullmatch(r"[\w./*-]+", word)]
    return sorted(set(found))


@pytest.mark.parametrize(("page", "path"), mentioned_paths(), ids=lambda value: str(value))
def test_each_path_the_docs_name_exists(page: str, path: str) -> None:
    relative = path.removeprefix("./")
    matches = list(REPO.glob(relative)) if any(ch in relative for ch in "*?[") else [REPO / relative]
    assert any(match.exists() for match in matches), f"{page} names {path}, which does not exist"


def relative_links() -> list[tuple[str, str]]:
    found = []
    for page in PAGES:
        for target in _LINK.findall(page.read_text(encoding="utf-8")):
            if not re.match(r"[a-z]+:", target) and not target.startswith("#"):
                found.append((str(page.relative_to(REPO)), target))
    return found


@pytest.mark.parametrize(("page", "target"), relative_links(), ids=lambda value: str(value))
def test_each_relative_link_points_at_a_file_in_the_repository(page: str, target: str) -> None:
    resolved = ((REPO / page).parent / target.split("#", 1)[0]).resolve()
    assert resolved.is_relative_to(REPO), f"{page} links outside the repository: {target}"
    assert resolved.exists(), f"{page} links to {target}, which does not exist"


def test_no_page_refers_to_files_outside_the_repository() -> None:
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        assert "../shared/" not in text and "/work/" not in text, page


@pytest.mark.parametrize("arguments", [["--version"], ["--help"], ["get-instances", "--help"],
                                       ["host", "start", "--help"]], ids=" ".join)
def test_the_cheap_documented_commands_run_for_real(arguments: list[str]) -> None:
    assert any(command.words[:1] == (arguments[0],) for command in COMMANDS) or arguments[0].startswith("--")
    result = subprocess.run([sys.executable, "-m", "durable_local", *arguments], capture_output=True, text=True,
                            cwd=REPO, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()
