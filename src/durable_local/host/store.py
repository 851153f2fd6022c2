"""Durable state of the local host in embedded SQLite: instances, history, inbox messages, work items.

Rules that make a killed host lose nothing that was committed:

- WAL journal, `synchronous=NORMAL`: a committed transaction survives the process being killed (`kill -9`);
  only an OS crash or power loss can drop the last transactions (as with Azure Storage's own lag).
- An episode's history, instance status, consumed messages and outgoing work commit in one transaction
  (`apply`). An orchestration step is therefore applied exactly once; a crash before commit replays it.
- Activity work items are leased to the running host; on start every unfinished item is leased again and
  re-run (at-least-once, as on Azure). An activity's result and the deletion of its work item commit together.
  The lease owner column holds `{host id}:{attempt}`: the attempt counts the runs of the item that did not
  finish (the host or worker process died under it), so a work item that keeps killing its process is failed
  after a few attempts instead of being retried forever (see `durable_local.host.engine`). The counter lives in
  the existing column rather than a new one so that this store needs no schema change.
- One host process owns a store file at a time (an exclusive lock on `<store>.lock`).
- The schema is versioned (`PRAGMA user_version`); opening a store migrates it in place (`schema.py`).

Instances are keyed by (task hub, instance id); listing uses keyset paging on (created time, instance id)
over index ranges (see `query`), never a scan of every instance.
History rows are keyed by (task hub, the instance's created time, instance id, sequence) (`schema.py`,
version 2): they are read, appended and deleted through the instance's row, and a purge by created time
deletes them in runs.
"""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from durable_local.host.history import Event
from durable_local.host.records import Commit, Instance, Message, RuntimeStatus, WorkItem
from durable_local.host.schema import migrate
from durable_local.host.wal_checkpointer import WalCheckpointer

INSTANCE_COLUMNS = ("instance_id, name, execution_id, runtime_status, created_time, last_updated_time, "
                    "completed_time, input, output, custom_status, parent_instance_id, parent_execution_id, "
                    "parent_sequence_id, history_length")
CHECKPOINT_PAGES = 1_000  # SQLite's default automatic checkpoint threshold
BULK_WAL_BYTES = 512 * 2**20  # during bulk writes, the WAL restarts once it is this large
WAL_SIZE_LIMIT = 64 * 2**20
PRIMARY_KEY = "INDEXED BY sqlite_autoindex_instances_1"  # the (hub, instance_id) primary key of the WITHOUT ROWID table
PREFIX_END = "\U0010ffff"  # the largest code point: every id starting with a prefix sorts below prefix + this
PREFIX_RANGE_LIMIT = 5_000  # a prefix matching at most this many instances is read from its own index range
# History is keyed by its instance's created time (schema version 2); these find it through the instance's row.
CREATED_OF = "(SELECT created_time FROM instances WHERE hub = ?1 AND instance_id = ?2)"
DELETE_HISTORY = f"DELETE FROM history WHERE hub = ?1 AND instance_created = {CREATED_OF} AND instance_id = ?2"
APPEND_HISTORY = ("INSERT OR REPLACE INTO history (hub, instance_id, seq, event, instance_created) "
                  "SELECT ?1, ?2, ?3, ?4, created_time FROM instances WHERE hub = ?1 AND instance_id = ?2")


def _file_size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


class StoreLockedError(RuntimeError):
    """Another host process already serves this store file."""


@dataclass(frozen=True)
class InstanceQuery:
    """A listing or purge filter, as the Durable HTTP API's query string expresses it (http-api.md §1.5)."""

    created_from: int | None = None
    created_to: int | None = None
    statuses: tuple[RuntimeStatus, ...] = ()
    prefix: str | None = None
    entities: bool = False  # entities (`@name@key`) or orchestration instances, never both
    updated_from: int | None = None  # last update (an entity's last operation) from / to
    updated_to: int | None = None
    name: str | None = None  # an orchestrator name (a local-host extension: the Durable HTTP API has none)


def _lease(owner: str, attempt: int) -> str:
    """The lease owner column's value: the leasing host and the attempt (see the module docstring)."""
    return f"{owner}:{attempt}"


def lease_attempt(value: str | None) -> int:
    """The attempt recorded in a lease owner column; 0 for an item never leased, 1 for a bare host id."""
    if not value:
        return 0
    _, _, attempt = value.rpartition(":")
    return int(attempt) if attempt.isdigit() else 1


