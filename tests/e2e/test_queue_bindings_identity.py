"""Queue bindings over an identity-based connection, no keys anywhere: `AzureWebJobsStorage__queueServiceUri`
with `__credential=managedidentity` and `__clientId`, against Azurite with OAuth over HTTPS, with tokens from the
real (asyncio) `ManagedIdentityCredential` talking to a local App Service identity endpoint. Azurite refuses a
request without a valid token, so the message making the round trip is a real authorization.

App: tests/apps/queue_bindings_app.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _identity import OAuthAzurite, TokenEndpoint, make_jwt, oauth_azurite
from azure.core.credentials import AccessToken
from azure.core.exceptions import ResourceNotFoundError
from azure.storage.queue import BinaryBase64DecodePolicy, QueueClient
from test_identity_storage import identity_only_host

from durable_local.testing import LocalHost, eventually

APP_DIR = Path(__file__).resolve().parents[1] / "apps" / "queue_bindings_app"


class _TestToken:
    """The test's own reader: a token Azurite accepts (the host gets its tokens from the identity endpoint)."""

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken(make_jwt(), int(time.time()) + 3600)


@pytest.fixture(scope="module")
def storage() -> Iterator[OAuthAzurite]:
    with oauth_azurite() as emulator:
        yield emulator


@pytest.fixture(scope="module")
def identity() -> Iterator[TokenEndpoint]:
    endpoint = TokenEndpoint().start()
    yield endpoint
    endpoint.stop()


@pytest.fixture(scope="module")
def host(storage: OAuthAzurite, identity: TokenEndpoint) -> Iterator[LocalHost]:
    env = {"AzureWebJobsStorage__queueServiceUri": storage.service_uri("queue"),
           "AzureWebJobsStorage__credential": "managedidentity",
           "AzureWebJobsStorage__clientId": identity.client_id,
           **identity.environment(),
           "SSL_CERT_FILE": str(storage.ca_file)}  # aiohttp (azure-core's async transport) trusts the test CA
    with identity_only_host(APP_DIR, env) as running:
        yield running


def test_a_queue_output_and_trigger_work_over_a_managed_identity(host: LocalHost, storage: OAuthAzurite,
                                                                 identity: TokenEndpoint) -> None:
    assert host.post("/api/send", raw=b"identity order").status == 202
    received = QueueClient(storage.service_uri("queue"), "received", credential=_TestToken(),
                           connection_verify=str(storage.ca_file),
                           message_decode_policy=BinaryBase64DecodePolicy())

    def handled() -> list[Any]:
        return list(received.receive_messages())

    [message] = eventually(handled, timeout=60, interval=0.2, ignoring=(ResourceNotFoundError,),
                           message="the message handled through the identity connection")
    assert json.loads(message.content)["body"] == "identity order"
    assert any(request.get("client_id") == identity.client_id for request in identity.requests)
