"""Narrow interfaces the host's front modules depend on, instead of the whole `Engine`.

`Host` builds one `Engine` and passes it to the Durable HTTP API, the timer triggers and the host server; each
of them declares here only what it uses, so a module's dependencies read from its constructor and a change to
the engine's internals cannot reach them unnoticed (the `Engine` satisfies every protocol structurally; mypy
checks it where `Host` passes it in).

- `InstanceControl`: what the Durable HTTP API (and the insights endpoints beside it) needs: read instances
  and history from the store, look functions up by name, read the clock, commit new instances, send messages
  to instances and wait for one to finish.
- `TimerRuntime`: what timer triggers need: the function index, the clock, the timer status rows of the
  store, and the function runner with a way to run user code that counts as "busy" for idleness.
- `AdminRuntime`: what the host server (HTTP triggers, `/admin/functions/...`, `/admin/host/...`) needs on
  top of that: idleness, virtual-time advance and seeding commits.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from datetime import datetime
from typing import Any, Protocol

from durable_local.host.clock import Clock
from durable_local.host.history import Event
from durable_local.host.indexing import FunctionIndex
from durable_local.host.records import Commit
from durable_local.host.runners import FunctionRunner
from durable_local.host.store import Store


class FunctionCatalog(Protocol):
    """The app's indexed functions and the host's clock."""

    @property
    def index(self) -> FunctionIndex: ...

    @property
    def clock(self) -> Clock: ...


class InstanceControl(FunctionCatalog, Protocol):
    """Reading and changing orchestration and entity instances, as the Durable HTTP API does."""

    @property
    def store(self) -> Store: ...

    def commit(self, commit: Commit) -> None: ...

    def send(self, instance_id: str, message_event: Event, execution_id: str | None = None) -> None: ...

    def notify(self) -> None: ...

    async def wait_finished(self, instance_id: str, timeout: float) -> None: ...


class UserCodeRunner(FunctionCatalog, Protocol):
    """Running user code that the host starts outside orchestrations (it keeps the host from looking idle)."""

    @property
    def functions(self) -> FunctionRunner: ...

    def spawn(self, coroutine: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]: ...

    def enter_busy(self) -> None: ...

    def leave_busy(self) -> None: ...


class TimerRuntime(UserCodeRunner, Protocol):
    """What timer triggers need; the store is used only for the timers' last/next occurrence rows."""

    @property
    def store(self) -> Store: ...


class AdminRuntime(UserCodeRunner, Protocol):
    """What the host server needs: the function runner, idleness, virtual time and seeding."""

    @property
    def store(self) -> Store: ...

    def commit(self, commit: Commit) -> None: ...

    async def wait_idle(self, timeout: float = 30) -> bool: ...

    async def advance(self, seconds: float, idle_timeout: float = 60) -> datetime: ...
