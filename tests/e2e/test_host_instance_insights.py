"""The local host's instance extensions over HTTP: listing by orchestrator name, parent ids, counts, histograms.

Also the Durable HTTP API's own `instanceIdPrefix` paging, which these share their index paths with.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from durable_local.testing import DURABLE_API, LocalHost

APP = Path(__file__).resolve().parents[1] / "apps" / "core_app"
API = DURABLE_API
START = datetime(2025, 3, 1, tzinfo=UTC)
STATUSES = ("Completed", "Failed", "Terminated", "Running", "Pending", "Suspended")
NAMES = ("Hello", "FanOut", "Boom", "Legacy")


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _seed_items() -> list[dict[str, Any]]:
    rng = random.Random(21)
    items = []
    for n in range(240):
        created = START + timedelta(hours=rng.randrange(40 * 24), seconds=rng.randrange(3600))
        items.append({"instanceId": f"ins-{rng.choice(('red', 'green', 'blue'))}-{n:03d}",
                      "name": rng.choice(NAMES), "runtimeStatus": rng.choice(STATUSES),
                      "createdTime": created.isoformat(), "input": {"n": n}})
    return items


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalHost]:
    counters = tmp_path_factory.mktemp("counters")
    with LocalHost(APP, virtual_clock=True, clock_start=datetime(2025, 6, 1, tzinfo=UTC),
                   env={"CORE_APP_COUNTERS": str(counters), "TICK_SCHEDULE": "0 0 0 * * *"}) as running:
        running.seed(_seed_items())
        yield running


def _matching(**conditions: Any) -> list[dict[str, Any]]:
    found = []
    for item in _seed_items():
        created = datetime.fromisoformat(item["createdTime"]).replace(microsecond=0)
        if (("name" not in conditions or item["name"] == conditions["name"])
                and ("statuses" not in conditions or item["runtimeStatus"] in conditions["statuses"])
                and ("prefix" not in conditions or item["instanceId"].startswith(conditions["prefix"]))
                and ("since" not in conditions or created >= conditions["since"])
                and ("until" not in conditions or created <= conditions["until"])):
            found.append(item)
    return found


def _page_through(host: LocalHost, path: str) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    token = None
    while True:
        reply = host.get(path, headers={"x-ms-continuation-token": token} if token else {})
        assert reply.status == 200, reply.body
        seen += reply.json()
        token = reply.header("x-ms-continuation-token")
        if not token:
            return seen


def _in_created_order(items: list[dict[str, Any]]) -> bool:
    keys = [(item["createdTime"], item["instanceId"]) for item in items]
    return keys == sorted(keys)


def test_listing_by_orchestrator_name_pages_through_every_match_with_the_continuation_header(
        host: LocalHost) -> None:
    listed = _page_through(host, "/admin/host/instances?name=FanOut&top=7")
    expected = {item["instanceId"] for item in _matching(name="FanOut")}
    assert [item["instanceId"] for item in listed if item["instanceId"] in expected] == \
        [item["instanceId"] for item in listed]
    assert {item["instanceId"] for item in listed} == expected and len(listed) == len(expected)
    assert _in_created_order(listed)
    assert all(item["name"] == "FanOut" and item["parentInstanceId"] is None for item in listed)
    assert listed[0]["input"] == next(i["input"] for i in _seed_items() if i["instanceId"] == listed[0]["instanceId"])


def test_the_name_filter_is_case_insensitive_for_the_apps_orchestrators(host: LocalHost) -> None:
    lower = _page_through(host, "/admin/host/instances?name=fanout&showInput=false")
    assert {i["instanceId"] for i in lower} == {i["instanceId"] for i in _matching(name="FanOut")}
    assert all(item["input"] is None for item in lower)


def test_name_status_time_and_prefix_filters_combine(host: LocalHost) -> None:
    since, until = START + timedelta(days=5), START + timedelta(days=25)
    query = urlencode({"name": "Hello", "runtimeStatus": "Failed,Running", "createdTimeFrom": _iso(since),
                       "createdTimeTo": _iso(until), "instanceIdPrefix": "ins-blue", "top": "3"})
    listed = _page_through(host, f"/admin/host/instances?{query}")
    expected = _matching(name="Hello", statuses=("Failed", "Running"), prefix="ins-blue", since=since, until=until)
    assert expected and [i["instanceId"] for i in listed] == [i["instanceId"] for i in sorted(
        expected, key=lambda i: (datetime.fromisoformat(i["createdTime"]), i["instanceId"]))]


def test_the_durable_apis_prefix_listing_pages_in_created_order_without_skips_or_repeats(host: LocalHost) -> None:
    listed = _page_through(host, f"{API}/instances?instanceIdPrefix=ins-green&top=9")
    ids = [item["instanceId"] for item in listed]
    assert len(ids) == len(set(ids)) and set(ids) == {i["instanceId"] for i in _matching(prefix="ins-green")}
    assert _in_created_order(listed)


def test_counts_per_status_and_the_histogram_match_the_instances(host: LocalHost) -> None:
    since, until = START + timedelta(days=3, hours=5), START + timedelta(days=33, hours=2)
    cases = [({}, {}),
             ({"name": "Boom"}, {"name": "Boom"}),
             ({"runtimeStatus": "Completed,Failed", "createdTimeFrom": _iso(since), "createdTimeTo": _iso(until)},
              {"statuses": ("Completed", "Failed"), "since": since, "until": until}),
             ({"instanceIdPrefix": "ins-red", "createdTimeFrom": _iso(since)}, {"prefix": "ins-red", "since": since}),
             ({"createdTimeFrom": _iso(START + timedelta(days=2)), "createdTimeTo": _iso(START + timedelta(days=3))},
              {"since": START + timedelta(days=2), "until": START + timedelta(days=3)})]
    seeded = {item["instanceId"] for item in _seed_items()}
    for parameters, conditions in cases:
        reply = host.get("/admin/host/counts?" + urlencode(parameters))
        assert reply.status == 200, reply.body
        body = reply.json()
        expected = Counter(item["runtimeStatus"] for item in _matching(**conditions))
        extra = _others(host, parameters, seeded)  # instances other tests of this module started
        assert {k: v for k, v in body["counts"].items() if v} == dict(expected + extra), parameters
        assert body["total"] == sum(expected.values()) + sum(extra.values())
        assert sum(bucket["total"] for bucket in body["histogram"]["buckets"]) == body["total"]
        if conditions.get("since") and conditions.get("until"):
            span = conditions["until"] - conditions["since"]
            assert body["histogram"]["bucketSeconds"] == (86400 if span > timedelta(days=4) else 900)


def _others(host: LocalHost, parameters: dict[str, str], seeded: set[str]) -> Counter[str]:
    listed = _page_through(host, "/admin/host/instances?" + urlencode(parameters))
    return Counter(item["runtimeStatus"] for item in listed if item["instanceId"] not in seeded)


def test_a_sub_orchestration_shows_its_parent_instance_id(host: LocalHost) -> None:
    reply = host.post("/api/orchestrators/Parent/insights-parent", "Mars")
    assert reply.status == 202, reply.body
    assert host.wait_for_status("insights-parent")["runtimeStatus"] == "Completed"
    children = _page_through(host, "/admin/host/instances?name=Child")
    child = next(item for item in children if item["parentInstanceId"] == "insights-parent")
    one = host.get(f"/admin/host/instances/{child['instanceId']}").json()
    assert one["parentInstanceId"] == "insights-parent" and one["runtimeStatus"] == "Completed"
    assert host.get("/admin/host/instances/insights-parent").json()["parentInstanceId"] is None


@pytest.mark.parametrize(("path", "message"), [
    ("/admin/host/instances?nme=Hello", "unknown query parameter 'nme'"),
    ("/admin/host/instances?runtimeStatus=Done", "unknown runtime status 'Done'"),
    ("/admin/host/counts?createdTimeFrom=yesterday", "createdTimeFrom is not an ISO-8601 time"),
    ("/admin/host/counts?createdTimeFrom=2025-03-02&createdTimeTo=2025-03-01", "after createdTimeTo"),
    ("/admin/host/instances?top=0", "top must be a whole number"),
    ("/admin/host/instances?top=ten", "top must be a whole number"),
    ("/admin/host/instances?showInput=maybe", "showInput must be true or false"),
    ("/admin/host/counts?top=5", "unknown query parameter 'top'"),
    ("/admin/host/instances?name=", "name must not be empty"),
    ("/admin/host/instances?name=Hello&name=Boom", "more than once"),
])
def test_bad_parameters_are_refused_with_a_clear_json_error(host: LocalHost, path: str, message: str) -> None:
    reply = host.get(path)
    assert reply.status == 400
    assert message in reply.json()["error"]


def test_a_malformed_continuation_token_is_refused(host: LocalHost) -> None:
    reply = host.get("/admin/host/instances", headers={"x-ms-continuation-token": "not-a-token"})
    assert reply.status == 400 and "continuation token" in reply.json()["error"]


def test_unknown_instances_and_other_methods_are_answered_clearly(host: LocalHost) -> None:
    missing = host.get("/admin/host/instances/nobody-here")
    assert missing.status == 404 and "nobody-here" in missing.json()["error"]
    refused = host.request("POST", "/admin/host/counts", raw=json.dumps({}).encode())
    assert refused.status == 405 and "GET" in refused.json()["error"]
