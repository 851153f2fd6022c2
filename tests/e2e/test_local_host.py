"""The local host end to end: tests/apps/core_app served by `durable host start`, driven over real HTTP.

HTTP starters call the real SDK client; the Durable HTTP API is called directly where the test is about it.
"""

from __future__ import annotations

import concurrent.futures
import json
from pathlib import Path
from typing import Any

import pytest

from durable_local.testing import DURABLE_API, LocalHost

APP = Path(__file__).resolve().parents[1] / "apps" / "core_app"


@pytest.fixture(scope="module")
def counters(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("counters")


@pytest.fixture(scope="module")
def host(counters: Path) -> Any:
    with LocalHost(APP, env={"CORE_APP_COUNTERS": str(counters), "TICK_SCHEDULE": "0 0 0 * * *"}) as running:
        yield running


def start(host: LocalHost, name: str, body: Any = None, instance_id: str = "") -> str:
    path = f"/api/orchestrators/{name}" + (f"/{instance_id}" if instance_id else "")
    reply = host.post(path, body)
    assert reply.status == 202, reply.body
    return str(reply.json()["id"])


def test_http_starter_runs_the_sequence_through_the_sdk_client(host: LocalHost) -> None:
    reply = host.post("/api/orchestrators/Hello")
    assert reply.status == 202
    payload = reply.json()
    assert reply.header("Location") == payload["statusQueryGetUri"]
    assert set(payload) >= {"id", "statusQueryGetUri", "sendEventPostUri", "terminatePostUri", "rewindPostUri",
                            "purgeHistoryDeleteUri", "restartPostUri", "suspendPostUri", "resumePostUri"}
    status = host.wait_for_status(payload["id"])
    assert status["runtimeStatus"] == "Completed"
    assert status["output"] == ["Hello Tokyo!", "Hello Seattle!", "Hello London!"]
    seen_by_sdk = host.get(f"/api/client/{payload['id']}/status").json()
    assert seen_by_sdk["runtimeStatus"] == "Completed" and seen_by_sdk["truthy"] is True
    functions = [e.get("FunctionName") for e in seen_by_sdk["historyEvents"] if e["EventType"] == "TaskCompleted"]
    assert functions == ["SayHello", "SayHello", "SayHello"]


def test_sdk_get_status_of_an_unknown_instance_is_falsy(host: LocalHost) -> None:
    assert host.get("/api/client/nobody/status").json()["truthy"] is False


def test_start_via_the_api_with_an_instance_id_answers_202_with_location_and_retry_after(host: LocalHost) -> None:
    reply = host.post(f"{DURABLE_API}/orchestrators/Hello/api-started-1", raw=b"", headers={})
    assert reply.status == 202
    assert reply.header("Retry-After") == "10"
    assert reply.header("Location").startswith(f"{host.base_url}{DURABLE_API}/instances/api-started-1?")
    assert "rewindPostUri" not in reply.json()  # the host's own 202 body has no rewind URL
    assert host.wait_for_status("api-started-1")["output"][0] == "Hello Tokyo!"


@pytest.mark.parametrize(("instance_id", "fragment"), [
    ("@entity", "must not start with @"),
    ("a%5Cb", "must not contain"),
    ("x" * 257, "must not exceed 256"),
])
def test_invalid_instance_ids_are_400(host: LocalHost, instance_id: str, fragment: str) -> None:
    reply = host.post(f"{DURABLE_API}/orchestrators/Hello/{instance_id}")
    assert reply.status == 400
    assert reply.json()["Message"] == "One or more of the arguments submitted is incorrect"
    assert fragment in reply.json()["ExceptionMessage"]


def test_unknown_orchestrator_and_malformed_body_are_400(host: LocalHost) -> None:
    unknown = host.post(f"{DURABLE_API}/orchestrators/NoSuchThing")
    assert unknown.status == 400
    assert "The function 'NoSuchThing' doesn't exist" in unknown.json()["ExceptionMessage"]
    assert "'Hello'" in unknown.json()["ExceptionMessage"]
    malformed = host.post(f"{DURABLE_API}/orchestrators/Hello", raw=b"{not json",
                          headers={"Content-Type": "application/json"})
    assert malformed.status == 400 and malformed.json()["Message"] == "Invalid JSON content"


def test_starting_a_running_instance_id_again_is_500(host: LocalHost) -> None:
    start(host, "Waiter", instance_id="dup-1")
    again = host.post(f"{DURABLE_API}/orchestrators/Waiter/dup-1")
    assert again.status == 500
    assert "already exists" in again.json()["ExceptionMessage"]
    host.post(f"{DURABLE_API}/instances/dup-1/terminate?reason=cleanup")


def test_an_activity_that_fails_then_succeeds_is_retried(host: LocalHost) -> None:
    instance_id = start(host, "Flaky")
    status = host.wait_for_status(instance_id)
    assert status["runtimeStatus"] == "Completed" and status["output"] == "third time lucky"
    history = host.get(f"{DURABLE_API}/instances/{instance_id}?showHistory=true").json()["historyEvents"]
    assert [e["EventType"] for e in history].count("TaskFailed") == 2
    assert [e["EventType"] for e in history].count("TimerFired") == 2


def test_approval_event_beats_the_timer(host: LocalHost) -> None:
    instance_id = start(host, "Approval", 60)
    host.wait_for_status(instance_id, {"Running"})
    raised = host.post(f"{DURABLE_API}/instances/{instance_id}/raiseEvent/Approval", {"by": "ops"})
    assert raised.status == 202
    assert host.wait_for_status(instance_id)["output"] == {"approved": {"by": "ops"}}


def test_approval_timer_beats_a_missing_event(host: LocalHost) -> None:
    instance_id = start(host, "Approval", 1)
    assert host.wait_for_status(instance_id, timeout=15)["output"] == {"approved": None, "timedOut": True}


def test_sdk_raise_event_data_arrives_as_json_text_like_on_azure(host: LocalHost) -> None:
    instance_id = start(host, "Waiter")
    host.wait_for_status(instance_id, {"Running"})
    assert host.post(f"/api/client/{instance_id}/raise", {"name": "Go", "data": {"ok": True}}).status == 200
    assert host.wait_for_status(instance_id)["output"] == '{"ok": true}'  # sdk-protocol.md §2.3 raise_event


def test_fan_out_of_100_activities(host: LocalHost) -> None:
    instance_id = start(host, "FanOut", 100)
    assert host.wait_for_status(instance_id)["output"] == sum(n * n for n in range(100))


def test_sub_orchestration_success_and_failure_reach_the_parent(host: LocalHost) -> None:
    ok = start(host, "Parent", "Paris")
    assert host.wait_for_status(ok)["output"] == "Hello Paris!"
    broken = start(host, "Parent", "fail")
    output = host.wait_for_status(broken)["output"]
    assert output == {"childFailed": "Orchestrator function 'Child' failed: child broke "}


def test_a_failing_activity_fails_the_instance_in_the_real_host_format(host: LocalHost) -> None:
    instance_id = start(host, "Boom")
    status = host.wait_for_status(instance_id)
    assert status["runtimeStatus"] == "Failed"
    assert status["output"].startswith(
        "Orchestrator function 'Boom' failed: Activity function 'Explode' failed:  ValueError: kaboom \n ")
    details = json.loads(status["output"].split("\n", 1)[1])
    assert details["Message"] == " ValueError: kaboom"


def test_continue_as_new_runs_to_the_end_with_custom_status(host: LocalHost) -> None:
    instance_id = start(host, "Counter", 1)
    status = host.wait_for_status(instance_id, timeout=20)
    assert status["output"] == 3 and status["customStatus"] == {"count": 3}


def test_terminate_suspend_resume_through_the_sdk(host: LocalHost) -> None:
    instance_id = start(host, "Waiter")
    host.wait_for_status(instance_id, {"Running"})
    host.post(f"/api/client/{instance_id}/suspend")
    assert host.wait_for_status(instance_id, {"Suspended"})["runtimeStatus"] == "Suspended"
    host.post(f"{DURABLE_API}/instances/{instance_id}/raiseEvent/Go", "buffered")
    host.post(f"/api/client/{instance_id}/resume")
    assert host.wait_for_status(instance_id)["output"] == "buffered"
    second = start(host, "Waiter")
    host.wait_for_status(second, {"Running"})
    host.post(f"/api/client/{second}/terminate", {"reason": "enough"})
    status = host.wait_for_status(second)
    assert status["runtimeStatus"] == "Terminated" and status["output"] == "enough"


def test_call_http_makes_one_request_and_returns_status_and_content(host: LocalHost) -> None:
    instance_id = start(host, "CallsHttp", host.url("/api/echo?say=hi"))
    assert host.wait_for_status(instance_id)["output"] == {"statusCode": 200, "content": {"echo": "hi"}}
    history = host.get(f"{DURABLE_API}/instances/{instance_id}?showHistory=true").json()["historyEvents"]
    assert [e.get("FunctionName") for e in history if e["EventType"] == "TaskCompleted"] == [
        "BuiltIn::HttpActivity"]


def test_sync_wait_starter_returns_the_output(host: LocalHost) -> None:
    reply = host.post("/api/orchestrators/Hello/wait")
    assert reply.status == 200
    assert reply.json() == ["Hello Tokyo!", "Hello Seattle!", "Hello London!"]


def test_rewind_reruns_only_the_failed_step_after_the_configuration_is_fixed(host: LocalHost,
                                                                              counters: Path) -> None:
    instance_id = start(host, "Steps")
    assert host.wait_for_status(instance_id)["runtimeStatus"] == "Failed"
    (counters / "config-three").write_text("yes")
    assert host.post(f"/api/client/{instance_id}/rewind", {"reason": "config fixed"}).status == 200
    status = host.wait_for_status(instance_id)
    assert status["runtimeStatus"] == "Completed" and status["output"] == ["ONE", "TWO", "THREE"]
    assert (counters / "step-one").read_text() == "1" and (counters / "step-two").read_text() == "1"
    assert (counters / "step-three").read_text() == "2"


def test_rewind_of_a_parent_rewinds_its_failed_sub_orchestration(host: LocalHost, counters: Path) -> None:
    instance_id = start(host, "ParentOfSteps")
    status = host.wait_for_status(instance_id)
    assert status["runtimeStatus"] == "Failed"
    assert "Orchestrator function 'ChildSteps' failed" in status["output"]
    child_id = next(i["instanceId"] for i in host.get(f"{DURABLE_API}/instances?runtimeStatus=Failed").json()
                    if i["name"] == "ChildSteps")
    (counters / "config-child-two").write_text("yes")
    assert host.post(f"{DURABLE_API}/instances/{instance_id}/rewind?reason=fixed").status == 202
    status = host.wait_for_status(instance_id)
    assert status["runtimeStatus"] == "Completed" and status["output"] == ["PARENT-BEFORE", "CHILD-ONE", "CHILD-TWO"]
    assert host.get(f"{DURABLE_API}/instances/{child_id}").json()["runtimeStatus"] == "Completed"
    assert (counters / "step-parent-before").read_text() == "1" and (counters / "step-child-one").read_text() == "1"
    assert (counters / "step-child-two").read_text() == "2"


def test_host_stays_responsive_while_activities_run(host: LocalHost) -> None:
    instance_id = start(host, "FanOut", 300)
    reply = host.get(f"{DURABLE_API}/instances/{instance_id}", timeout=2)
    assert reply.status in (200, 202)
    host.wait_for_status(instance_id)


def test_a_host_killed_mid_flight_finishes_every_instance_exactly_once(counters: Path, tmp_path: Path) -> None:
    env = {"CORE_APP_COUNTERS": str(counters), "TICK_SCHEDULE": "0 0 0 * * *"}
    store = tmp_path / "crash.sqlite"
    with LocalHost(APP, env=env, store=store) as first:
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            ids = list(pool.map(lambda n: start(first, "FanOut" if n % 2 else "Hello", 20), range(60)))
            # durable timers (1 s approval timeouts) and retry timers, pending at the kill
            timed = list(pool.map(lambda n: start(first, "Approval", 1), range(10)))
            retried = list(pool.map(lambda n: start(first, "Flaky"), range(5)))
        first.kill()  # SIGKILL while episodes, activities and timers are in flight
        second = LocalHost(APP, env=env, store=store, port=first.port)
        second.start()
        try:
            for n, instance_id in enumerate(ids):
                status = second.wait_for_status(instance_id, timeout=60)
                expected = sum(k * k for k in range(20)) if n % 2 else ["Hello Tokyo!", "Hello Seattle!",
                                                                         "Hello London!"]
                assert status["output"] == expected, instance_id
                raw = second.client.status(instance_id, showHistory=True, showHistoryOutput=True).json()
                completed = [e for e in raw["historyEvents"] if e["EventType"] == "TaskCompleted"]
                assert len(completed) == (20 if n % 2 else 3)  # no orchestrator step applied twice
            for instance_id in timed:
                assert second.wait_for_status(instance_id, timeout=60)["output"] == {"approved": None,
                                                                                     "timedOut": True}
            for instance_id in retried:
                assert second.wait_for_status(instance_id, timeout=60)["output"] == "third time lucky"
        finally:
            second.close()
