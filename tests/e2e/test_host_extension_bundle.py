"""`durable host start` checks host.json's extensionBundle as a Python v2 Durable app needs it: a range without
a 4.x bundle stops the start with what to write instead (also when an app setting overrides the range)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from durable_local.testing import free_port

APP_SOURCE = ("import azure.durable_functions as df\nimport azure.functions as func\n"
              "app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)\n\n"
              "@app.activity_trigger(input_name='name')\ndef Hello(name: str) -> str:\n    return name\n")
BUNDLE = "Microsoft.Azure.Functions.ExtensionBundle"


def start(folder: Path, version: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "function_app.py").write_text(APP_SOURCE)
    (folder / "host.json").write_text(json.dumps({"version": "2.0",
                                                  "extensionBundle": {"id": BUNDLE, "version": version}}))
    return subprocess.run([sys.executable, "-m", "durable_local", "host", "start", "--port", str(free_port()),
                           "--store", str(folder / "s.sqlite")], cwd=folder, env={**os.environ, **(env or {})},
                          capture_output=True, text=True, timeout=60)


def test_a_bundle_range_without_4x_stops_the_start_with_what_to_write(tmp_path: Path) -> None:
    result = start(tmp_path / "old_bundle", "[2.*, 3.0.0)")
    assert result.returncode == 1
    assert ("host.json extensionBundle.version '[2.*, 3.0.0)' holds no 4.x bundle: Durable Functions in the Python "
            "v2 programming model needs extension bundle 4.x") in result.stderr
    assert 'Write "version": "[4.*, 5.0.0)".' in result.stderr


def test_an_app_setting_that_overrides_the_range_is_checked_too(tmp_path: Path) -> None:
    result = start(tmp_path / "overridden", "[4.*, 5.0.0)",
                   {"AzureFunctionsJobHost__extensionBundle__version": "[3.*, 4.0.0)"})
    assert result.returncode == 1 and "extensionBundle.version '[3.*, 4.0.0)' holds no 4.x bundle" in result.stderr