_STATUS_BY_VALUE = {status.value: status for status in RuntimeStatus}  # a dict lookup: cheaper than the Enum call


def _instance(row: Sequence[Any]) -> Instance:
    return Instance(
        instance_id=row[0], name=row[1], execution_id=row[2], runtime_status=_STATUS_BY_VALUE[row[3]],
        created_time=row[4], last_updated_time=row[5], completed_time=row[6], input=row[7], output=row[8],
        custom_status=row[9], parent_instance_id=row[10], parent_execution_id=row[11],
        parent_sequence_id=row[12], history_length=row[13])


def _instance_values(hub: str, item: Instance) -> tuple[Any, ...]:
    return (hub, item.instance_id, item.name, item.execution_id, item.runtime_status.value, item.created_time,
            item.last_updated_time, item.completed_time, item.input, item.output, item.custom_status,
            item.parent_instance_id, item.parent_execution_id, item.parent_sequence_id, item.history_length)


class Store:
    """The SQLite store of one host process; all calls come from the host's event loop thread."""

    def __init__(self, path: str | os.PathLike[str], hub: str) -> None:
        self.path = Path(path)
        self.hub = hub
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock_file: IO[str] | None = None
        self.prefix_range_limit = PREFIX_RANGE_LIMIT
        self._bulk_depth = 0
        self._checkpointer: WalCheckpointer | None = None
        self._take_process_lock()
        self.db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("PRAGMA busy_timeout=5000")
        self.db.execute("PRAGMA cache_size=-16384")  # 16 MiB of page cache
        self.db.execute(f"PRAGMA journal_size_limit={WAL_SIZE_LIMIT}")  # a reset WAL shrinks back to this
        self.db.execute("PRAGMA recursive_triggers=ON")  # INSERT OR REPLACE fires the count triggers' DELETE
        # Deleted content is zeroed on the pages a change writes anyway, but a page freed whole (a purge frees
        # many) is not written again just to zero it (Debian's SQLite defaults to ON, one more write per page).
        self.db.execute("PRAGMA secure_delete=FAST")
        try:
            self.migrations_applied = migrate(self.db)
        except BaseException:
            self.close()
            raise

    def _take_process_lock(self) -> None:
        lock_file = open(str(self.path) + ".lock", "a+")  # noqa: SIM115 - held for the process lifetime
        try:
            fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as error:
            lock_file.close()
            raise StoreLockedError(f"another local host is already using the store {self.path}") from error
        self._lock_file = lock_file

    def close(self) -> None:
        self.db.close()
        if self._lock_file:
            self._lock_file.close()
            self._lock_file = None

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    @contextmanager
    def bulk_writes(self) -> Iterator[None]:
        """Around many large transactions in a row (a purge by filter).

        SQLite checkpoints the WAL into the database inside the commit that leaves it over 1,000 pages (4 MiB):
        during a purge that is after almost every batch, and about a third of the purge's time, all on the
        host's thread. Here the automatic checkpoint is off and a `WalCheckpointer` thread copies pages while
        the batches go on; `bulk_pause` restarts the log when it passes `BULK_WAL_BYTES`, so it stays bounded;
        at the end the WAL is checkpointed and truncated, so it does not stay large. Durability is unchanged:
        every batch still commits to the WAL, which survives `kill -9`.
        """
        self._bulk_depth += 1
        if self._bulk_depth == 1:
            self.db.execute("PRAGMA wal_autocheckpoint=0")
            self._checkpointer = WalCheckpointer(self.path).start()
        try:
            yield
        finally:
            self._bulk_depth -= 1
            if self._bulk_depth == 0:
                if self._checkpointer is not None:
                    self._checkpointer.stop()
                    self._checkpointer = None
                self.db.execute(f"PRAGMA wal_autocheckpoint={CHECKPOINT_PAGES}")
                self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def bulk_pause(self) -> None:
        """Between bulk batches: once the WAL passes `BULK_WAL_BYTES`, finish the checkpoint so it restarts."""
        if self._checkpointer is not None and _file_size(f"{self.path}-wal") > BULK_WAL_BYTES:
            with self._checkpointer.lock:  # the thread's own checkpoint would keep the log from restarting
                self.db.execute("PRAGMA wal_checkpoint(RESTART)").fetchone()

    # -- instances -------------------------------------------------------------------------------------
    def get_instance(self, instance_id: str, hub: str | None = None) -> Instance | None:
        row = self.db.execute(f"SELECT {INSTANCE_COLUMNS} FROM instances WHERE hub=? AND instance_id=?",
                              (hub or self.hub, instance_id)).fetchone()
        return _instance(row) if row else None

    def history(self, instance_id: str, hub: str | None = None) -> list[Event]:
        rows = self.db.execute(f"SELECT event FROM history WHERE hub = ?1 AND instance_created = {CREATED_OF} "
                               "AND instance_id = ?2 ORDER BY seq", (hub or self.hub, instance_id)).fetchall()
        return [json.loads(row[0]) for row in rows]

    # -- the orchestration inbox -----------------------------------------------------------------------
    def ready_instances(self, now: int, limit: int) -> list[str]:
        """Instances with a message visible now; a Suspended instance only for terminate and resume."""
        rows = self.db.execute(
            "SELECT DISTINCT m.instance_id FROM messages m "
            "LEFT JOIN instances i ON i.hub = m.hub AND i.instance_id = m.instance_id "
            "WHERE m.hub = ? AND m.visible_at <= ? "
            "AND (i.runtime_status IS NULL OR i.runtime_status != 'Suspended' OR m.event_type IN (3, 20)) "
            "ORDER BY m.id LIMIT ?", (self.hub, now, limit)).fetchall()
        return [row[0] for row in rows]

    def messages(self, instance_id: str, now: int) -> list[Message]:
        rows = self.db.execute(
            "SELECT id, execution_id, visible_at, event FROM messages "
            "WHERE hub=? AND instance_id=? AND visible_at <= ? ORDER BY visible_at, id",
            (self.hub, instance_id, now)).fetchall()
        return [Message(instance_id, json.loads(row[3]), row[2], row[1], row[0]) for row in rows]

    def next_visible_after(self, now: int) -> int | None:
        row = self.db.execute("SELECT MIN(visible_at) FROM messages WHERE hub=? AND visible_at > ?",
                              (self.hub, now)).fetchone()
        return row[0] if row else None

    def has_ready_messages(self, now: int) -> bool:
        return bool(self.ready_instances(now, 1))

    # -- activity work items ---------------------------------------------------------------------------
    def lease_all_work(self, owner: str, expires: int) -> list[WorkItem]:
        """Lease every unfinished work item to this host (at start: re-run what a dead host left), counting
        the attempt: an item that was leased before was interrupted once more."""
        with self.transaction() as db:
            rows = db.execute("SELECT id, instance_id, execution_id, sequence_id, name, input, lease_owner "
                              "FROM work_items WHERE hub=? ORDER BY id", (self.hub,)).fetchall()
            items = [WorkItem(row[1], row[2], row[3], row[4], row[5], row[0], lease_attempt(row[6]) + 1)
                     for row in rows]
            db.executemany("UPDATE work_items SET lease_owner=?, lease_expires=? WHERE id=?",
                           [(_lease(owner, item.attempt), expires, item.id) for item in items])
        return items

    def record_attempt(self, item: WorkItem, owner: str) -> None:
        """Remember the item's attempt (after a crash of the process running it, or to undo one at a stop)."""
        with self.transaction() as db:
            db.execute("UPDATE work_items SET lease_owner=? WHERE id=?", (_lease(owner, item.attempt), item.id))

    # -- the one write path ----------------------------------------------------------------------------
    def apply(self, commit: Commit, lease_owner: str | None = None) -> list[WorkItem]:
        """Write a commit in one transaction; returns the new work items with their ids, leased."""
        hub = self.hub
        placeholders = ",".join("?" * 15)
        with self.transaction() as db:
            for instance_id in commit.history_resets:
                db.execute(DELETE_HISTORY, (hub, instance_id))
            if commit.new_instances:
                for item in commit.new_instances:  # before the row (and its created time) is replaced
                    db.execute(DELETE_HISTORY, (hub, item.instance_id))
                db.executemany(f"INSERT OR REPLACE INTO instances VALUES ({placeholders})",
                               [_instance_values(hub, item) for item in commit.new_instances])
            if commit.instances:
                db.executemany(
                    "UPDATE instances SET name=?, execution_id=?, runtime_status=?, last_updated_time=?, "
                    "completed_time=?, input=?, output=?, custom_status=?, history_length=? "
                    "WHERE hub=? AND instance_id=?",
                    [(i.name, i.execution_id, i.runtime_status.value, i.last_updated_time, i.completed_time,
                      i.input, i.output, i.custom_status, i.history_length, hub, i.instance_id)
                     for i in commit.instances])
            rows = [(hub, instance_id, start + offset, json.dumps(item, separators=(",", ":")))
                    for instance_id, start, events in commit.history_appends
                    for offset, item in enumerate(events)]
            if rows and db.executemany(APPEND_HISTORY, rows).rowcount != len(rows):
                raise ValueError("history appended to an instance that is not in the store")  # rolls back
            if commit.consumed_messages:
                db.executemany("DELETE FROM messages WHERE id=?", [(i,) for i in commit.consumed_messages])
            if commit.deleted_instances:
                self._delete(db, hub, commit.deleted_instances, keep_messages=True)
            if commit.completed_work:
                db.executemany("DELETE FROM work_items WHERE id=?", [(i,) for i in commit.completed_work])
            if commit.messages:
                db.executemany(
                    "INSERT INTO messages (hub, instance_id, execution_id, visible_at, event_type, event) "
                    "VALUES (?,?,?,?,?,?)",
                    [(hub, m.instance_id, m.execution_id, m.visible_at, m.event_type,
                      json.dumps(m.event, separators=(",", ":"))) for m in commit.messages])
            for work in commit.work_items:
                cursor = db.execute(
                    "INSERT INTO work_items (hub, instance_id, execution_id, sequence_id, name, input, "
                    "lease_owner) VALUES (?,?,?,?,?,?,?)",
                    (hub, work.instance_id, work.execution_id, work.sequence_id, work.name, work.input,
                     _lease(lease_owner, work.attempt) if lease_owner else None))
                work.id = cursor.lastrowid
        return commit.work_items

    # -- queries ---------------------------------------------------------------------------------------
    def query(self, query: InstanceQuery, top: int, after: tuple[int, str] | None,
              hub: str | None = None) -> tuple[list[Instance], tuple[int, str] | None]:
        """One page ordered by (created time, instance id) and the key to continue after, if more exist.

        The cost of a page stays about `top` index reads whatever the size of the task hub:
        - an instance id prefix that matches at most `prefix_range_limit` instances is read from its own
          range of the primary key (every other filter applied there) and sorted: a narrow prefix never
          walks the hub in created order;
        - otherwise each runtime status is read from its own range of `instances_by_status` (or
          `instances_by_name` when an orchestrator name is given, or `instances_by_created` without a status)
          in created order and the ranges are merged; a broad prefix is then a filter on that walk, matched
          by at least one in `prefix_range_limit` / (instances in the hub) entries.
        Where entries may be skipped (a prefix, several ranges), keys are found in the index alone and only
        the page's rows are read.
        """
        hub = hub or self.hub
        ranges = self._status_ranges(query)
        if query.prefix and self._prefix_is_narrow(hub, query.prefix):
            where, args = self._where(hub, query, query.statuses, after)
            keys = self._keys(PRIMARY_KEY, where, args, top + 1)
        elif len(ranges) == 1 and not query.prefix:
            # one range walked in order, no prefix to test: (nearly) every entry read is on the page
            status = ranges[0]
            where, args = self._where(hub, query, (status,) if status else (), after)
            found = [_instance(row) for row in self.db.execute(
                f"SELECT {INSTANCE_COLUMNS} FROM instances {self._walk_index(query, status)} WHERE {where} "
                "ORDER BY created_time, instance_id LIMIT ?", (*args, top + 1))]
            page = found[:top]
            more = len(found) > top
            return page, ((page[-1].created_time, page[-1].instance_id) if more and page else None)
        else:
            keys = []
            for status in ranges:
                where, args = self._where(hub, query, (status,) if status else (), after)
                keys += self._keys(self._walk_index(query, status), where, args, top + 1)
            keys.sort()
        more = len(keys) > top
        page = self._instances(hub, [instance_id for _, instance_id in keys[:top]])
        return page, ((page[-1].created_time, page[-1].instance_id) if more and page else None)

    def _keys(self, index: str, where: str, args: list[Any], limit: int) -> list[tuple[int, str]]:
        """The first keys in (created time, instance id) order, found in `index` alone.

        The index holds every filtered column, so a walk past many non-matching entries reads no row
        (SQLite would otherwise read each entry's row before testing a filter the index could answer).
        """
        sql = (f"SELECT created_time, instance_id FROM instances {index} WHERE {where} "
               "ORDER BY created_time, instance_id LIMIT ?")
        return [(row[0], row[1]) for row in self.db.execute(sql, (*args, limit))]

    def _instances(self, hub: str, instance_ids: list[str]) -> list[Instance]:
        """The rows of these instances, in the order given."""
        if not instance_ids:
            return []
        rows = self.db.execute(f"SELECT {INSTANCE_COLUMNS} FROM instances WHERE hub = ? AND instance_id IN "
                               f"({','.join('?' * len(instance_ids))})", (hub, *instance_ids))
        found = {row[0]: _instance(row) for row in rows}
        return [found[instance_id] for instance_id in instance_ids if instance_id in found]

    @staticmethod
    def _status_ranges(query: InstanceQuery) -> tuple[RuntimeStatus | None, ...]:
        if query.statuses:
            return query.statuses
        return tuple(RuntimeStatus) if query.name is not None else (None,)

    def _prefix_is_narrow(self, hub: str, prefix: str) -> bool:
        row = self.db.execute(
            f"SELECT COUNT(*) FROM (SELECT 1 FROM instances {PRIMARY_KEY} "
            "WHERE hub = ? AND instance_id >= ? AND instance_id < ? LIMIT ?)",
            (hub, prefix, prefix + PREFIX_END, self.prefix_range_limit + 1)).fetchone()
        return int(row[0]) <= self.prefix_range_limit

    @staticmethod
    def _walk_index(query: InstanceQuery, status: RuntimeStatus | None) -> str:
        if status is None:
            return "INDEXED BY instances_by_created"
        return "INDEXED BY " + ("instances_by_name" if query.name is not None else "instances_by_status")

    @staticmethod
    def _where(hub: str, query: InstanceQuery, statuses: Sequence[RuntimeStatus],
               after: tuple[int, str] | None) -> tuple[str, list[Any]]:
        where = ["hub = ?"]
        args: list[Any] = [hub]
        if query.name is not None:
            where.append("name = ?")
            args.append(query.name)
        if len(statuses) == 1:
            where.append("runtime_status = ?")
            args.append(statuses[0].value)
        elif statuses:
            where.append(f"runtime_status IN ({','.join('?' * len(statuses))})")
            args += [status.value for status in statuses]
        if query.created_from is not None:
            where.append("created_time >= ?")
            args.append(query.created_from)
        if query.created_to is not None:
            where.append("created_time <= ?")
            args.append(query.created_to)
        if query.updated_from is not None:
            where.append("last_updated_time >= ?")
            args.append(query.updated_from)
        if query.updated_to is not None:
            where.append("last_updated_time <= ?")
            args.append(query.updated_to)
        if query.prefix:
            where.append("instance_id >= ? AND instance_id < ?")
            args += [query.prefix, query.prefix + PREFIX_END]
        where.append("substr(instance_id, 1, 1) = '@'" if query.entities else "substr(instance_id, 1, 1) != '@'")
        if after is not None:
            where.append("(created_time, instance_id) > (?, ?)")  # a row value: SQLite seeks the index on it
            args += [after[0], after[1]]
        return " AND ".join(where), args

    # -- purge -----------------------------------------------------------------------------------------
    def purge(self, instance_ids: Iterable[str], hub: str | None = None) -> int:
        """Delete instances with all their history, messages and work items, in one transaction."""
        with self.transaction() as db:
            return self._delete(db, hub or self.hub, list(instance_ids))

    def purge_batch(self, query: InstanceQuery, limit: int, hub: str | None = None) -> int:
        """Purge up to `limit` instances matching `query` (ids only are read), in one transaction."""
        return len(self.purge_batch_ids(query, limit, hub))

    def purge_batch_ids(self, query: InstanceQuery, limit: int, hub: str | None = None) -> list[str]:
        """`purge_batch`, answering the IDs it purged."""
        hub = hub or self.hub
        self.bulk_pause()
        with self.transaction() as db:
            keys: list[tuple[int, str]] = []
            if query.prefix and self._prefix_is_narrow(hub, query.prefix):
                where, args = self._where(hub, query, query.statuses, None)
                keys = db.execute(f"SELECT created_time, instance_id FROM instances {PRIMARY_KEY} WHERE {where} "
                                  "LIMIT ?", (*args, limit)).fetchall()
            else:
                for status in self._status_ranges(query):
                    where, args = self._where(hub, query, (status,) if status else (), None)
                    keys += db.execute(
                        f"SELECT created_time, instance_id FROM instances {self._walk_index(query, status)} "
                        f"WHERE {where} LIMIT ?", (*args, limit - len(keys))).fetchall()
                    if len(keys) >= limit:
                        break
            # deletes in (created time, id) order: the history of the batch is read and emptied page by page
            keys = sorted(keys)[:limit]
            db.executemany("DELETE FROM history WHERE hub=? AND instance_created=? AND instance_id=?",
                           [(hub, created, instance_id) for created, instance_id in keys])
            ids = sorted(instance_id for _, instance_id in keys)  # the instances in key order
            self._delete(db, hub, ids, history_deleted=True)
            return ids

    def purge_listed(self, instance_ids: list[str], statuses: frozenset[str],
                     hub: str | None = None) -> tuple[list[str], dict[str, str], list[str]]:
        """Purge those of `instance_ids` whose runtime status is in `statuses`, in one transaction.

        Returns the purged IDs, the others that exist with their status, and the IDs that do not exist; the
        statuses are read inside the transaction, so nothing that changed status meanwhile is purged.
        """
        hub = hub or self.hub
        found: dict[str, str] = {}
        with self.transaction() as db:
            for start in range(0, len(instance_ids), 500):
                chunk = instance_ids[start:start + 500]
                marks = ",".join("?" * len(chunk))
                found.update(db.execute(
                    f"SELECT instance_id, runtime_status FROM instances WHERE hub=? AND instance_id IN ({marks})",
                    (hub, *chunk)).fetchall())
            purged = [i for i in dict.fromkeys(instance_ids) if found.get(i) in statuses]
            self._delete(db, hub, purged)
        kept = {i: status for i, status in found.items() if status not in statuses}
        missing = [i for i in dict.fromkeys(instance_ids) if i not in found]
        return purged, kept, missing

    @staticmethod
    def _delete(db: sqlite3.Connection, hub: str, instance_ids: list[str], keep_messages: bool = False,
                history_deleted: bool = False) -> int:
        keys = [(hub, instance_id) for instance_id in instance_ids]
        if not keys:
            return 0
        if not history_deleted:  # first: it finds the history through the instance's created time
            db.executemany(DELETE_HISTORY, keys)
        # rowcount, not total_changes: the count summary's triggers change rows too
        deleted = db.executemany("DELETE FROM instances WHERE hub=? AND instance_id=?", keys).rowcount
        if not keep_messages:
            db.executemany("DELETE FROM messages WHERE hub=? AND instance_id=?", keys)
            db.executemany("DELETE FROM work_items WHERE hub=? AND instance_id=?", keys)
        return deleted

    def hub_summary(self, hub: str) -> dict[str, int]:
        counts = {}
        for table in ("instances", "history", "messages", "work_items", "timer_triggers"):
            row = self.db.execute(f"SELECT COUNT(*) FROM {table} WHERE hub=?", (hub,)).fetchone()
            counts[table] = int(row[0])
        return counts

    def delete_hub(self, hub: str) -> dict[str, int]:
        """`delete-task-hub` for the local store: every row of that hub, nothing of another hub."""
        counts = self.hub_summary(hub)
        with self.transaction() as db:
            for table in counts:
                db.execute(f"DELETE FROM {table} WHERE hub=?", (hub,))
        return counts

    # -- timer triggers --------------------------------------------------------------------------------
    def timer_status(self, function_name: str) -> tuple[int | None, int | None, int | None]:
        row = self.db.execute("SELECT last, next, last_updated FROM timer_triggers WHERE hub=? AND "
                              "function_name=?", (self.hub, function_name)).fetchone()
        return (row[0], row[1], row[2]) if row else (None, None, None)

    def save_timer_status(self, function_name: str, last: int | None, next_: int | None, updated: int) -> None:
        with self.transaction() as db:
            db.execute("INSERT OR REPLACE INTO timer_triggers VALUES (?,?,?,?,?)",
                       (self.hub, function_name, last, next_, updated))

    # -- host state ------------------------------------------------------------------------------------
    def state(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM host_state WHERE hub=? AND key=?", (self.hub, key)).fetchone()
        return row[0] if row else None

    def save_state(self, key: str, value: str) -> None:
        with self.transaction() as db:
            db.execute("INSERT OR REPLACE INTO host_state VALUES (?,?,?)", (self.hub, key, value))
