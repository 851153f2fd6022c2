"""Acting on one instance for a bulk operation, through the durable client binding's management URLs.

Each action answers an `Outcome`: `done`, `skipped` (the instance is gone, or its runtime status no longer
allows the operation: a race with the listing, or a repeat after a crash) or `failed` (with the reason).
The URLs come from `create_http_management_payload`, so the calls reach the task hub of the binding with
its authorization, on any backend that serves the Durable HTTP API.

Repeats are harmless by construction (a bulk run may repeat a chunk after a crash): terminating,
suspending, resuming, rewinding or purging an instance twice finds it in the new state and is skipped;
restart creates the new instance under an ID derived from the bulk run's ID, so a repeat finds it and is
skipped ("already restarted"); raising an event twice delivers it twice (raise event is at least once).
"""

import asyncio
import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import aiohttp
import azure.durable_functions as df

from blueprints._instances import in_url, management_payload
from blueprints._params import MAX_INSTANCE_ID_LENGTH
from blueprints._status import (
    ACTIVE_STATUSES,
    RUNTIME_STATUSES,
    SUSPENDABLE_STATUSES,
    TERMINAL_STATUSES,
    decode_input,
    in_order,
)

logger = logging.getLogger(__name__)

OPERATIONS = ("terminate", "suspend", "resume", "rewind", "restart", "purge", "raiseEvent")
# The runtime statuses each operation may act on; a filter naming another status is a 400.
ALLOWED_STATUSES: dict[str, tuple[str, ...]] = {
    "terminate": in_order(ACTIVE_STATUSES),
    "suspend": in_order(SUSPENDABLE_STATUSES),
    "resume": ("Suspended",),
    "rewind": ("Failed",),
    "restart": RUNTIME_STATUSES,
    "purge": in_order(TERMINAL_STATUSES),
    "raiseEvent": in_order(ACTIVE_STATUSES),
}
_URL_KEYS = {"terminate": "terminatePostUri", "suspend": "suspendPostUri", "resume": "resumePostUri",
             "rewind": "rewindPostUri"}
_TIMEOUT = aiohttp.ClientTimeout(total=120, sock_connect=10)


@dataclass(frozen=True)
class Outcome:
    """What happened to one instance: `done`, `skipped` or `failed`, with a reason for the last two."""

    instance_id: str
    result: str
    reason: str = ""
    new_instance_id: str | None = None

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"instanceId": self.instance_id, "result": self.result}
        if self.reason:
            body["reason"] = self.reason
        if self.new_instance_id:
            body["newInstanceId"] = self.new_instance_id
        return body


@dataclass(frozen=True)
class ActionOptions:
    """The parameters of one bulk run that each action needs."""

    operation: str
    bulk_instance_id: str
    reason: str = ""
    event_name: str | None = None
    event_data: Any = None
    check_names: bool = False  # listed IDs: read each status first, to skip management orchestrations
    excluded: Callable[[str | None], bool] = lambda name: False


def restarted_instance_id(original_id: str, bulk_instance_id: str) -> str:
    """The ID a bulk restart gives the new instance: `{original}.{bulk run ID}`, hashed when too long.

    Derived from the run's ID, so a repeat of the same run (after a crash) finds the instance it created.
    """
    derived = f"{original_id}.{bulk_instance_id}"
    if len(derived) <= MAX_INSTANCE_ID_LENGTH:
        return derived
    digest = hashlib.sha256(original_id.encode()).hexdigest()[:32]
    return f"{bulk_instance_id}.{digest}"[:MAX_INSTANCE_ID_LENGTH]


async def _text(reply: aiohttp.ClientResponse) -> str:
    return " ".join((await reply.text()).split())[:300]


