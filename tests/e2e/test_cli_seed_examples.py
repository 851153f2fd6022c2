"""The seed document's Core Tools examples, verbatim with `durable` in place of `func durable`, run from the
app folder against the local host (hub TestTaskHub, as the first example names it)."""

from __future__ import annotations

import json
import shlex

import pytest
from _cli import Cli, cli_host, copy_app, run_in_terminal

SEED_ID = "0ab8c55a66644d68a3a8b220b12d209c"


@pytest.fixture(scope="module")
def host(tmp_path_factory):
    app_dir = copy_app(tmp_path_factory.mktemp("seed"), hub_name="TestTaskHub")
    with cli_host(app_dir) as running:
        yield running


@pytest.fixture
def durable(host):
    return Cli(host.app_dir, host.base_url)


def seed_example(durable: Cli, command: str):
    """Run a line of the seed document: `func durable ...` with `durable` in its place."""
    argv = shlex.split(command)
    assert argv[:2] == ["func", "durable"]
    return durable(*argv[2:])


def restart_seed_instance(durable: Cli, host, name: str, input_value: object = None) -> None:
    """(Re)start the seed's instance ID 0ab8c55a66644d68a3a8b220b12d209c with orchestrator `name`."""
    argv = ["start-new", "--function-name", name, "--id", SEED_ID]
    if input_value is not None:
        argv += ["--input", json.dumps(input_value)]
    durable.ok(*argv)


def test_start_new(durable, host):
    (host.app_dir / "counter-data.json").write_text('{"counter": 41}', encoding="utf-8")
    result = seed_example(durable, "func durable start-new --function-name HelloWorld --input @counter-data.json "
                                   "--task-hub-name TestTaskHub")
    assert result.code == 0, result.err
    instance_id = result.out.strip().rsplit(" ", 1)[-1]
    status = host.wait_for_status(instance_id)
    assert status["name"] == "HelloWorld" and status["input"] == {"counter": 41}
    assert status["output"] == "Hello {'counter': 41}!"


def test_get_runtime_status(durable, host):
    restart_seed_instance(durable, host, "HelloWorld", {"counter": 1})
    host.wait_for_status(SEED_ID)
    result = seed_example(durable, "func durable get-runtime-status --id 0ab8c55a66644d68a3a8b220b12d209c "
                                   "--show-input true --show-output true")
    assert result.code == 0, result.err
    assert f"Instance ID:    {SEED_ID}" in result.out and "Runtime status: Completed" in result.out
    assert '"counter": 1' in result.out and "Hello {'counter': 1}!" in result.out


def test_get_history(durable, host):
    restart_seed_instance(durable, host, "HelloWorld", {"counter": 2})
    host.wait_for_status(SEED_ID)
    result = seed_example(durable, "func durable get-history --id 0ab8c55a66644d68a3a8b220b12d209c")
    assert result.code == 0, result.err
    events = [line.split()[1] for line in result.out.splitlines()[1:]]
    assert events[0] == "ExecutionStarted" and "TaskCompleted" in events and events[-1] == "ExecutionCompleted"


def test_get_instances(durable, host):
    restart_seed_instance(durable, host, "HelloWorld", {"counter": 3})
    host.wait_for_status(SEED_ID)
    result = seed_example(durable, "func durable get-instances")
    assert result.code == 0, result.err
    assert result.out.splitlines()[0].split()[:4] == ["INSTANCE", "ID", "NAME", "STATUS"]
    assert any(line.split()[0] == SEED_ID for line in result.out.splitlines()[1:])


def test_get_instances_with_filters(durable, host):
    host.seed([
        {"instanceId": "march-10-afternoon", "name": "HelloWorld", "createdTime": "2018-03-10T15:00:00Z"},
        {"instanceId": "march-10-morning", "name": "HelloWorld", "createdTime": "2018-03-10T09:00:00Z"},
        {"instanceId": "march-11", "name": "HelloWorld", "createdTime": "2018-03-11T09:00:00Z"},
    ])
    result = seed_example(durable, "func durable get-instances --created-after 2018-03-10T13:57:31Z "
                                   "--created-before  2018-03-10T23:59Z --top 15")
    assert result.code == 0, result.err
    assert [line.split()[0] for line in result.out.splitlines()[1:]] == ["march-10-afternoon"]


def test_terminate(durable, host):
    restart_seed_instance(durable, host, "WaitForEvent")
    host.wait_for_status(SEED_ID, {"Running"})
    result = seed_example(durable, 'func durable terminate --id 0ab8c55a66644d68a3a8b220b12d209c --reason '
                                   '"It was time to be done."')
    assert result.code == 0, result.err
    status = host.wait_for_status(SEED_ID)
    assert status["runtimeStatus"] == "Terminated" and status["output"] == "It was time to be done."


