"""docs/cli.md "The examples of Microsoft's instance-management page", run exactly as written: every line of
its second `bash` block, in order, through a shell, from a copy of samples/seed-app, against that app on a local
host started with --testing."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from _cli import cli_host

REPO = Path(__file__).resolve().parents[2]
SEED_APP = REPO / "samples" / "seed-app"
SEED_ID = "0ab8c55a66644d68a3a8b220b12d209c"


def documented_lines() -> tuple[list[str], list[str]]:
    """The section's two bash blocks: how to start the host, then the example lines."""
    text = (REPO / "docs" / "cli.md").read_text(encoding="utf-8")
    section = text.split("## The examples of Microsoft's instance-management page", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```bash\n(.*?)```", section, flags=re.S)
    assert len(blocks) == 2, "expected the start-the-host block and the examples block"
    return [[line for line in block.splitlines() if line.strip()] for block in blocks]  # type: ignore[return-value]


def test_the_host_block_starts_the_seed_app_with_testing_endpoints():
    start, _ = documented_lines()
    assert start == ["cd samples/seed-app", "durable host start --testing"]
    assert (SEED_APP / "counter-data.json").is_file() and (SEED_APP / "eventdata.json").is_file()


def test_the_seed_examples_run_verbatim_in_the_seed_app(tmp_path):
    _, lines = documented_lines()
    app_dir = tmp_path / "seed-app"
    shutil.copytree(SEED_APP, app_dir, ignore=shutil.ignore_patterns("__pycache__", ".durable"))
    with cli_host(app_dir) as host:  # LocalHost starts `durable host start --testing`, hub from host.json
        env = {
            **os.environ,
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "DURABLE_BASE_URL": host.base_url,
        }
        results = []
        for line in lines:
            done = subprocess.run(["bash", "-c", line], cwd=app_dir, env=env, stdin=subprocess.DEVNULL,
                                  capture_output=True, text=True, timeout=120)
            results.append((line, done))
            expected = 1 if line.startswith("durable delete-task-hub") else 0
            assert done.returncode == expected, f"{line}\n-> {done.returncode}\n{done.stdout}\n{done.stderr}"
        outputs = {line: done.stdout for line, done in results}
        errors = {line: done.stderr for line, done in results}

        first = lines[0]
        started_id = outputs[first].strip().rsplit(" ", 1)[-1]
        assert host.wait_for_status(started_id)["output"] == "Hello {'counter': 41}!"
        status_line = next(line for line in lines if line.startswith("durable get-runtime-status"))
        assert "Runtime status: Completed" in outputs[status_line]
        assert "Hello {'counter': 41}!" in outputs[status_line]
        history_line = next(line for line in lines if line.startswith("durable get-history"))
        assert "ExecutionStarted" in outputs[history_line] and "TaskCompleted" in outputs[history_line]
        terminate_line = next(line for line in lines if line.startswith("durable terminate"))
        assert "Runtime status: Terminated" in outputs[terminate_line]
        assert host.wait_for_status("1234567")["output"] == 3
        rewind_line = next(line for line in lines if line.startswith("durable rewind"))
        assert outputs[rewind_line].startswith("Status before rewind: Failed")
        final = host.wait_for_status(SEED_ID)
        assert final["name"] == "FailOnce" and final["runtimeStatus"] == "Completed" and final["output"] == "recovered"
        purge_line = next(line for line in lines if line.startswith("durable purge-history"))
        assert outputs[purge_line].strip() == "No instances match; nothing to purge."
        delete_line = lines[-1]
        assert "task hub 'UserTest' does not exist on the local host" in errors[delete_line]


@pytest.mark.parametrize("name", ["counter-data.json", "eventdata.json"])
def test_the_files_the_examples_read_are_in_the_folder(name):
    assert f"@{name}" in "\n".join(documented_lines()[1])
    assert (SEED_APP / name).read_text(encoding="utf-8").strip().startswith("{")
