"""An `AzureFunctionsJobHost__*` override of a host.json key the local host never reads is accepted (it applies
on Azure) but named in a warning at start, so a user does not expect it to change the local run."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from durable_local.host.config import AppConfig

READ = {"AzureFunctionsJobHost__extensions__durableTask__hubName": "Nightly",
        "AzureFunctionsJobHost__extensions__queues__batchSize": "4",
        "AzureFunctionsJobHost__extensionBundle__version": "[4.*, 5.0.0)"}
UNREAD = {"AzureFunctionsJobHost__logging__logLevel__default": "Debug",
          "AzureFunctionsJobHost__functions__0": "OnlyThis",
          "AzureFunctionsJobHost__extensions__durableTask__maxConcurrentActivityFunctions": "1"}


def config(tmp_path: Path, environ: dict[str, str]) -> AppConfig:
    (tmp_path / "host.json").write_text(json.dumps({"version": "2.0", "extensionBundle": {
        "id": "Microsoft.Azure.Functions.ExtensionBundle", "version": "[4.*, 5.0.0)"}}))
    return AppConfig.load(tmp_path, environ)


def test_overrides_of_keys_the_local_host_reads_are_not_listed_as_unread(tmp_path: Path) -> None:
    assert config(tmp_path, READ).unread_overrides() == []


def test_overrides_of_keys_the_local_host_never_reads_are_listed_by_setting_name(tmp_path: Path) -> None:
    assert config(tmp_path, {**READ, **UNREAD}).unread_overrides() == sorted(UNREAD, key=str.lower)


def test_the_start_warns_about_overrides_that_change_nothing_locally(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("AzureWebJobsScriptRoot", str(tmp_path))  # apply_settings sets it when unset
    loaded = config(tmp_path, {**READ, **UNREAD})
    with caplog.at_level(logging.WARNING, logger="durable_local.host.config"):
        loaded.apply_settings()
    warnings = [record.getMessage() for record in caplog.records
                if record.levelno == logging.WARNING and "change nothing" in record.getMessage()]
    assert len(warnings) == 1
    assert all(name in warnings[0] for name in UNREAD)
    assert not any(name in warnings[0] for name in READ)
