"""Every HTTP route of the app declares the query parameters it understands (`_params.accept_only`), so an
unknown or mis-cased parameter is a 400 instead of being ignored by a destructive operation."""

from __future__ import annotations

import ast
from pathlib import Path

BLUEPRINTS = Path(__file__).resolve().parents[2] / "blueprints"


def http_routes() -> list[tuple[str, bool]]:
    """(module:function, whether it calls accept_only directly or through a helper of its module)."""
    found = []
    for path in sorted(BLUEPRINTS.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        functions = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
        strict = {"accept_only"} | {f.name for f in functions if calls(f, {"accept_only"})}
        for node in functions:
            if any(isinstance(d, ast.Call) and isinstance(d.func, ast.Attribute) and d.func.attr == "route"
                   for d in node.decorator_list):
                found.append((f"{path.name}:{node.name}", calls(node, strict)))
    return found


def calls(function: ast.AsyncFunctionDef | ast.FunctionDef, names: set[str]) -> bool:
    for node in ast.walk(function):
        if isinstance(node, ast.Call):
            callee = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
            if callee in names:
                return True
    return False


def test_the_app_has_http_routes() -> None:
    assert len(http_routes()) >= 10


def test_every_http_route_refuses_parameters_it_does_not_understand() -> None:
    lax = [name for name, strict in http_routes() if not strict]
    assert lax == [], f"routes that ignore unknown query parameters: {lax} (call _params.accept_only)"