def _answer(instance_id: str, status: int, detail: str, accepted: tuple[int, ...] = (200, 202),
            state_change: bool = False) -> Outcome:
    """The outcome of the API's answer to one operation."""
    if status in accepted:
        return Outcome(instance_id, "done")
    if status == 404:
        return Outcome(instance_id, "skipped", "no such instance (already purged?)")
    if status == 410:
        return Outcome(instance_id, "skipped", "it has already finished")
    if status == 409 or (status in (400, 500) and "InvalidOperation" in detail) or (status == 400 and state_change):
        # the API's InvalidOperationException: the instance is no longer in a state that allows it
        return Outcome(instance_id, "skipped", f"not in a state that allows it: {detail}")
    return Outcome(instance_id, "failed", f"HTTP {status}: {detail}")


async def _status(session: aiohttp.ClientSession, urls: dict[str, Any],
                  show_input: bool = False) -> dict[str, Any] | None:
    url = urls["statusQueryGetUri"] + f"&showInput={'true' if show_input else 'false'}"
    async with session.get(url) as reply:
        if reply.status == 404:
            return None
        if reply.status not in (200, 202):
            raise RuntimeError(f"reading the status failed: HTTP {reply.status}: {await _text(reply)}")
        body = await reply.json(content_type=None)
        return body if isinstance(body, dict) else None


read_status = _status  # an instance's status through its management URLs (None: it does not exist)


async def purge_terminal(session: aiohttp.ClientSession, client: df.DurableOrchestrationClient,
                         instance_id: str) -> Outcome:
    """Purge only a terminal instance: read its status, then delete its history."""
    urls = management_payload(client, instance_id)
    status = await _status(session, urls)
    if status is None:
        return Outcome(instance_id, "skipped", "no such instance (already purged?)")
    runtime_status = status.get("runtimeStatus")
    if runtime_status not in TERMINAL_STATUSES:
        return Outcome(instance_id, "skipped", f"it is {runtime_status}; only finished instances are purged")
    async with session.delete(urls["purgeHistoryDeleteUri"]) as reply:
        return _answer(instance_id, reply.status, await _text(reply))


async def _restart(session: aiohttp.ClientSession, client: df.DurableOrchestrationClient, instance_id: str,
                   urls: dict[str, Any], options: ActionOptions) -> Outcome:
    """Start the instance's orchestrator again with its input, under the derived ID (409 when it exists)."""
    new_id = restarted_instance_id(instance_id, options.bulk_instance_id)
    if await _status(session, management_payload(client, new_id)) is not None:
        return Outcome(instance_id, "skipped", f"already restarted as '{new_id}' (409)", new_id)
    status = await _status(session, urls, show_input=True)
    if status is None:
        return Outcome(instance_id, "skipped", "no such instance (already purged?)")
    name = str(status.get("name") or "")
    try:
        await client.start_new(name, in_url(new_id), decode_input(status.get("input")))
    except Exception as error:
        detail = error.args[0] if error.args else error
        if "already exists" in str(detail):
            return Outcome(instance_id, "skipped", f"already restarted as '{new_id}' (409)", new_id)
        return Outcome(instance_id, "failed", f"starting '{new_id}' failed: {detail}"[:300])
    return Outcome(instance_id, "done", "", new_id)


async def _raise_event(session: aiohttp.ClientSession, instance_id: str, urls: dict[str, Any],
                       options: ActionOptions) -> Outcome:
    url = urls["sendEventPostUri"].replace("{eventName}", quote(options.event_name or "", safe=""))
    body = json.dumps(options.event_data)
    async with session.post(url, data=body, headers={"Content-Type": "application/json"}) as reply:
        return _answer(instance_id, reply.status, await _text(reply))


