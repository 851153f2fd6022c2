"""The dashboard against two kinds of backend, over real HTTP: the local host, whose extension endpoints count,
filter by orchestrator name and know a sub-orchestration's parent; and a base URL that serves only the Durable
HTTP API (here the same host behind a proxy that answers 404 under /admin/host/, as Azure would), where the
dashboard pages through the plain API instead and says when its counts are partial."""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
from _dashboard import dashboard, get
from aiohttp import web

from durable_local.testing import LocalHost, free_port

APP = Path(__file__).resolve().parents[1] / "apps" / "core_app"
START = datetime(2026, 2, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalHost]:
    counters = tmp_path_factory.mktemp("counters")
    with LocalHost(APP, env={"CORE_APP_COUNTERS": str(counters), "TICK_SCHEDULE": "0 0 0 * * *"}) as running:
        running.seed([{"instanceId": f"job-{i:03d}", "name": "Hello" if i % 2 else "FanOut",
                       "runtimeStatus": ("Completed", "Failed", "Running")[i % 3],
                       "createdTime": (START + timedelta(hours=i)).isoformat()} for i in range(150)])
        yield running


class PlainApiProxy:
    """A real HTTP proxy in front of the local host that serves the Durable HTTP API and nothing under
    /admin/host/ (404), as a deployed app on Azure does."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.port = free_port()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.runner: web.AppRunner | None = None

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if request.path.lower().startswith("/admin/"):
            return web.Response(status=404)
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")}
        async with aiohttp.ClientSession() as session, session.request(
                request.method, self.target + str(request.rel_url), headers=headers, data=await request.read(),
                allow_redirects=False) as reply:
            body = await reply.read()
            keep = {k: v for k, v in reply.headers.items()
                    if k.lower() not in ("content-length", "transfer-encoding", "content-encoding", "date", "server")}
            return web.Response(status=reply.status, body=body, headers=keep)

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.handle)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()

    def __enter__(self) -> PlainApiProxy:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(10)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.runner is not None:
            asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def session(board) -> dict[str, str]:
    reply = get(board.url)
    return {"Cookie": (reply.header("Set-Cookie") or "").split(";", 1)[0]}


def text_of(html: bytes) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html.decode()))


def test_on_the_local_host_counts_and_name_filter_come_from_its_extensions(host):
    with dashboard(host.base_url) as board:
        headers = session(board)
        summary = text_of(get(f"{board.origin}/instances/summary?name=hello&status=Failed", headers=headers).body)
        assert "25 match" in summary and "Failed 25" in summary and "counted by local host" in summary
        assert "partial" not in summary
        rows = get(f"{board.origin}/instances/rows?name=hello&size=25", headers=headers).body.decode()
        assert "orchestrator name filtered by the local host" in rows
        assert rows.count('<td class="id">') == 25 and "FanOut" not in rows


def test_a_sub_orchestration_links_to_its_parent_and_back(host):
    reply = host.post("/api/orchestrators/Parent/dash-parent", "Mars")
    assert reply.status == 202, reply.body
    host.wait_for_status("dash-parent", {"Completed"})
    children = host.get("/admin/host/instances?name=Child").json()
    child = next(c["instanceId"] for c in children if c["parentInstanceId"] == "dash-parent")
    with dashboard(host.base_url) as board:
        headers = session(board)
        page = get(f"{board.origin}/instance/{child}", headers=headers).body.decode()
        assert 'href="/instance/dash-parent" id="parent-link"' in page
        parent_page = get(f"{board.origin}/instance/dash-parent", headers=headers).body.decode()
        assert "sub-orchestration" in parent_page and "Child" in parent_page


def test_without_extensions_the_dashboard_pages_the_plain_api_and_marks_partial_counts(host):
    with PlainApiProxy(host.base_url) as proxy, dashboard(proxy.base_url, "--count-limit", "100") as board:
        headers = session(board)
        full = text_of(get(f"{board.origin}/instances/summary?prefix=job-", headers=headers).body)
        assert "counted by paging" in full and "partial: first 100 scanned" in full
        small = text_of(get(f"{board.origin}/instances/summary?prefix=job-&status=Failed", headers=headers).body)
        assert "50 match" in small and "Failed 50" in small and "partial" not in small
        rows = get(f"{board.origin}/instances/rows?name=hello&size=25", headers=headers).body.decode()
        assert "filtered by the dashboard" in rows
        ids = re.findall(r'<td class="id"><a href="/instance/([^"]+)"', rows)
        assert len(ids) >= 25 and all(int(i.split("-")[1]) % 2 == 1 for i in ids)
        page = get(f"{board.origin}/instance/job-001", headers=headers)
        assert page.status == 200 and b"Hello" in page.body
        assert "local-host extension /admin/host/counts is not there" in board.log()


def test_a_named_environment_picks_the_app_key_and_task_hub(host, tmp_path):
    config = tmp_path / "environments.toml"
    config.write_text(f'[environments.local]\nbase_url = "{host.base_url}"\ntask_hub = "OtherHub"\n'
                      'key_env = "LOCAL_DURABLE_KEY"\n', encoding="utf-8")
    env = {"DURABLE_CONFIG": str(config), "LOCAL_DURABLE_KEY": "k-123", "DURABLE_BASE_URL": "http://127.0.0.1:9"}
    with dashboard(None, "--env", "local", env=env) as board:
        assert f"Durable dashboard for {host.base_url} (task hub OtherHub)" in board.banner
        page = get(f"{board.origin}/instance/nobody", headers=session(board)).body.decode()
        assert "No instance with ID" in page and "k-123" not in page
    with dashboard(None, "--env", "local", "--task-hub-name", "Flagged", env=env) as board:
        assert "(task hub Flagged)" in board.banner  # a flag wins over the environment
