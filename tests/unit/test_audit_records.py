"""The app's audit helper (`blueprints/_audit.py`): one structured record per destructive operation, the caller's
principal only when App Service authentication vouches for it; and the app and CLI keep azure-core's
per-request HTTP logging quiet."""

from __future__ import annotations

import json
import logging

import azure.functions as func
import pytest

from blueprints import _audit, _storage
from durable_local.cli import main

HTTP_LOGGER = "azure.core.pipeline.policies.http_logging_policy"


def request(headers: dict[str, str]) -> func.HttpRequest:
    return func.HttpRequest("POST", "http://localhost/instances/x/terminate", headers=headers, body=b"")


def test_one_record_as_json_with_the_verified_principal(caplog, monkeypatch):
    monkeypatch.setenv("WEBSITE_AUTH_ENABLED", "True")
    req = request({"x-ms-client-principal-name": "bob@contoso.com", "X-MS-CLIENT-PRINCIPAL-ID": "0000-bob"})
    with caplog.at_level(logging.INFO, logger=_audit.AUDIT_LOGGER):
        _audit.audit("terminate", headers=req.headers, instance_id="order-1", reason="duplicate", count=1)
    [record] = [r for r in caplog.records if r.name == _audit.AUDIT_LOGGER]
    logged = json.loads(record.getMessage().removeprefix("audit "))
    assert logged == record.audit == {
        "operation": "terminate", "trigger": "http", "instanceId": "order-1", "reason": "duplicate", "count": 1,
        "principal": {"name": "bob@contoso.com", "id": "0000-bob"},
    }


def test_principal_headers_without_app_service_auth_are_recorded_as_unverified(caplog, monkeypatch):
    monkeypatch.delenv("WEBSITE_AUTH_ENABLED", raising=False)
    req = request({"X-MS-CLIENT-PRINCIPAL-NAME": "mallory"})
    with caplog.at_level(logging.INFO, logger=_audit.AUDIT_LOGGER):
        record = _audit.audit("purge", headers=req.headers, instance_filter={"runtimeStatus": ["Failed"]}, count=7)
    assert record["principal"] is None
    assert record["unverifiedPrincipal"] == {"name": "mallory"}
    assert record["filter"] == {"runtimeStatus": ["Failed"]} and "instanceId" not in record


def test_a_timer_run_has_no_principal(caplog):
    with caplog.at_level(logging.INFO, logger=_audit.AUDIT_LOGGER):
        record = _audit.audit("purge-retention", trigger="timer", count=0, reason="retention of 30 days")
    assert record["principal"] is None and "unverifiedPrincipal" not in record
    assert len([r for r in caplog.records if r.name == _audit.AUDIT_LOGGER]) == 1


def test_the_app_keeps_azure_core_http_logging_at_warning():
    assert _storage.QUIET_LOGGERS[0] == HTTP_LOGGER
    assert logging.getLogger(HTTP_LOGGER).level == logging.WARNING


@pytest.mark.parametrize(("verbose", "shown"), [(False, False), (True, True)])
def test_the_cli_shows_azure_core_request_logs_only_when_verbose(verbose, shown, tmp_path, monkeypatch):
    for name in ("azure", HTTP_LOGGER):
        monkeypatch.setattr(logging.getLogger(name), "level", logging.NOTSET)
    monkeypatch.chdir(tmp_path)
    argv = (["-v"] if verbose else []) + ["get-instances", "--base-url", "http://127.0.0.1:9"]
    main(argv)  # fails to connect; only the logging set-up matters here
    assert logging.getLogger(HTTP_LOGGER).isEnabledFor(logging.INFO) is shown
