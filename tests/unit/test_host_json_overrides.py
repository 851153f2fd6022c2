"""`AzureFunctionsJobHost__*` app settings override host.json as the Functions host's configuration does: `__`
separates sections, keys match case-insensitively, arrays by index, values typed when read."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from durable_local.host.config import AppConfig, ConfigError
from durable_local.host.host_json import HostJsonError, merge, parse_timespan
from durable_local.manage.settings import AppSettings

HOST_JSON = {"version": "2.0", "functionTimeout": "00:05:00", "functions": ["A", "B"],
             "extensions": {"http": {"routePrefix": "api"}, "durableTask": {"hubName": "FromFile"},
                            "queues": {"maxDequeueCount": 5}}}


def test_an_override_replaces_a_value_matching_keys_case_insensitively() -> None:
    merged = merge(HOST_JSON, {"AzureFunctionsJobHost__Extensions__DurableTask__HubName": "FromSetting"})
    assert merged.get("extensions.durableTask.hubName") == "FromSetting"
    assert merged.data["extensions"]["durableTask"] == {"hubName": "FromSetting"}  # host.json's spelling kept
    assert merged.overridden == {"extensions.durabletask.hubname":
                                 "AzureFunctionsJobHost__Extensions__DurableTask__HubName"}
    assert HOST_JSON["extensions"]["durableTask"]["hubName"] == "FromFile"  # the file's tree is not touched


def test_the_prefix_is_case_insensitive_and_other_settings_are_ignored() -> None:
    merged = merge(HOST_JSON, {"azurefunctionsjobhost__extensions__http__routePrefix": "v2",
                               "AzureFunctionsJobHostX__functions__0": "ignored", "OTHER": "x"})
    assert merged.get("extensions.http.routePrefix") == "v2"
    assert merged.get("functions") == ["A", "B"]


def test_an_override_adds_sections_the_file_does_not_have() -> None:
    merged = merge({"version": "2.0"}, {
        "AzureFunctionsJobHost__extensions__durableTask__storageProvider__type": "azureManaged"})
    provider = {"storageProvider": {"type": "azureManaged"}}
    assert merged.data == {"version": "2.0", "extensions": {"durableTask": provider}}


def test_arrays_are_overridden_by_index_and_indexes_past_the_end_append() -> None:
    merged = merge(HOST_JSON, {"AzureFunctionsJobHost__functions__0": "C", "AzureFunctionsJobHost__functions__7": "D"})
    assert merged.get("functions") == ["C", "B", "D"]
    created = merge({}, {"AzureFunctionsJobHost__functions__1": "Y", "AzureFunctionsJobHost__functions__0": "X"})
    assert created.get("functions") == ["X", "Y"]


def test_values_are_typed_when_read_as_the_dotnet_binder_converts_them() -> None:
    merged = merge(HOST_JSON, {"AzureFunctionsJobHost__extensions__queues__maxDequeueCount": " 3 ",
                               "AzureFunctionsJobHost__extensions__queues__visibilityTimeout": "00:00:30",
                               "AzureFunctionsJobHost__functionTimeout": "1.02:03:04.5",
                               "AzureFunctionsJobHost__extensions__http__dynamicThrottlesEnabled": "TRUE"})
    assert merged.integer("extensions.queues.maxDequeueCount", 5) == 3
    assert merged.integer("extensions.queues.batchSize", 16) == 16  # absent: the default
    assert merged.timespan("extensions.queues.visibilityTimeout") == timedelta(seconds=30)
    assert merged.timespan("functionTimeout") == timedelta(days=1, hours=2, minutes=3, seconds=4.5)
    assert merged.boolean("extensions.http.dynamicThrottlesEnabled", False) is True
    assert merge(HOST_JSON, {}).integer("extensions.queues.maxDequeueCount", 1) == 5  # a JSON number as is


@pytest.mark.parametrize(("text", "expected"), [
    ("00:05:00", timedelta(minutes=5)), ("5", timedelta(days=5)), ("01:30", timedelta(hours=1, minutes=30)),
    ("-00:00:10", timedelta(seconds=-10)), ("2.00:00:00", timedelta(days=2)),
    ("24:00:00", None), ("00:60:00", None), ("five minutes", None), ("", None)])
def test_timespans_parse_as_dotnet_timespan_parse(text: str, expected: timedelta | None) -> None:
    assert parse_timespan(text) == expected


def test_a_value_that_cannot_be_converted_names_the_setting() -> None:
    merged = merge(HOST_JSON, {"AzureFunctionsJobHost__extensions__queues__maxDequeueCount": "many",
                               "AzureFunctionsJobHost__functionTimeout": "soon"})
    with pytest.raises(HostJsonError, match="app setting AzureFunctionsJobHost__extensions__queues__maxDequeueCount "
                                            "must be a whole number, not 'many'"):
        merged.integer("extensions.queues.maxDequeueCount", 5)
    with pytest.raises(HostJsonError, match="AzureFunctionsJobHost__functionTimeout must be a time span"):
        merged.timespan("functionTimeout")


@pytest.mark.parametrize(("name", "message"), [
    ("AzureFunctionsJobHost__extensions__http", "'extensions.http' a single value, but it is an object"),
    ("AzureFunctionsJobHost__functions", "but it is an array"),
    ("AzureFunctionsJobHost__extensions__http__routePrefix__x", "treats host.json 'extensions.http.routePrefix' as a"),
    ("AzureFunctionsJobHost__functions__name", "array items are set by index"),
    ("AzureFunctionsJobHost__extensions____hubName", "does not name a host.json key"),
    ("AzureFunctionsJobHost__", "does not name a host.json key")])
def test_a_malformed_override_is_refused_with_the_setting_named(name: str, message: str) -> None:
    with pytest.raises(HostJsonError, match=message):
        merge(HOST_JSON, {name: "x"})


def app_folder(tmp_path: Path, values: dict[str, str]) -> Path:
    (tmp_path / "host.json").write_text(json.dumps(HOST_JSON))
    (tmp_path / "local.settings.json").write_text(json.dumps({"Values": values}))
    return tmp_path


def test_local_settings_values_override_and_the_environment_wins_over_them(tmp_path: Path) -> None:
    folder = app_folder(tmp_path, {"AzureFunctionsJobHost__extensions__durableTask__hubName": "FromValues",
                                   "AzureFunctionsJobHost__extensions__http__routePrefix": "values"})
    config = AppConfig.load(folder, {"AzureFunctionsJobHost__extensions__durableTask__hubName": "FromEnv"})
    assert config.task_hub() == "FromEnv" and config.route_prefix == "values"
    assert config.host_json["extensions"]["http"]["routePrefix"] == "values"  # the merged view for every reader


def test_a_malformed_override_stops_loading_the_configuration(tmp_path: Path) -> None:
    folder = app_folder(tmp_path, {"AzureFunctionsJobHost__extensions__durableTask": "Hub"})
    with pytest.raises(ConfigError, match=r"AzureFunctionsJobHost__extensions__durableTask gives host\.json"):
        AppConfig.load(folder, {})


def test_the_cli_names_the_overridden_task_hub_as_the_host_does(tmp_path: Path) -> None:
    folder = app_folder(tmp_path, {"AzureFunctionsJobHost__extensions__durableTask__hubName": "FromValues"})
    assert AppSettings(folder, {}).task_hub(None) == "FromValues"
    environ = {"AzureFunctionsJobHost__extensions__durableTask__hubName": "Env"}
    assert AppSettings(folder, environ).task_hub(None) == "Env"


def test_a_function_timeout_override_that_is_not_a_time_span_is_refused(tmp_path: Path) -> None:
    folder = app_folder(tmp_path, {"AzureFunctionsJobHost__functionTimeout": "ten minutes"})
    with pytest.raises(ConfigError, match="AzureFunctionsJobHost__functionTimeout must be a time span"):
        AppConfig.load(folder, {}).check_function_timeout()
    AppConfig.load(app_folder(tmp_path, {"AzureFunctionsJobHost__functionTimeout": "00:10:00"}),
                   {}).check_function_timeout()
