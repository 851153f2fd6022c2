"""Purging through the app: one instance, by filter, and the daily retention purge on a virtual clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from _app import app_host, error_of, start, unique

from durable_local.vocabulary import DURABLE_API


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def days_ago(days: float) -> str:
    return iso(datetime.now(UTC) - timedelta(days=days))


@pytest.fixture(scope="module")
def app(azurite):
    with app_host(azurite) as host:
        yield host


@pytest.fixture(scope="module")
def clocked(azurite):
    """A host on a virtual clock: the daily purge fires only when the test advances time."""
    with app_host(azurite, virtual_clock=True, PURGE_RUNTIME_STATUSES="Completed,Terminated") as host:
        yield host


def exists(host, instance_id: str) -> bool:
    return host.get(f"{DURABLE_API}/instances/{instance_id}").status != 404


# -- purge one ---------------------------------------------------------------------------------------------
def test_purge_completed_instance(app):
    instance_id = start(app, "HelloWorld", {"name": "gone"}, unique("purge"))
    app.wait_for_status(instance_id)
    reply = app.delete(f"/instances/{instance_id}")
    assert reply.status == 200
    assert reply.json() == {"instancesDeleted": 1}
    assert app.get(f"/instances/{instance_id}").status == 404
    assert app.delete(f"/instances/{instance_id}").status == 404


def test_purge_running_instance_is_409(app):
    instance_id = start(app, "ApprovalWorkflow", {"requestId": "keep"}, unique("running"))
    app.wait_for_status(instance_id, {"Running"})
    reply = app.delete(f"/instances/{instance_id}")
    assert reply.status == 409
    assert "Running" in error_of(reply)
    assert exists(app, instance_id)
    app.post(f"/instances/{instance_id}/terminate")


# -- purge by filter --------------------------------------------------------------------------------------
def test_purge_by_filter_deletes_only_terminal_matches(app):
    prefix = unique("filter")
    app.seed([
        {"instanceId": f"{prefix}-completed", "name": "HelloWorld", "runtimeStatus": "Completed",
         "createdTime": days_ago(10)},
        {"instanceId": f"{prefix}-failed", "name": "HelloWorld", "runtimeStatus": "Failed",
         "createdTime": days_ago(10)},
        {"instanceId": f"{prefix}-running", "name": "HelloWorld", "runtimeStatus": "Running",
         "createdTime": days_ago(10)},
        {"instanceId": f"{prefix}-later", "name": "HelloWorld", "runtimeStatus": "Completed",
         "createdTime": days_ago(1)},
    ])
    window = f"createdTimeFrom={days_ago(11)}&createdTimeTo={days_ago(9)}"
    reply = app.delete(f"/instances?{window}&runtimeStatus=completed")
    assert reply.status == 200
    assert reply.json() == {"instancesDeleted": 1}
    assert not exists(app, f"{prefix}-completed")
    assert exists(app, f"{prefix}-failed")

    everything_terminal = app.delete(f"/instances?{window}")
    assert everything_terminal.json() == {"instancesDeleted": 1}
    assert not exists(app, f"{prefix}-failed")
    assert exists(app, f"{prefix}-running")
    assert exists(app, f"{prefix}-later")


@pytest.mark.parametrize(
    ("query", "problem"),
    [
        ("", "createdTimeFrom"),
        ("createdTimeTo=2024-01-01T00:00:00Z", "createdTimeFrom"),
        ("createdTimeFrom=not-a-date", "createdTimeFrom"),
        ("createdTimeFrom=2024-01-01T00:00:00Z&runtimeStatus=Running", "Running"),
        ("createdTimeFrom=2024-01-01T00:00:00Z&runtimeStatus=Completed,Pending", "Pending"),
        ("createdTimeFrom=2024-01-01T00:00:00Z&runtimeStatus=Complete", "Complete"),
    ],
)
def test_purge_by_filter_rejects_bad_filters(app, query, problem):
    reply = app.delete(f"/instances?{query}")
    assert reply.status == 400
    assert problem in error_of(reply)


# -- daily retention purge ----------------------------------------------------------------------------------
def test_daily_purge_removes_old_finished_instances_only(clocked):
    prefix = unique("retention")
    old_completed = [f"{prefix}-old-{n:02d}" for n in range(40)]
    seeds = [{"instanceId": instance_id, "name": "HelloWorld", "runtimeStatus": "Completed",
              "createdTime": days_ago(31 + 5 * n)} for n, instance_id in enumerate(old_completed)]
    seeds += [
        {"instanceId": f"{prefix}-old-terminated", "name": "HelloWorld", "runtimeStatus": "Terminated",
         "createdTime": days_ago(45)},
        {"instanceId": f"{prefix}-old-failed", "name": "HelloWorld", "runtimeStatus": "Failed",
         "createdTime": days_ago(45)},
        {"instanceId": f"{prefix}-old-running", "name": "HelloWorld", "runtimeStatus": "Running",
         "createdTime": days_ago(45)},
        {"instanceId": f"{prefix}-recent", "name": "HelloWorld", "runtimeStatus": "Completed",
         "createdTime": days_ago(29)},
    ]
    clocked.seed(seeds)

    clocked.advance(hours=12)
    assert all(exists(clocked, i) for i in old_completed), "the purge ran before midnight"
    clocked.advance(days=1)

    assert not any(exists(clocked, i) for i in old_completed)
    assert not exists(clocked, f"{prefix}-old-terminated")
    for survivor in ("old-failed", "old-running", "recent"):
        assert exists(clocked, f"{prefix}-{survivor}"), survivor
    assert "Retention purge: purged" in clocked.log()


def test_daily_purge_defaults_to_midnight_utc_without_the_schedule_setting(azurite):
    """An unset (here: empty) PURGE_SCHEDULE must not stop the timer from loading: it runs at midnight UTC."""
    prefix = unique("default-schedule")
    evening = datetime.now(UTC).replace(hour=18, minute=0, second=0, microsecond=0)
    with app_host(azurite, virtual_clock=True, clock_start=evening, PURGE_SCHEDULE="") as host:
        host.seed([{"instanceId": f"{prefix}-old", "name": "HelloWorld", "runtimeStatus": "Completed",
                    "createdTime": iso(evening - timedelta(days=40))}])
        host.advance(hours=5)
        assert exists(host, f"{prefix}-old"), "the purge ran before midnight"
        host.advance(hours=2)
        assert not exists(host, f"{prefix}-old")
        assert "Retention purge: purged 1 instances" in host.log()
