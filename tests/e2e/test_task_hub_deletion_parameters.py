"""Deleting a task hub acts on the hub its path names only: a query parameter other than `code` (say
`?taskHub=Other`, which a user may think selects the hub) is refused with 400 and nothing is deleted."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from durable_local.testing import DURABLE_API, LocalHost, http_request

APP = Path(__file__).resolve().parents[1] / "apps" / "core_app"


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalHost]:
    env = {"CORE_APP_COUNTERS": str(tmp_path_factory.mktemp("counters")), "TICK_SCHEDULE": "0 0 0 * * *"}
    with LocalHost(APP, env=env, virtual_clock=True) as running:
        yield running


def test_a_task_hub_deletion_with_an_unknown_query_parameter_is_refused_and_deletes_nothing(host: LocalHost) -> None:
    host.seed([{"instanceId": "kept-1", "name": "Hello"}])
    hub = host.get("/admin/host/status").json()["taskHub"]
    reply = http_request("DELETE", host.url(f"/admin/host/taskhubs/{hub}?taskHub=OtherHub"))
    assert reply.status == 400
    assert "taskHub" in reply.json()["error"]
    assert host.get(f"{DURABLE_API}/instances/kept-1").status == 200


def test_a_task_hub_deletion_with_only_a_code_parameter_deletes_that_hub(host: LocalHost) -> None:
    host.seed([{"instanceId": "gone-1", "name": "Hello"}])
    hub = host.get("/admin/host/status").json()["taskHub"]
    reply = http_request("DELETE", host.url(f"/admin/host/taskhubs/{hub}?code=ignored-without-keys"))
    assert reply.status == 200, reply.body
    assert reply.json()["deleted"]["instances"] >= 1
    assert host.get(f"{DURABLE_API}/instances/gone-1").status == 404
