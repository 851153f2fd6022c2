"""Conformance of a Durable HTTP API with the real extension's code (status codes, payloads, paging, purge).

By default the suite runs against the local host serving tests/apps/core_app. Set
`DURABLE_CONFORMANCE_BASE_URL` (e.g. `http://localhost:7071` for `func start` in tests/apps/core_app, or
`https://<app>.azurewebsites.net` for that app deployed) and, for Azure, `DURABLE_CONFORMANCE_KEY` (the
`durabletask_extension` system key) to run it against another host. Every test that needs only the Durable HTTP
API runs there too; the others are skipped with the local-host feature they need named (seeding instances with a
chosen state, created time or history through /admin/host/seed; the local host's own task-hub rule).

Each cell of the state x operation matrix gets its own instance, so the operations do not interfere: Running,
Suspended, Completed, Failed and Terminated instances are real orchestrations of core_app driven there through
the HTTP API (`instance_in`); Pending, ContinuedAsNew and Canceled ones, which no orchestration holds still, are
seeded through the local host's testing endpoint. The status codes are those of the
extension's HttpApiHandler (https://github.com/Azure/azure-functions-durable-extension/blob/dev/src/WebJobs.Extensions.DurableTask/HttpApiHandler.cs),
which differ from the documentation in places.
"""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from durable_local.testing import DURABLE_API, DurableHttpClient, LocalHost

APP = Path(__file__).resolve().parents[1] / "apps" / "core_app"
BASE_URL_VARIABLE = "DURABLE_CONFORMANCE_BASE_URL"
KEY_VARIABLE = "DURABLE_CONFORMANCE_KEY"
REMOTE_BASE_URL = os.environ.get(BASE_URL_VARIABLE, "").strip()
STATES = ["Pending", "Running", "Suspended", "ContinuedAsNew", "Completed", "Failed", "Terminated", "Canceled"]

# The state x operation matrix, as the extension's code answers (not the docs).
MATRIX = {
    #                 GET  raise terminate suspend resume rewind purge
    "not found":     (404, 404, 404, 404, 404, 404, 404),
    "Pending":       (202, 202, 202, 202, 500, 500, 200),
    "Running":       (202, 202, 202, 202, 500, 500, 200),
    "Suspended":     (202, 202, 202, 500, 202, 500, 200),
    "ContinuedAsNew": (202, 202, 202, 202, 500, 500, 200),
    "Completed":     (200, 410, 410, 410, 410, 410, 200),
    "Failed":        (200, 410, 410, 410, 410, 202, 200),
    "Terminated":    (200, 410, 410, 410, 410, 410, 200),
    "Canceled":      (200, 410, 410, 410, 410, 410, 200),
}
OPERATIONS = ["get", "raiseEvent", "terminate", "suspend", "resume", "rewind", "purge"]


@pytest.fixture(scope="module")
def local_host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalHost | None]:
    """The local host serving core_app, or None when the suite runs against `DURABLE_CONFORMANCE_BASE_URL`."""
    if REMOTE_BASE_URL:
        yield None
        return
    env = {"CORE_APP_COUNTERS": str(tmp_path_factory.mktemp("counters")), "TICK_SCHEDULE": "0 0 0 * * *"}
    with LocalHost(APP, env=env) as running:
        yield running


@pytest.fixture
def client(local_host: LocalHost | None) -> DurableHttpClient:
    """The Durable HTTP API under test: the local host's, or the one at `DURABLE_CONFORMANCE_BASE_URL`."""
    if local_host is None:
        return DurableHttpClient(REMOTE_BASE_URL, key=os.environ.get(KEY_VARIABLE) or None)
    return local_host.client


@pytest.fixture
def host(local_host: LocalHost | None) -> LocalHost:
    """The local host, for tests that seed instances through its testing endpoint (skipped elsewhere)."""
    if local_host is None:
        pytest.skip(f"seeds instances through the local host's testing endpoint (/admin/host/seed), "
                    f"which {REMOTE_BASE_URL} does not have")
    return local_host


