"""Shared fixtures: a real Azurite storage emulator for the whole test session.

`azurite` starts `node_modules/.bin/azurite` (from `npm install`) on free ports of 127.0.0.1, in memory,
and yields an `Azurite` with the ports and the full devstoreaccount1 connection string.
"""

from __future__ import annotations

import logging
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

logger = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parent.parent
AZURITE_BIN = REPO_ROOT / "node_modules" / ".bin" / "azurite"
DEV_ACCOUNT = "devstoreaccount1"
DEV_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
HOST = "127.0.0.1"


@dataclass(frozen=True)
class Azurite:
    """A running Azurite: its blob, queue and table ports, and a connection string for all three."""

    blob_port: int
    queue_port: int
    table_port: int
    host: str = HOST

    @property
    def connection_string(self) -> str:
        base = f"http://{self.host}"
        return (
            f"DefaultEndpointsProtocol=http;AccountName={DEV_ACCOUNT};AccountKey={DEV_KEY};"
            f"BlobEndpoint={base}:{self.blob_port}/{DEV_ACCOUNT};"
            f"QueueEndpoint={base}:{self.queue_port}/{DEV_ACCOUNT};"
            f"TableEndpoint={base}:{self.table_port}/{DEV_ACCOUNT};"
        )


def _free_ports(count: int) -> list[int]:
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind((HOST, 0))
            sockets.append(sock)
        return [int(sock.getsockname()[1]) for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _accepts_connections(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((HOST, port)) == 0


@pytest.fixture(scope="session")
def azurite() -> Iterator[Azurite]:
    if not AZURITE_BIN.exists():
        pytest.fail(f"Azurite is not installed at {AZURITE_BIN}: run `npm install` in {REPO_ROOT}")
    blob_port, queue_port, table_port = _free_ports(3)
    emulator = Azurite(blob_port, queue_port, table_port)
    with tempfile.TemporaryDirectory(prefix="azurite-") as workdir:
        log_path = Path(workdir) / "azurite.log"
        command = [
            str(AZURITE_BIN), "--silent", "--skipApiVersionCheck", "--loose", "--inMemoryPersistence",
            "--disableTelemetry",
            "--blobHost", HOST, "--blobPort", str(blob_port),
            "--queueHost", HOST, "--queuePort", str(queue_port),
            "--tableHost", HOST, "--tablePort", str(table_port),
        ]
        with log_path.open("wb") as log:
            process = subprocess.Popen(command, cwd=workdir, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 60
            while not all(_accepts_connections(port) for port in (blob_port, queue_port, table_port)):
                if process.poll() is not None:
                    pytest.fail(f"Azurite exited with {process.returncode}: {log_path.read_text(errors='replace')}")
                if time.monotonic() > deadline:
                    pytest.fail(f"Azurite did not listen within 60 s: {log_path.read_text(errors='replace')}")
                time.sleep(0.1)
            logger.info("Azurite listening on blob %d, queue %d, table %d", blob_port, queue_port, table_port)
            yield emulator
        finally:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
