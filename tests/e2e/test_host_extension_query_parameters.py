"""The local host's extension endpoints read their query strings exactly: the list and filter purge refuses any
query parameter but the task hub's (a filter put in the query must not be ignored and widen the purge), and the
counting and listing endpoints accept the `connection` parameter every client sends."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from durable_local.testing import DURABLE_API, LocalHost

APP = Path(__file__).resolve().parents[1] / "apps" / "core_app"
PURGE = "/admin/host/purge-instances"


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalHost]:
    env = {"CORE_APP_COUNTERS": str(tmp_path_factory.mktemp("counters")), "TICK_SCHEDULE": "0 0 0 * * *"}
    with LocalHost(APP, env=env) as running:
        yield running


def seed_completed(host: LocalHost, ids: list[str]) -> None:
    host.seed([{"instanceId": i, "name": "Hello", "runtimeStatus": "Completed",
                "createdTime": "2021-05-01T12:00:00Z"} for i in ids])


def existing(host: LocalHost, ids: list[str]) -> list[str]:
    return [i for i in ids if host.get(f"{DURABLE_API}/instances/{i}").status != 404]


WINDOW = {"createdTimeFrom": "2021-05-01T00:00:00Z", "createdTimeTo": "2021-05-01T23:59:59Z"}


@pytest.mark.parametrize(("case", "query", "named"), [
    (0, "instanceIdPrefix=keep-", "'instanceIdPrefix'"), (1, "runtimeStatus=Failed", "'runtimeStatus'"),
    (2, "InstanceIdPrefix=keep-", "'InstanceIdPrefix'"), (3, "dryRun=true", "'dryRun'"),
    (4, "taskHub=TestHubName&TASKHUB=TestHubName", "more than once")])
def test_a_purge_refuses_a_query_parameter_it_would_ignore(host: LocalHost, case: int, query: str,
                                                           named: str) -> None:
    ids = [f"qp-{case}-{n}" for n in range(3)]
    seed_completed(host, ids)
    reply = host.post(f"{PURGE}?{query}", {"filter": WINDOW, "limit": 100})
    assert reply.status == 400, reply.body
    assert named in reply.json()["error"]
    listed = host.post(f"{PURGE}?{query}", {"instanceIds": ids})
    assert listed.status == 400, listed.body
    assert existing(host, ids) == ids


def test_the_task_hub_connection_and_key_parameters_are_accepted(host: LocalHost) -> None:
    ids = [f"qp-hub-{n}" for n in range(2)]
    seed_completed(host, ids)
    hub = host.get("/admin/host/status").json()["taskHub"]
    reply = host.post(f"{PURGE}?taskHub={hub}&connection=AzureWebJobsStorage&code=any", {"instanceIds": ids})
    assert reply.status == 200, reply.body
    assert sorted(reply.json()["purged"]) == ids
    assert existing(host, ids) == []


def test_counts_and_listing_accept_the_connection_parameter(host: LocalHost) -> None:
    seed_completed(host, ["qp-count-1"])
    counts = host.get("/admin/host/counts?instanceIdPrefix=qp-count-&connection=AzureWebJobsStorage")
    assert counts.status == 200, counts.body
    assert counts.json()["counts"].get("Completed") == 1
    listed = host.get("/admin/host/instances?instanceIdPrefix=qp-count-&connection=AzureWebJobsStorage")
    assert listed.status == 200, listed.body
    assert [item["instanceId"] for item in listed.json()] == ["qp-count-1"]
    one = host.get("/admin/host/instances/qp-count-1?connection=AzureWebJobsStorage")
    assert one.status == 200, one.body
    assert host.get("/admin/host/counts?connection=x&bogus=1").status == 400
