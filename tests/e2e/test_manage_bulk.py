"""The client-side bulk module (`durable_local.manage.bulk`) against the app on the local host, over HTTP."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from _app import app_host, start, unique

from durable_local.manage import bulk
from durable_local.manage.client import DurableClient
from durable_local.testing import DURABLE_API

API = DURABLE_API


@pytest.fixture(scope="module")
def app(azurite):
    with app_host(azurite) as host:
        yield host


@pytest.fixture(scope="module")
def client(app):
    return DurableClient(app.base_url)


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def runtime_status(app, instance_id: str) -> str | None:
    reply = app.get(f"{API}/instances/{instance_id}")
    return reply.json()["runtimeStatus"] if reply.status in (200, 202) else None


def running(app, prefix: str, count: int) -> list[str]:
    ids = [start(app, "ApprovalWorkflow", {"requestId": "m"}, f"{prefix}-{n:03d}") for n in range(count)]
    for instance_id in ids:
        app.wait_for_status(instance_id, {"Running"})
    return ids


def test_plan_then_terminate_acts_on_exactly_the_planned_ids(app, client):
    prefix = unique("mb-term")
    ids = running(app, prefix, 40)
    app.seed([{"instanceId": f"{prefix}-bulk", "name": "BulkOperation", "runtimeStatus": "Running"}])
    planned = bulk.plan(client, "terminate", bulk.BulkFilter(("running",), instance_id_prefix=prefix))
    assert sorted(planned.instance_ids) == ids  # the management orchestration is never selected
    late = start(app, "ApprovalWorkflow", {"requestId": "late"}, f"{prefix}-late")

    seen: list[bulk.BulkProgress] = []
    report = bulk.execute(client, planned, concurrency=4, reason="bad release", on_progress=seen.append)
    assert (report.done, report.skipped, report.failed, report.not_started) == (40, 0, 0, 0)
    assert seen[-1].handled == 40 and seen[-1].total == 40
    assert [p.handled for p in seen] == sorted(p.handled for p in seen)
    for instance_id in ids:
        assert app.wait_for_status(instance_id)["runtimeStatus"] == "Terminated"
    assert runtime_status(app, f"{prefix}-bulk") == "Running"
    assert runtime_status(app, late) in ("Pending", "Running")

    again = bulk.execute(client, planned)
    assert again.skipped == 40 and again.done == 0 and "finished" in again.outcomes[0].reason
    app.post(f"{API}/instances/{late}/terminate")


def test_purge_purges_only_terminal_instances_and_says_which(app, client):
    prefix = unique("mb-purge")
    old = iso(datetime.now(UTC) - timedelta(days=2))
    statuses = ("Completed", "Failed", "Terminated", "Canceled", "Running", "Pending")
    app.seed([{"instanceId": f"{prefix}-{n:04d}", "name": "HelloWorld", "createdTime": old,
               "runtimeStatus": statuses[n % 6]} for n in range(1200)])
    planned = bulk.plan(client, "purge", bulk.BulkFilter(instance_id_prefix=prefix))
    assert planned.count == 800
    # an instance that stops being terminal between the plan and the purge is kept
    app.seed([{"instanceId": planned.instance_ids[0], "name": "HelloWorld", "runtimeStatus": "Running"}])
    report = bulk.execute(client, planned)
    assert (report.done, report.skipped, report.failed) == (799, 1, 0)
    skipped = [o for o in report.outcomes if o.result == bulk.SKIPPED]
    assert skipped[0].instance_id == planned.instance_ids[0] and "Running" in skipped[0].reason
    remaining = {n for n in range(1200) if runtime_status(app, f"{prefix}-{n:04d}") is not None}
    assert remaining == {n for n in range(1200) if n % 6 >= 4} | {int(planned.instance_ids[0][-4:])}


def test_purge_one_by_one_checks_the_status_first(app, client):
    """The path for backends without the local host's list purge."""
    prefix = unique("mb-purge1")
    app.seed([{"instanceId": f"{prefix}-done", "name": "HelloWorld", "runtimeStatus": "Completed"},
              {"instanceId": f"{prefix}-run", "name": "HelloWorld", "runtimeStatus": "Running"}])
    options = bulk._Options("purge", "run", "", None, None, check_names=False)
    assert bulk.act(client, f"{prefix}-done", options).result == bulk.DONE
    kept = bulk.act(client, f"{prefix}-run", options)
    assert kept.result == bulk.SKIPPED and "Running" in kept.reason
    assert runtime_status(app, f"{prefix}-run") == "Running"
    assert bulk.act(client, f"{prefix}-done", options).result == bulk.SKIPPED


def test_restart_uses_ids_derived_from_the_plan_so_a_repeat_is_a_409(app, client):
    prefix = unique("mb-restart")
    ids = [start(app, "HelloWorld", {"name": "twice"}, f"{prefix}-{n}") for n in range(5)]
    for instance_id in ids:
        app.wait_for_status(instance_id)
    planned = bulk.plan(client, "restart", ids)
    first = bulk.execute(client, planned)
    assert first.done == 5
    for outcome in first.outcomes:
        assert outcome.new_instance_id == f"{outcome.instance_id}.{planned.run_id}"
        assert app.wait_for_status(outcome.new_instance_id)["output"] == "Hello twice!"
    repeat = bulk.execute(client, planned)
    assert repeat.skipped == 5 and all("409" in o.reason for o in repeat.outcomes)


def test_cancel_stops_starting_more_and_reports_what_was_done(app, client):
    prefix = unique("mb-cancel")
    ids = running(app, prefix, 30)
    planned = bulk.plan(client, "suspend", ids)
    cancel = threading.Event()

    def progress(p: bulk.BulkProgress) -> None:
        if p.handled >= 10:
            cancel.set()

    report = bulk.execute(client, planned, concurrency=1, on_progress=progress, cancel=cancel)
    assert report.cancelled and report.done == 10 and report.not_started == 20
    suspended = [i for i in ids if runtime_status(app, i) == "Suspended"]
    assert sorted(suspended) == sorted(o.instance_id for o in report.outcomes)
    bulk.execute(client, bulk.plan(client, "terminate", bulk.BulkFilter(instance_id_prefix=prefix)))


def test_rate_limit_spaces_the_requests(app, client):
    prefix = unique("mb-rate")
    app.seed([{"instanceId": f"{prefix}-{n}", "name": "HelloWorld", "runtimeStatus": "Running"}
              for n in range(21)])
    report = bulk.execute(client, bulk.plan(client, "raise-event", bulk.BulkFilter(instance_id_prefix=prefix)),
                          concurrency=8, rate_per_second=40, event_name="Ping", event_data={"n": 1})
    assert report.done == 21
    assert report.elapsed_seconds >= 0.45  # 21 starts at 40/s: the last one 0.5 s after the first


@pytest.mark.parametrize(
    ("operation", "selection", "problem"),
    [
        ("terminate", bulk.BulkFilter(("Runing",)), "Runing"),
        ("purge", bulk.BulkFilter(("Running",)), "Running"),
        ("terminate", bulk.BulkFilter(), "empty filter"),
        ("obliterate", ["a"], "obliterate"),
        ("terminate", [], "at least one"),
    ],
)
def test_bad_plans_are_refused(client, operation, selection, problem):
    with pytest.raises(bulk.BulkError, match=problem):
        bulk.plan(client, operation, selection)
