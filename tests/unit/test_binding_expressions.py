"""Binding expressions as the WebJobs SDK resolves them: path patterns, binding data, built-ins, app settings."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

import pytest

from durable_local.host.storage_bindings.expressions import (
    BindingExpressionError,
    binding_data,
    format_datetime,
    match,
    parameter_names,
    resolve,
)
from durable_local.vocabulary import SettingNotFoundError

NOW = datetime(2026, 3, 4, 5, 6, 7, 890123, tzinfo=UTC)


def test_a_blob_path_pattern_extracts_its_name() -> None:
    assert match("samples-workitems/{name}.txt", "samples-workitems/report.txt") == {"name": "report"}
    assert match("samples-workitems/{name}.txt", "samples-workitems/a/b.c.txt") == {"name": "a/b.c"}


def test_a_blob_path_that_does_not_fit_the_pattern_does_not_match() -> None:
    assert match("samples-workitems/{name}.txt", "samples-workitems/report.csv") is None
    assert match("samples-workitems/{name}.txt", "other/report.txt") is None


def test_a_pattern_with_two_names_and_regex_characters_in_literals() -> None:
    assert match("in/{folder}/{file}(1).json", "in/x/y(1).json") == {"folder": "x", "file": "y"}


def test_names_resolve_from_binding_data_case_insensitively() -> None:
    assert resolve("out/{Name}-copy.txt", {"name": "report"}, environ={}) == "out/report-copy.txt"


def test_queue_trigger_resolves_to_the_message_text() -> None:
    assert resolve("files/{queueTrigger}", {"QueueTrigger": "a.txt"}, environ={}) == "files/a.txt"


def test_json_payload_properties_join_the_binding_data() -> None:
    data = binding_data({"QueueTrigger": '{"Id": "42", "Customer": {"Name": "ada"}}'},
                        '{"Id": "42", "Customer": {"Name": "ada"}}')
    assert resolve("orders/{Id}/{customer.name}", data, environ={}) == "orders/42/ada"


def test_trigger_metadata_wins_over_a_payload_property_of_the_same_name() -> None:
    assert binding_data({"Id": "message-id"}, '{"Id": "payload-id"}')["Id"] == "message-id"


def test_a_payload_that_is_not_a_json_object_adds_nothing() -> None:
    assert binding_data({"QueueTrigger": "plain"}, "plain") == {"QueueTrigger": "plain"}
    assert binding_data({}, "[1, 2]") == {}


def test_rand_guid_is_a_new_guid_each_time_and_takes_a_guid_format() -> None:
    first = resolve("x/{rand-guid}", {}, environ={})
    second = resolve("x/{rand-guid}", {}, environ={})
    assert first != second
    uuid.UUID(first.removeprefix("x/"))
    assert re.fullmatch(r"[0-9a-f]{32}", resolve("{rand-guid:N}", {}, environ={}))


def test_datetime_defaults_to_a_path_safe_utc_time_and_takes_a_format() -> None:
    assert resolve("logs/{DateTime}.txt", {}, environ={}, now=NOW) == "logs/2026-03-04T05-06-07Z.txt"
    assert resolve("logs/{DateTime:yyyy/MM/dd}/x", {}, environ={}, now=NOW) == "logs/2026/03/04/x"


def test_a_datetime_in_binding_data_wins_over_the_built_in() -> None:
    assert resolve("{DateTime}", {"DateTime": "given"}, environ={}, now=NOW) == "given"


def test_dotnet_date_format_pieces() -> None:
    assert format_datetime(NOW, "yy-M-d H:m:s.fff tt 'at' hh") == "26-3-4 5:6:7.890 AM at 05"


def test_app_settings_resolve_before_expressions() -> None:
    assert resolve("%CONTAINER%/{name}", {"name": "a"}, environ={"CONTAINER": "input"}) == "input/a"


def test_a_missing_app_setting_is_an_error() -> None:
    with pytest.raises(SettingNotFoundError):
        resolve("%MISSING%/x", {}, environ={})


def test_a_name_without_a_value_is_an_error_that_names_it() -> None:
    with pytest.raises(BindingExpressionError, match="No value for named parameter 'name'"):
        resolve("c/{name}", {}, environ={})


def test_an_object_value_cannot_stand_in_a_path() -> None:
    with pytest.raises(BindingExpressionError, match="not a string, number or date"):
        resolve("c/{customer}", {"customer": {"name": "ada"}}, environ={})


@pytest.mark.parametrize("template", ["c/{name", "c/name}", "c/{}", "c/{a-b}", "c/{a..b}", "c/{a{b}}"])
def test_malformed_templates_are_refused(template: str) -> None:
    with pytest.raises(BindingExpressionError):
        resolve(template, {"name": "x", "a": "y"}, environ={})


def test_numbers_resolve_and_take_a_zero_padded_format() -> None:
    assert resolve("{count}/{count:D4}", {"count": 7}, environ={}) == "7/0007"


def test_parameter_names_leave_built_ins_out() -> None:
    assert parameter_names("c/{name}/{rand-guid}/{DateTime}/{Id.x}") == ["name", "Id"]
