"""Named environments: the file format, where the key comes from (variable, command, plain only when written),
which environment is chosen (--env, $DURABLE_ENV, default), and `durable env` reading and writing the file."""

from __future__ import annotations

import contextlib
import io
import json
import sys
from pathlib import Path

import pytest

from durable_local.cli import main
from durable_local.manage import environments
from durable_local.manage.environments import EnvironmentsFile
from durable_local.manage.errors import CliError, UsageError

STAGING = """
default = "local"

[environments.local]
base_url = "http://localhost:7071"

[environments.staging]
base_url = "https://staging.example.net"
task_hub = "StagingHub"
key_env = "STAGING_KEY"
"""


@pytest.fixture
def config(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "environments.toml"
    monkeypatch.setenv("DURABLE_CONFIG", str(path))
    monkeypatch.delenv("DURABLE_ENV", raising=False)
    return path


def _durable(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(list(argv))
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else 1
    return code, out.getvalue(), err.getvalue()


def test_resolve_picks_explicit_then_variable_then_default(config, monkeypatch):
    config.write_text(STAGING, encoding="utf-8")
    monkeypatch.setenv("STAGING_KEY", "k-staging")
    assert environments.resolve(None).name == "local"
    monkeypatch.setenv("DURABLE_ENV", "staging")
    resolved = environments.resolve(None)
    assert (resolved.base_url, resolved.key, resolved.task_hub) == ("https://staging.example.net", "k-staging",
                                                                     "StagingHub")
    assert environments.resolve("local").key is None


def test_no_file_and_no_choice_means_no_environment(config):
    assert environments.resolve(None) is None


def test_key_env_not_set_is_a_clear_error(config, monkeypatch):
    config.write_text(STAGING, encoding="utf-8")
    monkeypatch.delenv("STAGING_KEY", raising=False)
    with pytest.raises(CliError, match=r"reads its key from \$STAGING_KEY, which is not set"):
        environments.resolve("staging")


def _command_environment(config: Path, script: str) -> None:
    program = config.with_name("key.py")
    program.write_text(script, encoding="utf-8")
    command = json.dumps(f"{sys.executable} {program}")
    config.write_text(f'[environments.cmd]\nbase_url = "http://h:1"\nkey_command = {command}\n', encoding="utf-8")


def test_key_command_output_is_the_key(config):
    _command_environment(config, "print('  from-command  ')\n")
    assert environments.resolve("cmd").key == "from-command"


def test_failing_key_command_is_reported(config):
    _command_environment(config, "import sys\nsys.exit('no login')\n")
    with pytest.raises(CliError, match="key_command exited 1: no login"):
        environments.resolve("cmd")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[environments.a]\nbase_url = "http://h"\nkey_file = "x"\n', "unknown field"),
        ('[environments.a]\ntask_hub = "H"\n', "has no base_url"),
        ('[environments.a]\nbase_url = "http://h"\nkey_env = "A"\nkey = "b"\n', "give one of"),
        ('default = "b"\n[environments.a]\nbase_url = "http://h"\n', "names no"),
        ("base_url = 'http://h'\n", "unknown top-level"),
        ("[environments\n", "not valid TOML"),
    ],
)
def test_malformed_files_are_refused(config, text, message):
    config.write_text(text, encoding="utf-8")
    with pytest.raises(CliError, match=message):
        EnvironmentsFile.load(config)


def test_unknown_environment_is_a_usage_error(config):
    config.write_text(STAGING, encoding="utf-8")
    with pytest.raises(UsageError, match=r"unknown environment 'prod'.*local, staging"):
        environments.resolve("prod")


def test_env_add_list_show_remove(config):
    code, out, err = _durable("env", "add", "stage", "--base-url", "https://s.example.net", "--key-env", "S_KEY",
                              "--task-hub", "Hub1")
    assert code == 0, err
    assert EnvironmentsFile.load(config).get("stage").key_env == "S_KEY"
    code, out, _ = _durable("env", "list")
    assert code == 0 and "stage" in out and "environment variable S_KEY" in out
    code, out, _ = _durable("env", "show", "stage", "-o", "json")
    assert code == 0 and '"taskHub": "Hub1"' in out
    assert _durable("env", "add", "stage", "--base-url", "https://x.example.net")[0] == 2  # exists
    assert _durable("env", "add", "stage", "--base-url", "https://x.example.net", "--replace")[0] == 0
    assert EnvironmentsFile.load(config).get("stage").base_url == "https://x.example.net"
    assert _durable("env", "remove", "stage")[0] == 0
    assert EnvironmentsFile.load(config).environments == {}


def test_env_add_refuses_a_plain_key_unless_asked(config):
    code, _, err = _durable("env", "add", "p", "--base-url", "https://p.example.net", "--key", "secret")
    assert code == 2 and "--plain-key" in err and not config.exists()
    code, _, err = _durable("env", "add", "p", "--base-url", "https://p.example.net", "--key", "secret",
                            "--plain-key")
    assert code == 0, err
    assert config.stat().st_mode & 0o077 == 0
    code, out, _ = _durable("env", "show", "p")
    assert "secret" not in out


def test_env_add_refuses_a_bad_base_url(config):
    code, _, err = _durable("env", "add", "bad", "--base-url", "ftp://x")
    assert code == 2 and "must be an http(s) URL" in err
