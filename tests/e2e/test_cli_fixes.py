"""What a new user tripped on, fixed: several `--id`s act on every instance, a task hub the local host does not
run is reported (not shown as empty), deleting a task hub without data says so, failures print their message
first, inputs display the same however the instance started, JSON Lines, NO_COLOR, quiet library logging."""

from __future__ import annotations

import contextlib
import io
import json
import os
from unittest import mock

import pytest
from _cli import Cli, cli_host, copy_app, unique

from durable_local.cli import main


@pytest.fixture(scope="module")
def host(tmp_path_factory):
    app_dir = copy_app(tmp_path_factory.mktemp("fixes"))
    with cli_host(app_dir) as running:
        yield running


@pytest.fixture
def durable(host):
    return Cli(host.app_dir, host.base_url)


def _start_waiting(durable: Cli, host) -> str:
    instance_id = unique("waiting")
    durable.ok("start-new", "--function-name", "WaitForEvent", "--id", instance_id)
    host.wait_for_status(instance_id, {"Running"})
    return instance_id


def test_terminate_with_repeated_ids_terminates_every_one(durable, host):
    first, second = _start_waiting(durable, host), _start_waiting(durable, host)
    result = durable("terminate", "--id", first, "--id", second, "--reason", "both", "--yes")
    assert result.code == 0, result.err
    for instance_id in (first, second):
        status = host.wait_for_status(instance_id)
        assert status["runtimeStatus"] == "Terminated" and status["output"] == "both"


def test_purge_with_repeated_ids_purges_every_one(durable, host):
    ids = [unique("purge") for _ in range(2)]
    for instance_id in ids:
        durable.ok("start-new", "--function-name", "HelloWorld", "--id", instance_id, "--input", "1")
        host.wait_for_status(instance_id)
    result = durable("purge-history", "--id", ids[0], "--id", ids[1], "--yes", "-o", "json")
    assert result.code == 0, result.err
    assert sorted(result.json()["instanceIds"]) == sorted(ids)


def test_get_runtime_status_refuses_two_ids(durable):
    result = durable("get-runtime-status", "--id", "a", "--id", "b")
    assert result.code == 2 and "--id was given twice" in result.err


def test_a_task_hub_the_local_host_does_not_run_is_an_error_not_an_empty_list(durable, host):
    result = durable("get-instances", "--task-hub-name", "SomeOtherHub")
    assert result.code == 1 and result.out == ""
    assert "runs task hub 'CliTestHub', not 'SomeOtherHub' (from --task-hub-name)" in result.err


def test_a_host_json_hub_the_host_does_not_run_is_named_with_its_source(tmp_path):
    app_dir = copy_app(tmp_path)
    with cli_host(app_dir, task_hub="HostHub") as running:
        result = Cli(app_dir, running.base_url)("get-instances")
        assert result.code == 1 and "No instances found" not in result.out
        assert "runs task hub 'HostHub', not 'CliTestHub' (from " in result.err and "host.json" in result.err


def test_deleting_a_task_hub_without_data_says_so_and_fails(durable):
    result = durable("delete-task-hub", "--task-hub-name", "NeverUsedHub", "--yes")
    assert result.code == 1
    assert "task hub 'NeverUsedHub' does not exist on the local host" in result.err
    assert "nothing was deleted" in result.err


