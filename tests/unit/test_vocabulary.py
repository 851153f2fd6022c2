"""Durable's vocabulary in one place per side: `durable_local.vocabulary` and the app's `blueprints/_status.py`.

The app cannot import `durable_local` (it is not deployed), so it keeps its own status names; these tests keep
the two sides, the CLI and the Durable SDK in agreement, and pin the shared `%SETTING%` resolution and the
"function doesn't exist" message.
"""

from __future__ import annotations

import json
from pathlib import Path

import azure.durable_functions as df
import pytest

from blueprints import _management_api as app_management_api
from blueprints import _status as app_status
from blueprints import _storage as app_storage
from durable_local.host.config import AppConfig, ConfigError
from durable_local.host.query_string import parse_status
from durable_local.host.schedule import Schedule, ScheduleError
from durable_local.manage import parsing as cli_parsing
from durable_local.manage.errors import CliError
from durable_local.manage.settings import AZURITE_CONNECTION_STRING, AppSettings
from durable_local.vocabulary import (
    ACTIVE_STATUSES,
    CONTINUATION_HEADER,
    LOCAL_DEFAULT_TASK_HUB,
    TERMINAL_STATUSES,
    RuntimeStatus,
    SettingNotFoundError,
    function_not_found,
    resolve_setting_references,
)

# DurableTask.Core OrchestrationStatus.cs: the numbers in history (`OrchestrationStatus`) and `runtimeStatus=3`.
DOTNET_NUMBERS = {"Running": 0, "Completed": 1, "ContinuedAsNew": 2, "Failed": 3, "Canceled": 4, "Terminated": 5,
                  "Pending": 6, "Suspended": 7}


def test_status_numbers_are_the_dotnet_enum_values_both_ways() -> None:
    assert {status.value: status.number for status in RuntimeStatus} == DOTNET_NUMBERS
    for name, number in DOTNET_NUMBERS.items():
        assert RuntimeStatus.from_number(number) == name
        assert RuntimeStatus.from_number(str(number)) == name
    assert RuntimeStatus.from_number(8) is None and RuntimeStatus.from_number("x") is None


def test_runtime_status_filters_take_exact_names_or_numbers() -> None:
    assert parse_status("3") == RuntimeStatus.Failed
    assert parse_status("Suspended") == RuntimeStatus.Suspended
    assert parse_status("completed") is None  # Enum.TryParse without ignoreCase
    assert parse_status("9") is None and parse_status("") is None


def test_the_app_the_cli_the_host_and_the_sdk_agree_on_status_names() -> None:
    names = {status.value for status in RuntimeStatus}
    assert names == {status.value for status in df.OrchestrationRuntimeStatus}
    assert names == set(app_status.RUNTIME_STATUSES) == set(cli_parsing.RUNTIME_STATUSES)
    assert set(TERMINAL_STATUSES) == app_status.TERMINAL_STATUSES == set(cli_parsing.TERMINAL_STATUSES)
    assert set(ACTIVE_STATUSES) == app_status.ACTIVE_STATUSES == set(cli_parsing.ACTIVE_STATUSES)
    assert set(TERMINAL_STATUSES) | set(ACTIVE_STATUSES) == set(RuntimeStatus)
    assert all(status.is_terminal for status in TERMINAL_STATUSES)
    assert not any(status.is_terminal for status in ACTIVE_STATUSES)


def test_the_app_and_durable_local_agree_on_the_paging_header_and_the_storage_emulator() -> None:
    assert app_management_api.CONTINUATION_HEADER == CONTINUATION_HEADER == "x-ms-continuation-token"
    assert app_storage.DEVELOPMENT_STORAGE == AZURITE_CONNECTION_STRING


def test_an_app_without_a_hub_name_runs_the_local_default_hub(tmp_path: Path) -> None:
    (tmp_path / "host.json").write_text('{"version": "2.0"}')
    assert AppConfig.load(tmp_path).task_hub() == LOCAL_DEFAULT_TASK_HUB == "TestHubName"


def test_the_unknown_function_message_is_the_extensions() -> None:
    assert function_not_found("Nope", "activity", "No activity functions are currently registered!") == (
        "The function 'Nope' doesn't exist, is disabled, or is not an activity function. "
        "Additional info: No activity functions are currently registered!")


def test_setting_references_resolve_anywhere_in_the_text_and_only_once() -> None:
    settings = {"HUB": "Orders", "ENV": "prod", "PCT": "%HUB%"}
    assert resolve_setting_references("%HUB%", settings) == "Orders"
    assert resolve_setting_references("%HUB%%ENV%-x", settings) == "Ordersprod-x"
    assert resolve_setting_references("no references", {}) == "no references"
    assert resolve_setting_references("%PCT%", settings) == "%HUB%"  # a value is not resolved again
    assert resolve_setting_references("%HUB%", lambda name: name.lower()) == "hub"


def test_a_missing_setting_or_an_unclosed_percent_is_an_error() -> None:
    with pytest.raises(SettingNotFoundError, match=r"'%MISSING%' does not resolve to a value") as raised:
        resolve_setting_references("a%MISSING%b", {})
    assert raised.value.name == "MISSING"
    with pytest.raises(ValueError, match="does not have a closing '%'"):
        resolve_setting_references("50%", {})


def test_host_schedule_and_cli_all_refuse_a_missing_setting_naming_it(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOT_SET_ANYWHERE", raising=False)
    (tmp_path / "host.json").write_text(json.dumps(
        {"version": "2.0", "extensions": {"durableTask": {"hubName": "%NOT_SET_ANYWHERE%"}}}))
    with pytest.raises(ConfigError, match="NOT_SET_ANYWHERE"):
        AppConfig.load(tmp_path).task_hub()
    with pytest.raises(ScheduleError, match="NOT_SET_ANYWHERE"):
        Schedule.parse("%NOT_SET_ANYWHERE%", {})
    with pytest.raises(CliError, match="NOT_SET_ANYWHERE"):
        AppSettings(tmp_path, {}).task_hub(None)
    monkeypatch.setenv("NOT_SET_ANYWHERE", "NowSet")
    assert AppConfig.load(tmp_path).task_hub() == "NowSet"
    assert AppSettings(tmp_path, {"NOT_SET_ANYWHERE": "NowSet"}).task_hub(None) == "NowSet"
