"""A storage binding's `connection` resolved as the Functions host resolves it (host/storage_bindings/connections)."""

from __future__ import annotations

import pytest

from durable_local.host.storage_bindings.connections import (
    DEFAULT_CONNECTION,
    Connections,
    ConnectionSettingError,
    connection_name,
    resolve,
)
from durable_local.manage.settings import AZURITE_CONNECTION_STRING

KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
CONNECTION_STRING = f"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={KEY};" \
    "QueueEndpoint=http://127.0.0.1:1/devstoreaccount1;"


def test_a_binding_without_connection_uses_azure_web_jobs_storage() -> None:
    assert connection_name({"type": "queue"}) == DEFAULT_CONNECTION == "AzureWebJobsStorage"
    assert connection_name({"type": "queue", "connection": "Orders"}) == "Orders"


def test_use_development_storage_means_azurite() -> None:
    target = resolve("AzureWebJobsStorage", {"AzureWebJobsStorage": "UseDevelopmentStorage=true"})
    assert target.connection_string == AZURITE_CONNECTION_STRING


def test_the_azure_web_jobs_prefixed_setting_wins_over_the_plain_one() -> None:
    target = resolve("Orders", {"AzureWebJobsOrders": CONNECTION_STRING, "Orders": "UseDevelopmentStorage=true"})
    assert target.connection_string == CONNECTION_STRING
    assert resolve("Orders", {"Orders": CONNECTION_STRING}).connection_string == CONNECTION_STRING


def test_identity_based_connection_gives_endpoints_and_the_managed_identity() -> None:
    target = resolve("Orders", {"Orders__queueServiceUri": "https://acct.queue.core.windows.net/",
                                "Orders__credential": "managedidentity", "Orders__clientId": "client-1"})
    assert target.connection_string is None
    assert target.endpoint("queue") == "https://acct.queue.core.windows.net"
    assert target.managed_identity and target.client_id == "client-1"
    by_account = resolve("Orders", {"Orders__accountName": "acct"})
    assert by_account.endpoint("blob") == "https://acct.blob.core.windows.net"


def test_a_missing_connection_names_the_setting() -> None:
    with pytest.raises(ConnectionSettingError, match=r"Storage connection 'Orders'.*'Orders' is set neither"):
        resolve("Orders", {})


def test_a_malformed_connection_string_is_refused_without_echoing_it() -> None:
    with pytest.raises(ConnectionSettingError, match="not hold a valid storage connection string") as error:
        resolve("Orders", {"Orders": "AccountKey=secret-value;nonsense"})
    assert "secret-value" not in str(error.value)


def test_an_identity_connection_without_the_needed_service_is_refused_for_that_service() -> None:
    connections = Connections({"Orders__blobServiceUri": "https://acct.blob.core.windows.net"})
    connections.check("Orders", "blob")
    with pytest.raises(ConnectionSettingError, match="no queue endpoint"):
        connections.check("Orders", "queue")


def test_an_identity_uri_must_be_https() -> None:
    with pytest.raises(ConnectionSettingError, match="https"):
        resolve("Orders", {"Orders__queueServiceUri": "http://acct.queue.core.windows.net"})
