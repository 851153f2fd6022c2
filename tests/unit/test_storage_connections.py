"""How a storage connection named X is read, by the app (`blueprints/_storage.py`) and by the CLI
(`durable_local/manage/storage.py`): a connection string in X, else identity settings
(`X__accountName`, `X__*ServiceUri`, `X__credential`, `X__clientId`); errors name the setting and never
contain a secret."""

from __future__ import annotations

import argparse
import asyncio
import os

import pytest

from blueprints import _storage
from blueprints._settings import SettingError
from durable_local.manage import storage as cli_storage
from durable_local.manage.errors import UsageError

SECRET_CONNECTION = "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=c2VjcmV0c2VjcmV0;not a pair"


@pytest.fixture
def env(monkeypatch):
    for name in list(os.environ):
        if name.startswith(("STORE", "AzureWebJobsStorage", "APP_STORAGE_CONNECTION")):
            monkeypatch.delenv(name)

    def set_(**values: str) -> None:
        for key, value in values.items():
            monkeypatch.setenv(key, value)

    return set_


def test_app_reads_a_connection_string_and_azurites_shorthand(env):
    env(STORE="UseDevelopmentStorage=true")
    assert _storage.resolve("STORE").connection_string == _storage.DEVELOPMENT_STORAGE
    env(STORE="DefaultEndpointsProtocol=https;AccountName=a;AccountKey=k")
    connection = _storage.resolve("STORE")
    assert connection.connection_string == "DefaultEndpointsProtocol=https;AccountName=a;AccountKey=k"
    assert connection.endpoints == ()


def test_app_reads_service_uris_with_a_user_assigned_identity(env):
    env(STORE__tableServiceUri="https://acct.table.core.windows.net/", STORE__credential="managedidentity",
        STORE__clientId="1111-2222")
    connection = _storage.resolve("STORE")
    assert connection.connection_string is None
    assert connection.endpoint("table") == "https://acct.table.core.windows.net"
    assert connection.managed_identity and connection.client_id == "1111-2222"
    with pytest.raises(SettingError, match=r"STORE__blobServiceUri or STORE__accountName"):
        connection.endpoint("blob")


def test_app_derives_every_endpoint_from_an_account_name_and_defaults_to_default_credential(env):
    env(STORE__accountName="myacct")
    connection = _storage.resolve("STORE")
    assert dict(connection.endpoints) == {
        "table": "https://myacct.table.core.windows.net",
        "blob": "https://myacct.blob.core.windows.net",
        "queue": "https://myacct.queue.core.windows.net",
    }
    assert not connection.managed_identity
    assert connection.credential_description == "DefaultAzureCredential"


@pytest.mark.parametrize(
    ("settings", "names"),
    [
        ({}, "STORE__tableServiceUri"),
        ({"STORE__tableServiceUri": "http://acct.table.core.windows.net"}, "STORE__tableServiceUri must be an https"),
        ({"STORE__accountName": "my-acct!"}, "STORE__accountName must be a storage account name"),
        ({"STORE__accountName": "acct", "STORE__credential": "clientsecret"}, "STORE__credential must be"),
    ],
)
def test_app_errors_name_the_setting_that_is_missing_or_wrong(env, settings, names):
    env(**settings)
    with pytest.raises(SettingError, match=names) as raised:
        _storage.resolve("STORE")
    assert raised.value.status_code == 500


def test_app_uses_the_first_configured_connection_in_any_shape(env):
    env(AzureWebJobsStorage="UseDevelopmentStorage=true",
        APP_STORAGE_CONNECTION__tableServiceUri="https://own.table.core.windows.net")
    assert _storage.first_configured("APP_STORAGE_CONNECTION", "AzureWebJobsStorage").name == "APP_STORAGE_CONNECTION"
    env(APP_STORAGE_CONNECTION__tableServiceUri="")
    assert _storage.first_configured("APP_STORAGE_CONNECTION", "AzureWebJobsStorage").name == "AzureWebJobsStorage"


def test_app_refuses_a_malformed_connection_string_without_echoing_it(env):
    env(STORE=SECRET_CONNECTION)

    async def open_service() -> None:
        async with _storage.table_service("STORE"):
            pass

    with pytest.raises(SettingError) as raised:
        asyncio.run(open_service())
    assert "app setting STORE is not a valid storage connection string" in raised.value.message
    assert "c2VjcmV0c2VjcmV0" not in raised.value.message


def _lookup(values: dict[str, str]):
    return values.get


def test_cli_reads_the_same_shapes_from_app_settings():
    target = cli_storage.target_from_setting("S", _lookup({"S": "UseDevelopmentStorage=true"}))
    assert target.connection_string and "devstoreaccount1" in target.connection_string
    target = cli_storage.target_from_setting("S", _lookup({
        "S__queueServiceUri": "https://q.example/acct", "S__accountName": "acct",
        "S__credential": "ManagedIdentity", "S__clientId": "cid"}))
    assert dict(target.endpoints) == {"table": "https://acct.table.core.windows.net",
                                      "blob": "https://acct.blob.core.windows.net",
                                      "queue": "https://q.example/acct"}
    assert target.managed_identity and target.client_id == "cid"


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({}, "app setting 'S' is set neither"),
        ({"S__blobServiceUri": "ftp://x"}, "S__blobServiceUri must be an https"),
        ({"S__accountName": "acct", "S__credential": "secret"}, "S__credential must be 'managedidentity'"),
    ],
)
def test_cli_errors_name_the_setting(values, message):
    with pytest.raises(UsageError, match=message):
        cli_storage.target_from_setting("S", _lookup(values))


def test_cli_refuses_a_malformed_connection_string_without_echoing_it():
    target = cli_storage.target_from_setting("S", _lookup({"S": SECRET_CONNECTION}))
    with pytest.raises(UsageError) as raised:
        cli_storage.StorageAccount(target)
    assert str(raised.value) == "S is not a valid storage connection string"


def _args(**given: str | None) -> argparse.Namespace:
    defaults = dict(storage_account=None, table_service_uri=None, blob_service_uri=None, queue_service_uri=None,
                    client_id=None, connection_string_setting=None)
    return argparse.Namespace(**{**defaults, **given})


def test_cli_flags_name_an_account_by_identity():
    target = cli_storage.target_from_args(_args(storage_account="acct", client_id="cid"), _lookup({}))
    assert target.endpoint("blob") == "https://acct.blob.core.windows.net"
    assert target.managed_identity and target.client_id == "cid"
    with pytest.raises(UsageError, match="not both"):
        cli_storage.target_from_args(_args(storage_account="acct", connection_string_setting="S"), _lookup({}))
    with pytest.raises(UsageError, match="--client-id needs"):
        cli_storage.target_from_args(_args(client_id="cid", connection_string_setting="S"), _lookup({}))
    only_table = cli_storage.target_from_args(_args(table_service_uri="https://t.example/acct"), _lookup({}))
    with pytest.raises(UsageError, match="--queue-service-uri"):
        only_table.endpoint("queue")
