"""The store's schema and its version: `PRAGMA user_version` with ordered, in-place migrations.

Version 0 is the unversioned store written before versions existed (`SCHEMA_V0`, kept verbatim). Each
`Migration` moves a store from `version - 1` to `version` inside one transaction that also sets
`user_version`, so a host killed during a migration leaves the store at the previous version and the next
start runs that step again. A normal start reads one pragma and runs nothing; a one-off migration may scan
the store (version 1 builds an index and fills the count summary) and so take longer than a normal start.

Anyone who changes the schema appends a `Migration` to `MIGRATIONS`; never edit a released step.

Version 1 (for a million instances; every index costs each insert and each purge page writes, so instance
id prefix ranges are read from the primary key rather than from an index of their own):
- `instances_by_name (hub, name, runtime_status, created_time, instance_id)`: listing by orchestrator name,
  alone or with runtime statuses, in created order;
- `instance_counts (hub, runtime_status, day, name, count)`: how many orchestration instances (not entities)
  of each name and runtime status were created on each UTC day, kept by triggers on `instances` in the same
  transaction as the change (inserts, status changes, deletes, `INSERT OR REPLACE` with `recursive_triggers`
  on), so counts and histograms of created times read a few thousand summary rows instead of the instances.

Version 2 (for purges): `history (hub, instance_created, instance_id, seq, event)` is keyed by its first four
columns, where `instance_created` is the `created_time` of the instance the rows belong to. History is most of the store
(about 1.7 KiB of 2.1 KiB per instance with ten events), and a purge selects instances by created time: with
the history clustered by instance id (version 1), purging instances created in a window deleted rows spread over
the whole table, about three pages written per instance; clustered by created time, the rows of the purged
instances lie side by side, whole pages empty at once, and a purge writes about a third as many pages. Every
history read and write goes through the instance's row for its created time (`store.py`); a new instance
(`INSERT OR REPLACE`, a restart with the same id) deletes its old history first, so the rows of an instance
always carry its current created time. The step rewrites the history table once (about 50 s for a million
instances with ten events each) and leaves the old pages free for reuse inside the file; history rows
without an instance (none are written) keep `instance_created = 0`. The columns are declared in the key's
order: SQLite 3.40's `PRAGMA integrity_check` misreports NOT NULL columns of a `WITHOUT ROWID` table otherwise.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)

MICROS_PER_DAY = 86_400_000_000

SCHEMA_V0 = """
CREATE TABLE IF NOT EXISTS instances (
    hub TEXT NOT NULL,
    instance_id TEXT NOT NULL,
    name TEXT NOT NULL,
    execution_id TEXT NOT NULL,
    runtime_status TEXT NOT NULL,
    created_time INTEGER NOT NULL,
    last_updated_time INTEGER NOT NULL,
    completed_time INTEGER,
    input TEXT,
    output TEXT,
    custom_status TEXT,
    parent_instance_id TEXT,
    parent_execution_id TEXT,
    parent_sequence_id INTEGER,
    history_length INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (hub, instance_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS instances_by_created ON instances (hub, created_time, instance_id);
CREATE INDEX IF NOT EXISTS instances_by_status ON instances (hub, runtime_status, created_time, instance_id);
CREATE TABLE IF NOT EXISTS history (
    hub TEXT NOT NULL,
    instance_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    event TEXT NOT NULL,
    PRIMARY KEY (hub, instance_id, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    hub TEXT NOT NULL,
    instance_id TEXT NOT NULL,
    execution_id TEXT,
    visible_at INTEGER NOT NULL,
    event_type INTEGER NOT NULL,
    event TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_by_time ON messages (hub, visible_at);
CREATE INDEX IF NOT EXISTS messages_by_instance ON messages (hub, instance_id, id);
CREATE TABLE IF NOT EXISTS work_items (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    hub TEXT NOT NULL,
    instance_id TEXT NOT NULL,
    execution_id TEXT NOT NULL,
    sequence_id INTEGER NOT NULL,
    name TEXT NOT NULL,
    input TEXT,
    lease_owner TEXT,
    lease_expires INTEGER
);
CREATE INDEX IF NOT EXISTS work_items_by_instance ON work_items (hub, instance_id);
CREATE TABLE IF NOT EXISTS host_state (
    hub TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (hub, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS timer_triggers (
    hub TEXT NOT NULL,
    function_name TEXT NOT NULL,
    last INTEGER,
    next INTEGER,
    last_updated INTEGER,
    PRIMARY KEY (hub, function_name)
) WITHOUT ROWID;
"""

_COUNTED = "substr({row}.instance_id, 1, 1) != '@'"  # orchestration instances; entities are `@name@key`
_DAY = f"{{row}}.created_time / {MICROS_PER_DAY}"


def _count_change(row: str, delta: int) -> str:
    return (f"INSERT INTO instance_counts (hub, runtime_status, day, name, count) "
            f"VALUES ({row}.hub, {row}.runtime_status, {_DAY.format(row=row)}, {row}.name, {delta}) "
            f"ON CONFLICT (hub, runtime_status, day, name) DO UPDATE SET count = count + ({delta});")


V1_COUNTS = f"""
CREATE INDEX IF NOT EXISTS instances_by_name ON instances (hub, name, runtime_status, created_time, instance_id);
CREATE TABLE IF NOT EXISTS instance_counts (
    hub TEXT NOT NULL,
    runtime_status TEXT NOT NULL,
    day INTEGER NOT NULL,
    name TEXT NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (hub, runtime_status, day, name)
) WITHOUT ROWID;
DELETE FROM instance_counts;
INSERT INTO instance_counts (hub, runtime_status, day, name, count)
    SELECT hub, runtime_status, created_time / {MICROS_PER_DAY}, name, COUNT(*) FROM instances
    WHERE {_COUNTED.format(row="instances")} GROUP BY 1, 2, 3, 4;
CREATE TRIGGER IF NOT EXISTS instance_counts_insert AFTER INSERT ON instances
    WHEN {_COUNTED.format(row="NEW")}
    BEGIN {_count_change("NEW", 1)} END;
CREATE TRIGGER IF NOT EXISTS instance_counts_delete AFTER DELETE ON instances
    WHEN {_COUNTED.format(row="OLD")}
    BEGIN {_count_change("OLD", -1)} END;
CREATE TRIGGER IF NOT EXISTS instance_counts_update
    AFTER UPDATE OF hub, instance_id, name, runtime_status, created_time ON instances
    WHEN OLD.runtime_status IS NOT NEW.runtime_status OR OLD.name IS NOT NEW.name
         OR OLD.created_time / {MICROS_PER_DAY} IS NOT NEW.created_time / {MICROS_PER_DAY}
         OR OLD.hub IS NOT NEW.hub OR OLD.instance_id IS NOT NEW.instance_id
    BEGIN {_count_change("OLD", -1)} {_count_change("NEW", 1)} END;
"""

V2_HISTORY_BY_CREATED = """
CREATE TABLE history_v2 (
    hub TEXT NOT NULL,
    instance_created INTEGER NOT NULL,
    instance_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    event TEXT NOT NULL,
    PRIMARY KEY (hub, instance_created, instance_id, seq)
) WITHOUT ROWID;
INSERT INTO history_v2 (hub, instance_id, seq, event, instance_created)
    SELECT h.hub, h.instance_id, h.seq, h.event, COALESCE(i.created_time, 0)
    FROM history h LEFT JOIN instances i ON i.hub = h.hub AND i.instance_id = h.instance_id
    ORDER BY h.hub, 5, h.instance_id, h.seq;
DROP TABLE history;
ALTER TABLE history_v2 RENAME TO history;
"""


@dataclass(frozen=True)
class Migration:
    """One step: from `version - 1` to `version`, as SQL or as a function of the open connection."""

    version: int
    summary: str
    apply: Callable[[sqlite3.Connection], None]


def _script(sql: str) -> Callable[[sqlite3.Connection], None]:
    def run(db: sqlite3.Connection) -> None:
        for statement in _statements(sql):
            db.execute(statement)
    return run


def _statements(sql: str) -> list[str]:
    """Split a script into statements (`sqlite3.complete_statement` keeps trigger bodies whole)."""
    statements, current = [], ""
    for line in sql.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            statements.append(current.strip())
            current = ""
    if current.strip():
        statements.append(current.strip())
    return statements


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "orchestrator name index; per-status, per-day instance counts",
              _script(V1_COUNTS)),
    Migration(2, "history keyed by its instance's created time, so a purge by created time deletes ranges",
              _script(V2_HISTORY_BY_CREATED)),
)
LATEST_VERSION = MIGRATIONS[-1].version


class SchemaError(RuntimeError):
    """The store cannot be opened by this version of the host (written by a newer one)."""


def schema_version(db: sqlite3.Connection) -> int:
    return int(db.execute("PRAGMA user_version").fetchone()[0])


def migrate(db: sqlite3.Connection) -> list[int]:
    """Bring the store to `LATEST_VERSION`; returns the versions applied (none on a normal start).

    `db` is in autocommit mode (`isolation_level=None`); each step commits on its own, with its version.
    """
    version = schema_version(db)
    if version > LATEST_VERSION:
        raise SchemaError(f"the store was written by a newer durable-local (schema version {version}; this "
                          f"version knows up to {LATEST_VERSION}); upgrade durable-local to open it")
    applied: list[int] = []
    if version == 0:
        _in_transaction(db, _script(SCHEMA_V0), 0)  # a new store, or an unversioned one: idempotent
    for step in MIGRATIONS:
        if step.version <= version:
            continue
        log.info("migrating the store to schema version %d (%s); once, a large store takes a while",
                 step.version, step.summary)
        _in_transaction(db, step.apply, step.version)
        applied.append(step.version)
    return applied


def _in_transaction(db: sqlite3.Connection, apply: Callable[[sqlite3.Connection], None], version: int) -> None:
    db.execute("BEGIN IMMEDIATE")
    try:
        apply(db)
        db.execute(f"PRAGMA user_version = {int(version)}")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
