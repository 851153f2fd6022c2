"""Second review, pure logic: configuration and route matching differences from the real host."""

from __future__ import annotations

from pathlib import Path

from durable_local.host.config import AppConfig
from durable_local.host.routing import RouteTemplate


def test_host_json_with_comments_loads(tmp_path: Path) -> None:
    (tmp_path / "host.json").write_text(
        '{\n  // routes\n  "version": "2.0",\n  "extensions": {"http": {"routePrefix": "v"}} /* end */\n}\n')
    assert AppConfig.load(tmp_path).route_prefix == "v"


def test_encoded_slash_stays_encoded_in_a_route_value() -> None:
    assert RouteTemplate("files/{name}").match("files/a%2Fb") == {"name": "a%2Fb"}
