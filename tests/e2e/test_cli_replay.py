"""`durable replay`: this project's app replays its own in-flight and finished instances; changed copies of the
app are judged as DTFx would judge them after a deploy (the first change at its sequence id), from the running
app and from the files `durable get-history --export` writes; exit codes follow."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from _app import APP_DIR, app_host, app_settings, start

from durable_local.cli import main as durable_main
from durable_local.vocabulary import DURABLE_API

APPROVAL = "ApprovalWorkflow"
SEQUENCE = "E1_HelloSequence"
SEND_INFO = '    yield context.call_activity("SendInstanceInfo", context.instance_id)\n'
REQUEST = '    yield context.call_activity("RequestApproval", request)\n'
TIMER = "    timeout = context.create_timer(deadline)\n"


@pytest.fixture(scope="module")
def recorded(azurite, tmp_path_factory):
    """An in-flight ApprovalWorkflow (two activities done, its timer and event wait pending), a finished
    E1_HelloSequence, and their records exported to a .jsonl file; the host keeps running for live replays."""
    folder = tmp_path_factory.mktemp("replay")
    with app_host(azurite) as host:
        approval = start(host, APPROVAL, {"requestId": "r-1", "approver": "ops", "timeoutHours": 72})
        sequence = start(host, SEQUENCE)
        host.wait_for_status(sequence)
        host.wait_idle()
        assert host.wait_for_status(approval, {"Running"})["runtimeStatus"] == "Running"
        env = {**os.environ, **app_settings(azurite.connection_string), "DURABLE_BASE_URL": host.base_url}
        exported = folder / "in-flight.jsonl"
        result = durable(["get-history", "--id", approval, sequence, "--export", str(exported)], APP_DIR, env)
        assert result.returncode == 0, result.stderr
        yield {"host": host, "approval": approval, "sequence": sequence, "file": exported, "env": env,
               "folder": folder}


def durable(argv: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "durable_local", *argv], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)


def changed_app(destination: Path, old: str, new: str) -> Path:
    """A copy of this project's app with one edit in blueprints/orchestrations.py."""
    app = destination / "app"
    shutil.copytree(APP_DIR / "blueprints", app / "blueprints", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("function_app.py", "host.json"):
        shutil.copy(APP_DIR / name, app / name)
    source = app / "blueprints" / "orchestrations.py"
    text = source.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"the edit's anchor is not unique in orchestrations.py: {old!r}"
    source.write_text(text.replace(old, new), encoding="utf-8")
    return app


def replay_json(recorded: dict[str, Any], app: Path, *sources: str) -> tuple[int, dict[str, Any]]:
    result = durable(["replay", "--app-dir", str(app), *sources, "-o", "json"], app, recorded["env"])
    assert result.returncode in (0, 1), result.stderr
    return result.returncode, json.loads(result.stdout)


def by_id(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["instanceId"]: item for item in report["results"]}


def test_the_apps_own_instances_replay(recorded):
    code, report = replay_json(recorded, APP_DIR, "--from", str(recorded["file"]))
    assert code == 0 and report["summary"] == {"instances": 2, "ok": 2, "nonDeterministic": 0, "failed": 0}
    approval = by_id(report)[recorded["approval"]]
    assert approval["runtimeStatus"] == "Running" and approval["source"] == "local-host"


def test_in_flight_instances_of_the_running_app_replay_by_default(recorded):
    result = durable(["replay"], APP_DIR, recorded["env"])
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"OK      {recorded['approval']}" in result.stdout
    assert recorded["sequence"] not in result.stdout  # Completed: not in flight


def test_a_reordered_activity_call_is_non_deterministic_at_sequence_0(recorded, tmp_path):
    app = changed_app(tmp_path, SEND_INFO + REQUEST, REQUEST + SEND_INFO)
    code, report = replay_json(recorded, app, "--from", str(recorded["file"]))
    assert code == 1
    verdict = by_id(report)[recorded["approval"]]
    assert verdict["outcome"] == "non-deterministic" and verdict["sequenceId"] == 0
    assert verdict["recorded"] == "activity 'SendInstanceInfo'" and verdict["now"] == "activity 'RequestApproval'"
    assert "Non-Deterministic workflow detected" in verdict["message"]
    assert by_id(report)[recorded["sequence"]]["outcome"] == "ok"


def test_an_activity_inserted_before_an_existing_one_is_non_deterministic_at_its_id(recorded, tmp_path):
    app = changed_app(tmp_path, REQUEST, '    yield context.call_activity("E1_SayHello", "audit")\n' + REQUEST)
    result = durable(["replay", "--app-dir", str(app), "--id", recorded["approval"]], app, recorded["env"])
    assert result.returncode == 1
    line = next(line for line in result.stdout.splitlines() if recorded["approval"] in line)
    assert line.startswith("NON-DETERMINISTIC")
    assert ("sequence id 1: the history recorded activity 'RequestApproval'; the code now schedules activity "
            "'E1_SayHello'") in line
    assert "1 instances: 0 OK, 1 non-deterministic, 0 failed during replay." in result.stdout


def test_a_timer_added_before_an_activity_is_non_deterministic_at_its_id(recorded, tmp_path):
    timer = "    yield context.create_timer(context.current_utc_datetime + timedelta(minutes=5))\n"
    app = changed_app(tmp_path, REQUEST, timer + REQUEST)
    code, report = replay_json(recorded, app, "--from", str(recorded["file"]))
    verdict = by_id(report)[recorded["approval"]]
    assert code == 1 and verdict["outcome"] == "non-deterministic" and verdict["sequenceId"] == 1
    assert verdict["recorded"] == "activity 'RequestApproval'" and verdict["now"].startswith("timer firing at")


def test_a_timer_changed_into_an_activity_is_non_deterministic_at_the_timers_id(recorded, tmp_path):
    app = changed_app(tmp_path, TIMER, '    timeout = context.call_activity("EscalateApproval", request)\n')
    code, report = replay_json(recorded, app, "--from", str(recorded["file"]))
    verdict = by_id(report)[recorded["approval"]]
    assert code == 1 and verdict["outcome"] == "non-deterministic" and verdict["sequenceId"] == 2
    assert verdict["recorded"].startswith("timer firing at") and verdict["now"] == "activity 'EscalateApproval'"


def test_a_changed_timer_duration_replays_with_a_note(recorded, tmp_path):
    app = changed_app(tmp_path, 'request.get("timeoutHours", 72)', 'request.get("timeoutHours", 72) * 2')
    code, report = replay_json(recorded, app, "--from", str(recorded["file"]))
    verdict = by_id(report)[recorded["approval"]]
    assert code == 0 and verdict["outcome"] == "ok"
    assert any(note.startswith("timer 2: the code now asks for") for note in verdict["notes"])


def test_an_activity_appended_after_the_last_completed_one_is_ok(recorded, tmp_path):
    app = changed_app(tmp_path, '    for city in ("Tokyo", "Seattle", "London"):\n',
                      '    for city in ("Tokyo", "Seattle", "London", "Paris"):\n')
    code, report = replay_json(recorded, app, "--from", str(recorded["file"]))
    assert code == 0
    verdict = by_id(report)[recorded["sequence"]]
    assert verdict["outcome"] == "ok" and verdict["nextWork"] == ["3: activity 'E1_SayHello'"]


def test_a_removed_orchestrator_fails_the_replay(recorded, tmp_path):
    app = changed_app(tmp_path, '@bp.function_name("ApprovalWorkflow")\n'
                      '@bp.orchestration_trigger(context_name="context", orchestration="ApprovalWorkflow")\n', "")
    code, report = replay_json(recorded, app, "--from", str(recorded["file"]))
    verdict = by_id(report)[recorded["approval"]]
    assert code == 1 and verdict["outcome"] == "failed" and "no orchestrator 'ApprovalWorkflow'" in verdict["message"]


def test_a_folder_of_json_records_is_a_source(recorded):
    folder = recorded["folder"] / "records"
    result = durable(["get-history", "--id", recorded["approval"], "--export", str(folder)], APP_DIR,
                     recorded["env"])
    assert result.returncode == 0, result.stderr
    record = json.loads((folder / f"{recorded['approval']}.json").read_text(encoding="utf-8"))
    assert record["format"] == "durable-instance/1" and record["historyKind"] == "raw"
    assert any(event["EventType"] == 10 for event in record["history"])  # TimerCreated, raw
    code, report = replay_json(recorded, APP_DIR, "--from", str(folder))
    assert code == 0 and report["summary"]["ok"] == 1


def test_a_file_that_is_not_a_record_is_refused(recorded, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"status": {}}', encoding="utf-8")
    result = durable(["replay", "--from", str(bad)], APP_DIR, recorded["env"])
    assert result.returncode == 1 and "not a durable-instance/1 record" in result.stderr


def test_replaying_files_needs_no_running_app(recorded):
    env = {**recorded["env"], "DURABLE_BASE_URL": "http://127.0.0.1:9"}
    result = durable(["replay", "--from", str(recorded["file"]), "--details"], APP_DIR, env)
    assert result.returncode == 0, result.stderr
    assert "2 instances: 2 OK, 0 non-deterministic, 0 failed during replay." in result.stdout


def test_a_history_from_the_http_api_view_is_replayed_best_effort(recorded, tmp_path):
    host = recorded["host"]
    reply = host.get(f"{DURABLE_API}/instances/{recorded['approval']}"
                     "?showHistory=true&showHistoryOutput=true&showInput=true")
    status = reply.json()
    record = {"format": "durable-instance/1", "taskHub": "DurableFunctionsHub", "exportedAt": "2026-01-01T00:00:00Z",
              "source": "http-api", "historyKind": "http-api",
              "status": {k: v for k, v in status.items() if k != "historyEvents"}, "history": status["historyEvents"]}
    assert all("EventId" not in event for event in record["history"])  # the view drops the sequence ids
    path = tmp_path / "view.json"
    path.write_text(json.dumps(record), encoding="utf-8")
    code, report = replay_json(recorded, APP_DIR, "--from", str(path))
    verdict = report["results"][0]
    assert code == 0 and verdict["outcome"] == "ok" and any("best effort" in note for note in verdict["notes"])
    app = changed_app(tmp_path, SEND_INFO + REQUEST, REQUEST + SEND_INFO)
    code, report = replay_json(recorded, app, "--from", str(path))
    verdict = report["results"][0]
    assert code == 1 and verdict["outcome"] == "non-deterministic" and verdict["sequenceId"] == 0


def test_replay_runs_twice_in_one_process_and_loads_each_app_folder_anew(recorded, tmp_path, monkeypatch, capsys):
    """The `durable` entry point called in one process: the same app twice, then an edited copy of it whose
    modules have the same names (its own code must be replayed, not the first app's), then the first again."""
    for name, value in recorded["env"].items():
        monkeypatch.setenv(name, value)
    edited = changed_app(tmp_path, SEND_INFO + REQUEST, REQUEST + SEND_INFO)

    def replay_here(app: Path) -> tuple[int, dict[str, Any]]:
        code = durable_main(["replay", "--app-dir", str(app), "--from", str(recorded["file"]), "-o", "json"])
        return code, json.loads(capsys.readouterr().out)

    first, second = replay_here(APP_DIR), replay_here(APP_DIR)
    assert first == second and first[0] == 0 and first[1]["summary"]["ok"] == 2
    code, report = replay_here(edited)
    assert code == 1 and by_id(report)[recorded["approval"]]["outcome"] == "non-deterministic"
    assert replay_here(APP_DIR) == first
