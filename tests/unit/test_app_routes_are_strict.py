"""Every HTTP route of the app declares the query parameters it understands (`_params.accept_only`), so an
unknown or mis-cased parameter is a 400 instead of being ignored by a destructive operation."""

from __future__ import annotations

import ast
from pathlib import Path

BLUEPRINTS = Path(__file__).resolve().parents[2] / "blueprints"


def http_routes() -> list[tuple[str, ast.AsyncFunctionDef | ast.FunctionDef]]:
    found = []
    for path in sorted(BLUEPRINTS.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and any(
                    isinstance(d, ast.Call) and isinstance(d.func, ast.Attribute) and d.func.attr == "route"
                    for d in node.decorator_list):
                found.append((f"{path.name}:{node.name}", node))
    return found


def calls_accept_only(function: ast.AsyncFunctionDef | ast.FunctionDef) -> bool:
    return any(isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == "accept_only"
               for n in ast.walk(function))


def test_the_app_has_http_routes() -> None:
    assert len(http_routes()) >= 10


def test_every_http_route_refuses_parameters_it_does_not_understand() -> None:
    lax = [name for name, function in http_routes() if not calls_accept_only(function)]
    assert lax == [], f"routes that ignore unknown query parameters: {lax} (call _params.accept_only)"
