"""Builds a local-host store of N instances for the scale benchmark, with direct SQLite inserts (not HTTP).

The mix is meant to look like a year of a real task hub:
- created times spread over 2025 (busier on weekdays), last updates a few seconds to hours later;
- runtime statuses: 72% Completed, 10% Failed, 6% Terminated, 7% Running, 3% Pending, 2% Suspended;
- six orchestrator names; instance ids of several shapes: `order-0000042` (50%), `invoice-…` (30%),
  `report-…` (14%), `sync-…` (5.4%), `audit-…` (0.6%), so id prefixes match from a handful to half the hub;
- about 10 history events per instance (a three-activity sequence), as the host itself writes them;
- 1% of instances are sub-orchestrations with a parent instance id.

The store is first created by `Store` (so it has the current schema, triggers included), then filled in
large transactions with `synchronous=OFF`; the count summary is kept by the schema's own triggers.
"""

from __future__ import annotations

import json
import random
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from durable_local.host.history import EventType, event, execution_started, to_micros
from durable_local.host.history import orchestrator_completed as orchestrator_completed_event
from durable_local.host.history import orchestrator_started as orchestrator_started_event
from durable_local.host.store import Store

HUB = "BenchHub"
YEAR_START = datetime(2025, 1, 1, tzinfo=UTC)
STATUSES = (("Completed", 72), ("Failed", 10), ("Terminated", 6), ("Running", 7), ("Pending", 3),
            ("Suspended", 2))
NAMES = (("ProcessOrder", 40), ("SendInvoice", 25), ("BuildReport", 15), ("SyncInventory", 12),
         ("AuditTrail", 5), ("Escalate", 3))
ID_KINDS = (("order", 500), ("invoice", 300), ("report", 140), ("sync", 54), ("audit", 6))
BATCH = 20_000


def _history(instance_id: str, name: str, created: datetime, status: str) -> list[str]:
    events = [orchestrator_started_event(created),
              execution_started(created, instance_id, "bench", name, '{"customer":"c-1","amount":12.5}')]
    for n in range(3):
        events += [event(EventType.TaskScheduled, created, n, Name="Step", Input=f'"step {n}"'),
                   event(EventType.TaskCompleted, created, TaskScheduledId=n, Result=f'"done {n}"')]
    if status in ("Completed", "Failed", "Terminated"):
        number = {"Completed": 1, "Failed": 3, "Terminated": 5}[status]
        events.append(event(EventType.ExecutionCompleted, created, OrchestrationStatus=number, Result='"ok"'))
    events.append(orchestrator_completed_event(created))
    return [json.dumps(e, separators=(",", ":")) for e in events]


def build_store(path: Path, count: int, seed: int = 7) -> None:
    """Create `path` with `count` instances (see the module docstring); the file must not exist yet."""
    Store(path, HUB).close()
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA synchronous=OFF")
    db.execute("PRAGMA cache_size=-262144")  # 256 MiB while building
    db.execute("PRAGMA recursive_triggers=ON")
    rng = random.Random(seed)
    statuses, status_weights = zip(*STATUSES, strict=True)
    names, name_weights = zip(*NAMES, strict=True)
    kinds, kind_weights = zip(*ID_KINDS, strict=True)
    # One template history per (name, status), its times shifted per instance: building stays fast.
    for start in range(0, count, BATCH):
        instances, history = [], []
        for n in range(start, min(count, start + BATCH)):
            day = rng.randrange(365)
            if (YEAR_START + timedelta(days=day)).weekday() >= 5 and rng.random() < 0.5:
                day = rng.randrange(365)  # weekends are quieter
            created = YEAR_START + timedelta(days=day, seconds=rng.randrange(86400),
                                             microseconds=rng.randrange(1_000_000))
            status = rng.choices(statuses, status_weights)[0]
            name = rng.choices(names, name_weights)[0]
            instance_id = f"{rng.choices(kinds, kind_weights)[0]}-{n:07d}"
            updated = created + timedelta(seconds=rng.randrange(1, 7200))
            finished = status in ("Completed", "Failed", "Terminated")
            parent = f"order-{rng.randrange(max(n, 1)):07d}" if rng.random() < 0.01 else None
            events = _history(instance_id, name, created, status)
            instances.append((
                HUB, instance_id, name, f"x{n}", status, to_micros(created), to_micros(updated),
                to_micros(updated) if finished else None, '{"customer":"c-1","amount":12.5}',
                '"ok"' if status == "Completed" else None, None, parent, "p" if parent else None,
                1 if parent else None, len(events)))
            history += [(HUB, instance_id, seq, text, to_micros(created)) for seq, text in enumerate(events)]
        db.execute("BEGIN")
        db.executemany(f"INSERT INTO instances VALUES ({','.join('?' * 15)})", instances)
        db.executemany("INSERT INTO history (hub, instance_id, seq, event, instance_created) VALUES (?,?,?,?,?)",
                       history)
        db.execute("COMMIT")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
