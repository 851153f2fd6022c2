"""Every `durable` command against the real local host serving tests/apps/cli_app: happy paths, errors and
exit codes, over real HTTP."""

from __future__ import annotations

import json

import pytest
from _cli import Cli, cli_host, copy_app, unique

from durable_local.testing import TERMINAL_STATUSES, free_port
from durable_local.vocabulary import DURABLE_API


@pytest.fixture(scope="module")
def host(tmp_path_factory):
    with cli_host(copy_app(tmp_path_factory.mktemp("cli"))) as running:
        yield running


@pytest.fixture
def durable(host):
    return Cli(host.app_dir, host.base_url)


def start(durable: Cli, name: str, input_value: object = None, prefix: str = "cli") -> str:
    instance_id = unique(prefix)
    argv = ["start-new", "--function-name", name, "--id", instance_id]
    if input_value is not None:
        argv += ["--input", json.dumps(input_value)]
    durable.ok(*argv)
    return instance_id


def wait_running(host, instance_id: str) -> None:
    host.wait_for_status(instance_id, {"Running"})


# -- start-new ---------------------------------------------------------------------------------------------
def test_start_new_inline_and_file_input(durable, host):
    result = durable.ok("start-new", "--function-name", "Hello", "--input", '{"city": "Tokyo"}')
    assert result.out.startswith("Started 'Hello'. Instance ID: ")
    instance_id = result.out.strip().rsplit(" ", 1)[-1]
    assert len(instance_id) == 32
    assert host.wait_for_status(instance_id)["output"] == "Hello {'city': 'Tokyo'}!"

    (host.app_dir / "cities.json").write_text('{"city": "Seattle"}', encoding="utf-8")
    instance_id = unique("file")
    payload = durable.ok("start-new", "--function-name", "Hello", "--input", "@cities.json", "--id", instance_id,
                         "-o", "json").json()
    assert payload["id"] == instance_id and f"/instances/{instance_id}" in payload["statusQueryGetUri"]
    assert host.wait_for_status(instance_id)["input"] == {"city": "Seattle"}


def test_start_new_plain_text_input_is_a_json_string(durable, host):
    instance_id = unique("text")
    durable.ok("start-new", "--function-name", "Hello", "--input", "Tokyo", "--id", instance_id)
    assert host.wait_for_status(instance_id)["input"] == '"Tokyo"'
    instance_id = unique("number")
    durable.ok("start-new", "--function-name", "Hello", "--input", "3", "--id", instance_id, "--raw-input")
    assert host.wait_for_status(instance_id)["input"] == 3


def test_orchestration_with_scalar_input_completes(durable, host):
    instance_id = unique("scalar")
    durable.ok("start-new", "--function-name", "Hello", "--input", "Tokyo", "--id", instance_id)
    assert host.wait_for_status(instance_id)["output"] == "Hello Tokyo!"


def test_start_new_errors(durable):
    unknown = durable("start-new", "--function-name", "NoSuchOrchestrator")
    assert unknown.code == 1 and "cannot start 'NoSuchOrchestrator'" in unknown.err
    assert "doesn't exist" in unknown.err and len(unknown.err.splitlines()) == 1
    bad_id = durable("start-new", "--function-name", "Hello", "--id", "@reserved")
    assert bad_id.code == 1 and "cannot start 'Hello'" in bad_id.err
    missing_file = durable("start-new", "--function-name", "Hello", "--input", "@nope.json")
    assert missing_file.code == 2 and "cannot read nope.json" in missing_file.err
    assert durable("start-new").code == 2


def test_start_new_duplicate_running_id(durable, host):
    instance_id = start(durable, "WaitForEvent")
    wait_running(host, instance_id)
    duplicate = durable("start-new", "--function-name", "WaitForEvent", "--id", instance_id)
    assert duplicate.code == 1 and "already exist" in duplicate.err
    durable.ok("terminate", "--id", instance_id)


# -- get-runtime-status, get-history, wait -----------------------------------------------------------------
def test_get_runtime_status(durable, host):
    instance_id = start(durable, "Hello", {"city": "Oslo"})
    host.wait_for_status(instance_id)
    text = durable.ok("get-runtime-status", "--id", instance_id).out
    assert f"Instance ID:    {instance_id}" in text and "Runtime status: Completed" in text
    assert "Input" not in text and "Output" not in text
    full = durable.ok("get-runtime-status", "--id", instance_id, "--show-input", "true", "--show-output", "true")
    assert '"city": "Oslo"' in full.out and "\"Hello {'city': 'Oslo'}!\"" in full.out
    data = durable.ok("get-runtime-status", "--id", instance_id, "--show-output", "-o", "json").json()
    assert data["runtimeStatus"] == "Completed" and "input" not in data and data["output"].startswith("Hello")


