"""Querying instances through the app: one instance, filters, and paging past the API's 100 per page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from _app import app_host, error_of, start, unique


@pytest.fixture(scope="module")
def app(azurite):
    with app_host(azurite) as host:
        yield host


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_get_instance_status(app):
    instance_id = start(app, "HelloWorld", {"name": "Query"}, unique("query"))
    app.wait_for_status(instance_id)
    status = app.get(f"/instances/{instance_id}").json()
    assert status["instanceId"] == instance_id
    assert status["name"] == "HelloWorld"
    assert status["runtimeStatus"] == "Completed"
    assert status["input"] == {"name": "Query"}
    assert status["output"] == "Hello Query!"
    assert status["createdTime"].endswith("Z") and status["lastUpdatedTime"].endswith("Z")
    assert "historyEvents" not in status


def test_get_instance_with_history_and_without_input(app):
    instance_id = start(app, "E1_HelloSequence", None, unique("history"))
    app.wait_for_status(instance_id)
    status = app.get(f"/instances/{instance_id}?showHistory=true&showHistoryOutput=true&showInput=false").json()
    assert status["input"] is None
    events = status["historyEvents"]
    completed = [e for e in events if e["EventType"] == "TaskCompleted"]
    assert [e["Result"] for e in completed] == ["Hello Tokyo!", "Hello Seattle!", "Hello London!"]
    without_output = app.get(f"/instances/{instance_id}?showHistory=true").json()["historyEvents"]
    assert all("Result" not in e for e in without_output if e["EventType"] == "TaskCompleted")


def test_unknown_instance_is_404(app):
    reply = app.get("/instances/no-such-instance")
    assert reply.status == 404
    assert "no-such-instance" in error_of(reply)


def test_bad_boolean_is_400(app):
    reply = app.get("/instances/whatever?showHistory=yes")
    assert reply.status == 400
    assert "showHistory" in error_of(reply)


def test_list_with_filters(app):
    prefix = unique("filter")
    now = datetime.now(UTC)
    app.seed([
        {"instanceId": f"{prefix}-done", "name": "HelloWorld", "runtimeStatus": "Completed",
         "createdTime": iso(now - timedelta(days=3)), "input": {"n": 1}},
        {"instanceId": f"{prefix}-failed", "name": "HelloWorld", "runtimeStatus": "Failed",
         "createdTime": iso(now - timedelta(days=2))},
        {"instanceId": f"{prefix}-running", "name": "ApprovalWorkflow", "runtimeStatus": "Running",
         "createdTime": iso(now - timedelta(days=1))},
    ])
    everything = app.get(f"/instances?instanceIdPrefix={prefix}").json()
    assert sorted(i["instanceId"] for i in everything["instances"]) == sorted(
        f"{prefix}-{s}" for s in ("done", "failed", "running"))
    assert everything["continuationToken"] is None
    done = next(i for i in everything["instances"] if i["instanceId"] == f"{prefix}-done")
    assert done["input"] == {"n": 1}

    by_status = app.get(f"/instances?instanceIdPrefix={prefix}&runtimeStatus=failed,Running").json()
    assert sorted(i["runtimeStatus"] for i in by_status["instances"]) == ["Failed", "Running"]

    window = (f"/instances?instanceIdPrefix={prefix}&createdTimeFrom={iso(now - timedelta(days=2, hours=1))}"
              f"&createdTimeTo={iso(now - timedelta(hours=12))}")
    assert sorted(i["instanceId"] for i in app.get(window).json()["instances"]) == [
        f"{prefix}-failed", f"{prefix}-running"]

    hidden = app.get(f"/instances?instanceIdPrefix={prefix}-done&showInput=false").json()["instances"]
    assert hidden[0]["input"] is None


def test_without_top_a_response_is_bounded_to_1000_with_a_token_for_the_rest(app):
    prefix = unique("bound")
    created = datetime.now(UTC) - timedelta(hours=1)
    app.seed([{"instanceId": f"{prefix}-{n:04d}", "name": "HelloWorld", "runtimeStatus": "Completed",
               "createdTime": iso(created)} for n in range(1005)])
    first = app.get(f"/instances?instanceIdPrefix={prefix}").json()
    assert len(first["instances"]) == 1000 and first["continuationToken"]
    rest = app.get(f"/instances?instanceIdPrefix={prefix}&continuationToken={first['continuationToken']}").json()
    assert [i["instanceId"] for i in rest["instances"]] == [f"{prefix}-{n:04d}" for n in range(1000, 1005)]
    assert rest["continuationToken"] is None
    too_many = app.get(f"/instances?instanceIdPrefix={prefix}&top=1001")
    assert too_many.status == 400 and "at most 1000" in too_many.json()["error"]


def test_paging_through_more_than_250_instances(app):
    prefix = unique("page")
    created = datetime.now(UTC) - timedelta(hours=1)
    app.seed([{"instanceId": f"{prefix}-{n:03d}", "name": "HelloWorld", "runtimeStatus": "Completed",
               "createdTime": iso(created)} for n in range(260)])

    everything = app.get(f"/instances?instanceIdPrefix={prefix}").json()
    assert len({i["instanceId"] for i in everything["instances"]}) == 260
    assert everything["continuationToken"] is None

    seen: list[str] = []
    token = None
    pages = 0
    while True:
        headers = {"x-ms-continuation-token": token} if token else {}
        reply = app.get(f"/instances?instanceIdPrefix={prefix}&top=100", headers=headers)
        assert reply.status == 200
        body = reply.json()
        assert len(body["instances"]) <= 100
        seen += [i["instanceId"] for i in body["instances"]]
        pages += 1
        token = body["continuationToken"]
        assert reply.header("x-ms-continuation-token") == token
        if not token:
            break
    assert pages == 3
    assert sorted(seen) == [f"{prefix}-{n:03d}" for n in range(260)]

    first = app.get(f"/instances?instanceIdPrefix={prefix}&top=150").json()
    second = app.get(f"/instances?instanceIdPrefix={prefix}&top=150"
                     f"&continuationToken={first['continuationToken']}").json()
    assert len(first["instances"]) == 150 and len(second["instances"]) == 110
    assert second["continuationToken"] is None


@pytest.mark.parametrize(
    ("query", "problem"),
    [
        ("runtimeStatus=Done", "Done"),
        ("runtimeStatus=Completed,Bogus", "Bogus"),
        ("createdTimeFrom=yesterday", "createdTimeFrom"),
        ("createdTimeTo=2024-13-45", "createdTimeTo"),
        ("createdTimeFrom=2024-02-01T00:00:00Z&createdTimeTo=2024-01-01T00:00:00Z", "createdTimeFrom"),
        ("top=0", "top"),
        ("top=-5", "top"),
        ("top=ten", "top"),
        ("showInput=maybe", "showInput"),
    ],
)
def test_list_rejects_bad_filters(app, query, problem):
    reply = app.get(f"/instances?{query}")
    assert reply.status == 400
    assert problem in error_of(reply)
