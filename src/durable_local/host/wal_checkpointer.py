"""A thread that checkpoints a SQLite store's write-ahead log while the host writes many large transactions.

SQLite's automatic checkpoint runs inside the commit that crosses its threshold, on the writer's thread: during
a purge of a million-instance store that is a third of the time. During bulk writes (`Store.bulk_writes`) the
automatic checkpoint is off and this thread, with its own connection, copies committed pages into the database
file (`PRAGMA wal_checkpoint(PASSIVE)`: it never blocks the writer) while the writer goes on, so the copy uses
the machine's other core. The writer keeps the log bounded by restarting it itself now and then (see
`Store.bulk_writes`). Checkpoints are crash-safe: a process killed during one loses nothing committed.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from pathlib import Path

log = logging.getLogger(__name__)

START_BYTES = 8 * 2**20  # checkpoint once the log holds this much
POLL_SECONDS = 0.02


class WalCheckpointer:
    """Started and stopped around bulk writes; see the module docstring."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._wal = Path(f"{path}-wal")
        self._stop = threading.Event()
        self.lock = threading.Lock()  # held during each checkpoint; the writer takes it to restart the log
        self._thread = threading.Thread(target=self._run, name=f"wal-checkpointer {path.name}", daemon=True)

    def start(self) -> WalCheckpointer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            db.execute("PRAGMA busy_timeout=5000")
            while not self._stop.wait(POLL_SECONDS):
                if self._wal_bytes() >= START_BYTES:
                    with self.lock:
                        db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        except sqlite3.Error:
            log.exception("the WAL checkpointer of %s stopped; the next checkpoint catches up", self.path)
        finally:
            db.close()

    def _wal_bytes(self) -> int:
        try:
            return os.path.getsize(self._wal)
        except OSError:
            return 0
