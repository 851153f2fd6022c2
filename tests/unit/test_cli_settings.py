"""Task hub and connection-string resolution of the `durable` commands, as Core Tools reads them."""

from __future__ import annotations

import json

import pytest

from durable_local.manage.errors import CliError, UsageError
from durable_local.manage.settings import AZURITE_CONNECTION_STRING, AppSettings


def _app(tmp_path, host=None, values=None):
    if host is not None:
        (tmp_path / "host.json").write_text(json.dumps(host), encoding="utf-8")
    if values is not None:
        (tmp_path / "local.settings.json").write_text(json.dumps({"IsEncrypted": False, "Values": values}),
                                                      encoding="utf-8")
    return tmp_path


def test_flag_wins_over_host_json(tmp_path):
    app = _app(tmp_path, {"version": "2.0", "extensions": {"durableTask": {"hubName": "FromHost"}}})
    assert AppSettings(app, {}).task_hub("FromFlag") == "FromFlag"
    assert AppSettings(app, {}).task_hub(None) == "FromHost"


def test_no_host_json_or_no_hub_name_means_the_apps_default(tmp_path):
    assert AppSettings(tmp_path, {}).task_hub(None) is None
    app = _app(tmp_path, {"version": "2.0", "extensions": {"http": {"routePrefix": "api"}}})
    assert AppSettings(app, {}).task_hub(None) is None


def test_setting_reference_resolved_from_environment_first(tmp_path):
    app = _app(tmp_path, {"version": "2.0", "extensions": {"durableTask": {"hubName": "%TASKHUB_NAME%"}}},
               {"TASKHUB_NAME": "FromLocalSettings"})
    assert AppSettings(app, {"TASKHUB_NAME": "FromEnv"}).task_hub(None) == "FromEnv"
    assert AppSettings(app, {}).task_hub(None) == "FromLocalSettings"


def test_unresolved_setting_reference_is_an_error(tmp_path):
    app = _app(tmp_path, {"version": "2.0", "extensions": {"durableTask": {"hubName": "%MISSING%"}}})
    with pytest.raises(CliError, match="MISSING"):
        AppSettings(app, {}).task_hub(None)


def test_durable_1x_host_json(tmp_path):
    app = _app(tmp_path, {"durableTask": {"hubName": "OldHub"}})
    assert AppSettings(app, {}).task_hub(None) == "OldHub"


def test_invalid_host_json_is_reported(tmp_path):
    (tmp_path / "host.json").write_text("{ nope", encoding="utf-8")
    with pytest.raises(CliError, match=r"host\.json is not valid JSON"):
        AppSettings(tmp_path, {}).task_hub(None)


def test_connection_string_from_env_then_local_settings(tmp_path):
    app = _app(tmp_path, values={"Storage": "AccountName=fromfile"})
    assert AppSettings(app, {"Storage": "AccountName=fromenv"}).connection_string("Storage") == "AccountName=fromenv"
    assert AppSettings(app, {}).connection_string("Storage") == "AccountName=fromfile"


def test_development_storage_means_azurite(tmp_path):
    app = _app(tmp_path, values={"AzureWebJobsStorage": "UseDevelopmentStorage=true"})
    assert AppSettings(app, {}).connection_string("AzureWebJobsStorage") == AZURITE_CONNECTION_STRING
    assert "devstoreaccount1" in AZURITE_CONNECTION_STRING


def test_missing_connection_setting_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="NoSuchSetting"):
        AppSettings(tmp_path, {}).connection_string("NoSuchSetting")
