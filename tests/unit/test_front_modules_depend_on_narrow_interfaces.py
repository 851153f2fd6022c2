"""The host's front modules (Durable HTTP API, server, timers, admin endpoints) depend on the narrow
interfaces in `durable_local.host.ports`, not on the engine module; `Host` is the one place that joins them."""

from __future__ import annotations

import ast
import inspect
from collections.abc import Callable
from pathlib import Path

import pytest

import durable_local.host as host_package
from durable_local.host import durable_api, server, timers
from durable_local.host.ports import AdminRuntime, InstanceControl, TimerRuntime

HOST_DIR = Path(host_package.__file__).parent
FRONT_MODULES = ["durable_api", "server", "timers", "insights_api", "raw_history", "seeding", "instance_purge"]


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


@pytest.mark.parametrize("module", FRONT_MODULES)
def test_front_module_does_not_import_the_engine(module: str) -> None:
    imported = _imported_modules(HOST_DIR / f"{module}.py")
    assert "durable_local.host.engine" not in imported
    assert "durable_local.host.host" not in imported


@pytest.mark.parametrize(("constructor", "interface"), [
    (durable_api.DurableApi.__init__, InstanceControl),
    (timers.TimerTriggers.__init__, TimerRuntime),
    (server.HostServer.__init__, AdminRuntime),
])
def test_front_module_takes_its_narrow_interface(constructor: Callable[..., None], interface: type) -> None:
    annotation = inspect.signature(constructor).parameters["runtime"].annotation
    assert annotation == interface.__name__  # annotations are strings under `from __future__ import annotations`


def test_ports_do_not_import_the_engine() -> None:
    """ports.py itself must not import the engine: the engine satisfies the protocols structurally."""
    assert "durable_local.host.engine" not in _imported_modules(HOST_DIR / "ports.py")
