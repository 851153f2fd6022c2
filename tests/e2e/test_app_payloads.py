"""Management payloads through the app: saved to a real Azure Table (Azurite) by an activity, read back."""

from __future__ import annotations

import pytest
from _app import app_host, error_of, start, unique
from azure.data.tables import TableClient

from durable_local.testing import eventually, http_request

URL_KEYS = {"id", "statusQueryGetUri", "sendEventPostUri", "terminatePostUri", "rewindPostUri",
            "purgeHistoryDeleteUri", "restartPostUri", "suspendPostUri", "resumePostUri"}


@pytest.fixture(scope="module")
def app(azurite):
    with app_host(azurite, PAYLOAD_TABLE_NAME="PayloadsUnderTest") as host:
        yield host


def saved_payload(app, instance_id: str, timeout: float = 30) -> dict:
    def saved() -> dict | None:
        reply = app.get(f"/management-payloads/{instance_id}")
        assert reply.status in (200, 404), reply.body
        return reply.json() if reply.status == 200 else None

    return eventually(saved, timeout=timeout, message=f"the payload of {instance_id} saved")


def test_payload_round_trip_through_the_table(app, azurite):
    instance_id = start(app, "ApprovalWorkflow", {"requestId": "payload"}, unique("payload"))
    saved = saved_payload(app, instance_id)
    assert set(saved) == URL_KEYS
    assert saved["id"] == instance_id
    assert instance_id in saved["statusQueryGetUri"]

    live = app.get(f"/instances/{instance_id}/management-urls")
    assert live.status == 200
    assert live.json() == saved

    with TableClient.from_connection_string(azurite.connection_string, table_name="PayloadsUnderTest") as table:
        row = table.get_entity("DurableFunctionsHub", instance_id)
    assert row["sendEventPostUri"] == saved["sendEventPostUri"]

    # An external system uses the saved URLs: it raises the approval, then reads the status.
    send_url = saved["sendEventPostUri"].replace("{eventName}", "ApprovalEvent")
    assert http_request("POST", send_url, {"approved": True, "by": "external"}).status == 202
    status = app.wait_for_status(instance_id)
    assert status["output"]["approval"] == {"approved": True, "by": "external"}
    assert http_request("GET", saved["statusQueryGetUri"]).json()["runtimeStatus"] == "Completed"


def test_no_saved_payload_is_404(app):
    reply = app.get("/management-payloads/never-saved")
    assert reply.status == 404
    assert "never-saved" in error_of(reply)


def test_management_urls_of_unknown_instance_is_404(app):
    reply = app.get("/instances/never-started/management-urls")
    assert reply.status == 404
    assert "never-started" in error_of(reply)
