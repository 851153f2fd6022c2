"""The dashboard's own protection. It holds the app's system key, so whoever reaches its port holds admin
rights; every request must therefore:

- name an allowed Host (the bound address, loopback names, or `--allowed-host`): no DNS rebinding;
- carry the per-start token (Jupyter-style): `?token=...` once, then an HttpOnly SameSite=Strict cookie;
- for a state-changing request, come from the dashboard's own origin (`Origin` equal to its own, no
  `Sec-Fetch-Site: cross-site`) and carry htmx's `HX-Request` header, which a cross-site form cannot send.

`host_allowed` and `cross_site` are the two checks the harden stream's `durable_local.request_guard` also
provides; they are kept behind these two small functions so the shared ones can replace them.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import Awaitable, Callable, Iterable
from urllib.parse import urlsplit

from aiohttp import web

logger = logging.getLogger(__name__)

STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})
PUBLIC_PREFIXES = ("/static/",)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Middleware = Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]


def new_token() -> str:
    return secrets.token_urlsafe(24)


def _split_host(value: str) -> tuple[str, str]:
    """`name[:port]` (IPv6 in brackets) into (lower-case name, port text)."""
    value = value.strip().lower()
    if value.startswith("["):
        name, _, rest = value.partition("]")
        return name + "]", rest.lstrip(":")
    name, _, port = value.partition(":")
    return name, port


def host_allowed(host_header: str, *, bound_host: str, port: int, allowed_hosts: Iterable[str] = ()) -> bool:
    """True when the Host header names this server: loopback names, the bound address, or an allowed name."""
    name, header_port = _split_host(host_header)
    if not name or (header_port and header_port != str(port)):
        return False
    names = set(LOOPBACK_NAMES) | {bound_host.lower()} | {h.lower() for h in allowed_hosts}
    if ":" in bound_host and not bound_host.startswith("["):
        names.add(f"[{bound_host.lower()}]")
    return name in names


def cross_site(method: str, origin: str | None, sec_fetch_site: str | None, host_header: str) -> bool:
    """True when a state-changing request comes from another site (foreign Origin, or Sec-Fetch-Site says so)."""
    if method.upper() not in STATE_CHANGING:
        return False
    if (sec_fetch_site or "").lower() == "cross-site":
        return True
    if origin is None:
        return False
    if origin == "null":
        return True
    parts = urlsplit(origin)
    return parts.netloc.lower() != host_header.strip().lower()


def middleware(*, token: str, bound_host: str, port: int, allowed_hosts: Iterable[str] = (),
               cookie_name: str = "durable_dashboard") -> Middleware:
    allowed = tuple(allowed_hosts)

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        host_header = request.headers.get("Host", "")
        if not host_allowed(host_header, bound_host=bound_host, port=port, allowed_hosts=allowed):
            logger.warning("refused a request for host %r (not an address of this dashboard)", host_header)
            return web.json_response({"error": f"host {host_header!r} is not allowed; use --allowed-host"},
                                     status=403)
        if cross_site(request.method, request.headers.get("Origin"), request.headers.get("Sec-Fetch-Site"),
                      host_header):
            logger.warning("refused a cross-site %s %s", request.method, request.path)
            return web.json_response({"error": "cross-site request refused"}, status=403)
        if request.path.startswith(PUBLIC_PREFIXES):
            return await handler(request)
        given = request.query.get("token")
        if given is not None:
            if not hmac.compare_digest(given, token):
                return _unauthorized()
            if request.method == "GET":  # keep the token out of the address bar and the history
                query = [(k, v) for k, v in request.query.items() if k != "token"]
                target = request.rel_url.with_query(query)
                response = web.HTTPFound(str(target))
                response.set_cookie(cookie_name, token, httponly=True, samesite="Strict", path="/")
                raise response
        elif not hmac.compare_digest(request.cookies.get(cookie_name, ""), token):
            return _unauthorized()
        if request.method in STATE_CHANGING and request.headers.get("HX-Request") != "true":
            return web.json_response({"error": "actions are sent by the dashboard's own page only"}, status=403)
        return await handler(request)

    return guard


def _unauthorized() -> web.Response:
    return web.Response(
        status=401, content_type="text/html",
        text="<!doctype html><title>Durable dashboard</title><p>Open the dashboard with the URL that "
             "<code>durable dashboard</code> printed when it started (it carries <code>?token=...</code>).</p>")
