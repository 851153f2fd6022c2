"""The host's engine: runs orchestration episodes and activities of one task hub, event-driven.

- One orchestration loop on the event loop: it reads the instances with visible inbox messages, runs their
  episodes (the SDK replay is CPU-bound, so running it inline is fastest), and writes all their commits in
  one SQLite transaction (group commit). When nothing is ready it sleeps until a wake-up (a new message)
  or the next timer's due time; there is no fixed polling interval.
- Activities run concurrently: sync ones in a thread pool, async ones on the loop. Their results are
  batched into one transaction per loop turn, each deleting the work item and queueing the completion.
- `commit()` is the single write path for everything else too (the HTTP API's starts, raises, terminates).
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

from durable_local.host import invoke
from durable_local.host.clock import Clock, VirtualClock
from durable_local.host.entities import run_entity
from durable_local.host.episodes import EpisodeRunner, host_failure
from durable_local.host.history import Event, EventType, event, from_micros, to_micros
from durable_local.host.http_activity import run_http_activity
from durable_local.host.indexing import FunctionIndex
from durable_local.host.records import Commit, Message, WorkItem
from durable_local.host.sequencer import HTTP_ACTIVITY
from durable_local.host.store import Store
from durable_local.vocabulary import function_not_found

log = logging.getLogger(__name__)
FLUSH_RETRY_SECONDS = 1.0

EPISODE_BATCH = 128
VIRTUAL_TIME_KEY = "virtual_clock"
LEASE = timedelta(minutes=5)


class Engine:
    """See the module docstring. Every method runs on the host's event loop thread."""

    def __init__(self, store: Store, index: FunctionIndex, clock: Clock, client_json: Callable[[], str],
                 app_dir: str, max_activity_threads: int = 32) -> None:
        self.store = store
        self.index = index
        self.clock = clock
        self.client_json = client_json
        self.app_dir = app_dir
        self.owner = uuid.uuid4().hex
        self.executor = ThreadPoolExecutor(max_workers=max_activity_threads, thread_name_prefix="function")
        self.runner = EpisodeRunner(self._invoke_orchestrator, index.resolve, index.known, store.get_instance)
        self._wakeup = asyncio.Event()
        self._waiting = False
        self._running_activities = 0
        self._busy = 0  # other user code the host started (timer triggers, admin invocations)
        self._completions: list[tuple[WorkItem, Event]] = []
        self._flush_scheduled = False
        self._finished_waiters: dict[str, list[asyncio.Future[None]]] = {}
        self._loop_task: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    # -- lifecycle -------------------------------------------------------------------------------------
    async def start(self) -> None:
        unfinished = self.store.lease_all_work(self.owner, to_micros(self.clock.now() + LEASE))
        if unfinished:
            log.info("re-running %d activity work item(s) left unfinished by a previous host", len(unfinished))
        self._dispatch(unfinished)
        self._loop_task = asyncio.create_task(self._orchestration_loop(), name="orchestrations")

    async def stop(self) -> None:
        if self._loop_task:
            self._loop_task.cancel()
            await asyncio.gather(self._loop_task, return_exceptions=True)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._flush()
        self.executor.shutdown(wait=False, cancel_futures=True)

    def spawn(self, coroutine: Any, name: str) -> asyncio.Task[Any]:
        task = asyncio.create_task(coroutine, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # -- writing ---------------------------------------------------------------------------------------
    def commit(self, commit: Commit) -> None:
        """Write a commit, start the activities it schedules and wake the orchestration loop."""
        if commit.is_empty():
            return
        work = self.store.apply(commit, self.owner)
        self._dispatch(work)
        if commit.messages:
            self._wakeup.set()
        if self._finished_waiters:
            for instance in commit.instances:
                if instance.runtime_status.is_terminal:
                    for waiter in self._finished_waiters.pop(instance.instance_id, []):
                        if not waiter.done():
                            waiter.set_result(None)

    async def wait_finished(self, instance_id: str, timeout: float) -> None:
        """Wait (up to `timeout` seconds) until a commit records the instance as finished."""
        waiter = asyncio.get_running_loop().create_future()
        self._finished_waiters.setdefault(instance_id, []).append(waiter)
        try:
            await asyncio.wait_for(waiter, timeout)
        except TimeoutError:
            pass
        finally:
            waiters = self._finished_waiters.get(instance_id, [])
            if waiter in waiters:
                waiters.remove(waiter)
            if not waiters:
                self._finished_waiters.pop(instance_id, None)

    def notify(self) -> None:
        """Wake the orchestration loop: new messages may be ready."""
        self._wakeup.set()

    def send(self, instance_id: str, message_event: Event, execution_id: str | None = None) -> None:
        """Queue one event for an instance (raise event, terminate, suspend, resume...)."""
        self.commit(Commit(messages=[Message(instance_id, message_event, to_micros(self.clock.now()),
                                             execution_id)]))

    # -- orchestrations --------------------------------------------------------------------------------
    async def _orchestration_loop(self) -> None:
        while True:
            self._wakeup.clear()
            now = self.clock.now()
            ready = self.store.ready_instances(to_micros(now), EPISODE_BATCH)
            if ready:
                try:
                    self._run_episodes(ready, now)
                except Exception:  # a store failure: log, back off, retry; never kill the loop
                    log.exception("orchestration dispatch failed; retrying")
                    await asyncio.sleep(0.5)
                await asyncio.sleep(0)  # let HTTP requests and activity results in
                continue
            due = self.store.next_visible_after(to_micros(now))
            self._waiting = True
            try:
                await self._sleep(from_micros(due) if due is not None else None)
            finally:
                self._waiting = False

    async def _sleep(self, deadline: datetime | None) -> None:
        wakeup = asyncio.ensure_future(self._wakeup.wait())
        waits: set[asyncio.Future[Any]] = {wakeup}
        if deadline is not None:
            waits.add(asyncio.ensure_future(self.clock.sleep_until(deadline)))
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waits:
                waiter.cancel()

    def _run_episodes(self, instance_ids: list[str], now: datetime) -> None:
        commit = Commit()
        now_micros = to_micros(now)
        for instance_id in instance_ids:
            instance = self.store.get_instance(instance_id)
            messages = self.store.messages(instance_id, now_micros)
            try:
                if instance_id.startswith("@"):
                    commit.merge(run_entity(instance_id, instance, messages, now, self._invoke_entity))
                else:
                    history = self.store.history(instance_id) if instance else []
                    commit.merge(self.runner.run(instance, history, messages, now))
            except Exception as error:  # a host bug must not block the batch forever: fail this one instance
                log.exception("the episode of %s failed inside the host", instance_id)
                commit.merge(host_failure(instance, messages, now, error))
        self.commit(commit)

    def _invoke_entity(self, name: str, batch_json: str) -> str:
        info = self.index.lookup("entity", name)
        if info is None:
            raise LookupError(function_not_found(name, "entity", self.index.known("entity")))
        return info.callable(**{info.trigger["name"]: batch_json})

    def _invoke_orchestrator(self, name: str, context_json: str) -> invoke.Invocation:
        info = self.index.lookup("orchestrator", name)
        if info is None:
            known = self.index.known("orchestrator")
            return invoke.Invocation(error=function_not_found(name, "orchestrator", known))
        return invoke.call_orchestrator(info, context_json)

    # -- activities ------------------------------------------------------------------------------------
    def _dispatch(self, items: list[WorkItem]) -> None:
        for item in items:
            self._running_activities += 1
            self.spawn(self._run_activity(item), name=f"activity {item.name}")

    async def _run_activity(self, item: WorkItem) -> None:
        try:
            outcome = await self._execute_activity(item)
        except asyncio.CancelledError:
            self._running_activities -= 1
            raise
        self._completions.append((item, outcome))
        self._running_activities -= 1
        if not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)

    async def _execute_activity(self, item: WorkItem) -> Event:
        try:
            if item.name == HTTP_ACTIVITY:
                result = await run_http_activity(item.input)
                return event(EventType.TaskCompleted, self.clock.now(), TaskScheduledId=item.sequence_id,
                             Result=result)
            info = self.index.lookup("activity", item.name)
            if info is None:
                raise LookupError(function_not_found(item.name, "activity", self.index.known("activity")))
            value = invoke.decode_activity_input(item.input)
            kwargs = invoke.arguments(info, value, self.client_json, self.app_dir)
            result_value = await invoke.call(info, kwargs, self.executor)
            encoded = invoke.encode_activity_result(result_value)
            return event(EventType.TaskCompleted, self.clock.now(), TaskScheduledId=item.sequence_id,
                         Result=encoded)
        except asyncio.CancelledError:
            raise
        except Exception as error:
            reason, details = invoke.activity_failure(item.name, error)
            log.warning("%s", reason)
            return event(EventType.TaskFailed, self.clock.now(), TaskScheduledId=item.sequence_id,
                         Reason=reason, Details=details)

    def _flush(self) -> None:
        self._flush_scheduled = False
        if not self._completions:
            return
        done, self._completions = self._completions, []
        now = to_micros(self.clock.now())
        commit = Commit(completed_work=[item.id for item, _ in done if item.id is not None],
                        messages=[Message(item.instance_id, outcome, now, item.execution_id)
                                  for item, outcome in done])
        try:
            self.commit(commit)
        except Exception:  # e.g. SQLITE_FULL: keep the results and retry, so the instances continue
            log.exception("could not record %d activity result(s); retrying in %g s", len(done), FLUSH_RETRY_SECONDS)
            self._completions = done + self._completions
            self._flush_scheduled = True
            asyncio.get_running_loop().call_later(FLUSH_RETRY_SECONDS, self._flush)

    # -- user code the host starts outside orchestrations ----------------------------------------------
    def enter_busy(self) -> None:
        self._busy += 1

    def leave_busy(self) -> None:
        self._busy -= 1

    # -- idleness and virtual time ---------------------------------------------------------------------
    def is_idle(self) -> bool:
        return (self._waiting and not self._wakeup.is_set() and self._running_activities == 0
                and not self._completions and self._busy == 0 and self.clock.waking == 0
                and not self.store.has_ready_messages(to_micros(self.clock.now())))

    async def wait_idle(self, timeout: float = 30) -> bool:
        """Wait until nothing is runnable now; True if idle, False on timeout."""
        deadline = time.monotonic() + timeout
        settled = 0
        while time.monotonic() < deadline:
            settled = settled + 1 if self.is_idle() else 0
            if settled >= 3:  # idle across several loop turns: no callback is about to add work
                return True
            await asyncio.sleep(0 if settled else 0.002)
        return False

    async def advance(self, seconds: float, idle_timeout: float = 60) -> datetime:
        """Move a virtual clock forward, stopping at each due time on the way until the host is idle."""
        if not isinstance(self.clock, VirtualClock):
            raise RuntimeError("the host runs on the system clock; start it with --clock virtual")
        target = self.clock.now() + timedelta(seconds=seconds)
        await self._idle_or_raise(idle_timeout)
        while True:
            deadline = self.clock.next_deadline()
            if deadline is None or deadline > target:
                break
            self._move_clock(deadline)
            await self._idle_or_raise(idle_timeout)
        self._move_clock(target)
        await self._idle_or_raise(idle_timeout)
        return self.clock.now()

    def _move_clock(self, moment: datetime) -> None:
        """Advance the virtual clock and remember the time in the store: a restarted host resumes from it."""
        assert isinstance(self.clock, VirtualClock)
        self.clock.advance_to(moment)
        self.store.save_state(VIRTUAL_TIME_KEY, self.clock.now().isoformat())

    async def _idle_or_raise(self, timeout: float) -> None:
        if not await self.wait_idle(timeout):
            raise TimeoutError(f"the host did not become idle within {timeout}s at {self.clock.now().isoformat()}")
