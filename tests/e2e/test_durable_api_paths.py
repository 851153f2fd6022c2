"""How the Durable HTTP API reads its paths: decoding, route templates and methods, as the extension's
`HttpApiHandler.HandleRequestAsync` does (Azure/azure-functions-durable-extension): the path after the base is
decoded once with `WebUtility.UrlDecode`, trimmed of `/`, and matched by ASP.NET `TemplateMatcher`s that compare
literals case-insensitively and match no empty segment; a method a route does not take is a 404.

Through the real HTTP surface of tests/apps/core_app on the local host, and through the real SDK client.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from durable_local.testing import DURABLE_API, LocalHost, eventually, http_request

APP = Path(__file__).resolve().parents[1] / "apps" / "core_app"

# Instance ids a URL must escape: a literal "%2F", a literal "%25", a lone "%", a space, a plus, non-ASCII.
AWKWARD_IDS = ["a%2Fb", "p%25q", "50%off", "sp ace", "s+t", "caf\u00e9"]


@pytest.fixture(scope="module")
def host() -> Iterator[LocalHost]:
    with LocalHost(APP, env={"TICK_SCHEDULE": "0 0 0 * * *"}) as running:
        yield running


def status_of(host: LocalHost, instance_id: str) -> str:
    return str(host.client.status(instance_id).json()["runtimeStatus"])


@pytest.mark.parametrize("instance_id", AWKWARD_IDS)
def test_an_escaped_instance_id_round_trips_through_the_management_urls(host: LocalHost, instance_id: str) -> None:
    started = host.client.start("Approval", instance_id=instance_id)
    assert started.status == 202, started.body
    urls = started.json()
    assert urls["id"] == instance_id

    status = http_request("GET", urls["statusQueryGetUri"])
    assert status.status == 202 and status.json()["instanceId"] == instance_id
    raised = http_request("POST", urls["sendEventPostUri"].replace("{eventName}", "Approval"), "yes")
    assert raised.status == 202
    eventually(lambda: status_of(host, instance_id) == "Completed")
    assert host.client.status(instance_id).json()["output"] == {"approved": "yes"}

    purged = http_request("DELETE", urls["purgeHistoryDeleteUri"])
    assert (purged.status, purged.json()) == (200, {"instancesDeleted": 1})
    assert host.client.status(instance_id).status == 404


@pytest.mark.parametrize("instance_id", AWKWARD_IDS)
def test_an_escaped_instance_id_is_terminated_by_its_terminate_url(host: LocalHost, instance_id: str) -> None:
    terminated_id = instance_id + "-terminated"
    urls = host.client.start("Approval", instance_id=terminated_id).json()
    reply = http_request("POST", urls["terminatePostUri"].replace("{text}", "stop"))
    assert reply.status == 202
    eventually(lambda: status_of(host, terminated_id) == "Terminated")
    assert host.client.purge(terminated_id).json() == {"instancesDeleted": 1}


def test_the_path_is_decoded_once_so_an_escaped_percent_stays_a_percent(host: LocalHost) -> None:
    host.client.start("Approval", instance_id="once%41")
    assert host.request("GET", f"{DURABLE_API}/instances/once%2541").json()["instanceId"] == "once%41"
    assert host.request("GET", f"{DURABLE_API}/instances/onceA").status == 404  # not decoded a second time
    host.client.terminate("once%41")


def test_a_plus_in_the_path_is_a_space_as_the_extension_decodes_it(host: LocalHost) -> None:
    host.client.start("Approval", instance_id="two words")
    assert host.request("GET", f"{DURABLE_API}/instances/two+words").json()["instanceId"] == "two words"
    assert host.request("GET", f"{DURABLE_API}/instances/two%2Bwords").status == 404
    host.client.terminate("two words")


def test_an_escaped_slash_separates_segments_after_decoding(host: LocalHost) -> None:
    """`instances/x%2Fterminate` is `instances/x/terminate` to the extension's matcher: a GET of it is a 404."""
    host.client.start("Approval", instance_id="x")
    assert host.request("GET", f"{DURABLE_API}/instances/x%2Fterminate").status == 404
    assert host.request("POST", f"{DURABLE_API}/instances/x%2Fterminate").status == 202
    eventually(lambda: status_of(host, "x") == "Terminated")


