"""The app's management routes are strict: a query parameter they do not understand (in any case) is a 400
naming it, and a purge acts on exactly what it names, never more."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from _app import app_host, error_of, start, unique

from durable_local.testing import DURABLE_API, LocalHost

API = DURABLE_API


@pytest.fixture(scope="module")
def app(azurite: Any) -> Iterator[LocalHost]:
    with app_host(azurite) as host:
        yield host


def seed_completed(app: LocalHost, ids: list[str], created: datetime) -> None:
    app.seed([{"instanceId": i, "name": "HelloWorld", "runtimeStatus": "Completed",
               "createdTime": created.isoformat()} for i in ids])


def exists(app: LocalHost, instance_id: str) -> bool:
    return app.get(f"{API}/instances/{instance_id}").status != 404


def window(created: datetime) -> str:
    return (f"createdTimeFrom={(created - timedelta(minutes=1)).isoformat().replace('+00:00', 'Z')}"
            f"&createdTimeTo={(created + timedelta(minutes=1)).isoformat().replace('+00:00', 'Z')}")


def test_purge_by_prefix_deletes_exactly_the_prefixed_instances(app: LocalHost) -> None:
    created = datetime(2021, 3, 1, 12, tzinfo=UTC)
    tag = unique("px")
    matching = [f"{tag}-drop-{n}" for n in range(5)]
    others = [f"{tag}-keep-{n}" for n in range(7)]
    seed_completed(app, matching + others, created)
    reply = app.delete(f"/instances?{window(created)}&instanceIdPrefix={tag}-drop-&runtimeStatus=Completed")
    assert reply.status == 200, reply.body
    assert reply.json() == {"instancesDeleted": 5}
    assert not any(exists(app, i) for i in matching)
    assert all(exists(app, i) for i in others)


def test_purge_with_a_lower_case_parameter_is_refused_and_deletes_nothing(app: LocalHost) -> None:
    created = datetime(2021, 4, 1, 12, tzinfo=UTC)
    inside, later = unique("in"), unique("later")
    seed_completed(app, [inside], created)
    seed_completed(app, [later], created + timedelta(days=10))
    until = (created + timedelta(minutes=1)).isoformat().replace("+00:00", "Z")
    reply = app.delete(f"/instances?createdTimeFrom=2021-03-31T00:00:00Z&createdtimeto={until}")
    assert reply.status == 400
    assert "createdtimeto" in error_of(reply) and "createdTimeTo" in error_of(reply)
    assert exists(app, inside) and exists(app, later)


@pytest.mark.parametrize("query", ["instanceIdprefix=x", "runtimestatus=Completed", "dryRun=true", "top=5",
                                   "instanceIdPrefix="])
def test_purge_refuses_what_it_cannot_honour(app: LocalHost, query: str) -> None:
    created = datetime(2021, 5, 1, 12, tzinfo=UTC)
    kept = unique("kept")
    seed_completed(app, [kept], created)
    reply = app.delete(f"/instances?{window(created)}&{query}")
    assert reply.status == 400, reply.body
    assert query.split("=")[0] in error_of(reply)
    assert exists(app, kept)


def test_every_management_route_names_an_unknown_parameter(app: LocalHost) -> None:
    running = start(app, "ApprovalWorkflow", {"requestId": unique("r")}, unique("strict"))
    app.wait_for_status(running, {"Running"})
    done = start(app, "HelloWorld", {"name": "x"}, unique("strict-done"))
    app.wait_for_status(done)
    calls = [
        ("POST", f"/instances/{running}/terminate?Reason=x"),
        ("POST", f"/instances/{running}/suspend?reasn=x"),
        ("POST", f"/instances/{running}/resume?force=true"),
        ("POST", f"/instances/{running}/rewind?why=x"),
        ("POST", f"/instances/{running}/restart?restartwithnewinstanceid=false"),
        ("POST", f"/instances/{running}/raiseEvent/Approval?taskHub=Other"),
        ("DELETE", f"/instances/{done}?force=true"),
        ("GET", f"/instances/{running}?showhistory=true"),
        ("GET", "/instances?runtimestatus=Running"),
        ("GET", f"/instances/{running}/management-urls?x=1"),
        ("GET", f"/management-payloads/{running}?x=1"),
        ("POST", "/orchestrators/HelloWorld?x=1"),
        ("POST", "/orchestrators/HelloWorld/wait?Timeout=3"),
    ]
    for method, path in calls:
        reply = app.request(method, path)
        assert reply.status == 400, (method, path, reply.body)
        name = path.split("?")[1].split("=")[0]
        assert f"'{name}'" in error_of(reply), (path, error_of(reply))
    assert app.get(f"{API}/instances/{running}").json()["runtimeStatus"] == "Running"
    assert exists(app, done)


def test_the_function_key_parameter_is_always_accepted(app: LocalHost) -> None:
    instance_id = start(app, "ApprovalWorkflow", {"requestId": unique("r")}, unique("keyed"))
    app.wait_for_status(instance_id, {"Running"})
    assert app.get(f"/instances/{instance_id}?code=secret&showInput=false").status == 200
    assert app.get("/instances?code=secret&top=1").status == 200
    reply = app.post(f"/instances/{instance_id}/terminate?code=secret&reason=done")
    assert reply.status == 202, reply.body
    assert app.wait_for_status(instance_id)["runtimeStatus"] == "Terminated"


@pytest.mark.parametrize("query", ["continuationToken=%00", "continuationToken=forged-token",
                                   "continuationToken=" + "A" * 5000, "top=99999999999999999999", "top=0",
                                   "top=-1", "top=1e3", "showInput=maybe", "createdTimeFrom=nan"])
def test_list_route_refuses_bad_values_with_400(app: LocalHost, query: str) -> None:
    reply = app.get(f"/instances?{query}")
    assert reply.status == 400, (query, reply.body)
    error_of(reply)


@pytest.mark.parametrize("query", ["retryInterval=0.001", "retryInterval=nan", "timeout=inf",
                                   "timeout=1e999", "timeout=231"])
def test_wait_route_refuses_unbounded_numbers(app: LocalHost, query: str) -> None:
    reply = app.post(f"/orchestrators/HelloWorld/wait?{query}", {"name": "x"})
    assert reply.status == 400, (query, reply.body)
    assert query.split("=")[0] in error_of(reply)


@pytest.mark.parametrize("instance_id", ["%2E", "%2E%2E"])
def test_dot_instance_ids_are_refused(app: LocalHost, instance_id: str) -> None:
    for method, path in [("GET", f"/instances/{instance_id}"), ("POST", f"/instances/{instance_id}/terminate"),
                         ("DELETE", f"/instances/{instance_id}"), ("POST", f"/orchestrators/HelloWorld/{instance_id}")]:
        reply = app.request(method, path)
        assert reply.status == 400, (method, path, reply.status, reply.body)
        error_of(reply)


def test_a_deeply_nested_body_is_refused(app: LocalHost) -> None:
    reply = app.post("/orchestrators/HelloWorld", raw=b"[" * 100_000 + b"]" * 100_000,
                     headers={"Content-Type": "application/json"})
    assert reply.status == 400
    assert "levels deep" in error_of(reply)


@pytest.mark.parametrize(("setting", "value"), [("RETENTION_DAYS", "nan"), ("RETENTION_DAYS", "inf"),
                                                ("PURGE_WINDOW_HOURS", "nan"), ("PURGE_PROGRESS_SECONDS", "inf")])
def test_retention_settings_fail_closed_on_non_finite_numbers(azurite: Any, setting: str, value: str) -> None:
    with app_host(azurite, **{setting: value}) as host:
        old = unique("old")
        seed_completed(host, [old], datetime(2020, 1, 1, tzinfo=UTC))
        assert host.run_function("purge_history_timer").status == 202
        host.wait_idle()
        assert exists(host, old)
        assert f"app setting {setting} must be a finite number, not '{value}'" in host.log()
