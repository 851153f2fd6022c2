"""The `durable` entry point: bare `durable` lists the commands, `--version`, each command's flags declared in
the module of its handler, single-value flags refused when repeated, and no local-host import unless
`durable host` is asked for."""

from __future__ import annotations

import argparse
import contextlib
import io
import subprocess
import sys
import types

import pytest

from durable_local.cli import build_parser, main, version
from durable_local.manage.commands import COMMAND_MODULES
from durable_local.manage.commands.options import CommandParser, common_options


def _run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(list(argv))
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else 1
    return code, out.getvalue(), err.getvalue()


def test_bare_durable_lists_the_commands_and_exits_2():
    code, out, err = _run()
    assert code == 2 and out == ""
    for command in ("host", "start-new", "get-instances", "terminate", "purge-history", "delete-task-hub"):
        assert f"\n    {command}" in err


def test_version_prints_the_package_version():
    code, out, _ = _run("--version")
    assert code == 0 and out.strip() == f"durable {version()}" and version() != "unknown"


def test_management_commands_do_not_import_the_local_host():
    script = (
        "import sys, contextlib, io\n"
        "from durable_local.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try: main(['get-instances', '--help'])\n"
        "    except SystemExit: pass\n"
        "print(sorted(m for m in sys.modules if m.startswith('durable_local.host')))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_durable_host_still_has_its_own_flags():
    code, out, _ = _run("host", "start", "--help")
    assert code == 0 and "--testing" in out and "--task-hub" in out


@pytest.mark.parametrize("module", COMMAND_MODULES, ids=lambda m: m.__name__.rsplit(".", 1)[-1])
def test_each_command_is_declared_beside_its_handler(module):
    root = CommandParser(prog="durable")
    subparsers = root.add_subparsers(dest="command")
    module.register(subparsers, common_options())
    assert subparsers.choices, f"{module.__name__} registers no command"
    for name, parser in subparsers.choices.items():
        handler = parser.get_default("handler")
        cells = [cell.cell_contents for cell in handler.__closure__ or ()]
        wrapped = next((c for c in cells if isinstance(c, types.FunctionType)), handler)  # run_handler keeps it
        assert wrapped.__module__ == module.__name__, f"{name} is handled outside {module.__name__}"


@pytest.mark.parametrize(
    "argv",
    [
        ["wait", "--id", "A", "--id", "B"],
        ["get-runtime-status", "--id", "A", "--id", "B"],
        ["raise-event", "--id", "A", "--event-name", "x", "--event-name", "y"],
        ["terminate", "--id", "A", "--reason", "one", "--reason", "two"],
        ["get-instances", "--base-url", "http://a:1", "--base-url", "http://b:2"],
    ],
)
def test_a_single_value_flag_given_twice_is_refused(argv):
    code, out, err = _run(*argv)
    assert code == 2 and out == ""
    assert "was given twice; it takes one value" in err


@pytest.mark.parametrize("command", ["terminate", "purge-history"])
def test_repeated_ids_accumulate(command):
    args = build_parser(with_host=False).parse_args([command, "--id", "A", "B", "--id", "C"])
    assert args.id == ["A", "B", "C"]


def test_runtime_statuses_accumulate():
    args = build_parser(with_host=False).parse_args(
        ["get-instances", "--runtime-status", "failed", "--runtime-status", "running,completed"]
    )
    assert args.runtime_status == ["Failed", "Running", "Completed"]


def test_verbose_is_accepted_after_the_command():
    parser = build_parser(with_host=False)
    assert parser.parse_args(["get-instances", "-v"]).verbose is True
    assert parser.parse_args(["-v", "get-instances"]).verbose is True
    assert parser.parse_args(["get-instances"]).verbose is False
    assert isinstance(parser, argparse.ArgumentParser)