def seed(host: LocalHost, status: str, **fields: Any) -> str:
    instance_id = f"{status.lower()}-{uuid.uuid4().hex[:8]}"
    host.seed([{"instanceId": instance_id, "name": "Hello", "runtimeStatus": status, **fields}])
    return instance_id


# The states a real orchestration of core_app reaches and stays in, driven through the HTTP API alone.
LIVE_STATES = {"Running": "Waiter", "Suspended": "Waiter", "Terminated": "Waiter", "Completed": "Hello",
               "Failed": "Boom"}


def instance_in(client: DurableHttpClient, local_host: LocalHost | None, state: str) -> str:
    """A new instance in `state`: a real orchestration where one stays in it, else seeded (local host only)."""
    if state not in LIVE_STATES:
        if local_host is None:
            pytest.skip(f"needs a {state} instance, which only the local host's testing endpoint (/admin/host/seed) "
                        f"holds still; {REMOTE_BASE_URL} does not have it")
        return seed(local_host, state)
    instance_id = f"{state.lower()}-{uuid.uuid4().hex[:8]}"
    started = client.start(LIVE_STATES[state], instance_id=instance_id)
    assert started.status == 202, started.body
    if state in ("Completed", "Failed"):
        assert client.wait_for_status(instance_id)["runtimeStatus"] == state
        return instance_id
    client.wait_for_status(instance_id, {"Running"})
    if state == "Suspended":
        assert client.suspend(instance_id, "conformance").status == 202
    elif state == "Terminated":
        assert client.terminate(instance_id, "conformance").status == 202
    client.wait_for_status(instance_id, {state})
    return instance_id


def call(client: DurableHttpClient, operation: str, instance_id: str) -> Any:
    if operation == "get":
        return client.status(instance_id)
    if operation == "raiseEvent":
        return client.raise_event(instance_id, "Go", {"x": 1})
    if operation == "purge":
        return client.purge(instance_id)
    return getattr(client, operation)(instance_id, "conformance")


@pytest.mark.parametrize(("state", "operation"), list(itertools.product(MATRIX, OPERATIONS)))
def test_state_by_operation_matrix(client: DurableHttpClient, local_host: LocalHost | None, state: str,
                                   operation: str) -> None:
    if state == "not found":
        instance_id = f"missing-instance-{uuid.uuid4().hex[:8]}"
    else:
        instance_id = instance_in(client, local_host, state)
    expected = MATRIX[state][OPERATIONS.index(operation)]
    reply = call(client, operation, instance_id)
    assert reply.status == expected, reply.body
    if expected == 404 or (expected in (202, 410) and operation != "get"):
        assert reply.body == b""  # the SDK needs empty or JSON bodies
    if expected == 500:
        assert reply.json()["Message"] == "Something went wrong while processing your request"
        assert reply.json()["ExceptionMessage"]


def test_running_status_carries_location_and_retry_after_5(client: DurableHttpClient,
                                                           local_host: LocalHost | None) -> None:
    instance_id = instance_in(client, local_host, "Running")
    reply = client.status(instance_id, showInput=False)
    assert reply.status == 202
    assert reply.header("Location") == client.api_url(f"instances/{instance_id}", showInput=False)
    assert reply.header("Retry-After") == "5"
    client.terminate(instance_id, "conformance test done")


def test_failed_is_500_only_with_return_internal_server_error_on_failure(client: DurableHttpClient,
                                                                         local_host: LocalHost | None) -> None:
    instance_id = instance_in(client, local_host, "Failed")
    plain = client.status(instance_id)
    assert plain.status == 200 and "kaboom" in str(plain.json()["output"])
    flagged = client.status(instance_id, returnInternalServerErrorOnFailure=True)
    assert flagged.status == 500 and flagged.json()["output"] == plain.json()["output"]


def test_status_payload_shape_and_whole_second_dates(host: LocalHost) -> None:
    created = "2026-03-04T05:06:07.891Z"
    instance_id = seed(host, "Completed", createdTime=created, input={"a": 1}, output=[1, 2],
                       customStatus={"stage": 2})
    body = host.get(f"{DURABLE_API}/instances/{instance_id}").json()
    assert body == {"name": "Hello", "instanceId": instance_id, "runtimeStatus": "Completed", "input": {"a": 1},
                    "customStatus": {"stage": 2}, "output": [1, 2], "createdTime": "2026-03-04T05:06:07Z",
                    "lastUpdatedTime": "2026-03-04T05:06:07Z"}
    assert host.get(f"{DURABLE_API}/instances/{instance_id}?showInput=FALSE").json()["input"] is None


