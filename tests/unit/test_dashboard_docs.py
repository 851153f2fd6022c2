"""`durable dashboard` is registered with help on every flag, docs/dashboard.md documents each flag and shows
pictures that exist, and the README links to it."""

from __future__ import annotations

import argparse
import hashlib
import re
from pathlib import Path

from durable_local.cli import build_parser

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs" / "dashboard.md"


def _dashboard_parser() -> argparse.ArgumentParser:
    root = build_parser()
    action = next(a for a in root._actions if isinstance(a, argparse._SubParsersAction))
    return action.choices["dashboard"]


def test_every_flag_has_help_and_is_documented():
    text = DOCS.read_text(encoding="utf-8")
    parser = _dashboard_parser()
    assert parser.description and "durable dashboard " in (parser.epilog or "")
    for action in parser._actions:
        if action.option_strings and action.dest != "help":
            assert action.help, action.option_strings
            assert f"`{action.option_strings[-1]}" in text, f"{action.option_strings[-1]} is not in docs/dashboard.md"


def test_pictures_exist_and_the_readme_links_the_page():
    text = DOCS.read_text(encoding="utf-8")
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert images and all((DOCS.parent / image).is_file() for image in images)
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "[docs/dashboard.md](docs/dashboard.md)" in readme
    assert "(docs/images/dashboard-instances.png)" in readme
    assert not re.search(r"\]\((\.\./|/work)", text), "docs must not link outside the repository"


def test_the_vendored_library_keeps_its_licence_and_version_note():
    vendor = REPO / "src" / "durable_local" / "dashboard" / "static" / "vendor"
    assert (vendor / "htmx" / "LICENSE").is_file() and (vendor / "htmx" / "htmx.min.js").is_file()
    note = (vendor / "README.md").read_text(encoding="utf-8")
    assert "2.0.11" in note
    digest = hashlib.sha256((vendor / "htmx" / "htmx.min.js").read_bytes()).hexdigest()
    assert digest in note, "htmx.min.js differs from the version the note records"
