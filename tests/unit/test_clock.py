"""The host's clocks on their own: the system clock, and the virtual clock that wakes sleepers in order."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone

from durable_local.host.clock import Clock, VirtualClock

T0 = datetime(2030, 1, 1, tzinfo=UTC)


def test_the_system_clock_is_utc_now_and_sleeps_for_real() -> None:
    clock = Clock()
    before = datetime.now(UTC)
    assert before <= clock.now() <= datetime.now(UTC) and clock.now().tzinfo is UTC
    assert not clock.virtual and clock.next_deadline() is None and clock.waking == 0

    async def nap() -> float:
        loop = asyncio.get_running_loop()
        started = loop.time()
        await clock.sleep_until(clock.now() + timedelta(milliseconds=50))
        await clock.sleep_until(clock.now() - timedelta(days=1))  # a past deadline returns at once
        return loop.time() - started

    assert 0.04 <= asyncio.run(nap()) < 5


def test_virtual_time_stands_still_and_never_goes_back() -> None:
    clock = VirtualClock(datetime(2030, 1, 1, 2, 0, tzinfo=timezone(timedelta(hours=2))))
    assert clock.virtual and clock.now() == T0 and clock.now().tzinfo is UTC
    clock.advance_to(T0 + timedelta(days=31))
    assert clock.now() == T0 + timedelta(days=31)
    clock.advance_to(T0)
    assert clock.now() == T0 + timedelta(days=31)


def test_advancing_wakes_every_due_sleeper_in_deadline_order_and_no_other() -> None:
    async def scenario() -> tuple[list[str], list[str], int, datetime | None]:
        clock = VirtualClock(T0)
        woken: list[str] = []

        async def sleeper(name: str, hours: int) -> None:
            await clock.sleep_until(T0 + timedelta(hours=hours))
            woken.append(name)

        tasks = [asyncio.create_task(sleeper(name, hours)) for name, hours in (("late", 3), ("early", 1),
                                                                                ("middle", 2), ("never", 9))]
        await asyncio.sleep(0)
        assert clock.next_deadline() == T0 + timedelta(hours=1)
        clock.advance_to(T0 + timedelta(hours=2))
        waking = clock.waking
        await asyncio.sleep(0)
        first = list(woken)
        clock.advance_to(T0 + timedelta(hours=3))
        await asyncio.sleep(0)
        pending = clock.next_deadline()
        tasks[-1].cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        assert clock.next_deadline() is None  # a cancelled sleeper is forgotten
        return first, woken, waking, pending

    first, woken, waking, pending = asyncio.run(scenario())
    assert first == ["early", "middle"] and waking == 2
    assert woken == ["early", "middle", "late"]
    assert pending == T0 + timedelta(hours=9)


def test_waking_counts_sleepers_woken_but_not_yet_resumed() -> None:
    async def scenario() -> tuple[int, int]:
        clock = VirtualClock(T0)
        task = asyncio.create_task(clock.sleep_until(T0 + timedelta(seconds=1)))
        await asyncio.sleep(0)
        clock.advance_to(T0 + timedelta(seconds=1))
        during = clock.waking
        await task
        return during, clock.waking

    assert asyncio.run(scenario()) == (1, 0)


def test_a_deadline_already_reached_does_not_sleep_on_the_virtual_clock() -> None:
    async def scenario() -> datetime | None:
        clock = VirtualClock(T0)
        await asyncio.wait_for(clock.sleep_until(T0), timeout=1)
        return clock.next_deadline()

    assert asyncio.run(scenario()) is None
