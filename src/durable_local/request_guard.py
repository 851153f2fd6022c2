"""Who may talk to a local listener: the cross-site and Host-header rules, and a size cap on request bodies.

A local host (and the dashboard) listens on the developer's machine, where any web page the developer opens
could send it requests. Two browser attacks matter:

- **Cross-site requests.** A page on another site can POST to `http://localhost:7071/...` (a `text/plain`
  "simple" request needs no CORS preflight), so it could terminate or purge instances. A state-changing request
  (POST, PUT, PATCH, DELETE) is refused with 403 when its `Origin` header names another origin than the one
  it was sent to, or when the browser marks it `Sec-Fetch-Site: cross-site`. Same-origin requests are allowed,
  and so are origins the user allows, as `func start` allows them: `local.settings.json` `Host.CORS`
  (comma-separated, `*` for any) or `--cors`. Requests without `Origin` (curl, the SDK, the CLI) are not
  browser cross-site requests and pass. As under `func start`, responses to an allowed origin carry
  `Access-Control-Allow-Origin`, and its CORS preflights (`OPTIONS` with `Access-Control-Request-Method`)
  are answered with 204.
- **DNS rebinding.** A page on `attacker.example` whose name is re-pointed at 127.0.0.1 makes same-origin
  requests, which can also read the answers. So every request's `Host` header must name the listener itself:
  `localhost` (or a `*.localhost` name), a loopback or bound address, an IP literal when the listener is bound
  to all addresses, or a name given with `--allowed-host` (forwarded ports, devcontainers, WSL; `*` turns the
  check off). Anything else gets 403.

Bodies larger than the cap (`DEFAULT_MAX_BODY_BYTES`, 100 MiB: the Azure Functions default request length
limit, `maxRequestBodySize` 104857600 bytes) are refused with 413; a declared `Content-Length` over the cap is
refused before any byte of the body is read, and a chunked body stops being read at the cap (aiohttp's
`client_max_size`).

This module is deliberately outside `durable_local.host`: the dashboard reuses it without importing the host.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from aiohttp import web
from aiohttp.typedefs import Middleware

log = logging.getLogger(__name__)

STATE_CHANGING_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
DEFAULT_MAX_BODY_BYTES = 100 * 1024 * 1024
ALL_ADDRESSES = frozenset({"0.0.0.0", "::", ""})

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def split_host(host_header: str) -> tuple[str, int | None]:
    """`Host` header value -> (lower-case host name or address without brackets, port or None).

    Raises ValueError for a value that is not a host[:port]."""
    value = host_header.strip()
    if not value or any(ch in value for ch in "/\\@?# \t"):
        raise ValueError(f"not a host: {host_header!r}")
    parts = urlsplit("//" + value)
    host = parts.hostname
    if not host:
        raise ValueError(f"not a host: {host_header!r}")
    return host.lower().rstrip("."), parts.port


def normalize_origin(origin: str) -> str | None:
    """`scheme://host[:port]` lower-cased with the scheme's default port dropped; None for `null` or junk."""
    value = origin.strip()
    if not value or value.lower() == "null":
        return None
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        return None
    if not parts.scheme or not parts.hostname:
        return None
    scheme, host = parts.scheme.lower(), parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    if port is None or (scheme, port) in (("http", 80), ("https", 443)):
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def _is_ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def is_host_allowed(host_header: str | None, bound_addresses: Iterable[str] = (),
                    allowed_hosts: Iterable[str] = ()) -> bool:
    """Whether a request's `Host` header names this listener (see the module docstring).

    A missing header passes: HTTP/1.0 clients may omit it, and browsers always send it."""
    if host_header is None:
        return True
    allowed = {h.strip().lower().rstrip(".") for h in allowed_hosts if h.strip()}
    if "*" in allowed:
        return True
    try:
        host, _port = split_host(host_header)
    except ValueError:
        return False
    if host == "localhost" or host.endswith(".localhost") or host in allowed:
        return True
    address = _is_ip(host)
    if address is None:
        return False
    if address.is_loopback:
        return True
    bound = {b.strip().strip("[]").lower() for b in bound_addresses}
    if bound & ALL_ADDRESSES:
        return True  # bound to every address: any of the machine's addresses may be named, and an IP
        # literal cannot be re-pointed by DNS
    return any(_is_ip(b) == address for b in bound if _is_ip(b) is not None)