def test_history_is_transformed_as_the_extension_does(client: DurableHttpClient) -> None:
    instance_id = client.start_new("Hello", {"trip": 1})
    client.wait_for_status(instance_id)
    plain = client.status(instance_id, showHistory=True).json()["historyEvents"]
    assert [e["EventType"] for e in plain] == ["ExecutionStarted", "TaskCompleted", "TaskCompleted",
                                               "TaskCompleted", "ExecutionCompleted"]
    assert plain[0]["FunctionName"] == "Hello" and plain[0]["Input"] == '{"trip":1}'  # inputs stay strings
    assert plain[1]["FunctionName"] == "SayHello" and "ScheduledTime" in plain[1] and "Result" not in plain[1]
    assert all("EventId" not in e and "IsPlayed" not in e for e in plain)
    full = client.status(instance_id, showHistory=True, showHistoryOutput=True).json()
    assert full["historyEvents"][1]["Result"] == "Hello Tokyo!"
    assert full["historyEvents"][-1]["OrchestrationStatus"] == "Completed"
    assert full["historyEvents"][-1]["Result"] == ["Hello Tokyo!", "Hello Seattle!", "Hello London!"]


def test_paging_round_trips_the_continuation_token_header(host: LocalHost) -> None:
    prefix = f"page-{uuid.uuid4().hex[:6]}-"
    base = datetime(2025, 1, 1, tzinfo=UTC)
    host.seed([{"instanceId": f"{prefix}{n:04d}", "name": "Hello", "runtimeStatus": "Completed",
                "createdTime": (base + timedelta(seconds=n)).isoformat()} for n in range(250)])
    seen: list[str] = []
    token = None
    pages = 0
    while True:
        headers = {"x-ms-continuation-token": token} if token else {}
        reply = host.get(f"{DURABLE_API}/instances?instanceIdPrefix={prefix}", headers=headers)
        assert reply.status == 200
        seen += [item["instanceId"] for item in reply.json()]
        pages += 1
        token = reply.header("x-ms-continuation-token")
        if not token:
            break
    assert pages == 3 and seen == [f"{prefix}{n:04d}" for n in range(250)]
    top = host.get(f"{DURABLE_API}/instances?instanceIdPrefix={prefix}&top=7").json()
    assert len(top) == 7


def test_filters_by_created_time_and_status_and_ignores_unparsable_statuses(host: LocalHost) -> None:
    prefix = f"filter-{uuid.uuid4().hex[:6]}-"
    base = datetime(2024, 6, 1, tzinfo=UTC)
    host.seed([{"instanceId": f"{prefix}{n}", "name": "Hello", "runtimeStatus": status,
                "createdTime": (base + timedelta(days=n)).isoformat()}
               for n, status in enumerate(["Completed", "Failed", "Completed", "Running"])])

    def ids(query: str) -> list[str]:
        return [i["instanceId"] for i in host.get(f"{DURABLE_API}/instances?instanceIdPrefix={prefix}&{query}").json()]

    assert ids("runtimeStatus=Completed") == [f"{prefix}0", f"{prefix}2"]
    assert ids("runtimeStatus=Failed,Running") == [f"{prefix}1", f"{prefix}3"]
    assert ids("runtimeStatus=Failed&runtimeStatus=3") == [f"{prefix}1"]
    assert len(ids("runtimeStatus=completed")) == 4  # case-sensitive: not a status, so no filter
    assert ids("createdTimeFrom=2024-06-02T00:00:00Z&createdTimeTo=2024-06-03T00:00:00Z") == [
        f"{prefix}1", f"{prefix}2"]