def test_unknown_instance_everywhere(durable):
    for argv in (["get-runtime-status"], ["get-history"], ["terminate"], ["rewind"], ["suspend"], ["resume"],
                 ["restart"], ["wait"], ["purge-history"], ["raise-event", "--event-name", "MyEvent"]):
        result = durable(*argv, "--id", "no-such-instance")
        assert result.code == 1, argv
        assert result.err.strip() == (f"durable {argv[0]}: error: no instance with ID 'no-such-instance' found "
                                      "in task hub 'CliTestHub'"), argv
        assert result.out == ""


def test_get_history(durable, host):
    instance_id = start(durable, "Hello", {"city": "Lima"})
    host.wait_for_status(instance_id)
    table = durable.ok("get-history", "--id", instance_id).out.splitlines()
    assert table[0].split() == ["TIMESTAMP", "EVENT", "NAME", "DETAIL"]
    events = [line.split()[1] for line in table[1:]]
    assert events[0] == "ExecutionStarted" and events[-1] == "ExecutionCompleted" and "TaskCompleted" in events
    history = durable.ok("get-history", "--id", instance_id, "-o", "json").json()
    completed = next(e for e in history if e["EventType"] == "TaskCompleted")
    assert completed["FunctionName"] == "SayHello" and completed["Result"] == "Hello {'city': 'Lima'}!"


def test_wait(durable, host):
    instance_id = start(durable, "Hello", {"n": 1})
    result = durable.ok("wait", "--id", instance_id, "--timeout", "30")
    assert "Runtime status: Completed" in result.out and "Output:" in result.out
    failed = start(durable, "FailOnce")
    result = durable("wait", "--id", failed, "--timeout", "30")
    assert result.code == 1 and "Runtime status: Failed" in result.out
    assert f"instance '{failed}' ended Failed" in result.err and "Flaky failed on purpose" in result.err
    waiting = start(durable, "WaitForEvent")
    result = durable("wait", "--id", waiting, "--timeout", "0.3", "--interval", "0.05")
    assert result.code == 1 and f"instance '{waiting}' is still" in result.err and "after 0.3 s" in result.err
    durable.ok("terminate", "--id", waiting)


# -- get-instances -----------------------------------------------------------------------------------------
def test_get_instances_paging(durable, host):
    prefix = unique("page")
    ids = sorted(start(durable, "Hello", {"i": i}, prefix=prefix) for i in range(5))
    for instance_id in ids:
        host.wait_for_status(instance_id)
    first = durable.ok("get-instances", "--instance-id-prefix", prefix, "--top", "2")
    rows = first.out.splitlines()
    assert rows[0].split()[:4] == ["INSTANCE", "ID", "NAME", "STATUS"]
    assert len(rows) == 4 and rows[1].split()[1:3] == ["Hello", "Completed"]
    token = rows[-1].split("'")[1]
    assert rows[-1] == f"Continuation token for next set of results: '{token}'"
    second = durable.ok("get-instances", "--instance-id-prefix", prefix, "--top", "2", "--continuation-token",
                        token, "-o", "json").json()
    assert len(second["instances"]) == 2 and second["continuationToken"]
    everything = durable.ok("get-instances", "--instance-id-prefix", prefix, "--top", "2", "--all", "-o", "json")
    assert sorted(i["instanceId"] for i in everything.json()["instances"]) == ids
    assert everything.json()["continuationToken"] is None
    assert "Fetched 5 instances." in everything.err


def test_get_instances_filters(durable, host):
    prefix = unique("filter")
    done = start(durable, "Hello", {"x": 1}, prefix=prefix)
    host.wait_for_status(done)
    waiting = start(durable, "WaitForEvent", prefix=prefix)
    wait_running(host, waiting)
    running = durable.ok("get-instances", "--instance-id-prefix", prefix, "--runtime-status", "running", "-o",
                         "json").json()["instances"]
    assert [i["instanceId"] for i in running] == [waiting]
    both = durable.ok("get-instances", "--instance-id-prefix", prefix, "--runtime-status", "RUNNING,completed",
                      "--all", "-o", "json").json()["instances"]
    assert {i["instanceId"] for i in both} == {done, waiting}
    none = durable.ok("get-instances", "--instance-id-prefix", prefix, "--created-before", "2000-01-01")
    assert none.out == "No instances found.\n"
    assert durable("get-instances", "--runtime-status", "done").code == 2
    durable.ok("terminate", "--id", waiting)


