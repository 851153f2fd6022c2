"""docs/local-host.md's extension-endpoint examples, run as written against the repository's app."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
from pathlib import Path
from typing import Any

from _app import app_host, start, unique

DOC = Path(__file__).resolve().parents[2] / "docs" / "local-host.md"


def _example_lines() -> list[str]:
    text = DOC.read_text(encoding="utf-8")
    block = re.search(r"<!-- extension-examples -->\n```bash\n(.*?)```", text, re.S)
    assert block, "docs/local-host.md lost its extension examples"
    return [line for line in block.group(1).splitlines() if line.strip()]


def test_the_documented_extension_examples_answer_as_described(azurite: Any) -> None:
    with app_host(azurite) as host:
        instance_id = start(host, "E1_HelloSequence", None, unique("docs"))
        host.wait_for_status(instance_id)
        outputs = []
        for line in _example_lines():
            command = shlex.split(line.replace("http://localhost:7071", host.base_url))
            done = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)
            assert done.returncode == 0, (line, done.stderr)
            outputs.append(done.stdout)
    listed = json.loads(outputs[0])
    assert [item["instanceId"] for item in listed] == [instance_id]
    assert listed[0]["name"] == "E1_HelloSequence" and listed[0]["parentInstanceId"] is None
    counts = json.loads(outputs[1])
    assert counts["counts"]["Completed"] == 1 and counts["total"] >= 1
    assert outputs[2].strip() == "400"
