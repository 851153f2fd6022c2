"""The built-in Durable HTTP API, reached through the management URLs of the durable client binding.

Used where the SDK falls short (see the SDK notes in the README):

- `get_status_all`/`get_status_by` return only the first page (100 instances); `query_instances` follows
  the `x-ms-continuation-token` header, as the documented API asks callers to.
- `raise_event` JSON-encodes its data a second time, so the orchestrator would get JSON text; `send_event`
  posts the caller's JSON body unchanged to the instance's `sendEventPostUri`.

The URLs keep their query string (`taskHub`, `connection`, and `code` in Azure), so these calls reach the
same task hub, with the same authorization, as the SDK's own.
"""

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import aiohttp
import azure.durable_functions as df

from blueprints._http import bad_request

logger = logging.getLogger(__name__)

CONTINUATION_HEADER = "x-ms-continuation-token"
HOST_PAGE_SIZE = 100
_TIMEOUT = aiohttp.ClientTimeout(total=120, sock_connect=10)


@dataclass(frozen=True)
class InstanceQuery:
    """The filters of a list query, as the built-in API names them."""

    created_time_from: datetime | None = None
    created_time_to: datetime | None = None
    runtime_status: tuple[str, ...] = ()
    instance_id_prefix: str | None = None
    show_input: bool = True

    def parameters(self) -> list[tuple[str, str]]:
        params: list[tuple[str, str]] = []
        if self.created_time_from:
            params.append(("createdTimeFrom", format_time(self.created_time_from)))
        if self.created_time_to:
            params.append(("createdTimeTo", format_time(self.created_time_to)))
        if self.runtime_status:
            params.append(("runtimeStatus", ",".join(self.runtime_status)))
        if self.instance_id_prefix:
            params.append(("instanceIdPrefix", self.instance_id_prefix))
        params.append(("showInput", "true" if self.show_input else "false"))
        return params


@dataclass
class InstancePage:
    """Instances of one listing, and the token that continues it (None on the last page)."""

    instances: list[dict[str, Any]] = field(default_factory=list)
    continuation_token: str | None = None


def format_time(moment: datetime) -> str:
    """UTC, ISO 8601, as the SDK formats dates for the API."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def instances_url(client: df.DurableOrchestrationClient) -> tuple[str, list[tuple[str, str]]]:
    """The API's `instances` URL (without query) and the query parameters every call must keep."""
    status_url = client.create_http_management_payload("INSTANCE")["statusQueryGetUri"]
    parts = urlsplit(status_url)
    path = parts.path.rsplit("/", 1)[0]
    base = urlunsplit((parts.scheme, parts.netloc, path, "", ""))
    return base, parse_qsl(parts.query, keep_blank_values=True)


async def query_instances_page(client: df.DurableOrchestrationClient, query: InstanceQuery, top: int,
                               continuation_token: str | None = None) -> InstancePage:
    """One request to `GET instances`: at most `top` instances (the API may return fewer)."""
    base, common = instances_url(client)
    url = f"{base}?{urlencode([*common, *query.parameters(), ('top', str(top))])}"
    headers = {CONTINUATION_HEADER: continuation_token} if continuation_token else {}
    async with aiohttp.ClientSession(timeout=_TIMEOUT) as session, session.get(url, headers=headers) as reply:
        if reply.status == 400:  # the API refused our request: a continuation token it cannot read
            raise bad_request(f"the continuation token '{continuation_token}' is not valid for this query")
        if reply.status != 200:
            text = await reply.text()
            raise RuntimeError(f"listing instances failed: HTTP {reply.status} {text[:200]}")
        instances = await reply.json(content_type=None)
        token = reply.headers.get(CONTINUATION_HEADER) or None
    return InstancePage(list(instances or []), token)


async def query_instances(client: df.DurableOrchestrationClient, query: InstanceQuery, top: int | None = None,
                          continuation_token: str | None = None) -> InstancePage:
    """Up to `top` instances (all when None), following continuation tokens across API pages."""
    result = InstancePage(continuation_token=continuation_token)
    while True:
        wanted = HOST_PAGE_SIZE if top is None else top - len(result.instances)
        page = await query_instances_page(client, query, wanted, result.continuation_token)
        result.instances.extend(page.instances)
        result.continuation_token = page.continuation_token
        if not page.continuation_token or (top is not None and len(result.instances) >= top):
            return result


async def send_event(client: df.DurableOrchestrationClient, instance_id: str, event_name: str,
                     body: bytes) -> int:
    """POST `body` (JSON) as event `event_name` to the instance; returns the API's status code."""
    template = client.create_http_management_payload(quote(instance_id, safe=""))["sendEventPostUri"]
    url = template.replace("{eventName}", quote(event_name, safe=""))
    async with aiohttp.ClientSession(timeout=_TIMEOUT) as session, session.post(
        url, data=body, headers={"Content-Type": "application/json"}
    ) as reply:
        if reply.status >= 300:
            logger.warning("raising %s to %s: HTTP %s %s", event_name, instance_id, reply.status,
                           (await reply.text())[:200])
        return reply.status


def task_hub(client: df.DurableOrchestrationClient) -> str:
    """The task hub of the binding, from its management URLs (the SDK declares `task_hub_name` but never sets it)."""
    _, common = instances_url(client)
    return dict(common).get("taskHub", "")
