"""Bulk operations of the app (`POST bulk/{operation}`) as a durable orchestration, end to end on the local host."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import pytest
from _app import app_host, error_of, start, unique

from durable_local.testing import DURABLE_API, eventually

API = DURABLE_API


@pytest.fixture(scope="module")
def app(azurite):
    with app_host(azurite, BULK_PAGE_SIZE="50") as host:
        yield host


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def status_of(host, instance_id: str) -> dict[str, Any] | None:
    reply = host.get(f"{API}/instances/{quote(instance_id, safe='')}")
    return reply.json() if reply.status in (200, 202) else None


def start_many(host, name: str, prefix: str, count: int, body: Any = None) -> list[str]:
    return [start(host, name, body, f"{prefix}-{n:04d}") for n in range(count)]


def wait_all(host, ids: list[str], statuses: set[str], timeout: float = 120) -> None:
    for instance_id in ids:
        host.wait_for_status(instance_id, statuses, timeout=timeout)


def run_bulk(host, operation: str, query: str = "", body: Any = None, timeout: float = 180) -> dict[str, Any]:
    """Start a bulk run, wait for its instance to complete, and return its final status."""
    reply = host.post(f"/bulk/{operation}?{query}", body)
    assert reply.status == 202, reply.body
    payload = reply.json()
    assert payload["statusQueryGetUri"] and payload["terminatePostUri"]
    return host.wait_for_status(payload["id"], {"Completed", "Failed", "Terminated"}, timeout=timeout)


def test_terminate_by_filter_after_a_dry_run_acts_on_exactly_the_dry_run_set(app):
    prefix = unique("bulk-term")
    ids = start_many(app, "ApprovalWorkflow", prefix, 200, {"requestId": "bulk"})
    wait_all(app, ids, {"Running"})

    dry = app.post(f"/bulk/terminate?runtimeStatus=Running&instanceIdPrefix={prefix}&dryRun=true")
    assert dry.status == 200, dry.body
    plan = dry.json()
    assert plan["count"] == 200
    assert len(plan["instanceIds"]) == 100 and set(plan["instanceIds"]) <= set(ids)
    late = start(app, "ApprovalWorkflow", {"requestId": "late"}, f"{prefix}-late")
    app.wait_for_status(late, {"Running"})

    query = (f"runtimeStatus=Running&instanceIdPrefix={prefix}&reason=bad%20release"
             f"&createdTimeTo={plan['filter']['createdTimeTo']}&concurrency=8")
    final = run_bulk(app, "terminate", query)
    assert final["runtimeStatus"] == "Completed"
    output = final["output"]
    # 50 per page, continued as new between pages; the terminated leave the filter while it pages, and
    # still none is skipped or repeated (matched is exactly the set)
    assert (output["matched"], output["done"], output["failed"], output["skipped"]) == (200, 200, 0, 0)
    assert output["pages"] >= 4
    assert final["customStatus"]["phase"] == "finished" and final["customStatus"]["done"] == 200
    for instance_id in ids:
        status = status_of(app, instance_id)
        assert status and status["runtimeStatus"] == "Terminated", instance_id
        assert status["output"] == "bad release"
    assert status_of(app, late)["runtimeStatus"] == "Running", "created after the dry run: never touched"
    app.post(f"{API}/instances/{late}/terminate")


def test_bulk_run_never_acts_on_management_orchestrations(app):
    prefix = unique("bulk-self")
    app.seed([{"instanceId": f"{prefix}-other-bulk", "name": "BulkOperation", "runtimeStatus": "Running"},
              {"instanceId": f"{prefix}-retention", "name": "RetentionPurge", "runtimeStatus": "Running"}])
    target = start(app, "ApprovalWorkflow", {"requestId": "x"}, f"{prefix}-target")
    app.wait_for_status(target, {"Running"})
    final = run_bulk(app, "terminate", f"runtimeStatus=Running&instanceIdPrefix={prefix}")
    assert final["output"]["matched"] == 1 and final["output"]["done"] == 1
    assert status_of(app, f"{prefix}-other-bulk")["runtimeStatus"] == "Running"
    assert status_of(app, f"{prefix}-retention")["runtimeStatus"] == "Running"

    listed = run_bulk(app, "terminate", body={"instanceIds": [f"{prefix}-other-bulk", f"{prefix}-missing"]})
    assert listed["output"]["skipped"] == 2 and listed["output"]["done"] == 0
    assert status_of(app, f"{prefix}-other-bulk")["runtimeStatus"] == "Running"


def test_suspend_then_resume_then_raise_event(app):
    prefix = unique("bulk-sr")
    ids = start_many(app, "ApprovalWorkflow", prefix, 60, {"requestId": "sr"})
    wait_all(app, ids, {"Running"})
    suspended = run_bulk(app, "suspend", f"instanceIdPrefix={prefix}&reason=maintenance")
    assert suspended["output"]["done"] == 60
    assert all(status_of(app, i)["runtimeStatus"] == "Suspended" for i in ids)

    resumed = run_bulk(app, "resume", f"instanceIdPrefix={prefix}")
    assert resumed["output"]["done"] == 60
    wait_all(app, ids, {"Running"})

    raised = run_bulk(app, "raiseEvent", f"instanceIdPrefix={prefix}&eventName=ApprovalEvent",
                      {"eventData": {"approved": True, "by": "bulk"}})
    assert raised["output"]["done"] == 60
    wait_all(app, ids, {"Completed"})
    assert status_of(app, ids[0])["output"]["outcome"] == "Approved"


def test_restart_gives_new_ids_derived_from_the_run(app):
    prefix = unique("bulk-restart")
    ids = start_many(app, "HelloWorld", prefix, 30, {"name": "again"})
    wait_all(app, ids, {"Completed"})
    final = run_bulk(app, "restart", body={"instanceIds": ids})
    assert final["output"]["done"] == 30
    bulk_id = final["instanceId"]
    for instance_id in ids:
        new = app.wait_for_status(f"{instance_id}.{bulk_id}")
        assert new["runtimeStatus"] == "Completed" and new["output"] == "Hello again!"


def test_purge_removes_only_terminal_instances(app):
    prefix = unique("bulk-purge")
    old = iso(datetime.now(UTC) - timedelta(days=3))
    seeds = [{"instanceId": f"{prefix}-{n:03d}", "name": "HelloWorld", "createdTime": old,
              "runtimeStatus": ("Completed", "Failed", "Terminated", "Running", "Suspended")[n % 5]}
             for n in range(250)]
    app.seed(seeds)
    dry = app.post(f"/bulk/purge?instanceIdPrefix={prefix}&dryRun=true").json()
    assert dry["count"] == 150
    final = run_bulk(app, "purge", f"instanceIdPrefix={prefix}&concurrency=16")
    assert (final["output"]["matched"], final["output"]["done"], final["output"]["failed"]) == (150, 150, 0)
    for seed in seeds:
        present = status_of(app, seed["instanceId"]) is not None
        assert present == (seed["runtimeStatus"] in ("Running", "Suspended")), seed


def test_purge_by_id_checks_each_status_and_name(app):
    prefix = unique("bulk-purge-ids")
    app.seed([{"instanceId": f"{prefix}-done", "name": "HelloWorld", "runtimeStatus": "Completed"},
              {"instanceId": f"{prefix}-running", "name": "HelloWorld", "runtimeStatus": "Running"},
              {"instanceId": f"{prefix}-old-bulk", "name": "BulkOperation", "runtimeStatus": "Completed"}])
    ids = [f"{prefix}-done", f"{prefix}-running", f"{prefix}-old-bulk", f"{prefix}-missing"]
    final = run_bulk(app, "purge", body={"instanceIds": ids})
    assert (final["output"]["done"], final["output"]["skipped"], final["output"]["failed"]) == (1, 3, 0)
    assert [i for i in ids if status_of(app, i)] == [f"{prefix}-running", f"{prefix}-old-bulk"]


@pytest.mark.parametrize(
    ("path", "body", "problem"),
    [
        ("/bulk/terminate?runtimeStatus=Runing", None, "Runing"),
        ("/bulk/purge?runtimeStatus=Running", None, "Running"),
        ("/bulk/terminate?runtimeStatus=Completed", None, "Completed"),
        ("/bulk/terminate", None, "empty filter"),
        ("/bulk/terminate?instanceIdPrefx=a", None, "instanceIdPrefx"),
        ("/bulk/obliterate?runtimeStatus=Running", None, "obliterate"),
        ("/bulk/terminate?createdTimeFrom=yesterday", None, "createdTimeFrom"),
        ("/bulk/raiseEvent?runtimeStatus=Running", None, "eventName"),
        ("/bulk/terminate?runtimeStatus=Running&concurrency=0", None, "concurrency"),
        ("/bulk/terminate?runtimeStatus=Running", {"instanceIds": ["a"]}, "not both"),
        ("/bulk/terminate", {"instanceIds": []}, "instanceIds"),
        ("/bulk/terminate", {"ids": ["a"]}, "ids"),
    ],
)
def test_bad_requests_are_refused_before_anything_starts(app, path, body, problem):
    reply = app.post(path, body)
    assert reply.status == 400, reply.body
    assert problem in error_of(reply)


def test_kill_mid_run_then_restart_finishes_every_instance(azurite):
    prefix = unique("bulk-kill")
    with app_host(azurite, BULK_PAGE_SIZE="10", BULK_CONCURRENCY="1") as host:
        ids = start_many(host, "ApprovalWorkflow", prefix, 200, {"requestId": "kill"})
        wait_all(host, ids, {"Running"})
        reply = host.post(f"/bulk/terminate?instanceIdPrefix={prefix}")
        bulk_id = reply.json()["id"]
        def thirty_done() -> dict | None:
            custom = (status_of(host, bulk_id) or {}).get("customStatus") or {}
            return custom if custom.get("done", 0) >= 30 else None

        custom = eventually(thirty_done, timeout=60, interval=0.02, message="30 instances done by the bulk run")
        assert custom.get("phase") in ("listing", "acting"), custom  # killed mid-run, not after it
        host.kill()
        host.start()
        final = host.wait_for_status(bulk_id, timeout=180)
        assert final["runtimeStatus"] == "Completed"
        output = final["output"]
        assert output["failed"] == 0
        assert output["done"] + output["skipped"] == output["matched"]
        assert output["done"] >= 190  # at most the page in progress at the kill is repeated (skipped)
        assert all(status_of(host, i)["runtimeStatus"] == "Terminated" for i in ids)


def test_rewind_every_instance_that_failed_on_a_missing_configuration(app, azurite):
    from azure.data.tables import TableServiceClient

    prefix = unique("bulk-rewind")
    warehouse = unique("east").replace("-", "")
    ids = start_many(app, "OrderFulfillment", prefix, 40, {"orderId": "o", "warehouse": warehouse})
    raised = run_bulk(app, "raiseEvent", f"instanceIdPrefix={prefix}&eventName=ApprovalEvent",
                      {"eventData": {"approvedBy": "bulk"}})
    assert raised["output"]["done"] == 40
    wait_all(app, ids, {"Failed"})
    with TableServiceClient.from_connection_string(azurite.connection_string) as service:
        table = service.create_table_if_not_exists("OperatorSettings")
        table.upsert_entity({"PartitionKey": "warehouses", "RowKey": warehouse, "Carrier": "Contoso Freight"})

    final = run_bulk(app, "rewind", f"runtimeStatus=Failed&instanceIdPrefix={prefix}&reason=carrier%20added")
    assert (final["output"]["matched"], final["output"]["done"]) == (40, 40)
    wait_all(app, ids, {"Completed"})


def test_cancelling_is_terminating_the_bulk_instance_and_what_was_done_stays_done(azurite):
    prefix = unique("bulk-cancel")
    with app_host(azurite, BULK_PAGE_SIZE="5", BULK_CONCURRENCY="1") as host:
        ids = start_many(host, "ApprovalWorkflow", prefix, 60, {"requestId": "cancel"})
        wait_all(host, ids, {"Running"})
        bulk_id = host.post(f"/bulk/suspend?instanceIdPrefix={prefix}").json()["id"]
        def ten_done() -> dict | None:
            custom = (status_of(host, bulk_id) or {}).get("customStatus") or {}
            return custom if custom.get("done", 0) >= 10 else None

        eventually(ten_done, timeout=60, interval=0.02, message="10 instances done by the bulk run")
        assert host.post(f"{API}/instances/{bulk_id}/terminate?reason=cancel").status == 202
        final = host.wait_for_status(bulk_id)
        assert final["runtimeStatus"] == "Terminated"
        reported = final["customStatus"]["done"]
        assert 10 <= reported < 60
        host.wait_idle()
        suspended = [i for i in ids if status_of(host, i)["runtimeStatus"] == "Suspended"]
        assert reported <= len(suspended) < 60  # the page in flight may have gone a little further
        assert len(suspended) - reported <= 5
