"""The host's time: the system clock, or a virtual clock that tests move forward.

Everything time-driven in the host (durable timers, retry delays, timer triggers, instance timestamps)
reads `now()` and waits with `sleep_until()`. With `VirtualClock`, time stands still until `advance_to()`;
sleepers whose deadline has come are then woken in deadline order, so a test can "advance 31 days" and see
every daily timer fire once per simulated day.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from datetime import UTC, datetime


class Clock:
    """The system clock."""

    virtual = False

    def now(self) -> datetime:
        return datetime.now(UTC)

    async def sleep_until(self, deadline: datetime) -> None:
        delay = (deadline - self.now()).total_seconds()
        if delay > 0:
            await asyncio.sleep(delay)

    def next_deadline(self) -> datetime | None:
        return None

    @property
    def waking(self) -> int:
        """Sleepers woken but not yet resumed (always 0 on the system clock)."""
        return 0


class VirtualClock(Clock):
    """A clock that moves only when told to; see the module docstring."""

    virtual = True

    def __init__(self, start: datetime | None = None) -> None:
        self._now = (start or datetime.now(UTC)).astimezone(UTC)
        self._sleepers: list[tuple[datetime, int, asyncio.Future[None]]] = []
        self._order = itertools.count()
        self._waking = 0

    @property
    def waking(self) -> int:
        return self._waking

    def now(self) -> datetime:
        return self._now

    async def sleep_until(self, deadline: datetime) -> None:
        if deadline <= self._now:
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (deadline, next(self._order), future))
        try:
            await future
        finally:
            if future.done() and not future.cancelled():
                self._waking -= 1

    def next_deadline(self) -> datetime | None:
        while self._sleepers and self._sleepers[0][2].done():  # cancelled sleepers
            heapq.heappop(self._sleepers)
        return self._sleepers[0][0] if self._sleepers else None

    def advance_to(self, moment: datetime) -> None:
        """Set the time (never backwards) and wake every sleeper whose deadline has come."""
        self._now = max(self._now, moment)
        while self._sleepers and self._sleepers[0][0] <= self._now:
            _, _, future = heapq.heappop(self._sleepers)
            if not future.done():
                future.set_result(None)
                self._waking += 1
