"""Flag values of the `durable` commands: JSON inline or `@file`, runtime statuses, dates and booleans."""

from __future__ import annotations

import argparse
import io
import json
from datetime import UTC, datetime

import pytest

from durable_local.manage.errors import UsageError
from durable_local.manage.parsing import (
    MIN_DATETIME,
    StatusListAction,
    format_datetime,
    parse_bool,
    parse_datetime,
    parse_json_value,
    parse_status_token,
    positive_int,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("3", 3), ('{"a": [1, 2]}', {"a": [1, 2]}), ("null", None), ('"quoted"', "quoted"), ("hello", "hello"),
     ("not json {", "not json {"), ("", "")],
)
def test_inline_json_or_plain_text(text, expected):
    assert parse_json_value(text) == expected


def test_at_file_is_read_as_json(tmp_path, monkeypatch):
    (tmp_path / "counter-data.json").write_text(json.dumps({"count": 5}), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert parse_json_value("@counter-data.json") == {"count": 5}
    assert parse_json_value(f"@{tmp_path / 'counter-data.json'}") == {"count": 5}


def test_at_file_with_byte_order_mark(tmp_path):
    path = tmp_path / "bom.json"
    path.write_bytes(b"\xef\xbb\xbf[1, 2, 3]")
    assert parse_json_value(f"@{path}") == [1, 2, 3]


def test_at_file_missing_or_invalid_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="cannot read"):
        parse_json_value(f"@{tmp_path / 'missing.json'}", flag="--event-data")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(UsageError, match="not valid JSON"):
        parse_json_value(f"@{bad}")
    with pytest.raises(UsageError, match="give a file name"):
        parse_json_value("@")


def test_at_dash_reads_stdin(monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO('{"from": "stdin"}'))
    assert parse_json_value("@-") == {"from": "stdin"}


@pytest.mark.parametrize(
    ("token", "expected"),
    [("failed", ["Failed"]), ("RUNNING", ["Running"]), ("continuedasnew", ["ContinuedAsNew"]),
     ("completed,terminated", ["Completed", "Terminated"]), ("Canceled, Pending,", ["Canceled", "Pending"])],
)
def test_status_names_any_case_and_comma_separated(token, expected):
    assert parse_status_token(token) == expected


@pytest.mark.parametrize("token", ["finished", "Cancelled", "running,done", ","])
def test_unknown_status_is_rejected(token):
    with pytest.raises(argparse.ArgumentTypeError):
        parse_status_token(token)


def _status_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(exit_on_error=False)
    parser.add_argument("--runtime-status", nargs="+", type=parse_status_token, action=StatusListAction)
    return parser


def test_statuses_space_and_comma_separated_and_repeated():
    args = _status_parser().parse_args(
        ["--runtime-status", "failed", "completed,Terminated", "--runtime-status", "FAILED", "pending"])
    assert args.runtime_status == ["Failed", "Completed", "Terminated", "Pending"]
    assert _status_parser().parse_args([]).runtime_status is None


def test_invalid_status_is_a_cli_error(capsys):
    parser = argparse.ArgumentParser(prog="durable get-instances")
    parser.add_argument("--runtime-status", nargs="+", type=parse_status_token, action=StatusListAction)
    with pytest.raises(SystemExit) as exit_info:
        parser.parse_args(["--runtime-status", "running", "bogus"])
    assert exit_info.value.code == 2
    assert "unknown runtime status 'bogus'" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("text", "expected"),
    [("2018-03-10T13:57:31Z", datetime(2018, 3, 10, 13, 57, 31, tzinfo=UTC)),
     ("2018-03-10T23:59Z", datetime(2018, 3, 10, 23, 59, tzinfo=UTC)),
     ("2018-11-14T19:35:00.0000000Z", datetime(2018, 11, 14, 19, 35, tzinfo=UTC)),
     ("2018-03-10", datetime(2018, 3, 10, tzinfo=UTC)),
     ("2018-03-10T12:00:00+02:00", datetime(2018, 3, 10, 10, 0, tzinfo=UTC))],
)
def test_dates_of_the_seed_examples(text, expected):
    assert parse_datetime(text) == expected


def test_bad_date_is_rejected():
    with pytest.raises(argparse.ArgumentTypeError, match="ISO 8601"):
        parse_datetime("yesterday")


def test_format_datetime_keeps_four_digit_years():
    assert format_datetime(MIN_DATETIME) == "0001-01-01T00:00:00Z"
    assert format_datetime(datetime(2018, 3, 10, 23, 59, 0, 500000, tzinfo=UTC)) == "2018-03-10T23:59:00.500000Z"


@pytest.mark.parametrize(("text", "expected"), [("true", True), ("True", True), ("false", False), ("0", False)])
def test_bool_values(text, expected):
    assert parse_bool(text) is expected


def test_bool_and_int_errors():
    with pytest.raises(argparse.ArgumentTypeError):
        parse_bool("maybe")
    with pytest.raises(argparse.ArgumentTypeError):
        positive_int("0")
    with pytest.raises(argparse.ArgumentTypeError):
        positive_int("ten")
    assert positive_int("15") == 15
