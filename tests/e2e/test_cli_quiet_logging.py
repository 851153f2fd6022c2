"""Library HTTP logging (azure-core's request and response lines) stays off unless `-v`: a storage dry run
prints its answer, not the requests it made."""

from __future__ import annotations

import os
import subprocess
import sys

from azure.data.tables import TableServiceClient


def _durable(argv: list[str], cwd, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "durable_local", *argv], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)


def test_storage_dry_run_prints_no_http_logging_unless_verbose(azurite, tmp_path):
    TableServiceClient.from_connection_string(azurite.connection_string).create_table_if_not_exists(
        "QuietHubHistory")
    env = {**os.environ, "QUIET_STORAGE": azurite.connection_string}
    argv = ["delete-task-hub", "--task-hub-name", "QuietHub", "--connection-string-setting", "QUIET_STORAGE",
            "--dry-run"]
    quiet = _durable(argv, tmp_path, env)
    assert quiet.returncode == 0, quiet.stderr
    assert "table QuietHubHistory" in quiet.stdout
    assert "Request URL" not in quiet.stderr and "Response status" not in quiet.stderr
    assert quiet.stderr.strip() == ""
    verbose = _durable([*argv, "-v"], tmp_path, env)
    assert verbose.returncode == 0 and "Request URL" in verbose.stderr
