"""The blob trigger (`blobTrigger`, path `container/{name}...`): a host-side polling listener with blob receipts.

Followed: azure-webjobs-sdk's blob trigger (Microsoft.Azure.WebJobs.Extensions.Storage.Blobs, `Listeners/`):

- **Detection**: the SDK's classic strategy (`ScanBlobScanLogHybridPollingStrategy`) combines storage analytics
  logs with a container scan and hands each detected blob to its host queue, polled at the queues'
  `maxPollingInterval`. The local host has no analytics logs: it lists the container (by the pattern's literal
  prefix) on each scan, and scans at host.json `extensions.queues.maxPollingInterval` (at most every 10 s). The
  blob's path must match the trigger's pattern (`expressions.match`, the SDK's `BlobPath`/`BindingTemplateSource`
  capture); the captured `{name}`s join the binding data of the other bindings. Event Grid (`source="EventGrid"`)
  is not supported and lists the function in error.
- **Receipts, so a blob fires once per ETag** (`BlobReceiptManager`): kept in Azure Storage as the SDK keeps
  them, in container `azure-webjobs-hosts`, blob `blobreceipts/{hostId}/{functionId}/{eTag}/{container}/{blob}`
  (the ETag before the blob name because blob names can contain slashes; `functionId` is `Host.Functions.<name>`;
  `hostId` is app setting `AzureFunctionsWebHost__hostid` if set, else the machine name, lower-cased, at most 32
  characters, as the Functions host derives it). A receipt is created incomplete (metadata `IncompleteReceipt`)
  before the call and completed after success: a blob whose receipt is complete is skipped; an overwritten blob
  has a new ETag, so no receipt, and fires again. A host killed mid-call leaves the receipt incomplete: the blob
  fires again at the next start (at least once).
- **Retries and poison** (`BlobTriggerExecutor`, `BlobQueueTriggerExecutor`, `HostQueueNames`): a failed call is
  retried at the next scans; after host.json `extensions.blobs.poisonBlobThreshold` (default 5) failed attempts,
  a message `{"Type": "BlobTrigger", "FunctionId", "BlobType", "ContainerName", "BlobName", "ETag"}` goes to queue
  `webjobs-blobtrigger-poison` and the receipt is completed (the blob does not fire again until it changes). The
  attempt count is kept in the receipt's metadata (`DequeueCount`), so it survives a restart.
- `POST /admin/functions/{name}` with `{"input": "container/blob"}` runs the function once on that blob (as
  the Functions host's admin invocation takes the blob path), without receipts.
- The function gets a `func.InputStream` (azure.functions' `BlobConverter`) with the trigger metadata the host
  sends: `BlobTrigger` (`container/blob`), `Uri`, `Properties` (`ContentLength`, `Length`, `ETag`...),
  `Metadata`.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import os
import re
import socket
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from durable_local.host.config import ConfigError
from durable_local.host.host_json import HostJson, HostJsonError
from durable_local.host.indexing import FunctionInfo
from durable_local.host.storage_bindings import expressions
from durable_local.host.storage_bindings.connections import connection_name
from durable_local.host.storage_bindings.invocation import BindingCall, WireDatum, bytes_datum, string_datum
from durable_local.host.storage_bindings.registry import BindingContext, BindingType, register
from durable_local.vocabulary import resolve_setting_references

if TYPE_CHECKING:
    from durable_local.host.storage_bindings.runner import BindingRunner

log = logging.getLogger(__name__)

HOSTS_CONTAINER = "azure-webjobs-hosts"
RECEIPTS_DIRECTORY = "blobreceipts"
POISON_QUEUE = "webjobs-blobtrigger-poison"
INCOMPLETE = "IncompleteReceipt"
ATTEMPTS = "DequeueCount"
MAX_SCAN_INTERVAL = 10.0


def host_id(environ: dict[str, str] | None = None) -> str:
    """The host id receipts are kept under (see the module docstring)."""
    env = os.environ if environ is None else environ
    configured = env.get("AzureFunctionsWebHost__hostid") or env.get("AzureFunctionsWebHost__hostId")
    raw = configured or socket.gethostname()
    cleaned = re.sub(r"[^a-z0-9-]", "", raw.lower()).strip("-")
    return (cleaned or "localhost")[:32].rstrip("-")


def poison_threshold(host_json: HostJson) -> int:
    try:
        value = host_json.integer("extensions.blobs.poisonBlobThreshold", 5)
    except HostJsonError as error:
        raise ConfigError(str(error)) from error
    if value < 1:
        raise ConfigError(f"{host_json.source('extensions.blobs.poisonBlobThreshold')} must be at least 1")
    return value


def scan_interval(host_json: HostJson) -> float:
    try:
        value = host_json.timespan("extensions.queues.maxPollingInterval", None)
    except HostJsonError as error:
        raise ConfigError(str(error)) from error
    return min(MAX_SCAN_INTERVAL, max(0.1, (value or timedelta(seconds=MAX_SCAN_INTERVAL)).total_seconds()))


def check_binding(binding: dict[str, Any]) -> None:
    """Start-time check: a `container/pattern` path whose expressions are plain names; no Event Grid source."""
    source = binding.get("source")
    source_name = str(getattr(source, "value", source) or "")
    if source_name and source_name.lower() != "logsandcontainerscan":
        raise ValueError(f"the blob trigger source '{source_name}' is not supported by the local host (it polls: "
                         "LogsAndContainerScan)")
    path = resolve_setting_references(str(binding.get("path") or ""), os.environ)  # a missing %Setting% is an error
    container, _, pattern = path.strip("/").partition("/")
    if not container or not pattern or "{" in container:
        raise ValueError(f"the blob trigger path '{path}' must be 'container/blob-pattern' with a fixed container")
    expressions.match(pattern, "")  # raises on a malformed pattern or dotted names


class BlobTriggerListener:
    """Scans one container for one function (see the module docstring)."""

    def __init__(self, info: FunctionInfo, runner: BindingRunner, context: BindingContext) -> None:
        self.info = info
        self.runner = runner
        resolved = resolve_setting_references(str(info.trigger.get("path") or ""), os.environ)
        self.container, _, self.pattern = resolved.strip("/").partition("/")
        self.prefix = self.pattern.split("{", 1)[0]
        self.threshold = poison_threshold(context.host_json)
        self.interval = scan_interval(context.host_json)
        self.function_id = f"Host.Functions.{info.name}"
        self.host_id = host_id()
        self.service = context.connections.blob_service(connection_name(info.trigger))
        self.queue_service = context.connections.queue_service(connection_name(info.trigger))
        self.text = str(getattr(info.trigger.get("dataType"), "name", info.trigger.get("dataType")) or "") \
            .lower() == "string"
        self._task: asyncio.Task[None] | None = None
        self._running: dict[tuple[str, str], asyncio.Task[None]] = {}

    def start(self) -> None:
        self._task = asyncio.create_task(self._poll(), name=f"blob trigger {self.info.name}")

    async def stop(self) -> None:
        tasks = [task for task in (self._task, *self._running.values()) if task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _poll(self) -> None:
        from azure.core.exceptions import AzureError, ResourceNotFoundError

        while True:
            try:
                await self.scan()
            except ResourceNotFoundError:  # no container yet
                pass
            except AzureError as error:
                log.warning("Scanning container '%s' for function '%s' failed: %s", self.container, self.info.name,
                            str(error).splitlines()[0] if str(error) else type(error).__name__)
            await asyncio.sleep(self.interval)

    async def scan(self) -> None:
        """One pass over the container: start a call for each matching blob without a complete receipt."""
        container = self.service.get_container_client(self.container)
        async for blob in container.list_blobs(name_starts_with=self.prefix or None):
            captured = expressions.match(self.pattern, blob.name)
            if captured is None:
                continue
            key = (blob.name, blob.etag)
            if key in self._running:
                continue
            receipt = self._receipt(blob.name, blob.etag)
            properties = await _properties_or_none(receipt)
            if properties is not None and INCOMPLETE not in properties.metadata:
                continue
            attempts = int((properties.metadata if properties is not None else {}).get(ATTEMPTS, "0"))
            task = asyncio.create_task(self._fire(blob, captured, receipt, attempts),
                                       name=f"blob {self.container}/{blob.name}")
            self._running[key] = task
            task.add_done_callback(self._forget(key))

    def _forget(self, key: tuple[str, str]) -> Any:
        def done(_task: asyncio.Task[None]) -> None:
            self._running.pop(key, None)
        return done

    def _receipt(self, name: str, etag: str) -> Any:
        tag = etag.strip('"')
        path = f"{RECEIPTS_DIRECTORY}/{self.host_id}/{self.function_id}/{tag}/{self.container}/{name}"
        return self.service.get_blob_client(HOSTS_CONTAINER, path)

    async def _mark(self, receipt: Any, attempts: int, complete: bool) -> None:
        from azure.core.exceptions import ResourceExistsError

        with contextlib.suppress(ResourceExistsError):
            await self.service.get_container_client(HOSTS_CONTAINER).create_container()
        metadata = {ATTEMPTS: str(attempts)}
        if not complete:
            metadata[INCOMPLETE] = "TRUE"
        await receipt.upload_blob(b"", overwrite=True, metadata=metadata)

    async def _fire(self, blob: Any, captured: dict[str, str], receipt: Any, attempts: int) -> None:
        try:
            await self._handle(blob, captured, receipt, attempts)
        except asyncio.CancelledError:
            raise
        except Exception:  # storage errors: the blob is tried again at the next scan
            log.exception("Processing blob '%s/%s' for function '%s' failed", self.container, blob.name,
                          self.info.name)

    async def _handle(self, blob: Any, captured: dict[str, str], receipt: Any, attempts: int) -> None:
        from azure.core.exceptions import ResourceNotFoundError

        if attempts >= self.threshold:
            await self._to_poison(blob, receipt, attempts)
            return
        await self._mark(receipt, attempts, complete=False)
        client = self.service.get_blob_client(self.container, blob.name)
        try:
            download = await client.download_blob(etag=blob.etag, match_condition=_if_match())
            content: bytes = await download.readall()
        except ResourceNotFoundError:  # deleted since the listing
            await receipt.delete_blob()
            return
        call, data = self.trigger_of(client.url, blob, download.properties, content, captured)
        log.info("Executing 'Functions.%s' (Reason='New blob detected(%s): %s/%s', Id=%s)", self.info.name,
                 "LogsAndContainerScan", self.container, blob.name, blob.etag)
        try:
            ok = (await self.runner.invoke(self.info.name, call, data)).ok
        except asyncio.CancelledError:
            raise
        except Exception as error:  # the worker running it died
            log.error("Executed 'Functions.%s' (Failed): %s", self.info.name, error)
            ok = False
        attempts += 1
        if ok:
            await self._mark(receipt, attempts, complete=True)
        elif attempts >= self.threshold:
            await self._to_poison(blob, receipt, attempts)
        else:
            await self._mark(receipt, attempts, complete=False)

    def trigger_of(self, uri: str, blob: Any, properties: Any, content: bytes,
                   captured: dict[str, str]) -> tuple[BindingCall, dict[str, Any]]:
        """The invocation for one blob and its binding data (captured names, `BlobTrigger`, `Uri`)."""
        path = f"{self.container}/{blob.name}"
        trigger: WireDatum = string_datum(content.decode("utf-8", errors="replace")) if self.text \
            else bytes_datum(content)
        blob_properties = {"ContentLength": len(content), "Length": len(content), "ETag": blob.etag,
                           "ContentType": getattr(properties.content_settings, "content_type", None),
                           "LastModified": properties.last_modified.isoformat() if properties.last_modified
                           else None, "BlobType": "BlockBlob"}
        metadata = {"BlobTrigger": string_datum(path), "Uri": string_datum(uri),
                    "Properties": {"type": "json", "value": json.dumps(blob_properties)},
                    "Metadata": {"type": "json", "value": json.dumps(dict(properties.metadata or {}))}}
        data = {**captured, "BlobTrigger": path, "Uri": uri}
        return BindingCall(trigger, metadata), data

    async def _to_poison(self, blob: Any, receipt: Any, attempts: int) -> None:
        from azure.core.exceptions import ResourceExistsError

        log.error("Blob '%s/%s' will be skipped for function '%s' because this blob with ETag '%s' has failed "
                  "the maximum number of times (%d); a message goes to queue '%s'.", self.container, blob.name,
                  self.info.name, blob.etag, self.threshold, POISON_QUEUE)
        queue = self.queue_service.get_queue_client(POISON_QUEUE)
        with contextlib.suppress(ResourceExistsError):
            await queue.create_queue()
        message = {"Type": "BlobTrigger", "FunctionId": self.function_id, "BlobType": "BlockBlob",
                   "ContainerName": self.container, "BlobName": blob.name, "ETag": blob.etag}
        await queue.send_message(base64.b64encode(json.dumps(message).encode()).decode())
        await self._mark(receipt, attempts, complete=True)


async def _properties_or_none(client: Any) -> Any:
    from azure.core.exceptions import ResourceNotFoundError

    try:
        return await client.get_blob_properties()
    except ResourceNotFoundError:
        return None


def _if_match() -> Any:
    from azure.core import MatchConditions

    return MatchConditions.IfNotModified


def _listen(info: FunctionInfo, runner: BindingRunner, context: BindingContext) -> BlobTriggerListener:
    return BlobTriggerListener(info, runner, context)


def _check_host_json(host_json: HostJson) -> None:
    poison_threshold(host_json)
    scan_interval(host_json)


register("blobTrigger", BindingType("blob", listen=_listen, check=check_binding, check_host_json=_check_host_json))


def by_hand_problem(info: FunctionInfo, text: Any) -> str | None:
    """Why `POST /admin/functions/{name}` cannot run blob-triggered `info` with input `text` (the blob's path
    `container/blob`, as the Functions host takes it), or None."""
    if not isinstance(text, str) or not text.strip("/"):
        return "A blob-triggered function needs the blob's path (container/blob) in 'input'."
    path = resolve_setting_references(str(info.trigger.get("path") or ""), os.environ)
    container, _, pattern = path.strip("/").partition("/")
    given_container, _, blob = text.strip("/").partition("/")
    if given_container != container or expressions.match(pattern, blob) is None:
        return f"The blob '{text}' does not match the trigger path '{path}' of function '{info.name}'."
    return None


async def run_by_hand(functions: Any, info: FunctionInfo, text: str) -> bool:
    """Run a blob-triggered function once on blob `text` (checked by `by_hand_problem`), through its listener,
    without receipts (a run by hand does not stop the blob from firing); False when the blob does not exist."""
    from azure.core.exceptions import ResourceNotFoundError

    listener = next((item for item in getattr(functions, "listeners", [])
                     if isinstance(item, BlobTriggerListener) and item.info.name == info.name), None)
    if listener is None:
        log.error("Function '%s' has no running blob trigger listener", info.name)
        return False
    blob_name = text.strip("/").partition("/")[2]
    captured = expressions.match(listener.pattern, blob_name) or {}
    client = listener.service.get_blob_client(listener.container, blob_name)
    try:
        download = await client.download_blob()
        content: bytes = await download.readall()
    except ResourceNotFoundError:
        log.error("Executed 'Functions.%s' (Failed): the blob '%s' does not exist", info.name, text)
        return False
    call, data = listener.trigger_of(client.url, download.properties, download.properties, content, captured)
    return (await listener.runner.invoke(info.name, call, data)).ok
