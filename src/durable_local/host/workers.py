"""The worker processes that run the app's code, and how the host talks to them, restarts them and spreads work.

As the Functions host starts `FUNCTIONS_WORKER_PROCESS_COUNT` language workers (default 1, at most 10:
azure-functions-host `WorkerProcessCountOptions.ProcessCount` / `MaxProcessCount`), the local host starts that
many `durable_local.host.worker` processes (or `--workers N`). Each imports the app once and stays up; the host
keeps HTTP, the Durable HTTP API, the store, sequencing, timers and dispatch.

- Work goes to the worker with the fewest calls in flight; a batch of orchestrator replays is split across the
  workers, one frame per worker (`durable_local.host.framing`).
- A worker that exits or is killed (`os._exit`, a signal, the OOM killer) is logged with the functions it was
  running; every call it held fails with `WorkerCrashed` (the caller redelivers the work, as the extension does:
  a worker exit is a platform error that aborts the session and forces a durable retry, azure-functions-durable-
  extension `OutOfProcMiddleware`). The worker is restarted at once, then with a growing delay (up to 10 s)
  while it keeps dying before it could answer anything; the host serves throughout.
- An app that fails to import in the first worker stops the start with the import error (`AppLoadError`).
- `languageWorkers__python__arguments` (the host setting `languageWorkers:python:arguments`, which VS Code's
  Azure Functions extension sets to attach its debugger) is put on the worker's Python command line before the
  module, e.g. `-m debugpy --listen 127.0.0.1:9091`.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import shlex
import signal
import socket
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from durable_local.host import framing
from durable_local.host.calls import ActivityOutcome, EntityFailure, HttpCall, HttpReply
from durable_local.host.indexing import AppLoadError, FunctionIndex, FunctionInfo
from durable_local.host.invoke import Invocation
from durable_local.host.runners import WorkerCrashed, timer_call
from durable_local.host.storage_bindings.invocation import BindingCall, BindingResult, WireDatum
from durable_local.host.worker import CLIENT_BINDING_VARIABLE

log = logging.getLogger(__name__)

WORKER_COUNT_SETTING = "FUNCTIONS_WORKER_PROCESS_COUNT"
DEFAULT_WORKER_COUNT = 1  # WorkerProcessCountOptions.ProcessCount
MAX_WORKER_COUNT = 10  # WorkerProcessCountOptions.MaxProcessCount
STARTUP_TIMEOUT = 60.0  # WorkerProcessCountOptions.ProcessStartupTimeout
HEALTHY_AFTER = 30.0  # a worker that lived this long resets its crash count
MAX_RESTART_DELAY = 10.0
WORKER_ARGUMENTS_SETTING = "languageWorkers__python__arguments"


def worker_count(flag: int | None) -> int:
    """`--workers N` if given, else `FUNCTIONS_WORKER_PROCESS_COUNT`, else Azure's default (1); 0 = in-process."""
    if flag is not None:
        if not 0 <= flag <= MAX_WORKER_COUNT:
            raise ValueError(f"--workers must be between 0 and {MAX_WORKER_COUNT}, not {flag}")
        return flag
    value = os.environ.get(WORKER_COUNT_SETTING, "").strip()
    if not value:
        return DEFAULT_WORKER_COUNT
    try:
        count = int(value)
    except ValueError as error:
        raise ValueError(f"{WORKER_COUNT_SETTING}={value!r} is not a number") from error
    if not 1 <= count <= MAX_WORKER_COUNT:
        raise ValueError(f"{WORKER_COUNT_SETTING} must be between 1 and {MAX_WORKER_COUNT}, not {count}")
    return count


def exit_text(returncode: int | None) -> str:
    if returncode is None:
        return "an unknown status"
    if returncode < 0:
        try:
            return f"signal {signal.Signals(-returncode).name}"
        except ValueError:
            return f"signal {-returncode}"
    return f"exit code {returncode}"


