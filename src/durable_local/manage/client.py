"""A small client for the Durable HTTP API (`/runtime/webhooks/durabletask`) of a running app, on urllib.

Every request carries `taskHub`, `connection` and `code` query parameters when they are set. Non-2xx answers
come back as `Response` objects; callers decide what each code means, and `expect` turns the rest into errors.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from durable_local.manage.errors import ApiError, CliError
from durable_local.vocabulary import CONTINUATION_HEADER, DURABLE_API

logger = logging.getLogger(__name__)

DEFAULT_BASE_URL = "http://localhost:7071"
NO_BODY = object()


@dataclass
class Response:
    """One HTTP answer: status, headers (looked up case-insensitively) and the raw body."""

    status: int
    headers: dict[str, str]
    body: bytes
    method: str = "GET"
    url: str = ""

    def header(self, name: str) -> str | None:
        for key, value in self.headers.items():
            if key.lower() == name.lower():
                return value
        return None

    def json(self) -> Any:
        if not self.body.strip():
            return None
        try:
            return json.loads(self.body)
        except json.JSONDecodeError as error:
            raise CliError(f"{self.method} {self.url} returned a body that is not JSON: {error.msg}") from error

    def detail(self) -> str:
        """The error message in one line: `Message`/`ExceptionMessage` of an error object, else text."""
        text = self.body.decode("utf-8", errors="replace").strip()
        if not text:
            return ""
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            return " ".join(text.split())[:300]
        if isinstance(data, dict):
            parts = [str(data[key]) for key in ("Message", "ExceptionMessage", "message", "error") if data.get(key)]
            return " ".join(" ".join(parts).split())[:300] if parts else " ".join(text.split())[:300]
        return " ".join(str(data).split())[:300]


@dataclass
class InstanceQuery:
    """Filters of `GET /instances` (and of the CLI's purge/terminate selections)."""

    created_from: str | None = None
    created_to: str | None = None
    statuses: list[str] = field(default_factory=list)
    instance_id_prefix: str | None = None
    show_input: bool = False

    def params(self) -> dict[str, str]:
        params: dict[str, str] = {}
        if self.created_from:
            params["createdTimeFrom"] = self.created_from
        if self.created_to:
            params["createdTimeTo"] = self.created_to
        if self.statuses:
            params["runtimeStatus"] = ",".join(self.statuses)
        if self.instance_id_prefix:
            params["instanceIdPrefix"] = self.instance_id_prefix
        params["showInput"] = "true" if self.show_input else "false"
        return params


class DurableClient:
    """The Durable HTTP API of the app at `base_url`, for one task hub (None: the app's default hub)."""

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        *,
        code: str | None = None,
        task_hub: str | None = None,
        connection: str | None = None,
        timeout: float = 60.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.code = code
        self.task_hub = task_hub
        self.connection = connection
        self.timeout = timeout

    def for_hub(self, task_hub: str) -> DurableClient:
        """The same app and key, another task hub."""
        return DurableClient(
            self.base_url, code=self.code, task_hub=task_hub, connection=self.connection, timeout=self.timeout
        )

    # -- transport -------------------------------------------------------------------------------------
    def request(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, str] | None = None,
        body: Any = NO_BODY,
        headers: Mapping[str, str] | None = None,
        hub_params: bool = True,
    ) -> Response:
        """Send one request to `{base_url}{path}`; answers of any status come back, network failures raise."""
        params = dict(query or {})
        if hub_params and self.task_hub:
            params["taskHub"] = self.task_hub
        if hub_params and self.connection:
            params["connection"] = self.connection
        if self.code:
            params["code"] = self.code
        shown_url = self.base_url + path  # never includes the query, which may hold the system key
        url = shown_url + ("?" + urllib.parse.urlencode(params) if params else "")
        all_headers = dict(headers or {})
        data = None
        if body is not NO_BODY:
            data = json.dumps(body).encode()
            all_headers["Content-Type"] = "application/json"
        request = urllib.request.Request(url, data=data, method=method, headers=all_headers)
        logger.debug("%s %s", method, shown_url)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as reply:
                response = Response(reply.status, dict(reply.headers.items()), reply.read(), method, shown_url)
        except urllib.error.HTTPError as error:
            response = Response(error.code, dict(error.headers.items()), error.read(), method, shown_url)
        except urllib.error.URLError as error:
            reason = getattr(error.reason, "strerror", None) or str(error.reason)
            raise CliError(
                f"cannot reach the app at {self.base_url}: {reason} (is it running? "
                "start it with `durable host start`, or pass --base-url)"
            ) from error
        except TimeoutError as error:
            raise CliError(f"{method} {shown_url} timed out after {self.timeout:g} s") from error
        except (ConnectionError, OSError) as error:
            raise CliError(f"cannot reach the app at {self.base_url}: {error}") from error
        logger.debug("-> %s", response.status)
        return response

    def durable(self, method: str, path: str, **kwargs: Any) -> Response:
        return self.request(method, DURABLE_API + path, **kwargs)

    @staticmethod
    def expect(response: Response, *codes: int) -> Response:
        """`response` if its status is one of `codes`, else an `ApiError` (with a hint for 401/403).

        A 5xx passes only when it carries an instance status (a Failed instance asked for with
        `returnInternalServerErrorOnFailure`): any other server error ends the command with a non-zero exit."""
        if response.status in codes and (response.status < 500 or _is_status_object(response)):
            return response
        detail = response.detail()
        if response.status in (401, 403) and not detail:
            detail = "unauthorized; pass the system key (durabletask_extension) with --code or DURABLE_SYSTEM_KEY"
            if "/admin/" in response.url:
                detail = "unauthorized; the local host's /admin endpoints need its master key: pass it with --code"
        raise ApiError(response.method, response.url, response.status, detail)

    # -- instances -------------------------------------------------------------------------------------
    @staticmethod
    def instance_path(instance_id: str, operation: str = "") -> str:
        path = "/instances/" + urllib.parse.quote(instance_id, safe="")
        return path + ("/" + operation if operation else "")

    def start_new(self, function_name: str, instance_id: str | None, input_value: Any = NO_BODY) -> Response:
        path = "/orchestrators/" + urllib.parse.quote(function_name, safe="")
        if instance_id:
            path += "/" + urllib.parse.quote(instance_id, safe="")
        return self.durable("POST", path, body=input_value)

    def get_status(
        self,
        instance_id: str,
        *,
        show_input: bool = False,
        show_history: bool = False,
        show_history_output: bool = False,
    ) -> Response:
        query = {"showInput": str(show_input).lower()}
        if show_history:
            query["showHistory"] = "true"
            query["showHistoryOutput"] = str(show_history_output).lower()
        return self.durable("GET", self.instance_path(instance_id), query=query)

    def list_page(
        self, query: InstanceQuery, *, top: int, continuation_token: str | None = None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of `GET /instances` and the token of the next page (None on the last page)."""
        headers = {CONTINUATION_HEADER: continuation_token} if continuation_token else None
        params = {**query.params(), "top": str(top)}
        response = self.expect(self.durable("GET", "/instances", query=params, headers=headers), 200)
        items = response.json() or []
        if not isinstance(items, list):
            raise CliError(f"GET {response.url} did not return a JSON array")
        token = (response.header(CONTINUATION_HEADER) or "").strip()
        return items, (token if token and token.lower() != "null" else None)

    def iter_pages(
        self, query: InstanceQuery, *, top: int, continuation_token: str | None = None
    ) -> Iterator[tuple[list[dict[str, Any]], str | None]]:
        """Every page from `continuation_token` on, with the token that follows each page."""
        seen: set[str] = set()
        token = continuation_token
        while True:
            items, token = self.list_page(query, top=top, continuation_token=token)
            yield items, token
            if token is None:
                return
            if token in seen:
                raise CliError(f"the app returned continuation token {token!r} twice; stopping to avoid a loop")
            seen.add(token)

    def raise_event(self, instance_id: str, event_name: str, data: Any) -> Response:
        path = self.instance_path(instance_id, "raiseEvent/" + urllib.parse.quote(event_name, safe=""))
        return self.durable("POST", path, body=data)

    def operation(self, instance_id: str, operation: str, reason: str | None = None) -> Response:
        """`POST /instances/{id}/{terminate|suspend|resume|rewind}?reason=`."""
        query = {"reason": reason} if reason else None
        return self.durable("POST", self.instance_path(instance_id, operation), query=query)

    def restart(self, instance_id: str, *, new_instance_id: bool) -> Response:
        query = {"restartWithNewInstanceId": str(new_instance_id).lower()}
        return self.durable("POST", self.instance_path(instance_id, "restart"), query=query)

    def purge_instance(self, instance_id: str) -> bool:
        """`DELETE /instances/{id}`: True when purged, False when it was not there (404)."""
        response = self.expect(self.durable("DELETE", self.instance_path(instance_id)), 200, 404)
        return response.status == 200

    # -- local host administration ---------------------------------------------------------------------
    def raw_history(self, instance_id: str) -> Response:
        """`GET {base_url}/admin/host/instances/{id}/history?taskHub=`: the local host's raw-history record."""
        query = {"taskHub": self.task_hub} if self.task_hub else None
        path = "/admin/host" + self.instance_path(instance_id, "history")
        return self.request("GET", path, query=query, hub_params=False)

    def task_hub_admin(self, method: str, hub: str) -> Response:
        """`GET|DELETE {base_url}/admin/host/taskhubs/{hub}`, served by the local host (`durable host`)."""
        return self.request(method, "/admin/host/taskhubs/" + urllib.parse.quote(hub, safe=""), hub_params=False)

    def local_host_task_hub(self) -> str | None:
        """The task hub the local host at `base_url` runs (`GET /admin/host/status` answers `taskHub`), or None
        when the app is not the local host (`func start` and Azure answer that path without `taskHub`)."""
        response = self.request("GET", "/admin/host/status", hub_params=False)
        if response.status != 200:
            return None
        try:
            status = response.json()
        except CliError:
            return None
        hub = status.get("taskHub") if isinstance(status, dict) else None
        return hub if isinstance(hub, str) and hub else None

def _is_status_object(response: Response) -> bool:
    try:
        data = json.loads(response.body)
    except (ValueError, UnicodeDecodeError):
        return False
    return isinstance(data, dict) and "runtimeStatus" in data and "instanceId" in data
