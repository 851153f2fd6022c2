"""Identity-based storage connections end to end, with no keys anywhere: the app (on the local host) saves and
reads back a management payload, and `durable delete-task-hub` deletes a hub, against Azurite with OAuth over
HTTPS, with tokens from the real `ManagedIdentityCredential` talking to a local App Service identity endpoint.
Azurite refuses requests with no token, the wrong audience or an expired token, and the endpoint refuses an
unknown client id, so each success here is a real authorization."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import ssl
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from _app import app_settings, error_of, start, unique
from _cli import Cli, copy_app
from _identity import OAuthAzurite, TokenEndpoint, make_jwt, oauth_azurite
from azure.core.exceptions import ResourceExistsError
from azure.data.tables import TableServiceClient
from azure.identity import ManagedIdentityCredential
from azure.storage.blob import BlobServiceClient
from azure.storage.queue import QueueServiceClient

from durable_local.testing import LocalHost, eventually, free_port

REPO_ROOT = Path(__file__).resolve().parents[2]
PAYLOAD_TABLE = "IdentityPayloads"
SECRET_MARKERS = ("AccountKey=", "SharedAccessSignature=", "UseDevelopmentStorage")


@pytest.fixture(scope="module")
def identity() -> Iterator[TokenEndpoint]:
    endpoint = TokenEndpoint().start()
    yield endpoint
    endpoint.stop()


@pytest.fixture(scope="module")
def storage() -> Iterator[OAuthAzurite]:
    with oauth_azurite() as emulator:
        yield emulator


def identity_settings(prefix: str, storage: OAuthAzurite, client_id: str) -> dict[str, str]:
    """The settings Microsoft's azd template gives a Flex Consumption app (infra/app/api.bicep)."""
    return {
        f"{prefix}__credential": "managedidentity",
        f"{prefix}__clientId": client_id,
        f"{prefix}__blobServiceUri": storage.service_uri("blob"),
        f"{prefix}__queueServiceUri": storage.service_uri("queue"),
        f"{prefix}__tableServiceUri": storage.service_uri("table"),
    }


def app_copy(destination: Path) -> Path:
    """The app without any local.settings.json, so only the settings the test gives are present."""
    app_dir = destination / "app"
    app_dir.mkdir()
    shutil.copy(REPO_ROOT / "function_app.py", app_dir)
    shutil.copy(REPO_ROOT / "host.json", app_dir)
    shutil.copytree(REPO_ROOT / "blueprints", app_dir / "blueprints", ignore=shutil.ignore_patterns("__pycache__"))
    return app_dir


def identity_app_env(storage: OAuthAzurite, identity: TokenEndpoint, client_id: str) -> dict[str, str]:
    settings = app_settings("", PAYLOAD_TABLE_NAME=PAYLOAD_TABLE)
    del settings["AzureWebJobsStorage"]
    return {
        **settings,
        **identity_settings("AzureWebJobsStorage", storage, client_id),
        **identity.environment(),
        "SSL_CERT_FILE": str(storage.ca_file),  # aiohttp (azure-core's async transport) trusts the test CA
    }


@contextlib.contextmanager
def identity_only_host(app_dir: Path, env: dict[str, str]) -> Iterator[LocalHost]:
    """A LocalHost given `env`; LocalHost merges os.environ into the child's environment at start, so any
    connection string of the developer's shell is kept out of it while it starts."""
    inherited = {k: v for k, v in os.environ.items() if k.startswith(("AzureWebJobsStorage", "APP_STORAGE_CONNECTION"))}
    for name in inherited:
        del os.environ[name]
    try:
        host = LocalHost(app_dir, env=env).start()
    finally:
        os.environ.update(inherited)
    try:
        yield host
    finally:
        host.close()


@pytest.fixture(scope="module")
def app(tmp_path_factory, storage, identity) -> Iterator[LocalHost]:
    app_dir = app_copy(tmp_path_factory.mktemp("identity-app"))
    with identity_only_host(app_dir, identity_app_env(storage, identity, identity.client_id)) as host:
        yield host


def process_environment(host: LocalHost) -> dict[str, str]:
    assert host.process is not None
    raw = Path(f"/proc/{host.process.pid}/environ").read_bytes()
    pairs = (item.split(b"=", 1) for item in raw.split(b"\0") if b"=" in item)
    return {key.decode(errors="replace"): value.decode(errors="replace") for key, value in pairs}