def test_env_chooses_the_app_and_its_hub(host, tmp_path, monkeypatch):
    config = tmp_path / "environments.toml"
    config.write_text(
        f'[environments.here]\nbase_url = "{host.base_url}"\nkey_env = "HERE_KEY"\n\n'
        f'[environments.elsewhere]\nbase_url = "{host.base_url}"\ntask_hub = "ElsewhereHub"\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("DURABLE_CONFIG", str(config))
    monkeypatch.setenv("HERE_KEY", "a-key")
    unreachable = Cli(host.app_dir, "http://127.0.0.1:9")  # $DURABLE_BASE_URL points nowhere
    instance_id = unique("env")
    started = unreachable("start-new", "--env", "here", "--function-name", "HelloWorld", "--id", instance_id)
    assert started.code == 0, started.err
    assert host.wait_for_status(instance_id)["runtimeStatus"] == "Completed"
    monkeypatch.setenv("DURABLE_ENV", "here")
    assert unreachable("get-runtime-status", "--id", instance_id).code == 0
    other = unreachable("get-instances", "--env", "elsewhere")
    assert other.code == 1 and "not 'ElsewhereHub' (from environment 'elsewhere')" in other.err
    unknown = unreachable("get-instances", "--env", "nowhere")
    assert unknown.code == 2 and "unknown environment 'nowhere'" in unknown.err


def _failed(durable: Cli, host) -> str:
    instance_id = unique("failed")
    durable.ok("start-new", "--function-name", "FailOnce", "--id", instance_id)
    assert host.wait_for_status(instance_id)["runtimeStatus"] == "Failed"
    return instance_id


def test_a_failure_prints_its_message_first_and_details_on_request(durable, host):
    instance_id = _failed(durable, host)
    plain = durable.ok("get-runtime-status", "--id", instance_id, "--show-output")
    failure = next(line for line in plain.out.splitlines() if line.startswith("Failure:"))
    assert failure.endswith("Activity function 'Flaky' failed:  ValueError: Flaky failed on purpose")
    assert "$type" not in plain.out and "Traceback" not in plain.out and len(plain.out) < 600
    assert "Details:        (--details shows them)" in plain.out
    for flag in ("--details", "-v"):
        detailed = durable.ok("get-runtime-status", "--id", instance_id, "--show-output", flag)
        assert "Traceback (most recent call last)" in detailed.out and "$type" not in detailed.out
        assert 'raise ValueError("Flaky failed on purpose")' in detailed.out
    waited = durable("wait", "--id", instance_id)
    assert waited.code == 1 and "Traceback" not in waited.out and "Failure:" in waited.out
    assert durable.ok("get-runtime-status", "--id", instance_id, "--show-output", "-o", "json").json()[
        "output"].count("$type") >= 1  # scripts still get everything


@pytest.mark.parametrize("value", ['"text"', "[1, 2]", "7", '{"a": [1, 2]}'])
def test_inputs_display_the_same_however_the_instance_started(durable, host, value):
    shown = []
    for raw in (False, True):
        instance_id = unique("input")
        durable.ok("start-new", "--function-name", "WaitForEvent", "--id", instance_id, "--input", value,
                   *(["--raw-input"] if raw else []))
        host.wait_for_status(instance_id, {"Running", "Failed", "Completed"})
        out = durable.ok("get-runtime-status", "--id", instance_id, "--show-input").out
        shown.append(out.split("Input:", 1)[1].split("\n", 1)[0].strip() if "Input:" in out else None)
    assert shown[0] == shown[1] and shown[0] is not None


def test_jsonl_lists_one_instance_per_line(durable, host):
    ids = [unique("jsonl") for _ in range(3)]
    for instance_id in ids:
        durable.ok("start-new", "--function-name", "HelloWorld", "--id", instance_id, "--input", "1")
        host.wait_for_status(instance_id)
    result = durable.ok("get-instances", "--all", "--top", "2", "--instance-id-prefix", "jsonl-", "-o", "jsonl")
    lines = result.out.splitlines()
    assert sorted(json.loads(line)["instanceId"] for line in lines) == sorted(ids)
    history = durable.ok("get-history", "--id", ids[0], "-o", "jsonl").out.splitlines()
    assert json.loads(history[0])["EventType"] == "ExecutionStarted" and len(history) >= 3


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _on_terminal(host, *argv: str, environ: dict[str, str]) -> str:
    out = _Terminal()
    with contextlib.chdir(host.app_dir), mock.patch.dict(os.environ, {"DURABLE_BASE_URL": host.base_url, **environ}), \
            contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        assert main(list(argv)) == 0
    return out.getvalue()


def test_status_is_coloured_on_a_terminal_unless_no_color(durable, host):
    instance_id = unique("color")
    durable.ok("start-new", "--function-name", "HelloWorld", "--id", instance_id, "--input", "1")
    host.wait_for_status(instance_id)
    os.environ.pop("NO_COLOR", None)
    coloured = _on_terminal(host, "get-runtime-status", "--id", instance_id, environ={"TERM": "xterm"})
    assert "\x1b[32mCompleted\x1b[0m" in coloured
    table = _on_terminal(host, "get-instances", "--instance-id-prefix", instance_id, environ={"TERM": "xterm"})
    assert "\x1b[32mCompleted" in table
    plain = _on_terminal(host, "get-runtime-status", "--id", instance_id, environ={"NO_COLOR": "1", "TERM": "xterm"})
    assert "\x1b[" not in plain and "Runtime status: Completed" in plain
    assert "\x1b[" not in durable.ok("get-runtime-status", "--id", instance_id).out  # not a terminal


def test_json_is_compact_in_a_pipe_and_indented_on_a_terminal(durable, host):
    instance_id = unique("json")
    durable.ok("start-new", "--function-name", "HelloWorld", "--id", instance_id, "--input", "1")
    host.wait_for_status(instance_id)
    piped = durable.ok("get-runtime-status", "--id", instance_id, "-o", "json").out
    assert piped.count("\n") == 1 and json.loads(piped)["instanceId"] == instance_id
    shown = _on_terminal(host, "get-runtime-status", "--id", instance_id, "-o", "json", environ={})
    assert shown.startswith("{\n  ") and json.loads(shown)["instanceId"] == instance_id
