"""`AzureFunctionsJobHost__*` app settings override host.json on the running host: the task hub the SDK's
client binding and management URLs carry, the route prefix; a malformed override stops the start clearly."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from durable_local.testing import DURABLE_API, LocalHost, free_port

APP = Path(__file__).resolve().parents[1] / "apps" / "core_app"  # host.json: hub CoreTestHub, prefix api
OVERRIDES = {"AzureFunctionsJobHost__extensions__durableTask__hubName": "OverriddenHub",
             "AzureFunctionsJobHost__extensions__http__routePrefix": "custom",
             "AzureFunctionsJobHost__extensions__durableTask__storageProvider__type": "azureManaged"}


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalHost]:
    counters = tmp_path_factory.mktemp("counters")
    env = {"CORE_APP_COUNTERS": str(counters), "TICK_SCHEDULE": "0 0 0 * * *", **OVERRIDES}
    with LocalHost(APP, env=env) as running:
        yield running


def test_the_overridden_hub_is_served_and_carried_by_the_client_binding(host: LocalHost) -> None:
    assert host.get("/admin/host/status").json()["taskHub"] == "OverriddenHub"
    started = host.post("/custom/orchestrators/Hello", "Tokyo")
    assert started.status == 202, started.body
    urls = started.json()  # the SDK's create_check_status_response, built from the client binding
    for name in ("statusQueryGetUri", "sendEventPostUri", "terminatePostUri", "purgeHistoryDeleteUri"):
        assert parse_qs(urlsplit(urls[name]).query)["taskHub"] == ["OverriddenHub"], urls[name]
    status = host.client.wait_for_status(urls["id"])
    assert status["runtimeStatus"] == "Completed"
    listed = host.get(f"{DURABLE_API}/instances?taskHub=OverriddenHub").json()
    assert urls["id"] in [item["instanceId"] for item in listed]


def test_the_overridden_route_prefix_replaces_the_host_json_one(host: LocalHost) -> None:
    assert host.get("/custom/echo?say=hi").json() == {"echo": "hi"}
    assert host.get("/api/echo?say=hi").status == 404


def test_start_logs_the_overridden_keys_without_their_values_and_the_unused_provider(host: LocalHost) -> None:
    log = host.log()
    line = next(line for line in log.splitlines() if "host.json values overridden by app settings" in line)
    assert all(name in line for name in OVERRIDES) and "OverriddenHub" not in line and "custom," not in line
    assert "Durable storage provider 'azureManaged'" in log and "SQLite store instead" in log
    assert "host.json has no extensionBundle: on Azure the Durable triggers" in log  # core_app's host.json has none


def test_a_malformed_override_stops_the_start_with_the_setting_named(tmp_path: Path) -> None:
    env = {**os.environ, "CORE_APP_COUNTERS": str(tmp_path), "TICK_SCHEDULE": "0 0 0 * * *",
           "AzureFunctionsJobHost__extensions__http": "custom"}
    result = subprocess.run([sys.executable, "-m", "durable_local", "host", "start", "--port", str(free_port()),
                             "--store", str(tmp_path / "s.sqlite")], cwd=APP, env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 1
    assert ("The app setting AzureFunctionsJobHost__extensions__http gives host.json 'extensions.http' a single "
            "value, but it is an object there") in result.stderr
