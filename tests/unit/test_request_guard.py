"""The cross-site and Host-header rules of `durable_local.request_guard`, as pure functions."""

from __future__ import annotations

import pytest
from multidict import CIMultiDict

from durable_local.request_guard import cross_site_reason, is_host_allowed, normalize_origin, parse_origins


def headers(**values: str) -> CIMultiDict[str]:
    return CIMultiDict({k.replace("_", "-"): v for k, v in values.items()})


@pytest.mark.parametrize("host", ["localhost:7071", "LOCALHOST", "127.0.0.1:7071", "127.9.9.9", "[::1]:7071",
                                  "app.localhost:7071", None])
def test_loopback_names_and_addresses_are_this_host(host: str | None) -> None:
    assert is_host_allowed(host, ["127.0.0.1", "::1"])


@pytest.mark.parametrize("host", ["attacker.example:7071", "attacker.example", "192.168.1.20:7071",
                                  "localhost.attacker.example", "", "a b", "user@localhost", "[::1"])
def test_other_names_are_refused_as_dns_rebinding(host: str) -> None:
    assert not is_host_allowed(host, ["127.0.0.1", "::1"])


def test_allowed_host_names_and_bound_addresses_pass() -> None:
    assert is_host_allowed("devbox.internal:8080", ["127.0.0.1"], ["DevBox.Internal"])
    assert is_host_allowed("192.168.1.20:7071", ["192.168.1.20"])
    assert not is_host_allowed("192.168.1.21:7071", ["192.168.1.20"])
    assert is_host_allowed("192.168.1.21:7071", ["0.0.0.0"])  # every address: an IP literal is not rebindable
    assert not is_host_allowed("attacker.example", ["0.0.0.0"])
    assert is_host_allowed("anything.example", ["127.0.0.1"], ["*"])


def test_reads_are_never_cross_site_refusals() -> None:
    assert cross_site_reason("GET", headers(Origin="https://evil.example", Host="localhost:7071")) is None


def test_a_foreign_origin_is_refused_for_every_state_changing_method() -> None:
    for method in ("POST", "PUT", "PATCH", "DELETE", "post"):
        reason = cross_site_reason(method, headers(Origin="https://evil.example", Host="localhost:7071"))
        assert reason is not None and "https://evil.example" in reason


def test_same_origin_passes_and_another_port_is_another_origin() -> None:
    assert cross_site_reason("POST", headers(Origin="http://localhost:7071", Host="localhost:7071")) is None
    assert cross_site_reason("POST", headers(Origin="http://LocalHost:7071", Host="localhost:7071")) is None
    assert cross_site_reason("POST", headers(Origin="http://localhost:3000", Host="localhost:7071")) is not None
    assert cross_site_reason("POST", headers(Origin="https://localhost:7071", Host="localhost:7071")) is not None
    assert cross_site_reason("POST", headers(Origin="null", Host="localhost:7071")) is not None


def test_listed_origins_pass_as_host_cors_does() -> None:
    request = headers(Origin="http://localhost:3000", Host="localhost:7071")
    assert cross_site_reason("POST", request, allowed_origins=["http://localhost:3000"]) is None
    assert cross_site_reason("POST", request, allowed_origins=["*"]) is None
    assert cross_site_reason("POST", request, allowed_origins=["http://localhost:3001"]) is not None


def test_sec_fetch_site_cross_site_is_refused_without_origin() -> None:
    assert cross_site_reason("POST", headers(Sec_Fetch_Site="cross-site", Host="localhost:7071")) is not None
    assert cross_site_reason("POST", headers(Sec_Fetch_Site="same-origin", Host="localhost:7071")) is None
    assert cross_site_reason("POST", headers(Host="localhost:7071")) is None  # curl, the SDK, the CLI


def test_origins_are_normalized_with_default_ports_dropped() -> None:
    assert normalize_origin("HTTP://Example.COM:80") == "http://example.com"
    assert normalize_origin("https://example.com:443") == "https://example.com"
    assert normalize_origin("http://[::1]:7071") == "http://[::1]:7071"
    assert normalize_origin("null") is None
    assert normalize_origin("http://x:99999") is None
    assert parse_origins(" http://a:1, ,http://b ") == ["http://a:1", "http://b"]
