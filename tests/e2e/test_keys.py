"""Key enforcement on the local host: off by default (as `func start`), and with `--enforce-keys` the levels,
keys and 401s of the Functions host, the system key on the Durable HTTP API, the SDK inside the app working
unchanged, and the CLI sending the key it is given."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from _app import APP_DIR, app_settings
from _cli import Cli
from _dashboard import dashboard
from _dashboard import get as dashboard_get

from durable_local.testing import DURABLE_API, LocalHost, eventually, free_port, http_request

APP = Path(__file__).resolve().parents[1] / "apps" / "auth_levels_app"


@pytest.fixture(scope="module")
def keyed() -> Iterator[LocalHost]:
    """Keys enforced, and no --testing (task hub deletion then rests on the master key alone)."""
    with LocalHost(APP, enforce_keys=True, testing=False) as host:
        yield host


@pytest.fixture(scope="module")
def unkeyed() -> Iterator[LocalHost]:
    with LocalHost(APP) as host:
        yield host


def keys_of(host: LocalHost) -> Any:
    keys = host.keys
    assert keys is not None
    return keys


def get(host: LocalHost, path: str, **headers: str) -> Any:
    return http_request("GET", host.url(path), headers=headers)


# -- enforcement off ---------------------------------------------------------------------------------------
def test_without_enforcement_every_level_and_the_durable_api_answer_without_a_key(unkeyed: LocalHost) -> None:
    assert get(unkeyed, "/api/guarded").body == b"guarded"
    assert get(unkeyed, "/api/admin-only").body == b"admin"
    assert get(unkeyed, f"{DURABLE_API}/instances").status == 200
    assert get(unkeyed, "/admin/host/status").status == 200
    assert unkeyed.keys is None


def test_without_enforcement_the_check_status_urls_carry_no_code(unkeyed: LocalHost) -> None:
    reply = http_request("POST", unkeyed.url("/api/start/Greeter"), "Ada")
    assert reply.status == 202, reply.body
    assert "code" not in parse_qs(urlsplit(reply.json()["statusQueryGetUri"]).query)


# -- function and admin levels -----------------------------------------------------------------------------
def test_a_function_route_without_a_key_is_401_with_no_body(keyed: LocalHost) -> None:
    reply = get(keyed, "/api/guarded")
    assert (reply.status, reply.body) == (401, b"")
    assert get(keyed, "/api/guarded?code=not-a-key").status == 401


def test_an_anonymous_route_stays_open(keyed: LocalHost) -> None:
    assert get(keyed, "/api/open").body == b"open"


def test_a_function_route_accepts_its_key_in_code_or_the_header(keyed: LocalHost) -> None:
    key = keys_of(keyed).function_keys_of("guarded")["default"]
    assert get(keyed, f"/api/guarded?code={key}").body == b"guarded"
    assert get(keyed, "/api/guarded", **{"x-functions-key": key}).body == b"guarded"


def test_a_function_route_accepts_host_keys_and_the_master_key(keyed: LocalHost) -> None:
    keys = keys_of(keyed)
    assert get(keyed, f"/api/guarded?code={keys.function_keys['default']}").status == 200
    assert get(keyed, f"/api/guarded?code={keys.master}").status == 200


def test_another_functions_key_and_the_system_key_do_not_open_a_function_route(keyed: LocalHost) -> None:
    keys = keys_of(keyed)
    assert get(keyed, f"/api/guarded?code={keys.function_keys_of('other')['default']}").status == 401
    assert get(keyed, f"/api/guarded?code={keys.durable_system_key}").status == 401


def test_the_header_wins_over_the_code_parameter(keyed: LocalHost) -> None:
    key = keys_of(keyed).function_keys_of("guarded")["default"]
    assert get(keyed, f"/api/guarded?code={key}", **{"x-functions-key": "wrong"}).status == 401


def test_an_admin_route_needs_the_master_key(keyed: LocalHost) -> None:
    keys = keys_of(keyed)
    assert get(keyed, "/api/admin-only").status == 401
    assert get(keyed, f"/api/admin-only?code={keys.function_keys['default']}").status == 401
    assert get(keyed, f"/api/admin-only?code={keys.function_keys_of('admin_only')['default']}").status == 401
    assert get(keyed, f"/api/admin-only?code={keys.master}").body == b"admin"


def test_admin_endpoints_need_the_master_key(keyed: LocalHost) -> None:
    keys = keys_of(keyed)
    run_now = keyed.url("/admin/functions/Greet")
    assert http_request("POST", run_now, {"input": '"x"'}).status == 401
    assert http_request("POST", run_now, {"input": '"x"'}, headers={"x-functions-key": keys.durable_system_key}
                        ).status == 401
    assert http_request("POST", run_now, {"input": '"x"'}, headers={"x-functions-key": keys.master}).status == 202
    hub = keyed.url("/admin/host/taskhubs/NoSuchHub")
    assert http_request("DELETE", hub, headers={"x-functions-key": keys.durable_system_key}).status == 401


def test_the_local_hosts_durable_data_endpoints_take_the_system_key_too(keyed: LocalHost) -> None:
    keys = keys_of(keyed)
    for path in ("/admin/host/status", "/admin/host/instances?name=Greeter", "/admin/host/counts",
                 "/admin/host/taskhubs/AuthLevelsHub"):
        assert get(keyed, path).status == 401, path
        assert get(keyed, path, **{"x-functions-key": keys.function_keys["default"]}).status == 401, path
        assert get(keyed, path, **{"x-functions-key": keys.durable_system_key}).status == 200, path
        assert get(keyed, path, **{"x-functions-key": keys.master}).status == 200, path
    purge = keyed.url("/admin/host/purge-instances")
    assert http_request("POST", purge, {"instanceIds": []}).status == 401
    assert http_request("POST", purge, {"instanceIds": []},
                        headers={"x-functions-key": keys.durable_system_key}).status == 200


# -- the Durable HTTP API ----------------------------------------------------------------------------------
def test_the_durable_api_needs_the_system_key_or_the_master_key(keyed: LocalHost) -> None:
    keys = keys_of(keyed)
    assert get(keyed, f"{DURABLE_API}/instances").status == 401
    assert get(keyed, f"{DURABLE_API}/instances?code={keys.function_keys['default']}").status == 401
    assert get(keyed, f"{DURABLE_API}/instances?code={keys.durable_system_key}").status == 200
    assert get(keyed, f"{DURABLE_API}/instances", **{"x-functions-key": keys.durable_system_key}).status == 200
    assert get(keyed, f"{DURABLE_API}/instances?code={keys.master}").status == 200


def test_the_sdk_client_in_the_app_works_and_its_urls_carry_the_system_key(keyed: LocalHost) -> None:
    keys = keys_of(keyed)
    start_key = keys.function_keys_of("start")["default"]
    reply = http_request("POST", keyed.url(f"/api/start/Greeter?code={start_key}"), "Ada")
    assert reply.status == 202, reply.body
    payload = reply.json()
    for name in ("statusQueryGetUri", "sendEventPostUri", "terminatePostUri", "purgeHistoryDeleteUri"):
        assert parse_qs(urlsplit(payload[name]).query)["code"] == [keys.durable_system_key], payload[name]
    status_uri = payload["statusQueryGetUri"].replace("http://localhost:", "http://127.0.0.1:")
    final = eventually(lambda: (r := http_request("GET", status_uri)).status == 200
                       and r.json()["runtimeStatus"] == "Completed" and r.json())
    assert final["output"] == "Hello Ada!"
    status_key = keys.function_keys_of("status")["default"]
    through_sdk = get(keyed, f"/api/status/{payload['id']}?code={status_key}").json()
    assert through_sdk == {"runtimeStatus": "Completed", "output": "Hello Ada!"}


def test_the_harness_client_sends_the_system_key(keyed: LocalHost) -> None:
    instance_id = keyed.client.start_new("Greeter")
    assert keyed.wait_for_status(instance_id)["output"] == "Hello World!"


# -- the CLI and the keys file -----------------------------------------------------------------------------
def test_the_cli_sends_the_key_given_with_code(keyed: LocalHost) -> None:
    keys = keys_of(keyed)
    instance_id = keyed.client.start_new("Greeter")
    keyed.wait_for_status(instance_id)
    cli = Cli(APP, keyed.base_url)
    refused = cli("get-runtime-status", "--id", instance_id)
    assert refused.code != 0 and "401" in refused.err and "--code" in refused.err
    shown = cli.ok("get-runtime-status", "--id", instance_id, f"--code={keys.durable_system_key}", "-o", "json").json()
    assert shown["runtimeStatus"] == "Completed"


def test_durable_host_keys_prints_the_keys_file(keyed: LocalHost) -> None:
    keys = keys_of(keyed)
    cli = Cli(APP, keyed.base_url)
    text = cli.ok("host", "keys", "--keys-file", str(keyed.keys_file)).out
    assert keys.master in text and keys.durable_system_key in text
    assert f"code={keys.durable_system_key}" in text
    as_json = cli.ok("host", "keys", "--keys-file", str(keyed.keys_file), "-o", "json").json()
    assert as_json == json.loads(keyed.keys_file.read_text())
    assert keyed.keys_file.stat().st_mode & 0o077 == 0


def test_keys_are_not_logged_in_full(keyed: LocalHost) -> None:
    get(keyed, f"/api/guarded?code={keys_of(keyed).master}x")  # a refused key is logged masked
    log = keyed.log()
    keys = keys_of(keyed)
    for value in [keys.master, keys.durable_system_key, *keys.function_keys.values()]:
        assert value not in log


def test_the_dashboard_sends_the_key_it_is_given(keyed: LocalHost) -> None:
    keys = keys_of(keyed)
    instance_id = keyed.client.start_new("Greeter")
    keyed.wait_for_status(instance_id)
    with dashboard(keyed.base_url, f"--code={keys.durable_system_key}", cwd=str(APP)) as board:
        cookie = {"Cookie": (dashboard_get(board.url).header("Set-Cookie") or "").split(";", 1)[0]}
        summary = dashboard_get(f"{board.origin}/instances/summary?name=Greeter", headers=cookie)
        assert summary.status == 200 and b"counted by local host" in summary.body, summary.body
        page = dashboard_get(f"{board.origin}/instance/{instance_id}", headers=cookie)
        assert page.status == 200 and b"Hello World!" in page.body
        assert keys.durable_system_key.encode() not in page.body


def test_task_hub_deletion_takes_the_master_key_instead_of_testing(keyed: LocalHost) -> None:
    keys = keys_of(keyed)
    instance_id = keyed.client.start_new("Greeter")
    keyed.wait_for_status(instance_id)
    cli = Cli(APP, keyed.base_url)
    refused = cli("delete-task-hub", "--yes", f"--code={keys.durable_system_key}")
    assert refused.code != 0 and "master key" in refused.err
    assert keyed.client.status(instance_id).status == 200
    cli.ok("delete-task-hub", "--yes", f"--code={keys.master}")
    assert keyed.client.status(instance_id).status == 404


def test_a_malformed_keys_file_stops_the_start_with_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "keys.json"
    bad.write_text(json.dumps({"masterKey": 5}))
    done = subprocess.run([sys.executable, "-m", "durable_local", "host", "start", "--port", str(free_port()),
                           "--store", str(tmp_path / "store.sqlite"), "--enforce-keys", "--keys-file", str(bad)],
                          cwd=APP, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert "masterKey" in done.stderr and str(bad) in done.stderr
    assert json.loads(bad.read_text()) == {"masterKey": 5}  # left as it was


# -- the app at the repo root: strict routes and its SDK client with keys on --------------------------------
@pytest.fixture(scope="module")
def keyed_app(azurite: Any) -> Iterator[LocalHost]:
    with LocalHost(APP_DIR, enforce_keys=True, env=app_settings(azurite.connection_string)) as host:
        yield host


def test_the_apps_strict_routes_accept_code_with_keys_on(keyed_app: LocalHost) -> None:
    keys = keys_of(keyed_app)
    host_key = keys.function_keys["default"]
    started = http_request("POST", keyed_app.url(f"/orchestrators/HelloWorld?code={host_key}"), "Tokyo")
    assert started.status == 202, started.body
    instance_id = started.json()["id"]
    assert parse_qs(urlsplit(started.json()["statusQueryGetUri"]).query)["code"] == [keys.durable_system_key]
    assert get(keyed_app, f"/instances/{instance_id}").status == 401

    def completed() -> Any:
        reply = get(keyed_app, f"/instances/{instance_id}?code={host_key}")
        assert reply.status == 200, reply.body
        return reply.json()["runtimeStatus"] == "Completed" and reply.json()

    assert eventually(completed)["instanceId"] == instance_id
    listed = get(keyed_app, f"/instances?code={host_key}&instanceIdPrefix={instance_id}")
    assert [i["instanceId"] for i in listed.json()["instances"]] == [instance_id], listed.body
    unknown = get(keyed_app, f"/instances?code={host_key}&bogus=1")
    assert unknown.status == 400 and "bogus" in unknown.json()["error"]