def test_raise_event_from_file(durable, host):
    restart_seed_instance(durable, host, "WaitForEvent")
    host.wait_for_status(SEED_ID, {"Running"})
    (host.app_dir / "eventdata.json").write_text('{"approved": true, "by": "seed"}', encoding="utf-8")
    result = seed_example(durable, "func durable raise-event --id 0ab8c55a66644d68a3a8b220b12d209c "
                                   "--event-name MyEvent --event-data @eventdata.json")
    assert result.code == 0, result.err
    assert host.wait_for_status(SEED_ID)["output"] == {"approved": True, "by": "seed"}


def test_raise_event_inline(durable, host):
    durable.ok("start-new", "--function-name", "WaitForEvent", "--id", "1234567", "--input",
               '{"event": "MyOtherEvent"}')
    host.wait_for_status("1234567", {"Running"})
    result = seed_example(durable, "func durable raise-event --id 1234567 --event-name MyOtherEvent --event-data 3")
    assert result.code == 0, result.err
    assert host.wait_for_status("1234567")["output"] == 3


def test_rewind(durable, host, tmp_path):
    ok_file = tmp_path / "fixed"
    restart_seed_instance(durable, host, "FailOnce", {"okFile": str(ok_file)})
    assert host.wait_for_status(SEED_ID)["runtimeStatus"] == "Failed"
    ok_file.write_text("yes", encoding="utf-8")
    result = seed_example(durable, 'func durable rewind --id 0ab8c55a66644d68a3a8b220b12d209c --reason '
                                   '"Orchestrator failed and needs to be revived."')
    assert result.code == 0, result.err
    assert result.out.splitlines()[0] == "Status before rewind: Failed"
    assert result.out.splitlines()[1].startswith("Status after rewind: ")
    assert host.wait_for_status(SEED_ID)["output"] == "recovered"


def test_purge_history(durable, host):
    host.seed([
        {"instanceId": "failed-before", "name": "FailOnce", "runtimeStatus": "Failed",
         "createdTime": "2018-11-01T00:00:00Z"},
        {"instanceId": "completed-before", "name": "HelloWorld", "runtimeStatus": "Completed",
         "createdTime": "2018-11-01T00:00:00Z"},
        {"instanceId": "failed-after", "name": "FailOnce", "runtimeStatus": "Failed",
         "createdTime": "2018-11-15T00:00:00Z"},
    ])
    command = "func durable purge-history --created-before 2018-11-14T19:35:00.0000000Z --runtime-status failed"
    without_terminal = seed_example(durable, command)
    assert without_terminal.code == 2 and "--yes" in without_terminal.err
    result = run_in_terminal(shlex.split(command)[2:], "y\n", host.app_dir, {"DURABLE_BASE_URL": host.base_url})
    assert result.code == 0, result.err
    assert "Purge the history of 1 instances in task hub 'TestTaskHub'?" in result.err
    assert result.out == "Purged the history of 1 instances.\n"
    remaining = {i["instanceId"] for i in durable.ok("get-instances", "--all", "-o", "json").json()["instances"]}
    assert "failed-before" not in remaining and {"completed-before", "failed-after"} <= remaining


def test_delete_task_hub(tmp_path):
    app_dir = copy_app(tmp_path)
    with cli_host(app_dir, task_hub="UserTest") as host:
        durable = Cli(app_dir, host.base_url)
        ids = [durable.ok("start-new", "--function-name", "HelloWorld", "--input", '{"n": 1}', "--task-hub-name",
                          "UserTest").out.split()[-1] for _ in range(2)]
        for instance_id in ids:
            host.wait_for_status(instance_id)
        dry = durable.ok("delete-task-hub", "--task-hub-name", "UserTest", "--dry-run", "-o", "json").json()
        assert dry["taskHub"] == "UserTest" and dry["instances"] == 2 and sorted(dry["instanceIds"]) == sorted(ids)
        command = "func durable delete-task-hub --task-hub-name UserTest"
        declined = run_in_terminal(shlex.split(command)[2:], "n\n", app_dir, {"DURABLE_BASE_URL": host.base_url})
        assert declined.code == 1 and "aborted; nothing was deleted" in declined.err
        result = run_in_terminal(shlex.split(command)[2:], "y\n", app_dir, {"DURABLE_BASE_URL": host.base_url})
        assert result.code == 0, result.err
        assert "Delete task hub 'UserTest' on the local host" in result.err
        assert result.out.startswith("Deleted task hub 'UserTest' on the local host")
        listing = durable.ok("get-instances", "--task-hub-name", "UserTest", "-o", "json").json()
        assert listing["instances"] == []