def test_unreachable_app(durable):
    result = durable("get-instances", "--base-url", f"http://127.0.0.1:{free_port()}")
    assert result.code == 1 and "cannot reach the app" in result.err and len(result.err.splitlines()) == 1


# -- raise-event, terminate, suspend, resume ---------------------------------------------------------------
def test_raise_event(durable, host):
    instance_id = start(durable, "WaitForEvent")
    wait_running(host, instance_id)
    result = durable.ok("raise-event", "--id", instance_id, "--event-name", "MyEvent", "--event-data", '{"ok": 1}')
    assert result.out == f"Raised event 'MyEvent' to instance '{instance_id}'.\n"
    assert host.wait_for_status(instance_id)["output"] == {"ok": 1}
    gone = durable("raise-event", "--id", instance_id, "--event-name", "MyEvent")
    assert gone.code == 1
    assert f"cannot raise event 'MyEvent' to instance '{instance_id}': its status is Completed" in gone.err
    assert durable("raise-event", "--id", instance_id).code == 2  # no --event-name


def test_raise_event_plain_text_is_a_json_string(durable, host):
    instance_id = start(durable, "WaitForEvent")
    wait_running(host, instance_id)
    durable.ok("raise-event", "--id", instance_id, "--event-name", "MyEvent", "--event-data", "approved")
    assert host.wait_for_status(instance_id)["output"] == "approved"


def test_terminate(durable, host):
    instance_id = start(durable, "WaitForEvent")
    wait_running(host, instance_id)
    result = durable.ok("terminate", "--id", instance_id, "--reason", "enough")
    assert result.out == f"Terminated instance '{instance_id}'. Runtime status: Terminated.\n"
    status = host.wait_for_status(instance_id)
    assert status["runtimeStatus"] == "Terminated" and status["output"] == "enough"
    again = durable("terminate", "--id", instance_id)
    assert again.code == 1 and "its status is Terminated" in again.err


def test_terminate_no_wait(durable, host):
    instance_id = start(durable, "WaitForEvent")
    data = durable.ok("terminate", "--id", instance_id, "--no-wait", "-o", "json").json()
    assert data == {"instanceId": instance_id, "runtimeStatus": None}
    assert host.wait_for_status(instance_id)["runtimeStatus"] == "Terminated"


def test_terminate_many(durable, host):
    prefix = unique("many")
    ids = sorted(start(durable, "WaitForEvent", prefix=prefix) for _ in range(3))
    for instance_id in ids:
        wait_running(host, instance_id)
    refused = durable("terminate", "--instance-id-prefix", prefix)
    assert refused.code == 2 and "refusing to terminate 3 instances" in refused.err
    dry = durable.ok("terminate", "--instance-id-prefix", prefix, "--dry-run", "-o", "json").json()
    assert sorted(dry["instanceIds"]) == ids
    assert all(host.get(f"{DURABLE_API}/instances/{i}").json()["runtimeStatus"] == "Running"
               for i in ids)
    done = durable.ok("terminate", "--instance-id-prefix", prefix, "--yes", "--reason", "bulk", "-o", "json")
    assert sorted(done.json()["terminated"]) == ids
    assert {host.wait_for_status(i)["runtimeStatus"] for i in ids} == {"Terminated"}
    more = [start(durable, "WaitForEvent", prefix=prefix) for _ in range(2)]
    result = durable.ok("terminate", "--id", *more, "--yes")
    assert result.out == "Terminated 2 instances.\n"


def test_suspend_and_resume(durable, host):
    instance_id = start(durable, "WaitForEvent")
    wait_running(host, instance_id)
    assert durable.ok("suspend", "--id", instance_id, "--reason", "pause").out == (
        f"Suspended instance '{instance_id}'. Runtime status: Suspended.\n")
    again = durable("suspend", "--id", instance_id)
    assert again.code == 1 and "its status is Suspended" in again.err
    assert durable.ok("resume", "--id", instance_id).out == (
        f"Resumed instance '{instance_id}'. Runtime status: Running.\n")
    again = durable("resume", "--id", instance_id)
    assert again.code == 1 and "its status is Running (only Suspended instances can be resumed)" in again.err
    durable.ok("raise-event", "--id", instance_id, "--event-name", "MyEvent", "--event-data", "1")
    assert host.wait_for_status(instance_id)["runtimeStatus"] == "Completed"
    finished = durable("suspend", "--id", instance_id)
    assert finished.code == 1 and "its status is Completed" in finished.err


