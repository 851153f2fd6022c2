"""The status payload's times and stored JSON strings: the quick paths give exactly what the general ones give."""

from __future__ import annotations

import json
import random

import pytest

from durable_local.host.history import from_micros, status_time, status_time_of_micros
from durable_local.host.status import parse_to_token


def test_status_times_from_stored_microseconds_match_the_general_formatting() -> None:
    rng = random.Random(5)
    samples = [0, 999_999, 1_000_000, 1_767_225_599_999_999, 253_402_300_799_999_999]
    samples += [rng.randrange(253_402_300_800_000_000) for _ in range(2_000)]
    for micros in samples:
        assert status_time_of_micros(micros) == status_time(from_micros(micros))
    assert status_time_of_micros(1_767_225_599_999_999) == "2025-12-31T23:59:59Z"


@pytest.mark.parametrize("text", ['"ok"', '""', '"é and 😀"', '"quote \\" inside"', '"line\\nbreak"',
                                  '"\\u0041"', ' "padded" '])
def test_a_stored_json_string_reads_back_as_json_loads_reads_it(text: str) -> None:
    assert parse_to_token(text) == json.loads(text)


@pytest.mark.parametrize("text", ['"tab\tinside"', '"a"b"', '"unterminated'])
def test_text_that_is_not_json_comes_back_as_the_text_itself(text: str) -> None:
    assert parse_to_token(text) == text
