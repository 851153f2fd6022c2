"""The dashboard's own protection.

The dashboard holds the app's system key, so whoever reaches its port holds admin rights; every request must
therefore:

- pass the shared listener rules of `durable_local.request_guard` (harden stream): its Host header names this
  server (loopback names, the bound address, or `--allowed-host`: no DNS rebinding), a state-changing request
  comes from the dashboard's own origin (no foreign `Origin`, no `Sec-Fetch-Site: cross-site`), and bodies are
  capped (`MAX_BODY_BYTES`);
- carry the per-start token (Jupyter-style): `?token=...` once, then an HttpOnly SameSite=Strict cookie;
- for a state-changing request, carry htmx's `HX-Request` header, which a cross-site form cannot send.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import Awaitable, Callable, Iterable

from aiohttp import web
from aiohttp.typedefs import Middleware

from durable_local.request_guard import RequestGuard

logger = logging.getLogger(__name__)

STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
MAX_BODY_BYTES = 1024 * 1024  # the largest form the dashboard takes (an event body is capped at 256 KiB)
PUBLIC_PREFIXES = ("/static/",)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def new_token() -> str:
    return secrets.token_urlsafe(24)


def listener_rules(*, bound_host: str, allowed_hosts: Iterable[str] = ()) -> Middleware:
    """The shared Host-header, cross-site and body-size rules (`durable_local.request_guard`) for this server."""
    rules = RequestGuard(bound_addresses=[bound_host.strip("[]")], allowed_hosts=list(allowed_hosts),
                         allowed_origins=[], max_body_bytes=MAX_BODY_BYTES)
    return rules.middleware()


def middleware(*, token: str, cookie_name: str = "durable_dashboard") -> Middleware:
    """The token/session check and the `HX-Request` requirement for actions (after `listener_rules`)."""

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
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
