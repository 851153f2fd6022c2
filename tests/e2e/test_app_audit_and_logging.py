"""Accountability and quiet logs through the app on the local host: every destructive management operation
(terminate, rewind, restart, purge of one instance or by filter) logs exactly one `audit {json}` record with the
operation, the instance or filter, the reason, the count and the caller's App Service principal; azure-core's
per-request HTTP logging stays out of the app's log."""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime, timedelta

import pytest
from _app import app_host, start, unique

from durable_local.testing import eventually

PRINCIPAL = {"X-MS-CLIENT-PRINCIPAL-NAME": "alice@contoso.com", "X-MS-CLIENT-PRINCIPAL-ID": "0000-alice",
             "X-MS-CLIENT-PRINCIPAL-IDP": "aad"}
AUDIT_LINE = re.compile(r"audit (\{.*\})\s*$")


@pytest.fixture(scope="module")
def app(azurite):
    # App Service sets WEBSITE_AUTH_ENABLED when its authentication is on; the principal headers are then real.
    with app_host(azurite, WEBSITE_AUTH_ENABLED="True") as host:
        yield host


def audit_records(app, **match: object) -> list[dict]:
    records = []
    for line in app.log().splitlines():
        found = AUDIT_LINE.search(line)
        if found:
            record = json.loads(found.group(1))
            if all(record.get(key) == value for key, value in match.items()):
                records.append(record)
    return records


def eventually_one_record(app, timeout: float = 15, **match: object) -> dict:
    eventually(lambda: audit_records(app, **match), timeout=timeout,
               message=lambda: f"an audit record matching {match}:\n{app.log()[-2000:]}")
    time.sleep(0.2)  # a duplicate would be written right after the first
    records = audit_records(app, **match)
    assert len(records) == 1, records
    return records[0]


def running(app, prefix: str) -> str:
    instance_id = start(app, "ApprovalWorkflow", {"requestId": unique("req")}, unique(prefix))
    app.wait_for_status(instance_id, {"Running"})
    return instance_id


def test_terminate_logs_one_record_with_reason_and_principal(app):
    instance_id = running(app, "audit-terminate")
    reply = app.post(f"/instances/{instance_id}/terminate?reason=duplicate%20order", headers=PRINCIPAL)
    assert reply.status == 202, reply.body
    record = eventually_one_record(app, operation="terminate", instanceId=instance_id)
    assert record["reason"] == "duplicate order" and record["count"] == 1 and record["trigger"] == "http"
    assert record["principal"] == {"name": "alice@contoso.com", "id": "0000-alice", "identityProvider": "aad"}


def test_restart_logs_the_new_instance_id(app):
    instance_id = start(app, "HelloWorld", {"name": "audit"}, unique("audit-restart"))
    app.wait_for_status(instance_id, {"Completed"})
    reply = app.post(f"/instances/{instance_id}/restart", headers=PRINCIPAL)
    assert reply.status == 202, reply.body
    record = eventually_one_record(app, operation="restart", instanceId=instance_id)
    assert record["newInstanceId"] == reply.json()["id"] != instance_id
    assert record["principal"]["name"] == "alice@contoso.com"


def test_rewind_logs_one_record_with_its_reason(app):
    # OrderFulfillment fails after the approval when its warehouse has no carrier configured.
    order = {"orderId": unique("order"), "warehouse": unique("nowhere").replace("-", "")}
    instance_id = start(app, "OrderFulfillment", order, unique("audit-rewind"))
    eventually(lambda: sum(e["EventType"] == "TaskCompleted" for e in history(app, instance_id)) >= 2)
    assert app.post(f"/instances/{instance_id}/raiseEvent/ApprovalEvent", {"approvedBy": "bob"}).status == 202
    assert app.wait_for_status(instance_id)["runtimeStatus"] == "Failed"
    reply = app.post(f"/instances/{instance_id}/rewind?reason=carrier%20fixed", headers=PRINCIPAL)
    assert reply.status == 202, reply.body
    record = eventually_one_record(app, operation="rewind", instanceId=instance_id)
    assert record["reason"] == "carrier fixed" and record["count"] == 1
    assert record["principal"]["id"] == "0000-alice"


def history(app, instance_id: str) -> list[dict]:
    return app.get(f"/instances/{instance_id}?showHistory=true").json()["historyEvents"]


def test_purge_of_one_instance_logs_the_count(app):
    instance_id = start(app, "HelloWorld", {"name": "audit"}, unique("audit-purge"))
    app.wait_for_status(instance_id, {"Completed"})
    reply = app.delete(f"/instances/{instance_id}", headers=PRINCIPAL)
    assert reply.status == 200, reply.body
    record = eventually_one_record(app, operation="purge", instanceId=instance_id)
    assert record["count"] == 1


def test_purge_by_filter_logs_the_filter_and_count_without_a_principal_when_none_is_given(app):
    since = (datetime.now(UTC) - timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    ids = [start(app, "HelloWorld", {"name": "audit"}, unique("audit-filter")) for _ in range(2)]
    for instance_id in ids:
        app.wait_for_status(instance_id, {"Completed"})
    reply = app.delete(f"/instances?createdTimeFrom={since}&runtimeStatus=Completed")
    assert reply.status == 200, reply.body
    deleted = reply.json()["instancesDeleted"]
    assert deleted >= 2
    record = eventually_one_record(app, operation="purge", count=deleted)
    assert record["filter"]["runtimeStatus"] == ["Completed"]
    assert record["filter"]["createdTimeFrom"].startswith(since[:19])
    assert record["principal"] is None and "instanceId" not in record


def test_storage_calls_do_not_flood_the_log_with_http_lines(app):
    instance_id = start(app, "ApprovalWorkflow", {"requestId": "quiet"}, unique("quiet"))
    eventually(lambda: app.get(f"/management-payloads/{instance_id}").status == 200, timeout=30,
               message=lambda: f"the management payload saved:\n{app.log()[-2000:]}")
    log = app.log()
    assert "Saved the management payload" in log  # the app's own INFO lines are there
    assert "Request URL:" not in log and "Response status:" not in log
