"""Archive before purge (`ARCHIVE_CONTAINER`): instances are written to blob storage in the archive format,
read back, and only then purged; a failing archive write leaves every instance of its batch in place."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

from _app import APP_DIR, app_host, start, unique
from azure.storage.blob import BlobServiceClient

from durable_local.testing import DURABLE_API

API = DURABLE_API
HUB = "DurableFunctionsHub"


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def exists(host, instance_id: str) -> bool:
    return host.get(f"{API}/instances/{instance_id}").status != 404


def archived(azurite, container: str, run_id: str) -> dict[str, tuple[str, dict[str, Any]]]:
    """Every archived record whose blob belongs to `run_id`, by instance ID, with its blob name."""
    service = BlobServiceClient.from_connection_string(azurite.connection_string)
    records: dict[str, tuple[str, dict[str, Any]]] = {}
    for blob in service.get_container_client(container).list_blobs(name_starts_with=f"{HUB}/"):
        if f"/{run_id}-" not in blob.name:
            continue
        text = service.get_blob_client(container, blob.name).download_blob().readall().decode()
        for line in text.splitlines():
            item = json.loads(line)
            records[item["status"]["instanceId"]] = (blob.name, item)
    return records


def run_bulk(host, query: str) -> dict[str, Any]:
    reply = host.post(f"/bulk/purge?{query}")
    assert reply.status == 202, reply.body
    return host.wait_for_status(reply.json()["id"], timeout=120)


def test_bulk_purge_archives_each_instance_with_its_history_before_purging(azurite, tmp_path):
    prefix = unique("arch-bulk")
    with app_host(azurite, ARCHIVE_CONTAINER="instance-archive", BULK_PAGE_SIZE="40") as host:
        real = [start(host, "HelloWorld", {"name": f"n{n}"}, f"{prefix}-real-{n}") for n in range(5)]
        for instance_id in real:
            host.wait_for_status(instance_id)
        old = iso(datetime.now(UTC) - timedelta(days=1))
        host.seed([{"instanceId": f"{prefix}-seed-{n:03d}", "name": "HelloWorld", "createdTime": old,
                    "runtimeStatus": "Failed" if n % 2 else "Running", "input": {"n": n}, "output": "boom"}
                   for n in range(100)])
        final = run_bulk(host, f"instanceIdPrefix={prefix}")
        assert final["runtimeStatus"] == "Completed", final["output"]
        assert final["output"]["done"] == 55 and final["output"]["failed"] == 0
        records = archived(azurite, "instance-archive", final["instanceId"])
        purged = set(real) | {f"{prefix}-seed-{n:03d}" for n in range(1, 100, 2)}
        assert set(records) == purged
        assert not any(exists(host, i) for i in purged)
        assert all(exists(host, f"{prefix}-seed-{n:03d}") for n in range(0, 100, 2))

        blob, item = records[real[0]]
        assert blob.startswith(f"{HUB}/") and blob.endswith(".jsonl")
        assert item["format"] == "durable-instance/1" and item["taskHub"] == HUB
        assert item["historyKind"] == "raw" and item["source"] == "local-host"
        assert item["status"]["runtimeStatus"] == "Completed" and item["status"]["output"] == "Hello n0!"
        assert item["status"]["name"] == "HelloWorld"
        assert any(event.get("TaskScheduledId") == 0 for event in item["history"])  # raw DTFx events
        assert len({name for name, _ in records.values()}) >= 2  # one JSON Lines blob per page

        # read back by `durable replay`, from the archived JSON Lines
        archive_file = tmp_path / "archive.jsonl"
        archive_file.write_text("".join(json.dumps(records[i][1]) + "\n" for i in real))
        replay = subprocess.run([sys.executable, "-m", "durable_local", "replay", "--from", str(archive_file),
                                 "--app-dir", str(APP_DIR), "-o", "json"], capture_output=True, text=True)
        assert replay.returncode == 0, replay.stdout + replay.stderr
        results = json.loads(replay.stdout)["results"]
        assert sorted(r["instanceId"] for r in results) == sorted(real)
        assert {r["outcome"] for r in results} == {"ok"}


def test_a_failing_archive_write_leaves_the_instances_in_place(azurite):
    prefix = unique("arch-fail")
    with app_host(azurite, ARCHIVE_CONTAINER="Not_A_Valid_Container!") as host:
        host.seed([{"instanceId": f"{prefix}-{n}", "name": "HelloWorld", "runtimeStatus": "Completed"}
                   for n in range(10)])
        final = run_bulk(host, f"instanceIdPrefix={prefix}")
        output = final["output"]
        assert output["done"] == 0 and output["failed"] == 10 and output["failuresTotal"] == 10
        assert "archive write failed" in output["failures"][0]["reason"]
        assert all(exists(host, f"{prefix}-{n}") for n in range(10))


def test_retention_purge_archives_before_purging(azurite):
    prefix = unique("arch-ret")
    evening = datetime.now(UTC).replace(hour=20, minute=0, second=0, microsecond=0)
    with app_host(azurite, virtual_clock=True, clock_start=evening, ARCHIVE_CONTAINER="retention-archive",
                  PURGE_RUNTIME_STATUSES="Completed") as host:
        seeds = [{"instanceId": f"{prefix}-{n:03d}", "name": "HelloWorld",
                  "runtimeStatus": "Completed" if n % 3 else "Running", "input": {"n": n},
                  "createdTime": iso(evening - timedelta(days=31 + n % 10, minutes=n))} for n in range(120)]
        host.seed(seeds)
        host.advance(hours=5)
        run_id = f"retention-purge-{evening + timedelta(hours=5):%Y-%m-%d}"
        run = host.wait_for_status(run_id)
        assert run["output"]["purged"] == 80 and run["output"]["archiveFailures"] == 0
        records = archived(azurite, "retention-archive", run_id)
        completed = {s["instanceId"] for s in seeds if s["runtimeStatus"] == "Completed"}
        assert set(records) == completed
        assert records[f"{prefix}-001"][1]["status"]["input"] == {"n": 1}
        assert not any(exists(host, i) for i in completed)
        assert all(exists(host, s["instanceId"]) for s in seeds if s["runtimeStatus"] == "Running")
