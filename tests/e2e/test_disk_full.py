"""A full disk (SQLITE_FULL) is reported, never a stuck instance: with the store on a small tmpfs, an
orchestration whose timer fires while the disk is full continues once space is back, and requests that must
write answer with an error instead of hanging. Needs permission to mount a tmpfs (root); skipped otherwise."""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _app import app_settings

from durable_local.testing import DURABLE_API, LocalHost

APP_DIR = Path(__file__).resolve().parents[2]
API = DURABLE_API


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount_point = tmp_path / "small-disk"
    mount_point.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mount_point)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], capture_output=True)


def fill(folder: Path) -> Path:
    """Write a file until the disk is full; the file, to delete later."""
    filler = folder / "filler"
    block = b"\0" * 65536
    descriptor = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        with contextlib.suppress(OSError):
            while True:
                os.write(descriptor, block)
    finally:
        os.close(descriptor)
    return filler


def test_an_instance_continues_once_the_full_disk_has_space_again(azurite: Any, small_disk: Path) -> None:
    with LocalHost(APP_DIR, store=small_disk / "store.sqlite", env=app_settings(azurite.connection_string)) as host:
        reply = host.post(f"{API}/orchestrators/ApprovalWorkflow", {"requestId": "disk", "timeoutHours": 2 / 3600})
        instance_id = reply.json()["id"]
        host.wait_for_status(instance_id, {"Running"})
        filler = fill(small_disk)
        started = host.post(f"{API}/orchestrators/HelloWorld", {"name": "full"}, timeout=30)
        assert started.status >= 500 and b"full" in started.body.lower(), started.body
        time.sleep(4)  # the 2 s timer fires while nothing can be written
        filler.unlink()
        done = host.wait_for_status(instance_id, timeout=60)
        assert done["runtimeStatus"] == "Completed" and done["output"]["outcome"] == "Escalated"
        after = host.post(f"{API}/orchestrators/HelloWorld", {"name": "space"})
        assert after.status == 202
        assert host.wait_for_status(after.json()["id"])["output"] == "Hello space!"
