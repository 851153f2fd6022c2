"""`durable bulk <operation>` against the project's app on the local host: the dry run lists what the run then
does, the summary and exit code follow the outcomes, and bad selections are refused."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from _app import APP_DIR, app_host, start, unique
from _cli import Cli

from durable_local.testing import DURABLE_API

API = DURABLE_API


@pytest.fixture(scope="module")
def app(azurite):
    with app_host(azurite) as host:
        yield host


@pytest.fixture
def durable(app):
    return Cli(APP_DIR, app.base_url)


def runtime_status(app, instance_id: str) -> str | None:
    reply = app.get(f"{API}/instances/{instance_id}")
    return reply.json()["runtimeStatus"] if reply.status in (200, 202) else None


def test_dry_run_lists_exactly_what_the_run_then_terminates(app, durable):
    prefix = unique("cli-bulk")
    ids = [start(app, "ApprovalWorkflow", {"requestId": "c"}, f"{prefix}-{n:02d}") for n in range(25)]
    for instance_id in ids:
        app.wait_for_status(instance_id, {"Running"})
    app.seed([{"instanceId": f"{prefix}-bulk", "name": "BulkOperation", "runtimeStatus": "Running"}])
    selection = ["--runtime-status", "running", "--instance-id-prefix", prefix, "--name", "approvalworkflow"]

    dry = durable.ok("bulk", "terminate", *selection, "--dry-run", "-o", "json").json()
    assert dry["dryRun"] is True and dry["count"] == 25 and sorted(dry["instanceIds"]) == ids
    text = durable.ok("bulk", "terminate", *selection, "--dry-run").out
    assert text.startswith("25 instances would be terminated (dry run; nothing was changed")
    assert "... and 5 more" in text
    assert all(runtime_status(app, i) == "Running" for i in ids)

    refused = durable("bulk", "terminate", *selection)
    assert refused.code == 2 and "refusing to terminate 25 instances" in refused.err

    run = durable("bulk", "terminate", *selection, "--yes", "--reason", "bad release", "--concurrency", "4",
                  "-o", "json")
    assert run.code == 0, run.err
    report = run.json()
    assert (report["done"], report["skipped"], report["failed"]) == (25, 0, 0)
    assert sorted(o["instanceId"] for o in report["outcomes"]) == sorted(dry["instanceIds"])
    assert "[##############################] 25/25" in run.err  # the progress bar's last state
    for instance_id in ids:
        assert app.wait_for_status(instance_id)["runtimeStatus"] == "Terminated"
    assert runtime_status(app, f"{prefix}-bulk") == "Running"

    again = durable("bulk", "terminate", "--id", *ids[:3], "--yes")
    assert again.code == 0 and again.out.startswith("Terminated 0 of 3 instances") and "3 skipped" in again.out


def test_purge_summary_and_raise_event_with_data(app, durable):
    prefix = unique("cli-bulk-p")
    old = (datetime.now(UTC) - timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    app.seed([{"instanceId": f"{prefix}-{n}", "name": "HelloWorld", "createdTime": old,
               "runtimeStatus": "Completed" if n % 2 else "Running"} for n in range(10)])
    purge = durable.ok("bulk", "purge", "--instance-id-prefix", prefix, "--yes")
    assert purge.out.startswith("Purged 5 of 5 instances")
    assert [n for n in range(10) if runtime_status(app, f"{prefix}-{n}")] == [0, 2, 4, 6, 8]

    waiting = [start(app, "ApprovalWorkflow", {"requestId": "e"}, f"{prefix}-wait-{n}") for n in range(3)]
    for instance_id in waiting:
        app.wait_for_status(instance_id, {"Running"})
    sent = durable.ok("bulk", "raise-event", "--id", *waiting, "--event-name", "ApprovalEvent",
                      "--event-data", json.dumps({"approved": True}), "--yes", "--rate", "50")
    assert sent.out.startswith("Raised the event on 3 of 3 instances")
    for instance_id in waiting:
        assert app.wait_for_status(instance_id)["output"]["outcome"] == "Approved"


def test_a_failed_instance_makes_the_exit_code_1(app, durable):
    """Restarting an instance whose orchestrator the app does not have fails (400 from the API)."""
    prefix = unique("cli-bulk-f")
    app.seed([{"instanceId": f"{prefix}-ok", "name": "NoSuchOrchestrator", "runtimeStatus": "Completed"}])
    result = durable("bulk", "restart", "--id", f"{prefix}-ok", "--yes")
    assert result.code == 1, result.out + result.err
    assert "1 failed" in result.out and f"failed: {prefix}-ok:" in result.err


def test_in_app_runs_the_apps_bulk_orchestration_on_the_confirmed_set(app, durable):
    prefix = unique("cli-bulk-app")
    ids = [start(app, "ApprovalWorkflow", {"requestId": "a"}, f"{prefix}-{n:02d}") for n in range(30)]
    for instance_id in ids:
        app.wait_for_status(instance_id, {"Running"})
    selection = ["--instance-id-prefix", prefix, "--runtime-status", "Running"]
    dry = durable.ok("bulk", "suspend", *selection, "--in-app", "--dry-run", "-o", "json").json()
    assert dry["count"] == 30 and sorted(dry["instanceIds"]) == ids and dry["via"] == "app"
    run = durable("bulk", "suspend", *selection, "--in-app", "--yes", "--reason", "maintenance")
    assert run.code == 0, run.err
    assert "The app's bulk suspend" in run.out and "30 of 30 done, 0 skipped, 0 failed" in run.out
    assert "The app runs it as instance 'bulk-suspend-" in run.err and "[app] page" in run.err
    assert all(runtime_status(app, i) == "Suspended" for i in ids)
    durable.ok("bulk", "terminate", "--id", *ids, "--yes")


@pytest.mark.parametrize(
    ("argv", "problem"),
    [
        (["bulk", "terminate"], "empty filter"),
        (["bulk", "purge", "--runtime-status", "running"], "purge acts only on"),
        (["bulk", "terminate", "--runtime-status", "runing"], "runing"),
        (["bulk", "obliterate", "--id", "x"], "invalid choice"),
        (["bulk", "raise-event", "--id", "x"], "--event-name"),
        (["bulk", "terminate", "--id", "x", "--instance-id-prefix", "y"], "not both"),
        (["bulk", "terminate", "--id", "x", "--concurrency", "0"], "concurrency"),
        (["bulk", "terminate", "--id", "x", "--in-app", "--rate", "5"], "--rate"),
    ],
)
def test_bad_selections_are_refused(durable, argv, problem):
    result = durable(*argv)
    assert result.code == 2, result.out + result.err
    assert problem in result.err
