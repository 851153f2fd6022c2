"""Output of the `durable` commands: tables, status blocks, history, progress and the confirmation prompt."""

from __future__ import annotations

import io

import pytest

from durable_local.manage.errors import UsageError
from durable_local.manage.output import (
    Progress,
    confirm,
    format_history,
    format_instances,
    format_status,
    format_table,
)
from durable_local.manage.storage import hub_artifacts, is_hub_queue, validate_hub_name


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_table_aligns_columns_without_trailing_spaces():
    text = format_table(["ID", "STATUS"], [["a", "Completed"], ["longer-id", ""]])
    assert text.splitlines() == ["ID         STATUS", "a          Completed", "longer-id"]


def test_instances_table_shows_status_names():
    instances = [
        {"instanceId": "abc", "name": "Hello", "runtimeStatus": "Completed",
         "createdTime": "2026-01-01T00:00:00Z", "lastUpdatedTime": "2026-01-01T00:00:01Z"},
        {"instanceId": "waiting-1", "name": "WaitForEvent", "runtimeStatus": "Running",
         "createdTime": "2026-01-02T00:00:00Z", "lastUpdatedTime": "2026-01-02T00:00:00Z"},
    ]
    lines = format_instances(instances).splitlines()
    assert lines[0].split() == ["INSTANCE", "ID", "NAME", "STATUS", "CREATED", "LAST", "UPDATED"]
    assert lines[1].split() == ["abc", "Hello", "Completed", "2026-01-01T00:00:00Z", "2026-01-01T00:00:01Z"]
    assert lines[2].split()[:3] == ["waiting-1", "WaitForEvent", "Running"]


def test_status_block_shows_input_and_output_only_when_asked():
    status = {"instanceId": "abc", "name": "Hello", "runtimeStatus": "Completed", "input": {"n": 1},
              "output": "Hello Tokyo!", "createdTime": "2026-01-01T00:00:00Z",
              "lastUpdatedTime": "2026-01-01T00:00:01Z", "customStatus": None}
    short = format_status(status, show_input=False, show_output=False)
    assert "Runtime status: Completed" in short
    assert "Input" not in short and "Output" not in short and "Custom status" not in short
    full = format_status(status, show_input=True, show_output=True)
    assert '"Hello Tokyo!"' in full
    assert '"n": 1' in full


def test_history_table():
    events = [
        {"EventType": "ExecutionStarted", "FunctionName": "Hello", "Timestamp": "2026-01-01T00:00:00.1Z",
         "Input": "Tokyo"},
        {"EventType": "TaskCompleted", "FunctionName": "SayHello", "Result": "Hello Tokyo!",
         "Timestamp": "2026-01-01T00:00:00.2Z"},
        {"EventType": "ExecutionCompleted", "OrchestrationStatus": "Completed", "Result": "Hello Tokyo!",
         "Timestamp": "2026-01-01T00:00:00.3Z"},
    ]
    lines = format_history(events).splitlines()
    assert lines[0].split() == ["TIMESTAMP", "EVENT", "NAME", "DETAIL"]
    assert "TaskCompleted" in lines[2] and "SayHello" in lines[2] and 'Result=Hello Tokyo!' in lines[2]
    assert "Completed Result=" in lines[3]


def test_confirm_refuses_without_a_terminal():
    with pytest.raises(UsageError, match="--yes") as error:
        confirm("Purge?", assume_yes=False, what="purge 3 instances", stdin=io.StringIO("y\n"),
                stderr=io.StringIO())
    assert error.value.exit_code == 2


def test_confirm_yes_flag_and_answers():
    assert confirm("Purge?", assume_yes=True, what="purge", stdin=io.StringIO(""))
    prompt = io.StringIO()
    assert confirm("Purge?", assume_yes=False, what="purge", stdin=_Terminal("yes\n"), stderr=prompt)
    assert prompt.getvalue() == "Purge? [y/N] "
    assert not confirm("Purge?", assume_yes=False, what="purge", stdin=_Terminal("\n"), stderr=io.StringIO())
    assert not confirm("Purge?", assume_yes=False, what="purge", stdin=_Terminal("n\n"), stderr=io.StringIO())


def test_progress_lines_when_not_a_terminal():
    stream = io.StringIO()
    progress = Progress(stream, interval=3600)
    progress.update("1 page")
    progress.update("2 pages")  # throttled
    progress.done("done: 2 pages")
    assert stream.getvalue().splitlines() == ["1 page", "done: 2 pages"]


def test_progress_rewrites_one_line_on_a_terminal():
    stream = _Terminal()
    progress = Progress(stream)
    progress.update("1")
    progress.update("2")
    progress.done("finished")
    assert stream.getvalue().endswith("\r\x1b[Kfinished\n")


def test_task_hub_artifacts_exactly():
    tables = ["MyHubHistory", "myhubinstances", "MyHubPartitions", "MyHub2History", "MyHubHistoryArchive", "Other"]
    queues = ["myhub-control-00", "myhub-control-15", "myhub-workitems", "myhub-control-1", "myhub-control-000",
              "myhub-other", "myhub2-workitems"]
    containers = ["myhub-leases", "myhub-applease", "myhub-largemessages", "myhub-leases-backup", "myhub2-leases"]
    found = {(a.kind, a.name) for a in hub_artifacts("MyHub", tables, queues, containers)}
    assert found == {
        ("table", "MyHubHistory"), ("table", "myhubinstances"), ("table", "MyHubPartitions"),
        ("queue", "myhub-control-00"), ("queue", "myhub-control-15"), ("queue", "myhub-workitems"),
        ("container", "myhub-leases"), ("container", "myhub-applease"), ("container", "myhub-largemessages"),
    }
    assert not is_hub_queue("MyHub", "myhub-control-ab")


@pytest.mark.parametrize("name", ["ab", "1hub", "my-hub", "my_hub", "x" * 46])
def test_invalid_hub_names_are_refused(name):
    with pytest.raises(UsageError):
        validate_hub_name(name)
    validate_hub_name("UserTest")
