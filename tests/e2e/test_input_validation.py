"""Input validation: malformed and edge inputs to the function app's endpoints and to the `durable` CLI.

The project's rule: bad input gets a clear error (a JSON 4xx naming the problem from the app; a one-line
error and a non-zero exit from the CLI), never a crash and never lost data (a `%` in an instance ID must
never address another instance).
"""

from __future__ import annotations

import os
import subprocess
import uuid
from urllib.parse import quote

import pytest
from _app import app_host, error_of, start, unique
from _cli import Cli, cli_host, copy_app, durable_command


@pytest.fixture(scope="module")
def app(azurite):
    with app_host(azurite) as host:
        yield host


@pytest.fixture(scope="module")
def cli_app_host(tmp_path_factory):
    with cli_host(copy_app(tmp_path_factory.mktemp("cli"))) as running:
        yield running


@pytest.fixture
def durable(cli_app_host):
    return Cli(cli_app_host.app_dir, cli_app_host.base_url)


def assert_json_error(reply, status: int, *words: str) -> None:
    assert reply.status == status, (reply.status, reply.body)
    message = error_of(reply)
    for word in words:
        assert word.lower() in message.lower(), message


# -- the app: instance IDs that contain '%' ------------------------------------------------------------------
def test_purging_an_id_with_percent_escape_does_not_purge_another_instance(app):
    token = uuid.uuid4().hex[:10]
    victim, alias = f"v{token}Z", f"v{token}%5A"
    start(app, "HelloWorld", {"name": "victim"}, victim)
    app.wait_for_status(victim)
    reply = app.delete(f"/instances/{quote(alias, safe='')}")
    assert app.get(f"/instances/{victim}").status == 200, "the other instance was purged"
    assert_json_error(reply, 404, alias)


def test_start_with_percent_in_id_keeps_the_id_or_is_a_400(app):
    requested = f"s{uuid.uuid4().hex[:10]}%41"
    reply = app.post(f"/orchestrators/HelloWorld/{quote(requested, safe='')}", {"name": "x"})
    if reply.status == 400:
        error_of(reply)
        return
    assert reply.status == 202, reply.body
    assert reply.json()["id"] == requested


def test_management_urls_escape_the_instance_id(app):
    instance_id = f"m {uuid.uuid4().hex[:10]}"
    start(app, "HelloWorld", {"name": "x"}, quote(instance_id, safe=""))
    reply = app.get(f"/instances/{quote(instance_id, safe='')}/management-urls")
    assert reply.status == 200, reply.body
    status_url = reply.json()["statusQueryGetUri"]
    assert " " not in status_url
    assert f"/instances/{quote(instance_id, safe='')}?" in status_url


# -- the app: query parameters that crash ---------------------------------------------------------------------
def test_top_with_a_unicode_digit_is_a_400(app):
    assert_json_error(app.get("/instances?top=%C2%B2"), 400, "top")


@pytest.mark.parametrize("where", ["query", "header"])
def test_garbage_continuation_token_is_a_400(app, where):
    if where == "query":
        reply = app.get("/instances?continuationToken=garbage")
    else:
        reply = app.get("/instances", headers={"x-ms-continuation-token": "garbage"})
    assert_json_error(reply, 400, "continuation")


@pytest.mark.parametrize("value", ["0001-01-01T00:00:00%2B01:00", "9999-12-31T23:59:59-01:00"])
def test_date_out_of_range_after_utc_conversion_is_a_400(app, value):
    assert_json_error(app.get(f"/instances?createdTimeFrom={value}"), 400, "createdTimeFrom")


def test_purge_from_an_early_year_is_not_a_500(app):
    reply = app.delete("/instances?createdTimeFrom=0999-01-01")
    assert reply.status in (200, 400), reply.body
    if reply.status == 400:
        error_of(reply)


# -- the app: JSON bodies with NaN / Infinity -----------------------------------------------------------------
@pytest.mark.parametrize("raw", [b"NaN", b"1e400", b'{"name": Infinity}'])
def test_start_body_with_non_finite_number_is_a_400(app, raw):
    reply = app.post("/orchestrators/HelloWorld", raw=raw, headers={"Content-Type": "application/json"})
    assert_json_error(reply, 400, "JSON")


def test_raise_event_body_nan_is_a_400(app):
    instance_id = start(app, "ApprovalWorkflow", {"requestId": unique("req")}, unique("nan"))
    app.wait_for_status(instance_id, {"Running"})
    reply = app.post(f"/instances/{instance_id}/raiseEvent/ApprovalEvent", raw=b"NaN",
                     headers={"Content-Type": "application/json"})
    assert_json_error(reply, 400, "JSON")


# -- the CLI --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("base_url", ["notaurl", "http://[::1", "http://exa mple.com"])
def test_malformed_base_url_is_a_one_line_error(durable, base_url):
    result = durable("get-instances", "--base-url", base_url)
    assert result.code in (1, 2)
    assert "--base-url" in result.err or base_url in result.err
    assert len(result.err.strip().splitlines()) == 1, result.err


@pytest.mark.parametrize("argv", [
    ("get-instances", "--created-after", "0001-01-01T00:00:00+01:00"),
    ("purge-history", "--created-before", "9999-12-31T23:59:59-01:00", "--dry-run"),
])
def test_date_out_of_range_after_utc_conversion_is_exit_2(durable, argv):
    result = durable(*argv)
    assert result.code == 2, result
    assert "date" in result.err.lower()


def test_wait_timeout_nan_is_exit_2(cli_app_host):
    env = {**os.environ, "DURABLE_BASE_URL": cli_app_host.base_url}
    durable = Cli(cli_app_host.app_dir, cli_app_host.base_url)
    instance_id = unique("nan-wait")
    durable.ok("start-new", "--function-name", "WaitForEvent", "--id", instance_id)
    try:
        child = subprocess.run([*durable_command(), "wait", "--id", instance_id, "--timeout", "nan"],
                               cwd=cli_app_host.app_dir, env=env, capture_output=True, text=True, timeout=15)
    except subprocess.TimeoutExpired:
        pytest.fail("durable wait --timeout nan was still waiting after 15 s")
    finally:
        durable("terminate", "--id", instance_id, "--no-wait")
    assert child.returncode == 2, (child.returncode, child.stderr)
    assert "--timeout" in child.stderr


def test_raise_event_with_empty_event_name_is_exit_2(durable, cli_app_host):
    instance_id = unique("empty-ev")
    durable.ok("start-new", "--function-name", "WaitForEvent", "--id", instance_id)
    cli_app_host.wait_for_status(instance_id, {"Running"})
    result = durable("raise-event", "--id", instance_id, "--event-name", "", "--event-data", "1")
    durable("terminate", "--id", instance_id, "--no-wait")
    assert result.code == 2, result
    assert "--event-name" in result.err
    assert "no instance" not in result.err

