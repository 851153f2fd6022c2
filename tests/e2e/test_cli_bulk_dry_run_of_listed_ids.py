"""`durable bulk <operation> --id ... --dry-run` says which of the listed instances the run would skip (missing,
in a status the operation does not allow), so the dry run matches what the run then does."""

from __future__ import annotations

import pytest
from _app import APP_DIR, app_host, unique
from _cli import Cli


@pytest.fixture(scope="module")
def app(azurite):
    with app_host(azurite) as host:
        yield host


def test_dry_run_of_listed_ids_names_the_ones_the_purge_then_skips(app):
    durable = Cli(APP_DIR, app.base_url)
    prefix = unique("dry-ids")
    statuses = ["Completed", "Running", "Failed", "Suspended"]
    app.seed([{"instanceId": f"{prefix}-{n}", "name": "HelloWorld", "runtimeStatus": status}
              for n, status in enumerate(statuses)])
    ids = [f"{prefix}-{n}" for n in range(len(statuses))] + [f"{prefix}-missing"]

    dry = durable.ok("bulk", "purge", "--id", *ids, "--dry-run", "-o", "json").json()
    text = durable.ok("bulk", "purge", "--id", *ids, "--dry-run").out
    run = durable.ok("bulk", "purge", "--id", *ids, "--yes", "-o", "json").json()

    assert dry["count"] == 2 and dry["instanceIds"] == [f"{prefix}-0", f"{prefix}-2"]
    assert {item["instanceId"]: item["reason"] for item in dry["skipped"]} == {
        f"{prefix}-1": "it is Running; purge acts on Completed, Failed, Terminated, Canceled",
        f"{prefix}-3": "it is Suspended; purge acts on Completed, Failed, Terminated, Canceled",
        f"{prefix}-missing": "no such instance",
    }
    assert text.startswith("2 instances would be purged (dry run; nothing was changed):")
    assert f"3 listed instances would be skipped:\n  {prefix}-1: it is Running" in text
    done = sorted(o["instanceId"] for o in run["outcomes"] if o["result"] == "done")
    skipped = sorted(o["instanceId"] for o in run["outcomes"] if o["result"] == "skipped")
    assert done == dry["instanceIds"] and skipped == sorted(item["instanceId"] for item in dry["skipped"])


def test_dry_run_of_listed_ids_that_all_qualify_lists_them_all(app):
    durable = Cli(APP_DIR, app.base_url)
    prefix = unique("dry-all")
    app.seed([{"instanceId": f"{prefix}-{n}", "name": "HelloWorld", "runtimeStatus": "Running"} for n in range(3)])
    ids = [f"{prefix}-{n}" for n in range(3)]
    dry = durable.ok("bulk", "terminate", "--id", *ids, "--dry-run", "-o", "json").json()
    assert (dry["count"], dry["instanceIds"], dry["skipped"]) == (3, ids, [])
