"""Starting instances through the app: the check-status response, the seed's wait example, and mistakes."""

from __future__ import annotations

import json

import pytest
from _app import APP_DIR, app_host, error_of, start, unique


@pytest.fixture(scope="module")
def app(azurite):
    with app_host(azurite) as host:
        yield host


def test_start_returns_check_status_response(app):
    reply = app.post("/orchestrators/E1_HelloSequence")
    assert reply.status == 202
    payload = reply.json()
    assert set(payload) >= {"id", "statusQueryGetUri", "sendEventPostUri", "terminatePostUri", "rewindPostUri",
                            "purgeHistoryDeleteUri"}
    assert reply.header("Location") == payload["statusQueryGetUri"]
    status = app.wait_for_status(payload["id"])
    assert status["runtimeStatus"] == "Completed"
    assert status["output"] == ["Hello Tokyo!", "Hello Seattle!", "Hello London!"]


def test_start_with_instance_id_and_input_from_json_file(app):
    instance_id = unique("hello")
    data = json.loads((APP_DIR / "samples" / "counter-data.json").read_text())
    assert start(app, "HelloWorld", data, instance_id) == instance_id
    assert app.wait_for_status(instance_id)["output"] == f"Hello {data['name']}!"
    status = app.get(f"/instances/{instance_id}").json()
    assert status["input"] == data


def test_seed_wait_example_completes_in_time(app):
    reply = app.post("/orchestrators/E1_HelloSequence/wait?timeout=2&retryInterval=0.5")
    assert reply.status == 200
    assert reply.header("Content-Type").startswith("application/json")
    assert reply.json() == ["Hello Tokyo!", "Hello Seattle!", "Hello London!"]


def test_wait_returns_string_output_as_json(app):
    reply = app.post("/orchestrators/HelloWorld/wait?timeout=5&retryInterval=0.1", {"name": "Seattle"})
    assert reply.status == 200
    assert reply.json() == "Hello Seattle!"


def test_seed_wait_example_times_out_into_check_status_response(app):
    # ApprovalWorkflow waits for a human, so it cannot finish within the timeout.
    reply = app.post("/orchestrators/ApprovalWorkflow/wait?timeout=1&retryInterval=0.5", {"requestId": "r1"})
    assert reply.status == 202
    payload = reply.json()
    assert reply.header("Location") == payload["statusQueryGetUri"]
    assert app.get(f"/instances/{payload['id']}").json()["runtimeStatus"] in {"Pending", "Running"}
    assert app.post(f"/instances/{payload['id']}/terminate?reason=cleanup").status == 202


@pytest.mark.parametrize(
    ("query", "problem"),
    [
        ("timeout=0", "timeout"),
        ("timeout=-2", "timeout"),
        ("timeout=abc", "timeout"),
        ("retryInterval=0", "retryInterval"),
        ("timeout=nan", "timeout"),
        ("timeout=1&retryInterval=2", "retryInterval"),
    ],
)
def test_wait_rejects_bad_timeouts(app, query, problem):
    reply = app.post(f"/orchestrators/E1_HelloSequence/wait?{query}")
    assert reply.status == 400
    assert problem in error_of(reply)


def test_malformed_json_body_is_400(app):
    reply = app.post("/orchestrators/HelloWorld", raw=b"{not json", headers={"Content-Type": "application/json"})
    assert reply.status == 400
    assert "JSON" in error_of(reply)


def test_unknown_orchestrator_is_400(app):
    reply = app.post("/orchestrators/NoSuchOrchestrator")
    assert reply.status == 400
    assert "NoSuchOrchestrator" in error_of(reply)


@pytest.mark.parametrize("bad_id", ["@entity", "a" * 257])
def test_invalid_instance_id_is_400(app, bad_id):
    reply = app.post(f"/orchestrators/HelloWorld/{bad_id}")
    assert reply.status == 400
    assert "instance ID" in error_of(reply)


def test_reusing_the_id_of_a_running_instance_is_409(app):
    instance_id = start(app, "ApprovalWorkflow", {"requestId": "dup"}, unique("dup"))
    reply = app.post(f"/orchestrators/ApprovalWorkflow/{instance_id}", {"requestId": "dup"})
    assert reply.status == 409
    assert instance_id in error_of(reply)
    app.post(f"/instances/{instance_id}/terminate")


def test_reusing_the_id_of_a_finished_instance_starts_it_again(app):
    instance_id = start(app, "HelloWorld", {"name": "one"}, unique("again"))
    app.wait_for_status(instance_id)
    start(app, "HelloWorld", {"name": "two"}, instance_id)
    assert app.wait_for_status(instance_id)["output"] == "Hello two!"
