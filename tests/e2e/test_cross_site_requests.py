"""Only the machine's own pages act on the local host: cross-site and DNS-rebinding requests get 403.

The project's app runs on the local host (a copy of the app folder, so its local.settings.json can list
`Host.CORS`); the requests are what a browser would send from another site's page.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _app import APP_DIR, app_settings, start, unique

from durable_local.testing import LocalHost
from durable_local.vocabulary import DURABLE_API

CORS_SETTING_ORIGIN = "http://localhost:3000"
CORS_FLAG_ORIGIN = "http://tools.localhost:4000"
FORWARDED_NAME = "devbox.example.test"


class GuardedHost(LocalHost):
    """A LocalHost started with extra `durable host start` flags (and optionally without --testing)."""

    def __init__(self, app_dir: Path, extra: list[str], testing: bool = True, **kwargs: Any) -> None:
        super().__init__(app_dir, **kwargs)
        self.extra, self.testing = extra, testing

    def command(self) -> list[str]:
        cmd = super().command() + self.extra
        return cmd if self.testing else [part for part in cmd if part != "--testing"]


def app_copy(tmp_path_factory: pytest.TempPathFactory, host_settings: dict[str, Any]) -> Path:
    folder = tmp_path_factory.mktemp("guarded-app")
    for name in ("function_app.py", "host.json"):
        shutil.copy(APP_DIR / name, folder / name)
    shutil.copytree(APP_DIR / "blueprints", folder / "blueprints",
                    ignore=shutil.ignore_patterns("__pycache__"))
    (folder / "local.settings.json").write_text(json.dumps({"IsEncrypted": False, "Values": {},
                                                            "Host": host_settings}))
    return folder


@pytest.fixture(scope="module")
def app(azurite: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalHost]:
    folder = app_copy(tmp_path_factory, {"CORS": CORS_SETTING_ORIGIN})
    host = GuardedHost(folder, ["--cors", CORS_FLAG_ORIGIN, "--allowed-host", FORWARDED_NAME],
                       env=app_settings(azurite.connection_string))
    with host:
        yield host


def running_instance(app: LocalHost) -> str:
    instance_id = start(app, "ApprovalWorkflow", {"requestId": unique("req")}, unique("guarded"))
    app.wait_for_status(instance_id, {"Running"})
    return instance_id


def status_of(app: LocalHost, instance_id: str) -> str:
    return str(app.get(f"{DURABLE_API}/instances/{instance_id}").json()["runtimeStatus"])


def test_a_cross_site_text_plain_post_does_not_terminate(app: LocalHost) -> None:
    instance_id = running_instance(app)
    reply = app.post(f"/instances/{instance_id}/terminate", raw=b"x", headers={
        "Content-Type": "text/plain", "Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"})
    assert reply.status == 403
    assert "evil.example" in reply.json()["error"]
    direct = app.post(f"{DURABLE_API}/instances/{instance_id}/terminate",
                      headers={"Origin": "https://evil.example"})
    assert direct.status == 403
    assert status_of(app, instance_id) == "Running"


def test_sec_fetch_site_cross_site_without_origin_is_refused(app: LocalHost) -> None:
    instance_id = running_instance(app)
    reply = app.post(f"/instances/{instance_id}/terminate", headers={"Sec-Fetch-Site": "cross-site"})
    assert reply.status == 403
    assert status_of(app, instance_id) == "Running"


def test_a_page_of_another_local_port_is_another_origin(app: LocalHost) -> None:
    instance_id = running_instance(app)
    reply = app.delete(f"{DURABLE_API}/instances/{instance_id}",
                       headers={"Origin": "http://127.0.0.1:1"})
    assert reply.status == 403
    assert status_of(app, instance_id) == "Running"


def test_same_origin_and_listed_origins_may_act(app: LocalHost) -> None:
    for origin in (app.base_url, CORS_SETTING_ORIGIN, CORS_FLAG_ORIGIN):
        instance_id = running_instance(app)
        reply = app.post(f"/instances/{instance_id}/terminate", headers={"Origin": origin})
        assert reply.status == 202, (origin, reply.body)
        assert app.wait_for_status(instance_id)["runtimeStatus"] == "Terminated"


def test_a_foreign_host_header_is_refused_even_for_reads(app: LocalHost) -> None:
    for method in ("GET", "POST"):
        reply = app.request(method, f"{DURABLE_API}/instances",
                            headers={"Host": f"attacker.example:{app.port}"})
        assert reply.status == 403, method
        assert "attacker.example" in reply.json()["error"]


def test_localhost_and_allowed_host_names_are_served(app: LocalHost) -> None:
    for name in (f"localhost:{app.port}", f"{FORWARDED_NAME}:443", f"127.0.0.1:{app.port}"):
        reply = app.get(f"{DURABLE_API}/instances?top=1", headers={"Host": name})
        assert reply.status == 200, name


def test_task_hub_deletion_needs_testing_mode(azurite: Any, tmp_path_factory: pytest.TempPathFactory) -> None:
    folder = app_copy(tmp_path_factory, {})
    with GuardedHost(folder, [], testing=False, env=app_settings(azurite.connection_string)) as host:
        instance_id = start(host, "HelloWorld", {"name": "x"}, unique("kept"))
        host.wait_for_status(instance_id)
        reply = host.delete("/admin/host/taskhubs/DurableFunctionsHub")
        assert reply.status == 403
        assert "--testing" in reply.json()["error"]
        assert host.get("/admin/host/taskhubs/DurableFunctionsHub").json()["instances"] >= 1
        assert host.get(f"{DURABLE_API}/instances/{instance_id}").status == 200


def test_listed_origins_get_cors_headers_and_preflights_as_under_func_start(app: LocalHost) -> None:
    preflight = app.request("OPTIONS", "/instances", headers={
        "Origin": CORS_FLAG_ORIGIN, "Access-Control-Request-Method": "DELETE",
        "Access-Control-Request-Headers": "content-type"})
    assert preflight.status == 204
    assert preflight.header("Access-Control-Allow-Origin") == CORS_FLAG_ORIGIN
    assert "DELETE" in (preflight.header("Access-Control-Allow-Methods") or "")
    assert preflight.header("Access-Control-Allow-Headers") == "content-type"
    listed = app.get("/instances?top=1", headers={"Origin": CORS_SETTING_ORIGIN})
    assert listed.status == 200 and listed.header("Access-Control-Allow-Origin") == CORS_SETTING_ORIGIN
    foreign = app.get("/instances?top=1", headers={"Origin": "https://evil.example"})
    assert foreign.header("Access-Control-Allow-Origin") is None  # the browser keeps the answer from the page
    refused = app.request("OPTIONS", "/instances", headers={"Origin": "https://evil.example",
                                                            "Access-Control-Request-Method": "DELETE"})
    assert refused.header("Access-Control-Allow-Origin") is None
