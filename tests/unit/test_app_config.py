"""The app's configuration as the Functions host reads it: host.json (with comments, as the host allows)."""

from __future__ import annotations

from pathlib import Path

from durable_local.host.config import AppConfig


def test_host_json_with_comments_loads(tmp_path: Path) -> None:
    (tmp_path / "host.json").write_text(
        '{\n  // routes\n  "version": "2.0",\n  "extensions": {"http": {"routePrefix": "v"}} /* end */\n}\n')
    assert AppConfig.load(tmp_path).route_prefix == "v"