def test_purge_by_filter_rules(host: LocalHost) -> None:
    base = datetime(2020, 2, 1, tzinfo=UTC)
    window = "createdTimeFrom=2020-02-01T00:00:00Z&createdTimeTo=2020-02-28T00:00:00Z"
    host.seed([{"instanceId": f"purge-{status}", "name": "Hello", "runtimeStatus": status,
                "createdTime": (base + timedelta(days=1)).isoformat()}
               for status in ("Completed", "Failed", "Running")])
    missing = host.delete(f"{DURABLE_API}/instances")
    assert missing.status == 400 and missing.json() == "Please provide value for 'createdTimeFrom' parameter."
    assert host.delete(f"{DURABLE_API}/instances?createdTimeFrom=yesterday").status == 400
    failed_only = host.delete(f"{DURABLE_API}/instances?{window}&runtimeStatus=Failed")
    assert failed_only.status == 200 and failed_only.json() == {"instancesDeleted": 1}
    # A non-terminal status is not a filter: Running alone means every status, as on Azure Storage.
    everything = host.delete(f"{DURABLE_API}/instances?{window}&runtimeStatus=Running")
    assert everything.json() == {"instancesDeleted": 2}
    assert host.get(f"{DURABLE_API}/instances/purge-Running").status == 404
    assert host.delete(f"{DURABLE_API}/instances?{window}").status == 404  # nothing left to match


def test_purge_removes_history_and_the_instance(client: DurableHttpClient, local_host: LocalHost | None) -> None:
    instance_id = instance_in(client, local_host, "Completed")
    assert client.purge(instance_id).json() == {"instancesDeleted": 1}
    assert client.status(instance_id, showHistory=True).status == 404


def test_restart_with_new_and_same_instance_ids(client: DurableHttpClient) -> None:
    original = client.start_new("Hello", "input-kept", instance_id=f"restart-me-{uuid.uuid4().hex[:8]}")
    client.wait_for_status(original)
    fresh = client.restart(original)
    assert fresh.status == 202 and fresh.json()["id"] != original
    assert client.wait_for_status(fresh.json()["id"])["input"] == "input-kept"
    same = client.restart(original, restartWithNewInstanceId=False)
    assert same.status == 202 and same.json()["id"] == original
    unknown = client.restart(f"never-was-{uuid.uuid4().hex[:8]}")
    assert unknown.status == 400
    assert unknown.json()["ExceptionMessage"] == "InstanceId does not match a valid orchestration instance."
    running = client.start_new("Waiter", instance_id=f"restart-running-{uuid.uuid4().hex[:8]}")
    client.wait_for_status(running, {"Running"})
    assert client.restart(running, restartWithNewInstanceId=False).status == 500
    client.terminate(running, "conformance test done")


def test_start_with_timeout_waits_for_the_output(client: DurableHttpClient) -> None:
    done = client.start("Hello", timeout=10, pollingInterval=0.05)
    assert done.status == 200 and done.json() == ["Hello Tokyo!", "Hello Seattle!", "Hello London!"]
    pending = client.start("Waiter", timeout=0.2, pollingInterval=0.05)
    assert pending.status == 202 and pending.header("Location")
    client.terminate(pending.json()["id"], "conformance test done")
    bad = client.start("Hello", timeout=1, pollingInterval=2)
    assert bad.status == 400


def test_raise_event_checks_state_before_content_type(client: DurableHttpClient,
                                                      local_host: LocalHost | None) -> None:
    completed = instance_in(client, local_host, "Completed")
    assert client.request("POST", f"{client.api_path}/instances/{completed}/raiseEvent/Go", raw=b"x",
                          headers={"Content-Type": "text/plain"}).status == 410
    running = instance_in(client, local_host, "Running")
    wrong_type = client.request("POST", f"{client.api_path}/instances/{running}/raiseEvent/Go", raw=b"1",
                                headers={"Content-Type": "text/plain"})
    assert wrong_type.status == 400
    assert wrong_type.json()["Message"] == "Only application/json request content is supported"
    bad_json = client.request("POST", f"{client.api_path}/instances/{running}/raiseEvent/Go", raw=b"{",
                              headers={"Content-Type": "application/json; charset=utf-8"})
    assert bad_json.status == 400 and bad_json.json()["Message"] == "Invalid JSON content"
    client.terminate(running, "conformance test done")


