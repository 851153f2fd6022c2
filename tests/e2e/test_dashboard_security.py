"""The dashboard's own protection, over real HTTP: the per-start token, the Host-header check, cross-site
actions refused, the system key never sent to the browser, bad action input refused, every action logged."""

from __future__ import annotations

import json
import time
import urllib.parse

import pytest
from _app import app_host, start, unique
from _dashboard import dashboard, get, post

from durable_local.vocabulary import DURABLE_API

KEY = "s3cret-system-key-for-the-test"


@pytest.fixture(scope="module")
def app(azurite):
    with app_host(azurite) as host:
        yield host


@pytest.fixture(scope="module")
def board(app):
    with dashboard(app.base_url, "--code", KEY) as running:
        yield running


def session(board) -> dict[str, str]:
    """Open the token URL as a browser would; the cookie it sets."""
    reply = get(board.url)
    assert reply.status == 302, reply.body
    cookie = reply.header("Set-Cookie") or ""
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert "token=" not in (reply.header("Location") or "")
    return {"Cookie": cookie.split(";", 1)[0]}


def running_approval(app) -> str:
    instance_id = start(app, "ApprovalWorkflow", {"requestId": unique("req")}, unique("approval"))
    app.wait_for_status(instance_id, {"Running"})
    return instance_id


def runtime_status(app, instance_id: str) -> str:
    return app.get(f"{DURABLE_API}/instances/{instance_id}").json()["runtimeStatus"]


def test_without_the_token_nothing_is_shown(board):
    for url in (f"{board.origin}/instances", f"{board.origin}/instances?token=wrong", f"{board.origin}/instance/x"):
        reply = get(url)
        assert reply.status == 401, url
        assert b"durable dashboard" in reply.body and b"<table" not in reply.body


def test_the_token_gives_a_session_and_the_key_never_reaches_the_browser(board, app):
    headers = session(board)
    instance_id = running_approval(app)
    for path in ("/instances", f"/instance/{instance_id}", "/instances/summary", "/instances/rows"):
        reply = get(board.origin + path, headers=headers)
        assert reply.status == 200, (path, reply.body[:300])
        assert KEY.encode() not in reply.body
    page = get(f"{board.origin}/instance/{instance_id}", headers=headers).body.decode()
    assert "code=SYSTEM-KEY" in page
    app.post(f"{DURABLE_API}/instances/{instance_id}/terminate")


def test_a_foreign_host_header_is_refused(board):
    headers = {**session(board), "Host": f"evil.example:{board.port}"}
    reply = get(f"{board.origin}/instances", headers=headers)
    assert reply.status == 403 and b"does not name this host" in reply.body


def test_cross_site_actions_are_refused_and_change_nothing(board, app):
    headers = session(board)
    instance_id = running_approval(app)
    url = f"{board.origin}/instance/{urllib.parse.quote(instance_id)}/action/terminate"
    for extra in ({"Origin": "http://evil.example", "HX-Request": "true"},
                  {"Sec-Fetch-Site": "cross-site", "HX-Request": "true"},
                  {"Origin": board.origin}):  # a plain form post (no htmx header)
        reply = post(url, headers={**headers, **extra})
        assert reply.status == 403, extra
    assert runtime_status(app, instance_id) == "Running"
    reply = post(url, headers={**headers, "Origin": board.origin, "HX-Request": "true"}, data=b"reason=tested")
    assert reply.status == 200 and b"terminate requested" in reply.body
    assert app.wait_for_status(instance_id)["runtimeStatus"] == "Terminated"
    assert f"terminate '{instance_id}': ok" in board.log()


def test_bad_action_input_is_refused_before_anything_is_sent(board, app):
    headers = {**session(board), "Origin": board.origin, "HX-Request": "true"}
    instance_id = running_approval(app)
    base = f"{board.origin}/instance/{instance_id}/action"
    bad_json = post(f"{base}/raise-event", headers=headers, data=b"event_name=ApprovalEvent&event_data=%7Boops")
    assert bad_json.status == 400 and b"not valid JSON" in bad_json.body
    unknown_field = post(f"{base}/terminate", headers=headers, data=b"reasn=typo")
    assert unknown_field.status == 400 and b"reasn" in unknown_field.body
    unknown_action = post(f"{base}/explode", headers=headers)
    assert unknown_action.status == 400
    assert runtime_status(app, instance_id) == "Running"
    missing = post(f"{board.origin}/instance/{unique('nobody')}/action/terminate", headers=headers)
    assert missing.status == 200 and b"refused: HTTP 404" in missing.body
    app.post(f"{DURABLE_API}/instances/{instance_id}/terminate")


