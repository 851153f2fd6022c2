"""The function app's deployment shape: what Azure installs, what `.funcignore` keeps out, and that the app
never imports the local host (it must run unchanged on Azure Functions)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APP_FILES = [ROOT / "function_app.py", *sorted((ROOT / "blueprints").glob("*.py"))]


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", APP_FILES, ids=lambda p: p.name)
def test_the_app_never_imports_the_local_host(path):
    assert not [name for name in imported_modules(path) if name.split(".")[0] == "durable_local"]


def test_requirements_are_what_azure_installs():
    lines = [line.split("#")[0].strip() for line in (ROOT / "requirements.txt").read_text().splitlines()]
    packages = {line.split(">")[0].split("<")[0].split("=")[0].strip() for line in lines if line}
    assert packages == {
        "azure-functions", "azure-functions-durable", "azure-data-tables", "azure-storage-blob", "azure-identity",
    }


def test_funcignore_keeps_development_files_out_of_the_deployment():
    lines = (ROOT / ".funcignore").read_text().splitlines()
    ignored = {line.strip() for line in lines if line.strip() and not line.startswith("#")}
    assert {"tests/", "src/", "bench/", ".venv/", "venv/", "node_modules/", "local.settings.json"} <= ignored
    assert not ignored & {"function_app.py", "blueprints/", "host.json", "requirements.txt"}