# -- rewind, restart ---------------------------------------------------------------------------------------
def test_rewind(durable, host, tmp_path):
    ok_file = tmp_path / "ok"
    instance_id = start(durable, "FailOnce", {"okFile": str(ok_file)})
    assert host.wait_for_status(instance_id)["runtimeStatus"] == "Failed"
    ok_file.write_text("ok", encoding="utf-8")
    result = durable.ok("rewind", "--id", instance_id, "--reason", "fixed")
    lines = result.out.splitlines()
    assert lines[0] == "Status before rewind: Failed"
    assert lines[1] in ("Status after rewind: Pending", "Status after rewind: Running",
                        "Status after rewind: Completed")
    assert host.wait_for_status(instance_id)["output"] == "recovered"
    refused = durable("rewind", "--id", instance_id)
    assert refused.code == 1 and "its status is Completed (only Failed instances can be rewound)" in refused.err


def test_restart(durable, host):
    instance_id = start(durable, "Hello", {"again": True})
    host.wait_for_status(instance_id)
    result = durable.ok("restart", "--id", instance_id)
    new_id = result.out.strip().rsplit(" ", 1)[-1]
    assert new_id != instance_id
    assert host.wait_for_status(new_id)["input"] == {"again": True}
    same = durable.ok("restart", "--id", instance_id, "--reuse-id", "-o", "json").json()
    assert same["id"] == instance_id
    waiting = start(durable, "WaitForEvent")
    wait_running(host, waiting)
    busy = durable("restart", "--id", waiting, "--reuse-id")
    assert busy.code == 1 and "cannot restart instance" in busy.err
    durable.ok("terminate", "--id", waiting)


# -- purge-history -----------------------------------------------------------------------------------------
def _seed_window(host, day: str, prefix: str) -> dict[str, str]:
    """Instances created on `day` (a date no other test uses), one per status."""
    statuses = {"Completed": "c", "Failed": "f", "Terminated": "t", "Canceled": "x", "Running": "r",
                "Pending": "p", "Suspended": "s"}
    ids = {status: f"{prefix}-{code}" for status, code in statuses.items()}
    host.seed([{"instanceId": ids[status], "name": "Hello", "runtimeStatus": status,
                "createdTime": f"{day}T12:00:00Z"} for status in statuses])
    return ids


def _exists(host, instance_id: str) -> bool:
    return host.get(f"{DURABLE_API}/instances/{instance_id}").status != 404


def test_purge_dry_run_lists_what_the_purge_deletes(durable, host):
    ids = _seed_window(host, "2019-05-05", unique("purge"))
    window = ["--created-after", "2019-05-05T00:00:00Z", "--created-before", "2019-05-05T23:59:59Z"]
    refused = durable("purge-history", *window)
    assert refused.code == 2 and "refusing to purge the history of 4 instances" in refused.err
    dry = durable.ok("purge-history", *window, "--dry-run", "-o", "json").json()
    terminal = sorted(ids[s] for s in TERMINAL_STATUSES)
    assert sorted(dry["instanceIds"]) == terminal
    text = durable.ok("purge-history", *window, "--dry-run").out
    assert text.startswith("4 instances would be purged (dry run; nothing was changed):")
    assert all(_exists(host, i) for i in ids.values())
    purged = durable.ok("purge-history", *window, "--yes", "-o", "json").json()
    assert purged["instancesDeleted"] == 4 and sorted(purged["instanceIds"]) == sorted(dry["instanceIds"])
    assert [s for s, i in ids.items() if _exists(host, i)] == ["Running", "Pending", "Suspended"]
    again = durable.ok("purge-history", *window, "--yes")
    assert again.out == "No instances match; nothing to purge.\n"


def test_purge_explicit_statuses_and_by_id(durable, host):
    ids = _seed_window(host, "2019-06-06", unique("purge"))
    window = ["--created-after", "2019-06-06", "--created-before", "2019-06-07"]
    result = durable.ok("purge-history", *window, "--runtime-status", "failed", "running", "--yes")
    assert result.out == "Purged the history of 2 instances.\n"
    assert not _exists(host, ids["Failed"]) and not _exists(host, ids["Running"])
    assert _exists(host, ids["Completed"])
    running = durable("purge-history", "--id", ids["Pending"], "--yes")
    assert running.code == 1 and "is Pending" in running.err
    by_id = durable.ok("purge-history", "--id", ids["Completed"], ids["Canceled"], "--yes")
    assert by_id.out == "Purged the history of 2 instances.\n"
    assert not _exists(host, ids["Completed"]) and _exists(host, ids["Terminated"])