def saved_payload(app: LocalHost, instance_id: str, timeout: float = 60) -> dict:
    def saved() -> dict | None:
        reply = app.get(f"/management-payloads/{instance_id}")
        assert reply.status in (200, 404), reply.body
        return reply.json() if reply.status == 200 else None

    return eventually(saved, timeout=timeout, interval=0.1,
                      message=lambda: f"a payload saved for {instance_id}:\n{app.log()[-3000:]}")


def get_entity(storage: OAuthAzurite, partition: str, row: str, token: str | None) -> int:
    """GET one entity of the payload table straight from Azurite with `token` (or none); the HTTP status."""
    key = f"(PartitionKey='{urllib.parse.quote(partition)}',RowKey='{urllib.parse.quote(row)}')"
    headers = {"x-ms-version": "2019-02-02", "Accept": "application/json;odata=nometadata"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(f"{storage.service_uri('table')}/{PAYLOAD_TABLE}{key}", headers=headers)
    context = ssl.create_default_context(cafile=str(storage.ca_file))
    try:
        with urllib.request.urlopen(request, context=context, timeout=30) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def test_app_saves_and_reads_a_payload_with_only_identity_settings(app, storage, identity):
    environment = process_environment(app)
    assert not [name for name in environment if name in ("AzureWebJobsStorage", "APP_STORAGE_CONNECTION")]
    assert not [name for name, value in environment.items() if any(m in value for m in SECRET_MARKERS)]
    assert environment["AzureWebJobsStorage__credential"] == "managedidentity"

    instance_id = start(app, "ApprovalWorkflow", {"requestId": "identity"}, unique("identity"))
    saved = saved_payload(app, instance_id)
    assert saved["id"] == instance_id and instance_id in saved["statusQueryGetUri"]
    # The token came from the managed-identity endpoint, for the configured user-assigned identity and storage.
    assert {(r.get("client_id"), r.get("resource")) for r in identity.requests} >= {
        (identity.client_id, "https://storage.azure.com")}

    # The row is really in Azurite, readable with a valid token and refused without one.
    assert get_entity(storage, "DurableFunctionsHub", instance_id, make_jwt()) == 200
    assert get_entity(storage, "DurableFunctionsHub", instance_id, None) == 403
    assert get_entity(storage, "DurableFunctionsHub", instance_id, make_jwt(audience="https://vault.azure.net")) == 403
    assert get_entity(storage, "DurableFunctionsHub", instance_id, make_jwt(lifetime=-60)) == 403


def test_app_with_an_unknown_client_id_answers_a_500_naming_the_connection(tmp_path, storage, identity):
    env = identity_app_env(storage, identity, "not-our-identity")
    with identity_only_host(app_copy(tmp_path), env) as host:
        reply = host.get(f"/management-payloads/{unique('nobody')}")
    assert reply.status == 500
    message = error_of(reply)
    assert "storage connection AzureWebJobsStorage could not authenticate" in message
    assert "managed identity not-our-identity" in message


# -- the CLI's delete-task-hub ---------------------------------------------------------------------------------

HUB_TABLES = ["IdHubHistory", "IdHubInstances", "IdHubPartitions"]
HUB_QUEUES = ["idhub-control-00", "idhub-control-01", "idhub-workitems"]
HUB_CONTAINERS = ["idhub-leases", "idhub-applease", "idhub-largemessages"]
OTHER = (["IdHub2History"], ["idhub2-workitems"], ["idhub-leases-backup"])


class Account:
    """The OAuth Azurite's services, reached with the test identity's token."""

    def __init__(self, storage: OAuthAzurite, identity: TokenEndpoint) -> None:
        credential = ManagedIdentityCredential(client_id=identity.client_id)
        verify = {"connection_verify": str(storage.ca_file)}
        self.tables = TableServiceClient(storage.service_uri("table"), credential=credential, **verify)
        self.queues = QueueServiceClient(storage.service_uri("queue"), credential=credential, **verify)
        self.blobs = BlobServiceClient(storage.service_uri("blob"), credential=credential, **verify)

    def create(self, tables: list[str], queues: list[str], containers: list[str]) -> None:
        for name in tables:
            self.tables.create_table_if_not_exists(name).upsert_entity({"PartitionKey": "p", "RowKey": "r"})
        for name in queues:
            with contextlib.suppress(ResourceExistsError):
                self.queues.create_queue(name)
        for name in containers:
            with contextlib.suppress(ResourceExistsError):
                self.blobs.create_container(name)
            self.blobs.get_blob_client(name, "blob.txt").upload_blob(b"data", overwrite=True)

    def names(self) -> set[str]:
        return ({t.name for t in self.tables.list_tables()} | {q.name for q in self.queues.list_queues()}
                | {c.name for c in self.blobs.list_containers()})


@pytest.fixture
def cli_env(monkeypatch, storage, identity):
    for name, value in identity.environment().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(storage.ca_file))  # requests (azure-core's sync transport)
    return monkeypatch


