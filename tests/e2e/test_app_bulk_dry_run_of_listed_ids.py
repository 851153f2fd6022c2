"""`POST /bulk/{operation}?dryRun=true` with `{"instanceIds": [...]}` counts only the instances the run would act
on and names the others with the reason (missing, a status the operation does not act on, a management
orchestration), so the dry run matches what the run then does."""

from __future__ import annotations

import pytest
from _app import app_host, unique


@pytest.fixture(scope="module")
def app(azurite):
    with app_host(azurite) as host:
        yield host


def test_dry_run_of_listed_ids_counts_what_the_purge_then_does(app):
    prefix = unique("app-dry-ids")
    app.seed([{"instanceId": f"{prefix}-done", "name": "HelloWorld", "runtimeStatus": "Completed"},
              {"instanceId": f"{prefix}-running", "name": "HelloWorld", "runtimeStatus": "Running"},
              {"instanceId": f"{prefix}-bulk", "name": "BulkOperation", "runtimeStatus": "Completed"}])
    ids = [f"{prefix}-done", f"{prefix}-running", f"{prefix}-bulk", f"{prefix}-missing"]

    dry = app.post("/bulk/purge?dryRun=true", {"instanceIds": ids})
    assert dry.status == 200, dry.body
    plan = dry.json()
    assert (plan["count"], plan["instanceIds"], plan["skippedTotal"]) == (1, [f"{prefix}-done"], 3)
    assert {item["instanceId"]: item["reason"] for item in plan["skipped"]} == {
        f"{prefix}-running": "it is Running; purge acts on Completed, Failed, Canceled, Terminated",
        f"{prefix}-bulk": "it is a management orchestration (BulkOperation)",
        f"{prefix}-missing": "no such instance",
    }

    started = app.post("/bulk/purge", {"instanceIds": ids})
    assert started.status == 202, started.body
    output = app.wait_for_status(started.json()["id"], timeout=60)["output"]
    assert (output["done"], output["skipped"], output["failed"]) == (plan["count"], plan["skippedTotal"], 0)