async def act(session: aiohttp.ClientSession, client: df.DurableOrchestrationClient, instance_id: str,
              options: ActionOptions) -> Outcome:
    """Apply the run's operation to one instance; never raises (a failure is an outcome)."""
    try:
        urls = management_payload(client, instance_id)
        operation = options.operation
        if instance_id == options.bulk_instance_id:
            return Outcome(instance_id, "skipped", "a bulk run never acts on itself")
        if options.check_names:
            status = await _status(session, urls)
            if status is None:
                return Outcome(instance_id, "skipped", "no such instance (already purged?)")
            if options.excluded(status.get("name")):
                return Outcome(instance_id, "skipped", f"it is a management orchestration ({status.get('name')})")
        if operation == "purge":
            return await purge_terminal(session, client, instance_id)
        if operation == "restart":
            return await _restart(session, client, instance_id, urls, options)
        if operation == "raiseEvent":
            return await _raise_event(session, instance_id, urls, options)
        url = urls[_URL_KEYS[operation]].replace("{text}", quote(options.reason, safe=""))
        async with session.post(url) as reply:
            return _answer(instance_id, reply.status, await _text(reply), state_change=operation != "terminate")
    except Exception as error:  # one instance's failure is reported, never the whole chunk's
        logger.warning("bulk %s of '%s' failed: %s", options.operation, instance_id, error)
        return Outcome(instance_id, "failed", f"{type(error).__name__}: {error}"[:300])


async def act_on_all(client: df.DurableOrchestrationClient, instance_ids: list[str], options: ActionOptions,
                     concurrency: int) -> list[Outcome]:
    """Apply the operation to every ID, at most `concurrency` at a time; outcomes in the IDs' order."""
    limit = asyncio.Semaphore(max(1, concurrency))
    connector = aiohttp.TCPConnector(limit=max(1, concurrency))
    async with aiohttp.ClientSession(timeout=_TIMEOUT, connector=connector) as session:
        if options.operation == "purge" and not options.check_names:
            return await purge_all(session, client, instance_ids, concurrency)

        async def one(instance_id: str) -> Outcome:
            async with limit:
                return await act(session, client, instance_id, options)

        return list(await asyncio.gather(*(one(instance_id) for instance_id in instance_ids)))


def host_admin_url(client: df.DurableOrchestrationClient, path: str) -> str:
    """A local-host extension endpoint (`/admin/host/{path}`) on the origin of the binding's URLs, same task hub."""
    parts = urlsplit(management_payload(client, "x")["statusQueryGetUri"])
    hub = dict(parse_qsl(parts.query)).get("taskHub", "")
    return urlunsplit((parts.scheme, parts.netloc, f"/admin/host/{path}", urlencode({"taskHub": hub}), ""))


async def purge_listed(session: aiohttp.ClientSession, client: df.DurableOrchestrationClient,
                       instance_ids: list[str]) -> list[Outcome] | None:
    """Purge the terminal ones of `instance_ids` in one request to the local host's list purge
    (`POST /admin/host/purge-instances`, which checks each status in the purging transaction); None when the
    backend has no such endpoint (then purge one by one with `purge_terminal`)."""
    body = {"instanceIds": instance_ids, "runtimeStatus": sorted(TERMINAL_STATUSES)}
    async with session.post(host_admin_url(client, "purge-instances"), json=body) as reply:
        answer = await reply.json(content_type=None) if reply.content_type == "application/json" else None
        if reply.status != 200 or not isinstance(answer, dict) or "purged" not in answer:
            return None
    outcomes = [Outcome(i, "done") for i in answer["purged"]]
    outcomes += [Outcome(i, "skipped", f"it is {status}; only finished instances are purged")
                 for i, status in (answer.get("kept") or {}).items()]
    outcomes += [Outcome(i, "skipped", "no such instance (already purged?)") for i in answer.get("notFound") or []]
    return outcomes


async def purge_all(session: aiohttp.ClientSession, client: df.DurableOrchestrationClient, instance_ids: list[str],
                    concurrency: int) -> list[Outcome]:
    """Purge the terminal ones of `instance_ids`: in one request on the local host, else one by one."""
    listed = await purge_listed(session, client, instance_ids) if instance_ids else []
    if listed is not None:
        return listed
    limit = asyncio.Semaphore(max(1, concurrency))

    async def one(instance_id: str) -> Outcome:
        async with limit:
            return await purge_terminal(session, client, instance_id)

    return list(await asyncio.gather(*(one(instance_id) for instance_id in instance_ids)))