def test_sdk_client_round_trips_ids_with_a_percent_sign(host: LocalHost) -> None:
    """The SDK puts instance ids into its URLs as they are: a `%` not followed by two hex digits reaches the
    host escaped by its HTTP client, so start, status, raise event, terminate and purge all address one id."""
    for instance_id, ending in (("100%", "event"), ("9%-off", "terminate")):
        segment = quote(instance_id, safe="")
        started = host.post(f"/api/orchestrators/Approval/{segment}")
        assert started.status == 202, started.body
        assert started.json()["id"] == instance_id
        status = host.post(f"/api/client/{segment}/status").json()
        assert (status["truthy"], status["instanceId"]) == (True, instance_id)
        if ending == "event":
            assert host.post(f"/api/client/{segment}/raise", {"name": "Approval", "data": 1}).status == 200
            eventually(lambda: status_of(host, instance_id) == "Completed")  # noqa: B023
        else:
            assert host.post(f"/api/client/{segment}/terminate", {"reason": "stop"}).status == 200
            eventually(lambda: status_of(host, instance_id) == "Terminated")  # noqa: B023
        assert host.post(f"/api/client/{segment}/purge").json() == {"deleted": 1}
        assert host.client.status(instance_id).status == 404


def test_sdk_client_reaches_an_id_with_an_escape_when_the_app_escapes_it(host: LocalHost) -> None:
    """The SDK does not escape ids, so an id holding `%25` must reach it escaped (as blueprints/_instances.py
    does); the host then decodes it exactly once. The request path carries `p%252525q`; the app's route value is
    `p%2525q` (routes decode the path once), which the SDK sends on and the API decodes to the real id `p%25q`."""
    instance_id = "p%25q"
    host.client.start("Approval", instance_id=instance_id)
    route_value = quote(quote(instance_id, safe=""), safe="")
    status = host.post(f"/api/client/{route_value}/status").json()
    assert (status["truthy"], status["instanceId"]) == (True, instance_id)
    assert host.post(f"/api/client/{route_value}/terminate", {"reason": "stop"}).status == 200
    eventually(lambda: status_of(host, instance_id) == "Terminated")


@pytest.mark.parametrize("path", ["entities//key", "entities//key/", "instances//terminate", "orchestrators//x",
                                  "instances/x//raiseEvent/Go"])
def test_an_empty_segment_matches_no_route(host: LocalHost, path: str) -> None:
    for method in ("GET", "POST", "DELETE"):
        reply = host.request(method, f"{DURABLE_API}/{path}")
        assert reply.status == 404, (method, path, reply.body)


def test_trailing_slashes_and_mixed_case_reach_the_same_routes(host: LocalHost) -> None:
    started = host.request("POST", f"{DURABLE_API}/Orchestrators/Approval/mixed-case/")
    assert started.status == 202 and started.json()["id"] == "mixed-case"
    assert host.request("GET", f"{DURABLE_API}/INSTANCES/mixed-case/").json()["instanceId"] == "mixed-case"
    assert host.request("GET", f"{DURABLE_API}/Instances/").status == 200
    assert host.request("POST", f"{DURABLE_API}/instances/mixed-case/RAISEEVENT/Approval/", "ok").status == 202
    eventually(lambda: status_of(host, "mixed-case") == "Completed")
    assert host.request("DELETE", f"{DURABLE_API}/Instances/mixed-case/").json() == {"instancesDeleted": 1}


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "orchestrators/Approval"), ("PUT", "orchestrators/Approval/x"), ("DELETE", "orchestrators/Approval"),
    ("PUT", "instances"), ("POST", "instances"), ("PATCH", "instances/x"), ("POST", "instances/x"),
    ("GET", "instances/x/terminate"), ("DELETE", "instances/x/terminate"), ("POST", "instances/x/nosuchop"),
    ("GET", "instances/x/raiseEvent/Go"), ("PUT", "entities/Tally/k"), ("PATCH", "entities"),
    ("GET", "instances/x/y/z/w"), ("GET", "makeprimary/now"), ("GET", "nosuchroute"),
])
def test_a_method_a_route_does_not_take_is_a_404_not_a_405(host: LocalHost, method: str, path: str) -> None:
    reply = host.request(method, f"{DURABLE_API}/{path}")
    assert reply.status == 404, reply.body


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "DELETE"])
def test_makeprimary_takes_any_method_and_fails_without_an_app_lease(host: LocalHost, method: str) -> None:
    """EXT `HandleMakePrimaryRequestAsync` is reached with any method; without `UseAppLease` it throws
    `InvalidOperationException` (500)."""
    reply = host.request(method, f"{DURABLE_API}/MakePrimary/")
    assert reply.status == 500
    assert reply.json()["ExceptionType"] == "System.InvalidOperationException"


def test_signalling_an_entity_without_a_name_is_a_400(host: LocalHost) -> None:
    reply = host.request("POST", f"{DURABLE_API}/entities?op=add")
    assert reply.status == 400
    assert "entity name must not be a null or empty string" in reply.json()["Message"]


def test_signalling_an_entity_without_a_key_signals_the_empty_key(host: LocalHost) -> None:
    assert host.request("POST", f"{DURABLE_API}/entities/Tally/?op=get").status == 202
    eventually(lambda: host.request("GET", f"{DURABLE_API}/entities/Tally/$").status == 200)
    assert host.request("GET", f"{DURABLE_API}/entities/Tally/$").json() == 0
