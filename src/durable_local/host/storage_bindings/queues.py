"""Queue storage bindings: the queue output binding and the queue trigger, on Azure Storage (Azurite locally).

host.json `extensions.queues` (Functions host 2.x+ names; defaults from azure-webjobs-sdk `QueuesOptions`):
`maxPollingInterval` (default 1 minute), `visibilityTimeout` (default 0: a failed message is visible again at
once), `batchSize` (16, at most 32), `newBatchThreshold` (default `batchSize / 2 * processor count`),
`maxDequeueCount` (5) and `messageEncoding` (`base64`, the default, or `none`).

Output (`queue`): each message is added to the queue (created if missing, as WebJobs' queue collector
`AddMessageAndCreateIfNotExistsAsync` does), base64-encoded unless `messageEncoding` is `none`. A string or
bytes is one message; a list is one message per item (a `QueueMessage` item, a dict, goes as its JSON text).

Trigger (`queueTrigger`): `QueueTriggerListener` follows azure-webjobs-sdk `QueueListener` and
`QueueProcessor`:

- polling: a batch of up to `batchSize` messages is taken with a 10-minute visibility lease (QueueListener's
  `_visibilityTimeout`, renewed while the function runs, as its `UpdateQueueMessageVisibilityCommand` does);
  when a poll found messages the next one follows at once, else the wait grows (randomized exponential
  backoff, `RandomizedExponentialBackoffStrategy`) from 100 ms (`QueuePollingIntervals.Minimum`) up to
  `maxPollingInterval`; a new batch is fetched only while at most `newBatchThreshold` messages are in flight;
- a message whose dequeue count already exceeds `maxDequeueCount` goes straight to the poison queue
  (`BeginProcessingMessageAsync`);
- after the function: success deletes the message; a failure with dequeue count >= `maxDequeueCount` copies
  it to `<queue>-poison` (created if missing) and deletes it; any other failure makes it visible again after
  `visibilityTimeout` (`CompleteProcessingMessageAsync`, `ReleaseMessageAsync`);
- a message is deleted only after its function succeeded, so a host killed mid-message leaves it to reappear
  when its lease ends (at-least-once); a host that stops (Ctrl+C) while a function runs makes its message
  visible again at once;
- the function receives a `func.QueueMessage` through azure.functions' `QueueMessageInConverter` with the
  trigger metadata the host sends: `Id`, `DequeueCount`, `ExpirationTime`, `InsertionTime`, `NextVisibleTime`,
  `PopReceipt` and `QueueTrigger` (the message text). A message that is not valid base64 while
  `messageEncoding` is `base64` cannot be decoded: it is logged and moved to the poison queue.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import logging
import os
import random
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from durable_local.host.config import ConfigError
from durable_local.host.host_json import HostJson, HostJsonError
from durable_local.host.indexing import FunctionInfo, is_output
from durable_local.host.storage_bindings.connections import connection_name
from durable_local.host.storage_bindings.invocation import BindingCall, WireDatum, bytes_datum, string_datum
from durable_local.host.storage_bindings.registry import BindingContext, BindingType, register

if TYPE_CHECKING:
    from durable_local.host.storage_bindings.runner import BindingRunner

log = logging.getLogger(__name__)

MINIMUM_POLLING_INTERVAL = 0.1  # QueuePollingIntervals.Minimum
LEASE_SECONDS = 600  # QueueListener: messages are taken for 10 minutes, renewed while the function runs
MAX_BATCH_SIZE = 32
SECTION = "extensions.queues"
_QUEUE_NAME = re.compile(r"^[a-z0-9](?:[a-z0-9]|-(?!-)){1,61}[a-z0-9]$")


@dataclass(frozen=True)
class QueueOptions:
    """host.json `extensions.queues` (see the module docstring)."""

    max_polling_interval: float = 60.0
    visibility_timeout: float = 0.0
    batch_size: int = 16
    new_batch_threshold: int = 8
    max_dequeue_count: int = 5
    base64: bool = True

    @classmethod
    def from_host_json(cls, host_json: HostJson) -> QueueOptions:
        """Read through `HostJson`'s typed readers (`AzureFunctionsJobHost__extensions__queues__*` overrides
        apply); a value out of range stops the start, as `QueuesOptions`' setters throw."""
        try:
            return cls._read(host_json)
        except HostJsonError as error:
            raise ConfigError(str(error)) from error

    @classmethod
    def _read(cls, host_json: HostJson) -> QueueOptions:
        def number(key: str, default: int, low: int, high: int) -> int:
            value = host_json.integer(f"{SECTION}.{key}", default)
            if not low <= value <= high:
                raise ConfigError(f"{host_json.source(f'{SECTION}.{key}')} must be from {low} to {high}, "
                                  f"not {value}")
            return value

        def seconds(key: str, default: timedelta) -> float:
            value = host_json.timespan(f"{SECTION}.{key}", default)
            return (value or default).total_seconds()

        batch = number("batchSize", 16, 1, MAX_BATCH_SIZE)
        polling = seconds("maxPollingInterval", timedelta(minutes=1))
        if polling < MINIMUM_POLLING_INTERVAL:
            raise ConfigError(f"{host_json.source(f'{SECTION}.maxPollingInterval')} must be at least 100 "
                              "milliseconds")
        visibility = seconds("visibilityTimeout", timedelta(0))
        if visibility < 0:
            raise ConfigError(f"{host_json.source(f'{SECTION}.visibilityTimeout')} must not be negative")
        encoding = (host_json.string(f"{SECTION}.messageEncoding", "base64") or "base64").lower()
        if encoding not in ("base64", "none"):
            raise ConfigError(f"{host_json.source(f'{SECTION}.messageEncoding')} must be base64 or none, "
                              f"not {encoding!r}")
        return cls(
            max_polling_interval=polling, visibility_timeout=visibility, batch_size=batch,
            new_batch_threshold=number("newBatchThreshold", batch // 2 * (os.cpu_count() or 1), 0, 2**31 - 1),
            max_dequeue_count=number("maxDequeueCount", 5, 1, 2**31 - 1), base64=encoding == "base64")


def options(context: BindingContext) -> QueueOptions:
    return QueueOptions.from_host_json(context.host_json)


def queue_name(binding: dict[str, Any], context: BindingContext) -> str:
    name = context.expand(str(binding.get("queueName") or ""))
    if not _QUEUE_NAME.match(name):
        raise ValueError(f"'{name}' is not a valid queue name: 3 to 63 lower-case letters, digits and single "
                         "hyphens, starting and ending with a letter or digit")
    return name


def check_binding(binding: dict[str, Any]) -> None:
    """Start-time check of `queueName` (after `%AppSetting%` resolution; an output's `{...}` expression is
    resolved per call, a trigger's queue name has none)."""
    raw = str(binding.get("queueName") or "")
    if "{" in raw and is_output(binding):
        return
    from durable_local.vocabulary import resolve_setting_references

    name = resolve_setting_references(raw, os.environ)
    if not _QUEUE_NAME.match(name):
        raise ValueError(f"the queue name '{name}' is not valid: 3 to 63 lower-case letters, digits and single "
                         "hyphens, starting and ending with a letter or digit")


# -- output --------------------------------------------------------------------------------------------
def messages_of(datum: WireDatum) -> list[bytes]:
    """The messages an output datum stands for (see the module docstring)."""
    kind, value = datum.get("type"), datum.get("value")
    if kind == "bytes":
        return [base64.b64decode(value or "")]
    if kind == "json":
        parsed = json.loads(str(value))
        items = parsed if isinstance(parsed, list) else [parsed]
        return [item.encode() if isinstance(item, str) else json.dumps(item).encode() for item in items]
    return [str(value).encode()]


def encode_message(body: bytes, use_base64: bool) -> str:
    """A message's content on the wire: base64 of the bytes, or the text itself (`messageEncoding: none`)."""
    return base64.b64encode(body).decode() if use_base64 else body.decode("utf-8", errors="replace")


async def write_queue_output(binding: dict[str, Any], datum: WireDatum, context: BindingContext) -> None:
    from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError

    settings = options(context)
    connection, name = connection_name(binding), queue_name(binding, context)
    queue = context.connections.queue_service(connection).get_queue_client(name)
    if (connection, "queue", name) not in context.connections.created:  # once per host run and queue
        with contextlib.suppress(ResourceExistsError):
            await queue.create_queue()
        context.connections.created.add((connection, "queue", name))
    for body in messages_of(datum):
        content = encode_message(body, settings.base64)
        try:
            await queue.send_message(content)
        except ResourceNotFoundError:  # deleted since: create it again, as AddMessageAndCreateIfNotExistsAsync
            with contextlib.suppress(ResourceExistsError):
                await queue.create_queue()
            await queue.send_message(content)


# -- trigger -------------------------------------------------------------------------------------------
def _timestamp(value: datetime | None) -> WireDatum | None:
    return None if value is None else string_datum(value.strftime("%Y-%m-%dT%H:%M:%S+00:00"))


def trigger_of(message: Any, use_base64: bool) -> tuple[BindingCall, dict[str, Any]]:
    """The invocation for one received message (`azure.storage.queue.QueueMessage`, content undecoded) and its
    binding data; `ValueError` when the content is not valid base64 under `messageEncoding: base64`."""
    content = message.content or ""
    if use_base64:
        try:
            body = base64.b64decode(content, validate=True)
        except (binascii.Error, ValueError) as error:
            raise ValueError("the message is not valid base64 (host.json extensions.queues.messageEncoding is "
                             "base64)") from error
    else:
        body = content.encode()
    try:
        text: str | None = body.decode("utf-8")
        trigger = string_datum(text or "")
    except UnicodeDecodeError:
        text, trigger = None, bytes_datum(body)
    metadata: dict[str, WireDatum | None] = {
        "Id": string_datum(message.id), "DequeueCount": {"type": "int", "value": int(message.dequeue_count or 0)},
        "ExpirationTime": _timestamp(message.expires_on), "InsertionTime": _timestamp(message.inserted_on),
        "NextVisibleTime": _timestamp(message.next_visible_on), "PopReceipt": string_datum(message.pop_receipt),
        "QueueTrigger": string_datum(text) if text is not None else None}
    present = {name: value for name, value in metadata.items() if value is not None}
    data = {name: value["value"] for name, value in present.items()}
    return BindingCall(trigger, present), data


class QueueTriggerListener:
    """Polls one queue for one function (see the module docstring)."""

    def __init__(self, info: FunctionInfo, runner: BindingRunner, context: BindingContext) -> None:
        self.info = info
        self.runner = runner
        self.options = options(context)
        self.name = queue_name(info.trigger, context)
        service = context.connections.queue_service(connection_name(info.trigger))
        self.queue = service.get_queue_client(self.name)
        self.poison = service.get_queue_client(f"{self.name}-poison")
        self._task: asyncio.Task[None] | None = None
        self._processing: set[asyncio.Task[None]] = set()
        self._room = asyncio.Event()

    def start(self) -> None:
        self._task = asyncio.create_task(self._poll(), name=f"queue trigger {self.info.name}")

    async def stop(self) -> None:
        tasks = [task for task in (self._task, *self._processing) if task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _poll(self) -> None:
        from azure.core.exceptions import AzureError, ResourceNotFoundError

        delay = MINIMUM_POLLING_INTERVAL
        while True:
            while len(self._processing) > self.options.new_batch_threshold:
                self._room.clear()
                await self._room.wait()
            try:
                batch = [message async for message in self.queue.receive_messages(
                    messages_per_page=self.options.batch_size, max_messages=self.options.batch_size,
                    visibility_timeout=LEASE_SECONDS)]
            except ResourceNotFoundError:  # the queue does not exist yet: as an empty queue
                batch = []
            except AzureError as error:
                log.warning("Polling queue '%s' for function '%s' failed: %s", self.name, self.info.name,
                            str(error).splitlines()[0] if str(error) else type(error).__name__)
                batch = []
            for message in batch:
                task = asyncio.create_task(self._process(message), name=f"queue message {message.id}")
                self._processing.add(task)
                task.add_done_callback(self._done)
            if batch:
                delay = MINIMUM_POLLING_INTERVAL
                continue  # a poll that found messages is followed by the next at once
            await asyncio.sleep(delay)
            ceiling = self.options.max_polling_interval
            delay = min(ceiling, max(MINIMUM_POLLING_INTERVAL, delay * 2) * random.uniform(0.8, 1.2))

    def _done(self, task: asyncio.Task[None]) -> None:
        self._processing.discard(task)
        self._room.set()

    async def _process(self, message: Any) -> None:
        try:
            await self._handle(message)
        except asyncio.CancelledError:
            raise
        except Exception:  # storage errors while completing: the message reappears when its lease ends
            log.exception("Completing queue message %s of '%s' failed", message.id, self.name)

    async def _handle(self, message: Any) -> None:
        limit = self.options.max_dequeue_count
        if message.dequeue_count > limit:
            await self._to_poison(message)
            return
        try:
            call, data = trigger_of(message, self.options.base64)
        except ValueError as error:
            log.error("Queue message %s of '%s' cannot be decoded: %s", message.id, self.name, error)
            await self._to_poison(message)
            return
        log.info("Executing 'Functions.%s' (Reason='New queue message detected on '%s'.', Id=%s)",
                 self.info.name, self.name, message.id)
        renewal = asyncio.create_task(self._renew(message))
        try:
            result = await self.runner.invoke(self.info.name, call, data)
            ok = result.ok
        except asyncio.CancelledError:  # the host is stopping: let the message be taken again at once
            await asyncio.shield(self._release(message))
            raise
        except Exception as error:  # the worker running it died
            log.error("Executed 'Functions.%s' (Failed): %s", self.info.name, error)
            ok = False
        finally:
            renewal.cancel()
            await asyncio.gather(renewal, return_exceptions=True)
        if ok:
            await self.queue.delete_message(message.id, message.pop_receipt)
        elif message.dequeue_count >= limit:
            await self._to_poison(message)
        else:
            await self.queue.update_message(message.id, message.pop_receipt,
                                            visibility_timeout=int(self.options.visibility_timeout))

    async def _release(self, message: Any) -> None:
        """Make a message visible again now (the host stops while its function runs); best effort: if this
        fails, the message reappears when its lease ends."""
        try:
            await asyncio.wait_for(self.queue.update_message(message.id, message.pop_receipt, visibility_timeout=0), 5)
        except Exception as error:
            log.warning("Queue message %s of '%s' stays leased until its lease ends: %s", message.id, self.name,
                        error)

    async def _renew(self, message: Any) -> None:
        """Keep the lease while the function runs (QueueListener's visibility renewal); the pop receipt changes
        with each renewal, and the message object keeps the latest."""
        while True:
            await asyncio.sleep(LEASE_SECONDS / 2)
            receipt = await self.queue.update_message(message.id, message.pop_receipt,
                                                      visibility_timeout=LEASE_SECONDS)
            message.pop_receipt = receipt.pop_receipt

    async def _to_poison(self, message: Any) -> None:
        from azure.core.exceptions import ResourceExistsError

        log.warning("Message has reached MaxDequeueCount of %d. Moving message to queue '%s'.",
                    self.options.max_dequeue_count, f"{self.name}-poison")
        with contextlib.suppress(ResourceExistsError):
            await self.poison.create_queue()
        await self.poison.send_message(message.content)
        await self.queue.delete_message(message.id, message.pop_receipt)


def _listen(info: FunctionInfo, runner: BindingRunner, context: BindingContext) -> QueueTriggerListener:
    return QueueTriggerListener(info, runner, context)


def _check_host_json(host_json: HostJson) -> None:
    QueueOptions.from_host_json(host_json)


register("queue", BindingType("queue", write=write_queue_output, check=check_binding,
                              check_host_json=_check_host_json))
register("queueTrigger", BindingType("queue", listen=_listen, check=check_binding,
                                     check_host_json=_check_host_json))
