"""Every `durable` instance-management command has help text, and docs/cli.md documents it
with an example."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from durable_local.cli import build_parser

REPO = Path(__file__).resolve().parents[2]
CLI_DOCS = REPO / "docs" / "cli.md"
SEED = REPO.parent / "shared" / "seed" / "durable-functions-instance-management.md"
SEED_COMMANDS = ["start-new", "get-runtime-status", "get-history", "get-instances", "terminate", "raise-event",
                 "rewind", "purge-history", "delete-task-hub"]
EXTRA_COMMANDS = ["wait", "suspend", "resume", "restart"]


def _subparsers_action() -> argparse._SubParsersAction:
    root = build_parser()
    return next(a for a in root._actions if isinstance(a, argparse._SubParsersAction))


def _subparsers() -> dict[str, argparse.ArgumentParser]:
    return {name: parser for name, parser in _subparsers_action().choices.items() if name not in ("host", "dashboard")}


def _help_lines() -> dict[str, str]:
    return {action.dest: action.help or "" for action in _subparsers_action()._choices_actions}


def _cli_section() -> str:
    return CLI_DOCS.read_text(encoding="utf-8")


ALL_COMMANDS = sorted(_subparsers())


def test_all_commands_are_registered():
    assert set(SEED_COMMANDS + EXTRA_COMMANDS) <= set(ALL_COMMANDS)


@pytest.mark.parametrize("name", ALL_COMMANDS)
def test_command_has_help(name):
    parser = _subparsers()[name]
    assert _help_lines()[name].strip()
    assert parser.description and parser.epilog and f"durable {name} " in parser.epilog
    assert parser.get_default("handler") is not None
    for action in parser._actions:
        if action.option_strings and action.dest != "help":
            assert action.help, f"{name} {action.option_strings} has no help"


@pytest.mark.parametrize("name", ALL_COMMANDS)
def test_command_is_documented_with_an_example(name):
    section = _cli_section()
    assert f"## `durable {name}`" in section
    body = section.split(f"## `durable {name}`", 1)[1].split("\n## ", 1)[0]
    assert f"durable {name} " in body, f"no example of durable {name} in docs/cli.md"


def test_seed_examples_are_in_the_readme_verbatim():
    section = _cli_section()
    examples = _seed_examples()
    if SEED.exists():  # the seed document lives next to the repository, not in it
        found = [line.strip() for line in SEED.read_text(encoding="utf-8").splitlines()
                 if line.strip().startswith("func durable ")]
        assert [line.removeprefix("func ") for line in found] == examples
    for example in examples:
        assert example in section


def _seed_examples() -> list[str]:
    return [
        "durable start-new --function-name HelloWorld --input @counter-data.json --task-hub-name TestTaskHub",
        "durable get-runtime-status --id 0ab8c55a66644d68a3a8b220b12d209c --show-input true --show-output true",
        "durable get-history --id 0ab8c55a66644d68a3a8b220b12d209c",
        "durable get-instances",
        "durable get-instances --created-after 2018-03-10T13:57:31Z --created-before  2018-03-10T23:59Z --top 15",
        'durable terminate --id 0ab8c55a66644d68a3a8b220b12d209c --reason "It was time to be done."',
        "durable raise-event --id 0ab8c55a66644d68a3a8b220b12d209c --event-name MyEvent --event-data @eventdata.json",
        "durable raise-event --id 1234567 --event-name MyOtherEvent --event-data 3",
        'durable rewind --id 0ab8c55a66644d68a3a8b220b12d209c --reason "Orchestrator failed and needs to be revived."',
        "durable purge-history --created-before 2018-11-14T19:35:00.0000000Z --runtime-status failed",
        "durable delete-task-hub --task-hub-name UserTest",
    ]


def test_purge_help_says_only_finished_instances_by_default(capsys):
    with pytest.raises(SystemExit):
        _subparsers()["purge-history"].parse_args(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "Without --runtime-status only finished instances are purged (Completed, Failed, Terminated, " \
           "Canceled)" in text
