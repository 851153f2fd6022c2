"""The host's engine: runs orchestration episodes and activities of one task hub, event-driven.

- One orchestration loop on the event loop: it reads the instances with visible inbox messages, runs their
  episodes in batches, and writes each batch's commits in one SQLite transaction (group commit). With worker
  processes, a few batches are in flight at once (never two episodes of one instance), so the host prepares
  and commits one batch while the workers replay another. When nothing is ready it sleeps until a wake-up
  (a new message) or the next timer's due time; there is no fixed polling interval.
- User code never runs here: orchestrator replays, entity batches and activities go to the `FunctionRunner`
  (worker processes, or the host itself in the in-process debugging mode). A batch of episodes is prepared
  here, its orchestrator calls are sent to the runner together, and their answers are sequenced here.
- Activities run concurrently. Their results are batched into one transaction per loop turn, each deleting
  the work item and queueing the completion.
- `commit()` is the single write path for everything else too (the HTTP API's starts, raises, terminates).

Crashes. When the process running a call dies (`WorkerCrashed`), the work is redelivered, as the extension
does (a worker exit is a platform-level error: `OutOfProcMiddleware` throws `SessionAbortedException`, which
makes DTFx abandon the work item and deliver it again). The local host adds a limit Azure does not have:
after `MAX_CRASHES` consecutive crashes on one work item, an activity fails (TaskFailed with a reason saying
so) and an orchestration or entity episode fails its instance, instead of being retried forever. Activities
that were in flight when a worker crashed are retried one at a time, so that a poison item takes down only
itself on its next attempts. An activity's attempt is kept in its work item's lease column, so the count also
survives a host that dies with it (the in-process mode, or `kill -9`).
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from datetime import datetime, timedelta
from typing import Any

from durable_local.host.calls import ActivityOutcome
from durable_local.host.clock import Clock, VirtualClock
from durable_local.host.entities import EntityBatch, complete_entity, prepare_entity
from durable_local.host.episodes import EpisodeRunner, PendingEpisode, host_failure
from durable_local.host.history import Event, EventType, event, from_micros, to_micros
from durable_local.host.http_activity import run_http_activity
from durable_local.host.indexing import FunctionIndex
from durable_local.host.invoke import Invocation, activity_failure
from durable_local.host.records import Commit, Instance, Message, WorkItem
from durable_local.host.runners import FunctionRunner, WorkerCrashed
from durable_local.host.sequencer import HTTP_ACTIVITY
from durable_local.host.store import Store

log = logging.getLogger(__name__)
FLUSH_RETRY_SECONDS = 1.0

EPISODE_BATCH = 128
VIRTUAL_TIME_KEY = "virtual_clock"
LEASE = timedelta(minutes=5)
MAX_CRASHES = 3  # consecutive crashes of the process running one work item before the local host gives up


class Engine:
    """See the module docstring. Every method runs on the host's event loop thread."""

    def __init__(self, store: Store, functions: FunctionRunner, clock: Clock,
                 max_crashes: int = MAX_CRASHES) -> None:
        self.store = store
        self.functions = functions
        self.clock = clock
        self.max_crashes = max_crashes
        self.owner = uuid.uuid4().hex
        self.episodes = EpisodeRunner(self._unused_invoker, self.index.resolve, self.index.known,
                                      store.get_instance)
        self._wakeup = asyncio.Event()
        self._waiting = False
        self._running_activities = 0
        self._busy = 0  # other user code the host started (timer triggers, admin invocations)
        self._completions: list[tuple[WorkItem, Event]] = []
        self._flush_scheduled = False
        self._finished_waiters: dict[str, list[asyncio.Future[None]]] = {}
        self._loop_task: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._in_flight: dict[int, WorkItem] = {}
        self._episode_crashes: dict[str, int] = {}
        self._suspects = asyncio.Semaphore(1)  # activities retried after a crash run one at a time
        self._batches: set[asyncio.Task[None]] = set()
        self._episode_ids: set[str] = set()  # instances whose episode is in flight
        self.max_batches = max(2, len(functions.pids) + 1) if functions.pids else 1

    @property
    def index(self) -> FunctionIndex:
        return self.functions.index

    @staticmethod
    def _unused_invoker(name: str, context_json: str) -> Invocation:
        raise RuntimeError("the engine runs orchestrators through its FunctionRunner")

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
        for item in self._in_flight.values():  # stopped, not crashed: this run does not count as an attempt
            item.attempt -= 1
            try:
                self.store.record_attempt(item, self.owner)
            except Exception:
                log.exception("could not release work item %s", item.id)
        self._in_flight.clear()

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
        """Start batches of episodes for ready instances, up to `max_batches` at once (so the host prepares
        and commits one batch while a worker replays another), then sleep until a wake-up or a due time."""
        while True:
            self._wakeup.clear()
            now = self.clock.now()
            if len(self._batches) >= self.max_batches:
                await self._wakeup.wait()  # a batch finishing sets it
                continue
            busy = self._episode_ids
            ready = [instance_id for instance_id in
                     self.store.ready_instances(to_micros(now), EPISODE_BATCH + len(busy))
                     if instance_id not in busy][:EPISODE_BATCH]
            if ready:
                busy.update(ready)
                batch = self.spawn(self._run_batch(ready, now), name="episodes")
                self._batches.add(batch)
                batch.add_done_callback(self._batches.discard)
                await asyncio.sleep(0)  # let HTTP requests and activity results in
                continue
            if self._batches:  # what is ready is in flight: wait for a batch to finish or new messages
                await self._wakeup.wait()
                continue
            due = self.store.next_visible_after(to_micros(now))
            self._waiting = True
            try:
                await self._sleep(from_micros(due) if due is not None else None)
            finally:
                self._waiting = False

    async def _run_batch(self, instance_ids: list[str], now: datetime) -> None:
        try:
            await self._run_episodes(instance_ids, now)
        except asyncio.CancelledError:
            raise
        except Exception:  # a store failure: log, back off, retry; never kill the loop
            log.exception("orchestration dispatch failed; retrying")
            await asyncio.sleep(0.5)
        finally:
            self._episode_ids.difference_update(instance_ids)
            self._batches.discard(asyncio.current_task())
            self._wakeup.set()

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

    async def _run_episodes(self, instance_ids: list[str], now: datetime) -> None:
        """Prepare every episode, send their user code calls together, sequence the answers, commit once."""
        commit = Commit()
        now_micros = to_micros(now)
        orchestrations: list[tuple[PendingEpisode, list[Message]]] = []
        entities: list[tuple[EntityBatch, list[Message]]] = []
        for instance_id in instance_ids:
            instance = self.store.get_instance(instance_id)
            messages = self.store.messages(instance_id, now_micros)
            try:
                if instance_id.startswith("@"):
                    batch = prepare_entity(instance_id, instance, messages)
                    if isinstance(batch, EntityBatch):
                        entities.append((batch, messages))
                    else:
                        commit.merge(batch)
                    continue
                history = self.store.history(instance_id) if instance else []
                prepared = self.episodes.prepare(instance, history, messages, now)
                if isinstance(prepared, PendingEpisode):
                    orchestrations.append((prepared, messages))
                else:
                    commit.merge(prepared)
            except Exception as error:  # a host bug must not block the batch forever: fail this one instance
                log.exception("the episode of %s failed inside the host", instance_id)
                commit.merge(host_failure(instance, messages, now, error))
        invocations, entity_results = await asyncio.gather(
            self.functions.orchestrate([(pending.instance.name, pending.context) for pending, _ in orchestrations]),
            asyncio.gather(*(self.functions.entity(batch.instance_id[1:].partition("@")[0], batch.context)
                             for batch, _ in entities), return_exceptions=True))
        for (pending, messages), invocation in zip(orchestrations, invocations, strict=True):
            instance_id = pending.instance.instance_id
            if isinstance(invocation, WorkerCrashed):
                self._episode_crashed(instance_id, pending.instance, messages, now, invocation, commit)
                continue
            self._episode_crashes.pop(instance_id, None)
            try:
                commit.merge(self.episodes.complete(pending, invocation))
            except Exception as error:
                log.exception("the episode of %s failed inside the host", instance_id)
                commit.merge(host_failure(pending.instance, messages, now, error))
        for (batch, messages), result in zip(entities, entity_results, strict=True):
            if isinstance(result, WorkerCrashed):
                self._episode_crashed(batch.instance_id, batch.instance, messages, now, result, commit)
                continue
            self._episode_crashes.pop(batch.instance_id, None)
            if isinstance(result, BaseException) and not isinstance(result, Exception):
                raise result
            commit.merge(complete_entity(batch, result if isinstance(result, str) else None,
                                         result if isinstance(result, Exception) else None, now))
        self.commit(commit)

    def _episode_crashed(self, instance_id: str, instance: Instance | None, messages: list[Message], now: datetime,
                         crash: WorkerCrashed, commit: Commit) -> None:
        """The worker died during an episode: leave its messages for a retry, or fail it after MAX_CRASHES."""
        crashes = self._episode_crashes.get(instance_id, 0) + 1
        if crashes < self.max_crashes:
            self._episode_crashes[instance_id] = crashes
            log.warning("the episode of %s will run again: %s", instance_id, crash)
            return
        self._episode_crashes.pop(instance_id, None)
        log.error("the episode of %s crashed its worker %d times in a row; failing it", instance_id, crashes)
        commit.merge(host_failure(instance, messages, now, WorkerCrashed(
            f"{crash}; it crashed its worker process {crashes} times in a row, so the local host stopped "
            "retrying it (a local limit: Azure retries without limit)")))

    # -- activities ------------------------------------------------------------------------------------
    def _dispatch(self, items: list[WorkItem]) -> None:
        for item in items:
            self._running_activities += 1
            self.spawn(self._run_activity(item), name=f"activity {item.name}")

    async def _run_activity(self, item: WorkItem) -> None:
        if item.id is not None:
            self._in_flight[item.id] = item
        try:
            outcome = await self._execute_activity(item)
        except asyncio.CancelledError:
            self._running_activities -= 1
            raise
        if item.id is not None:
            self._in_flight.pop(item.id, None)
        self._completions.append((item, outcome))
        self._running_activities -= 1
        if not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)

    async def _execute_activity(self, item: WorkItem) -> Event:
        if item.name == HTTP_ACTIVITY:  # the host's own built-in activity, not user code
            try:
                result = await run_http_activity(item.input)
            except asyncio.CancelledError:
                raise
            except Exception as error:
                reason, details = activity_failure(item.name, error)
                log.warning("%s", reason)
                return event(EventType.TaskFailed, self.clock.now(), TaskScheduledId=item.sequence_id,
                             Reason=reason, Details=details)
            return event(EventType.TaskCompleted, self.clock.now(), TaskScheduledId=item.sequence_id, Result=result)
        crashes = item.attempt - 1
        last_crash = "the host process running it exited"
        description = f"Functions.{item.name} (activity of instance {item.instance_id})"
        while crashes < self.max_crashes:
            try:
                if crashes:
                    async with self._suspects:
                        outcome = await self.functions.activity(item.name, item.input, description)
                else:
                    outcome = await self.functions.activity(item.name, item.input, description)
                return self._activity_event(item, outcome)
            except WorkerCrashed as crash:
                crashes += 1
                last_crash = str(crash)
                if crashes >= self.max_crashes:
                    break
                item.attempt = crashes + 1
                log.warning("redelivering %s (attempt %d): %s", description, item.attempt, crash)
                try:
                    self.store.record_attempt(item, self.owner)
                except Exception:
                    log.exception("could not record the attempt of work item %s", item.id)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # the runner itself failed (not user code): fail the activity
                log.exception("could not run %s", description)
                return self._activity_event(item, ActivityOutcome(
                    False, reason=f"Activity function '{item.name}' failed:  {type(error).__name__}: {error}"))
        reason = (f"Activity function '{item.name}' failed:  {last_crash}. The process running this activity "
                  f"died {crashes} times in a row, so the local host stopped retrying it (a local limit: Azure "
                  f"retries a work item whose worker exits without limit).")
        log.error("%s", reason)
        return self._activity_event(item, ActivityOutcome(False, reason=reason, details=None))

    def _activity_event(self, item: WorkItem, outcome: ActivityOutcome) -> Event:
        if outcome.ok:
            return event(EventType.TaskCompleted, self.clock.now(), TaskScheduledId=item.sequence_id,
                         Result=outcome.result)
        return event(EventType.TaskFailed, self.clock.now(), TaskScheduledId=item.sequence_id,
                     Reason=outcome.reason, Details=outcome.details)

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
        return (self._waiting and not self._wakeup.is_set() and not self._batches and self._running_activities == 0
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