def test_rewind_is_refused_for_instances_with_durable_timers(host: LocalHost) -> None:
    stamp = "2026-01-01T00:00:00.0000000Z"
    history = [{"EventType": "OrchestratorStarted", "EventId": -1, "IsPlayed": False, "Timestamp": stamp},
               {"EventType": "ExecutionStarted", "EventId": -1, "IsPlayed": False, "Timestamp": stamp,
                "Name": "Approval", "Input": None},
               {"EventType": "TimerCreated", "EventId": 0, "IsPlayed": False, "Timestamp": stamp, "FireAt": stamp},
               {"EventType": "ExecutionCompleted", "EventId": -1, "IsPlayed": False, "Timestamp": stamp,
                "OrchestrationStatus": 3, "Result": "x"}]
    instance_id = seed(host, "Failed", history=history)
    reply = host.post(f"{DURABLE_API}/instances/{instance_id}/rewind")
    assert reply.status == 500 and "durable timers" in reply.json()["ExceptionMessage"]


def test_case_insensitive_webhook_path_and_unknown_routes(client: DurableHttpClient,
                                                         local_host: LocalHost | None) -> None:
    instance_id = instance_in(client, local_host, "Completed")
    assert client.request("GET", f"/runtime/webhooks/durableTask/instances/{instance_id}").status == 200
    assert client.request("GET", f"{DURABLE_API}/nothing/here").status == 404


def test_legacy_prefix(host: LocalHost) -> None:
    """The Functions 1.x prefix, which the local host serves too (a Functions 4.x host may not: local only)."""
    instance_id = seed(host, "Completed")
    assert host.get(f"/admin/extensions/DurableTaskExtension/instances/{instance_id}").status == 200


def test_every_sdk_client_method_from_an_http_function(host: LocalHost) -> None:
    prefix = f"sdk-{uuid.uuid4().hex[:6]}"
    host.seed([{"instanceId": f"{prefix}-old", "name": "Hello", "runtimeStatus": "Completed",
                "createdTime": "2019-05-01T00:00:00Z"},
               {"instanceId": f"{prefix}-failed", "name": "Hello", "runtimeStatus": "Failed",
                "createdTime": "2019-05-02T00:00:00Z"}])
    window = {"from": "2019-05-01T00:00:00", "to": "2019-05-31T00:00:00"}
    by = host.post("/api/client/-/by", {**window, "statuses": ["Completed"]}).json()
    assert [s["instanceId"] for s in by] == [f"{prefix}-old"]
    assert len(host.post("/api/client/-/all").json()) <= 100  # the SDK reads only the first page
    assert host.post("/api/client/-/purge_by", {**window, "statuses": ["Failed"]}).json() == {"deleted": 1}
    assert host.post("/api/client/-/purge_by", {**window, "statuses": ["Failed"]}).json() == {"deleted": 0}
    restarted = host.post(f"/api/client/{prefix}-old/restart").json()["restarted"]
    assert isinstance(restarted, dict) and restarted["id"] != f"{prefix}-old"  # sdk-protocol.md §2.3 restart
    assert host.post(f"/api/client/{prefix}-old/purge").json() == {"deleted": 1}
    assert host.post(f"/api/client/{prefix}-old/purge").json() == {"deleted": 0}


def test_task_hub_parameter_reads_other_hubs_and_refuses_writes_to_them(host: LocalHost) -> None:
    instance_id = seed(host, "Completed")
    assert host.get(f"{DURABLE_API}/instances/{instance_id}?taskHub=CoreTestHub").status == 200
    assert host.get(f"{DURABLE_API}/instances/{instance_id}?taskHub=OtherHub").status == 404
    assert host.get(f"{DURABLE_API}/instances?taskHub=OtherHub").json() == []
    refused = host.post(f"{DURABLE_API}/orchestrators/Hello?taskHub=OtherHub")
    assert refused.status == 400 and "runs task hub 'CoreTestHub', not 'OtherHub'" in refused.json()["ExceptionMessage"]
    assert host.delete(f"{DURABLE_API}/instances/{instance_id}?taskHub=OtherHub").status == 404
    assert host.delete(f"{DURABLE_API}/instances/{instance_id}?taskHub=CoreTestHub").status == 200
