"""Bounded failure text (`host.failure_text`) and JSON depth checks (`host.json_input`), as pure functions."""

from __future__ import annotations

import pytest

from durable_local.host.failure_text import MAX_FAILURE_TEXT, exception_message, exception_stack, safe_str, truncated
from durable_local.host.json_input import MAX_JSON_DEPTH, JsonInputError, json_depth, parse_json_body


class BrokenStr(Exception):
    """An exception whose `__str__` raises."""

    def __str__(self) -> str:
        raise RuntimeError("no")


def test_short_text_is_unchanged_and_long_text_keeps_head_and_tail_within_the_limit() -> None:
    assert truncated("abc") == "abc"
    text = "H" * 100_000 + "TAIL"
    cut = truncated(text)
    assert len(cut) <= MAX_FAILURE_TEXT
    assert cut.startswith("HHH") and cut.endswith("TAIL")
    assert "characters truncated by the local host" in cut


def test_a_broken_str_gives_a_placeholder_instead_of_raising() -> None:
    assert safe_str(BrokenStr()) == "<str() of BrokenStr raised RuntimeError>"
    assert exception_message(BrokenStr()).startswith("BrokenStr: <str() of BrokenStr")
    try:
        raise BrokenStr()
    except BrokenStr as error:
        assert "BrokenStr" in exception_stack(error)


def test_a_huge_message_is_bounded() -> None:
    assert len(exception_message(ValueError("x" * 20_000_000))) <= MAX_FAILURE_TEXT


def test_json_depth_counts_nesting_outside_strings() -> None:
    assert json_depth('{"a": [1, {"b": "[[[[{{{{"}]}') == 3
    assert json_depth('"\\"[[["') == 0
    assert json_depth("[" * 100 + "]" * 100) == 100


def test_bodies_deeper_than_the_limit_are_refused_before_parsing() -> None:
    assert parse_json_body(b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH) is not None
    with pytest.raises(JsonInputError, match="levels deep"):
        parse_json_body(b"[" * 100_000)
    with pytest.raises(JsonInputError, match="not valid JSON"):
        parse_json_body(b"{nope")
    assert parse_json_body(b'{"v": NaN}')["v"] != parse_json_body(b'{"v": NaN}')["v"]  # NaN, as Newtonsoft reads
