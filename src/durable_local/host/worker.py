"""A worker process: imports the app and runs its functions for the host, as the Python language worker does.

Started by the host (`durable_local.host.workers.WorkerPool`) as `python -m durable_local.host.worker FD APP_DIR
TARGET`, with the durable client binding's JSON in `DURABLE_LOCAL_CLIENT_BINDING` and one end of a socket pair
as file descriptor FD. It imports the app, answers with the function index (or the import error), then serves
requests until the host closes the socket (frames: `durable_local.host.framing`):

- `o`: a batch of orchestrator replays (context JSON in, the SDK's state JSON or exception out), run inline;
- `e`: one entity batch, run inline;
- `a`: one activity; `h`: one HTTP trigger; `i`: one invocation of any other trigger (timer, queue...: a
  `BindingCall` in the header, a `BindingResult` back): each its own task (sync functions in the thread pool),
  so a slow activity never holds the others back; input and output binding datums travel in the headers
  (`in`, `out`);
- `c`: the host gave up waiting for call N (its HTTP client disconnected): cancel it if it is async.

The worker ignores Ctrl+C (the host stops it by closing the socket) and exits as soon as the host is gone.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import signal
import socket
import sys
from pathlib import Path
from typing import Any

from durable_local.host import framing
from durable_local.host.calls import EntityFailure, FunctionCalls, HttpCall
from durable_local.host.indexing import AppLoadError, FunctionIndex, load_app
from durable_local.host.storage_bindings.invocation import BindingCall

log = logging.getLogger("durable_local.worker")
CLIENT_BINDING_VARIABLE = "DURABLE_LOCAL_CLIENT_BINDING"


def describe_index(index: FunctionIndex) -> list[dict[str, Any]]:
    """The function metadata the host needs (names, triggers, bindings), without the callables."""
    return [{"name": info.name, "triggerType": info.trigger_type, "trigger": info.trigger, "bindings": info.bindings,
             "isAsync": info.is_async, "acceptsContext": info.accepts_context}
            for info in index.functions.values()]


class WorkerServer:
    """Serves one host connection; see the module docstring."""

    def __init__(self, calls: FunctionCalls, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.calls = calls
        self.reader = reader
        self.out = framing.FrameWriter(writer)
        self.tasks: dict[int, asyncio.Task[None]] = {}

    async def serve(self) -> None:
        self.out.send({"t": "ready", "pid": os.getpid(), "functions": describe_index(self.calls.index),
                       "errors": self.calls.index.errors})
        while (frame := await framing.read(self.reader)) is not None:
            header, parts = frame
            kind = header.get("t")
            if kind == "o":
                self._orchestrate(header, parts)
            elif kind == "e":
                self._entity(header, parts)
            elif kind == "c":  # the host no longer waits for this call (its HTTP client disconnected)
                if (running := self.tasks.get(header["c"])) is not None:
                    running.cancel()
            else:
                request_id = header["id"]
                task = asyncio.create_task(self._run(kind, header, parts))
                self.tasks[request_id] = task
                task.add_done_callback(functools.partial(self._forget, request_id))

    def _forget(self, request_id: int, _task: asyncio.Task[None]) -> None:
        self.tasks.pop(request_id, None)

    def _orchestrate(self, header: dict[str, Any], parts: list[bytes]) -> None:
        results: list[dict[str, str]] = []
        out: list[bytes] = []
        for name, context in zip(header["n"], parts, strict=True):
            invocation = self.calls.orchestrate(name, context.decode())
            if invocation.error is not None:
                results.append({"k": "e"})
                out += [invocation.error.encode(), (invocation.stack or "").encode()]
            elif invocation.result is None:
                results.append({"k": "n"})
                out += [b"", b""]
            else:
                results.append({"k": "r"})
                out += [str(invocation.result).encode(), b""]
        self.out.send({"id": header["id"], "r": results}, out)

    def _entity(self, header: dict[str, Any], parts: list[bytes]) -> None:
        try:
            result = self.calls.entity(header["n"], parts[0].decode())
            self.out.send({"id": header["id"], "ok": True}, [result.encode()])
        except EntityFailure as error:
            self.out.send({"id": header["id"], "ok": False}, [str(error).encode()])

    async def _run(self, kind: Any, header: dict[str, Any], parts: list[bytes]) -> None:
        request_id = header["id"]
        try:
            if kind == "a":
                outcome = await self.calls.activity(header["n"], parts[0].decode() if header.get("i") else None,
                                                    header.get("in"))
                if outcome.ok:
                    self.out.send({"id": request_id, "ok": True, "none": outcome.result is None,
                                   "out": outcome.outputs}, [(outcome.result or "").encode()])
                else:
                    self.out.send({"id": request_id, "ok": False},
                                  [(outcome.reason or "").encode(), (outcome.details or "").encode()])
            elif kind == "h":
                call = HttpCall(header["m"], header["u"], header["hd"], header["q"], header["rp"], parts[0],
                                dict(header.get("in") or {}))
                reply = await self.calls.http(header["n"], call)
                self.out.send({"id": request_id, "s": reply.status, "hd": reply.headers, "out": reply.outputs},
                              [reply.body])
            elif kind == "i":
                result = await self.calls.invoke(header["n"], BindingCall.from_json(header["c"]))
                self.out.send({"id": request_id, "r": result.to_json()})
            else:
                self.out.send({"id": request_id, "x": f"unknown request kind {kind!r}"})
        except Exception as error:  # a worker bug, not a user error (those are answered above)
            log.exception("the worker could not run a %r request", kind)
            self.out.send({"id": request_id, "x": f"{type(error).__name__}: {error}"})


async def _serve(sock: socket.socket, calls: FunctionCalls) -> None:
    reader, writer = await asyncio.open_connection(sock=sock)
    await WorkerServer(calls, reader, writer).serve()


def main(argv: list[str]) -> int:
    fd, app_dir, target = int(argv[0]), argv[1], argv[2]
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format=f"[worker {os.getpid()}] %(levelname)s %(name)s: %(message)s")
    logging.getLogger("azure").setLevel(logging.WARNING)
    sock = socket.socket(fileno=fd)
    os.chdir(app_dir)
    try:
        index = load_app(Path(app_dir), target)
    except AppLoadError as error:
        sock.sendall(framing.encode({"t": "load_error", "message": str(error)}))
        sock.close()
        return 3
    calls = FunctionCalls(index, os.environ.get(CLIENT_BINDING_VARIABLE, "{}"), app_dir)
    code = 0
    try:
        asyncio.run(_serve(sock, calls))
    except BaseException:
        log.exception("the worker stopped on an error")
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # the host is gone: do not wait for sync functions still running in threads


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