@pytest.fixture
def account(cli_env, storage, identity) -> Account:
    hub_account = Account(storage, identity)
    hub_account.create(HUB_TABLES + OTHER[0], HUB_QUEUES + OTHER[1], HUB_CONTAINERS + OTHER[2])
    return hub_account


@pytest.fixture
def durable(tmp_path) -> Cli:
    return Cli(copy_app(tmp_path, hub_name="IdHub"), f"http://127.0.0.1:{free_port()}")


def deleted_names(result_json: dict) -> set[str]:
    return {item["name"] for item in result_json["deleted"]}


def test_cli_deletes_a_hub_through_an_identity_based_connection_setting(durable, account, cli_env, storage, identity):
    for name, value in identity_settings("ID_STORAGE", storage, identity.client_id).items():
        cli_env.setenv(name, value)
    cli_env.delenv("ID_STORAGE", raising=False)
    result = durable.ok("delete-task-hub", "--connection-string-setting", "ID_STORAGE", "--yes", "-o", "json")
    assert deleted_names(result.json()) == set(HUB_TABLES + HUB_QUEUES + HUB_CONTAINERS)
    remaining = account.names()
    assert not remaining & set(HUB_TABLES + HUB_QUEUES + HUB_CONTAINERS)
    assert set(OTHER[0] + OTHER[1] + OTHER[2]) <= remaining


def test_cli_deletes_a_hub_given_service_uris_and_a_client_id(durable, account, storage, identity):
    dry = durable.ok("delete-task-hub", "--table-service-uri", storage.service_uri("table"),
                     "--blob-service-uri", storage.service_uri("blob"),
                     "--queue-service-uri", storage.service_uri("queue"),
                     "--client-id", identity.client_id, "--dry-run", "-o", "json")
    assert {a["name"] for a in dry.json()["artifacts"]} == set(HUB_TABLES + HUB_QUEUES + HUB_CONTAINERS)
    assert set(HUB_TABLES + HUB_QUEUES + HUB_CONTAINERS) <= account.names()
    result = durable.ok("delete-task-hub", "--table-service-uri", storage.service_uri("table"),
                        "--blob-service-uri", storage.service_uri("blob"),
                        "--queue-service-uri", storage.service_uri("queue"),
                        "--client-id", identity.client_id, "--yes", "-o", "json")
    assert deleted_names(result.json()) == set(HUB_TABLES + HUB_QUEUES + HUB_CONTAINERS)
    assert set(OTHER[0] + OTHER[1] + OTHER[2]) <= account.names()


def test_cli_with_an_unknown_client_id_fails_and_deletes_nothing(durable, account, storage):
    result = durable("delete-task-hub", "--table-service-uri", storage.service_uri("table"),
                     "--blob-service-uri", storage.service_uri("blob"),
                     "--queue-service-uri", storage.service_uri("queue"),
                     "--client-id", "not-our-identity", "--yes")
    assert result.code == 1, result.err
    assert "listing tables failed" in result.err and "No User Assigned" in result.err
    assert set(HUB_TABLES + HUB_QUEUES + HUB_CONTAINERS) <= account.names()


# -- the app's blob helper (the archive container uses it) -------------------------------------------------------

def test_app_blob_helper_writes_and_reads_a_blob_by_identity(monkeypatch, storage, identity):
    from blueprints import _storage

    for name, value in {**identity.environment(), **identity_settings("ARCHIVE", storage, identity.client_id)}.items():
        monkeypatch.setenv(name, value)
    _storage.forget_cached_tokens()
    blob_name = f"{unique('archive')}.jsonl"

    async def round_trip() -> bytes:
        async with _storage.blob_service("ARCHIVE", connection_verify=str(storage.ca_file)) as service:
            container = service.get_container_client("identity-archive")
            with contextlib.suppress(ResourceExistsError):
                await container.create_container()
            await container.upload_blob(blob_name, b'{"format": "durable-instance/1"}\n')
            download = await container.download_blob(blob_name)
            return bytes(await download.readall())

    assert asyncio.run(round_trip()) == b'{"format": "durable-instance/1"}\n'
    assert any(r.get("client_id") == identity.client_id for r in identity.requests)
