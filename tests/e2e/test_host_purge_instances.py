"""The local host's list and filter purge, `POST /admin/host/purge-instances`: exactly the instances named and
in the allowed statuses are purged, and the answer says which."""

from __future__ import annotations

from pathlib import Path

import pytest

from durable_local.testing import DURABLE_API, LocalHost

APP = Path(__file__).resolve().parents[1] / "apps" / "core_app"
PATH = "/admin/host/purge-instances"
API = DURABLE_API
STATUSES = ("Completed", "Failed", "Terminated", "Canceled", "Running", "Pending", "Suspended")


@pytest.fixture(scope="module")
def host(tmp_path_factory):
    env = {"CORE_APP_COUNTERS": str(tmp_path_factory.mktemp("counters")), "TICK_SCHEDULE": "0 0 0 * * *"}
    with LocalHost(APP, env=env) as running:
        yield running


def exists(host: LocalHost, instance_id: str) -> bool:
    return host.get(f"{API}/instances/{instance_id}").status != 404


def seed(host: LocalHost, prefix: str, day: str) -> list[str]:
    ids = [f"{prefix}-{n:02d}-{STATUSES[n % 7]}" for n in range(21)]
    host.seed([{"instanceId": i, "name": "Hello", "runtimeStatus": i.rsplit("-", 1)[1],
                "createdTime": f"{day}T12:00:00Z"} for i in ids])
    return ids


def test_a_list_purge_purges_only_terminal_instances_and_says_which(host):
    ids = seed(host, "list", "2020-01-01")
    reply = host.post(PATH, {"instanceIds": [*ids, "list-missing", ids[0]]})
    assert reply.status == 200
    body = reply.json()
    terminal = [i for i in ids if i.rsplit("-", 1)[1] in STATUSES[:4]]
    assert sorted(body["purged"]) == sorted(terminal) and body["instancesDeleted"] == len(terminal)
    assert body["kept"] == {i: i.rsplit("-", 1)[1] for i in ids if i not in terminal}
    assert body["notFound"] == ["list-missing"]
    assert [i for i in ids if exists(host, i)] == [i for i in ids if i not in terminal]


def test_explicit_statuses_are_honoured(host):
    ids = seed(host, "explicit", "2020-01-02")
    body = host.post(PATH, {"instanceIds": ids, "runtimeStatus": ["failed", "Running"]}).json()
    assert sorted(body["purged"]) == sorted(i for i in ids if i.endswith(("-Failed", "-Running")))


def test_a_filter_purge_names_every_instance_it_purged_batch_by_batch(host):
    ids = seed(host, "filter", "2020-01-03")
    others = seed(host, "other", "2020-01-03")
    window = {"createdTimeFrom": "2020-01-03T00:00:00Z", "createdTimeTo": "2020-01-03T23:59:59Z",
              "instanceIdPrefix": "filter-"}
    purged: list[str] = []
    while True:
        body = host.post(PATH, {"filter": window, "runtimeStatus": ["Completed", "Failed"], "limit": 2}).json()
        purged += body["purged"]
        if not body["more"]:
            break
    assert sorted(purged) == sorted(i for i in ids if i.endswith(("-Completed", "-Failed")))
    assert all(exists(host, i) for i in others)


@pytest.mark.parametrize(
    "body",
    [
        {"instanceIds": ["a"], "runtimeStatus": ["Complete"]},
        {"instanceIds": "a"},
        {"ids": ["a"]},
        {"instanceIds": ["a"], "filter": {"createdTimeTo": "2020-01-01T00:00:00Z"}},
        {"filter": {"createdTimeFrom": "2020-01-01T00:00:00Z"}},
        {"filter": {"createdTimeTo": "yesterday"}},
        {"filter": {"createdTimeTo": "2020-01-01T00:00:00Z", "name": "x"}},
        {"filter": {"createdTimeTo": "2020-01-01T00:00:00Z"}, "limit": 0},
    ],
)
def test_a_malformed_request_is_refused_and_purges_nothing(host, body):
    reply = host.post(PATH, body)
    assert reply.status == 400, reply.body
    assert isinstance(reply.json()["error"], str)