def test_a_bulk_run_acts_only_on_its_dry_run_and_runs_once(board, app):
    headers = {**session(board), "Origin": board.origin, "HX-Request": "true"}
    prefix = unique("once") + "-"
    app.seed([{"instanceId": f"{prefix}{i}", "name": "Job", "runtimeStatus": "Completed"} for i in range(5)])
    data = urllib.parse.urlencode({"operation": "purge", "filter": f"prefix={prefix}"}).encode()
    plan = post(f"{board.origin}/bulk/plan", headers=headers, data=data)
    assert plan.status == 200 and b'id="plan-count">5<' in plan.body
    plan_id = plan.body.decode().split("/bulk/run/", 1)[1].split('"', 1)[0]
    typo = post(f"{board.origin}/bulk/plan", headers=headers,
                data=urllib.parse.urlencode({"operation": "purge", "filter": "prefx=x"}).encode())
    assert typo.status == 400 and b"prefx" in typo.body
    assert post(f"{board.origin}/bulk/run/{plan_id}", headers=headers, data=b"concurrency=99").status == 400
    run = post(f"{board.origin}/bulk/run/{plan_id}", headers=headers, data=b"concurrency=2")
    assert run.status == 200
    again = post(f"{board.origin}/bulk/run/{plan_id}", headers=headers, data=b"concurrency=2")
    assert again.status == 409
    job_id = run.body.decode().split("/bulk/job/", 1)[1].split('"', 1)[0]
    for _ in range(200):
        job = get(f"{board.origin}/bulk/job/{job_id}", headers=headers)
        if b"finished" in job.body:
            break
        time.sleep(0.05)
    assert b"5 done" in job.body
    assert app.get(f"{DURABLE_API}/instances?instanceIdPrefix={prefix}").json() == []
    assert "bulk purge finished" in board.log()


def test_an_oversized_form_is_refused(board):
    headers = {**session(board), "Origin": board.origin, "HX-Request": "true"}
    reply = post(f"{board.origin}/instance/x/action/raise-event", headers=headers,
                 data=b"event_name=E&event_data=" + b"1" * (2 * 1024 * 1024))
    assert reply.status == 413


def test_a_bulk_plan_needs_a_filter_and_statuses_the_operation_allows(board):
    headers = {**session(board), "Origin": board.origin, "HX-Request": "true"}
    empty = post(f"{board.origin}/bulk/plan", headers=headers, data=b"operation=terminate&filter=")
    assert empty.status == 400 and b"empty filter is refused" in empty.body
    running = post(f"{board.origin}/bulk/plan", headers=headers,
                   data=urllib.parse.urlencode({"operation": "purge", "filter": "status=Running"}).encode())
    assert running.status == 400 and b"purge acts only on instances that are" in running.body


def test_a_huge_payload_is_truncated_with_a_download_of_the_whole(board, app):
    headers = session(board)
    big = {"rows": ["x" * 100 for _ in range(1000)]}
    instance_id = unique("big")
    app.seed([{"instanceId": instance_id, "name": "Big", "runtimeStatus": "Completed", "input": big}])
    page = get(f"{board.origin}/instance/{instance_id}", headers=headers).body.decode()
    assert "Large payload (" in page and "the first 64 KiB are shown" in page
    assert len(page) < 200_000
    download = get(f"{board.origin}/instance/{instance_id}/payload/input", headers=headers)
    assert download.status == 200 and "attachment" in (download.header("Content-Disposition") or "")
    assert json.loads(download.body) == big


def test_restart_and_purge_of_a_finished_instance(board, app):
    headers = {**session(board), "Origin": board.origin, "HX-Request": "true"}
    instance_id = start(app, "HelloWorld", {"name": "again"}, unique("hello"))
    app.wait_for_status(instance_id, {"Completed"})
    base = f"{board.origin}/instance/{instance_id}/action"
    restarted = post(f"{base}/restart", headers=headers)
    assert restarted.status == 200 and b"restarted as instance" in restarted.body
    app.wait_for_status(instance_id, {"Completed"})
    purged = post(f"{base}/purge", headers=headers)
    assert purged.status == 200 and b"purged instance" in purged.body
    assert app.get(f"{DURABLE_API}/instances/{instance_id}").status == 404
    again = post(f"{base}/purge", headers=headers)
    assert again.status == 200 and b"refused: HTTP 404" in again.body
    assert f"purge '{instance_id}': ok" in board.log()