def _runs_in_a_worker(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("this function runs in a worker process, not in the host")


def index_from_metadata(functions: list[dict[str, Any]]) -> FunctionIndex:
    index = FunctionIndex()
    for item in functions:
        index.add(FunctionInfo(name=item["name"], trigger_type=item["triggerType"], trigger=item["trigger"],
                               bindings=item["bindings"], callable=_runs_in_a_worker, is_async=item["isAsync"],
                               accepts_context=item["acceptsContext"]))
    return index


@dataclass
class _Call:
    future: asyncio.Future[framing.Frame]
    description: str


@dataclass
class _Worker:
    slot: int
    process: asyncio.subprocess.Process
    writer: asyncio.StreamWriter
    out: framing.FrameWriter
    started: float = field(default_factory=time.monotonic)
    calls: dict[int, _Call] = field(default_factory=dict)
    answered: bool = False  # it has answered a call: healthy, so a later crash starts the backoff over
    reader_task: asyncio.Task[None] | None = None

    @property
    def pid(self) -> int:
        return self.process.pid


class WorkerPool:
    """Worker processes serving one app; implements `FunctionRunner` (see the module docstring)."""

    def __init__(self, app_dir: Path, target: str, client_json: str, count: int) -> None:
        self.app_dir = app_dir
        self.target = target
        self.client_json = client_json
        self.count = count
        self.index = FunctionIndex()
        self.restarts = 0
        self._alive: list[_Worker] = []
        self._available = asyncio.Event()
        self._ids = itertools.count(1)
        self._turn = itertools.count()
        self._crashes: dict[int, int] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._stopping = False

    @property
    def pids(self) -> list[int]:
        return [worker.pid for worker in self._alive]

    # -- lifecycle -------------------------------------------------------------------------------------
    async def start(self) -> None:
        started = await asyncio.gather(*(self._spawn(slot) for slot in range(self.count)), return_exceptions=True)
        failure = next((result for result in started if isinstance(result, BaseException)), None)
        if failure is not None:
            await self.stop()
            raise failure
        log.info("started %d worker process(es): %s", self.count, ", ".join(map(str, self.pids)))

    async def stop(self) -> None:
        self._stopping = True
        for task in list(self._tasks):
            task.cancel()
        workers, self._alive = list(self._alive), []
        for worker in workers:
            worker.writer.close()  # the worker exits when its socket closes
        for worker in workers:
            try:
                await asyncio.wait_for(worker.process.wait(), 5)
            except TimeoutError:
                worker.process.kill()
                await worker.process.wait()
            if worker.reader_task:
                worker.reader_task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _spawn(self, slot: int) -> _Worker:
        parent, child = socket.socketpair()
        try:
            process = await asyncio.create_subprocess_exec(
                sys.executable, *shlex.split(os.environ.get(WORKER_ARGUMENTS_SETTING, "")),
                "-m", "durable_local.host.worker", str(child.fileno()), str(self.app_dir),
                self.target, pass_fds=(child.fileno(),), cwd=self.app_dir,
                env={**os.environ, CLIENT_BINDING_VARIABLE: self.client_json})
        finally:
            child.close()
        reader, writer = await asyncio.open_connection(sock=parent, limit=2**20)
        try:
            frame = await asyncio.wait_for(framing.read(reader), STARTUP_TIMEOUT)
        except TimeoutError:
            process.kill()
            frame = None
        if frame is None or frame[0].get("t") != "ready":
            writer.close()
            returncode = await process.wait()
            if frame is not None and frame[0].get("t") == "load_error":
                raise AppLoadError(str(frame[0].get("message")))
            raise AppLoadError(f"The worker process exited with {exit_text(returncode)} before it loaded the app.")
        if not self.index.functions:
            self.index = index_from_metadata(frame[0]["functions"])
            self.index.errors = dict(frame[0].get("errors") or {})
        worker = _Worker(slot, process, writer, framing.FrameWriter(writer))
        worker.reader_task = asyncio.create_task(self._read(worker, reader), name=f"worker {process.pid}")
        self._alive.append(worker)
        self._available.set()
        return worker

    async def _read(self, worker: _Worker, reader: asyncio.StreamReader) -> None:
        while (frame := await framing.read(reader)) is not None:
            worker.answered = True
            call = worker.calls.pop(frame[0].get("id", -1), None)
            if call is not None and not call.future.done():
                call.future.set_result(frame)
        await self._lost(worker)

    async def _lost(self, worker: _Worker) -> None:
        if worker in self._alive:
            self._alive.remove(worker)
        if not self._alive:
            self._available.clear()
        worker.writer.close()
        returncode = await worker.process.wait()
        if self._stopping:
            return
        running = sorted({call.description for call in worker.calls.values()})
        how = exit_text(returncode)
        log.error("Worker process %d exited with %s while running %s; restarting it", worker.pid, how,
                  ", ".join(running) if running else "nothing")
        calls, worker.calls = worker.calls, {}
        for call in calls.values():
            if not call.future.done():
                call.future.set_exception(WorkerCrashed(f"the worker process {worker.pid} running it exited "
                                                        f"with {how}"))
        lived = time.monotonic() - worker.started
        crashes = 1 if lived > HEALTHY_AFTER or worker.answered else self._crashes.get(worker.slot, 0) + 1
        self._crashes[worker.slot] = crashes
        task = asyncio.create_task(self._restart(worker.slot, crashes), name=f"restart worker {worker.slot}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _restart(self, slot: int, crashes: int) -> None:
        while not self._stopping:
            delay = 0.0 if crashes <= 1 else min(0.25 * 2 ** (crashes - 2), MAX_RESTART_DELAY)
            if delay:
                log.warning("worker slot %d crashed %d times in a row; restarting it in %.2fs", slot, crashes, delay)
                await asyncio.sleep(delay)
            try:
                worker = await self._spawn(slot)
                self.restarts += 1
                log.info("worker process %d started (slot %d)", worker.pid, slot)
                return
            except (AppLoadError, OSError) as error:
                log.error("the worker process could not be restarted: %s", error)
                crashes += 1

    # -- calls -----------------------------------------------------------------------------------------
    async def _pick(self) -> _Worker:
        while not self._alive:
            if self._stopping:
                raise WorkerCrashed("the host is stopping")
            await self._available.wait()
        turn = next(self._turn)
        count = len(self._alive)
        ordered = [self._alive[(turn + i) % count] for i in range(count)]
        return min(ordered, key=lambda worker: len(worker.calls))

    async def _call(self, header: dict[str, Any], parts: list[bytes], description: str,
                    worker: _Worker | None = None) -> framing.Frame:
        target = worker or await self._pick()
        if target not in self._alive:
            raise WorkerCrashed(f"the worker process {target.pid} exited before the call was sent")
        call_id = next(self._ids)
        future: asyncio.Future[framing.Frame] = asyncio.get_running_loop().create_future()
        target.calls[call_id] = _Call(future, description)
        header["id"] = call_id
        target.out.send(header, parts)
        try:
            reply = await future
        except asyncio.CancelledError:  # e.g. the HTTP client went away: cancel it in the worker too
            if target.calls.pop(call_id, None) is not None and target in self._alive:
                target.out.send({"t": "c", "c": call_id})
            raise
        if "x" in reply[0]:
            raise RuntimeError(f"the worker failed: {reply[0]['x']}")
        return reply

    async def orchestrate(self, calls: list[tuple[str, str]]) -> list[Invocation | WorkerCrashed]:
        if not calls:
            return []
        await self._pick()  # wait for a worker
        workers = list(self._alive)
        size = -(-len(calls) // len(workers))
        chunks = [calls[start:start + size] for start in range(0, len(calls), size)]
        replies = await asyncio.gather(
            *(self._call({"t": "o", "n": [name for name, _ in chunk]}, [context.encode() for _, context in chunk],
                         f"orchestrator {', '.join(sorted({name for name, _ in chunk}))}", worker)
              for chunk, worker in zip(chunks, workers, strict=False)),
            return_exceptions=True)
        results: list[Invocation | WorkerCrashed] = []
        for chunk, reply in zip(chunks, replies, strict=True):
            if isinstance(reply, WorkerCrashed):
                results += [reply] * len(chunk)
                continue
            if isinstance(reply, BaseException):
                raise reply
            header, parts = reply
            for position, item in enumerate(header["r"]):
                first, second = parts[2 * position], parts[2 * position + 1]
                if item["k"] == "e":
                    results.append(Invocation(error=first.decode(), stack=second.decode()))
                else:
                    results.append(Invocation(result=first.decode() if item["k"] == "r" else None))
        return results

    async def entity(self, name: str, batch_json: str) -> str:
        header, parts = await self._call({"t": "e", "n": name}, [batch_json.encode()], f"entity {name}")
        if not header.get("ok"):
            raise EntityFailure(parts[0].decode())
        return parts[0].decode()

    async def activity(self, name: str, input_text: str | None, description: str,
                       inputs: dict[str, WireDatum] | None = None) -> ActivityOutcome:
        header, parts = await self._call({"t": "a", "n": name, "i": input_text is not None, "in": inputs or {}},
                                         [(input_text or "").encode()], description)
        if header.get("ok"):
            return ActivityOutcome(True, result=None if header.get("none") else parts[0].decode(),
                                   outputs=dict(header.get("out") or {}))
        return ActivityOutcome(False, reason=parts[0].decode(), details=parts[1].decode())

    async def http(self, name: str, call: HttpCall) -> HttpReply:
        header, parts = await self._call(
            {"t": "h", "n": name, "m": call.method, "u": call.url, "hd": call.headers, "q": call.params,
             "rp": call.route_params, "in": call.inputs}, [call.body], f"Functions.{name} (HTTP)")
        return HttpReply(int(header["s"]), [(str(k), str(v)) for k, v in header["hd"]], parts[0],
                         dict(header.get("out") or {}))

    async def invoke(self, name: str, call: BindingCall) -> BindingResult:
        header, _ = await self._call({"t": "i", "n": name, "c": call.to_json()}, [], f"Functions.{name}")
        return BindingResult.from_json(header["r"])

    async def timer(self, name: str, past_due: bool, schedule_status: dict[str, str | None]) -> bool:
        return (await self.invoke(name, timer_call(past_due, schedule_status))).ok
