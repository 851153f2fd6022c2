"""The keys file: a file that is not UTF-8 is a clear error, and a rewrite is owner-only even when a stale
temporary file with a wider mode was left beside it."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from durable_local.host.keys import KeysFileError, load_or_create, read_keys


def test_a_keys_file_that_is_not_utf8_is_a_keys_file_error(tmp_path: Path) -> None:
    path = tmp_path / "store.keys.json"
    path.write_bytes(b"\xff\xfe{")
    with pytest.raises(KeysFileError, match="not UTF-8"):
        read_keys(path)


def test_durable_host_keys_reports_a_non_utf8_keys_file_without_a_traceback(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from durable_local.cli import main

    path = tmp_path / "store.keys.json"
    path.write_bytes(b"\xff\xfe{")
    assert main(["host", "keys", "--keys-file", str(path)]) == 1
    error = capsys.readouterr().err
    assert "not UTF-8" in error and "Traceback" not in error


def test_keys_are_written_owner_only_even_over_a_stale_temporary_file(tmp_path: Path) -> None:
    path = tmp_path / "store.keys.json"
    stale = tmp_path / "store.keys.json.tmp"
    stale.write_text("left by a crash")
    stale.chmod(0o644)
    load_or_create(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