def cross_site_reason(method: str, headers: Mapping[str, str], scheme: str = "http",
                      allowed_origins: Iterable[str] = ()) -> str | None:
    """Why a request is a refused cross-site request, or None when it may proceed.

    Only state-changing methods are checked. `headers` is case-insensitive (aiohttp's `CIMultiDictProxy`)."""
    if method.upper() not in STATE_CHANGING_METHODS:
        return None
    allowed = {o.strip() for o in allowed_origins if o.strip()}
    if "*" in allowed:
        return None
    allowed_normalized = {n for n in (normalize_origin(o) for o in allowed) if n}
    origin = headers.get("Origin")
    if origin is not None:
        normalized = normalize_origin(origin)
        if normalized is not None and normalized in allowed_normalized:
            return None
        own = _own_origin(headers.get("Host"), scheme)
        if normalized is None or own is None or normalized != own:
            return (f"cross-site request refused: Origin '{origin}' is not this host's origin; allow it with "
                    "--cors or local.settings.json Host.CORS")
        return None
    if (headers.get("Sec-Fetch-Site") or "").strip().lower() == "cross-site":
        return "cross-site request refused: the browser marked it Sec-Fetch-Site: cross-site"
    return None


def _own_origin(host_header: str | None, scheme: str) -> str | None:
    if not host_header:
        return None
    return normalize_origin(f"{scheme}://{host_header.strip()}")


def parse_origins(value: str | None) -> list[str]:
    """`Host.CORS` / `--cors` text: comma-separated origins."""
    return [part.strip() for part in (value or "").split(",") if part.strip()]


@dataclass
class RequestGuard:
    """The rules one listener enforces; `middleware()` applies them to an aiohttp application."""

    bound_addresses: list[str] = field(default_factory=lambda: ["127.0.0.1", "::1"])
    allowed_hosts: list[str] = field(default_factory=list)
    allowed_origins: list[str] = field(default_factory=list)
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES

    def check(self, request: web.Request) -> web.Response | None:
        """The refusal for this request, or None when it may proceed."""
        host_header = request.headers.get("Host")
        if not is_host_allowed(host_header, self.bound_addresses, self.allowed_hosts):
            log.warning("refused %s %s: Host header %r is not this host", request.method, request.path,
                        host_header)
            return forbidden(f"the Host header '{host_header}' does not name this host (DNS rebinding "
                             "protection); start it with --allowed-host NAME to allow that name")
        reason = cross_site_reason(request.method, request.headers, request.scheme, self.allowed_origins)
        if reason is not None:
            log.warning("refused %s %s: %s", request.method, request.path, reason)
            return forbidden(reason)
        length = request.content_length
        if length is not None and length > self.max_body_bytes:
            return too_large(self.max_body_bytes)
        return None

    def cors_origin(self, origin: str | None) -> str | None:
        """The `Access-Control-Allow-Origin` value for a request from `origin`: set only for listed origins."""
        if origin is None:
            return None
        allowed = {o.strip() for o in self.allowed_origins if o.strip()}
        if "*" in allowed:
            return "*"
        normalized = normalize_origin(origin)
        return origin if normalized and normalized in {normalize_origin(o) for o in allowed} else None

    def middleware(self) -> Middleware:
        @web.middleware
        async def request_guard(request: web.Request, handler: Handler) -> web.StreamResponse:
            refusal = self.check(request)
            if refusal is not None:
                if request.content_length:
                    refusal.force_close()  # do not read (or keep) the unread body
                return refusal
            allow_origin = self.cors_origin(request.headers.get("Origin"))
            if allow_origin and request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
                return web.Response(status=204, headers=_preflight_headers(request, allow_origin))
            if request.body_exists:
                try:
                    await request.read()  # cached for the handler; a chunked body stops at the cap
                except web.HTTPRequestEntityTooLarge:
                    refused = too_large(self.max_body_bytes)
                    refused.force_close()
                    return refused
            response = await handler(request)
            if allow_origin and not response.prepared:
                response.headers["Access-Control-Allow-Origin"] = allow_origin
                response.headers.add("Vary", "Origin")
            return response

        return request_guard


def _preflight_headers(request: web.Request, allow_origin: str) -> dict[str, str]:
    headers = {"Access-Control-Allow-Origin": allow_origin, "Vary": "Origin",
               "Access-Control-Allow-Methods": "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS",
               "Access-Control-Max-Age": "600"}
    requested = request.headers.get("Access-Control-Request-Headers")
    if requested:
        headers["Access-Control-Allow-Headers"] = requested
    return headers


def forbidden(message: str) -> web.Response:
    return web.json_response({"error": message}, status=403)


def too_large(limit: int) -> web.Response:
    return web.json_response({"error": f"the request body is larger than the limit of {limit} bytes"},
                             status=413)
