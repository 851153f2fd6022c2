"""`durable delete-task-hub --connection-string-setting NAME` against Azurite: it deletes exactly the hub's
tables, queues and blob containers (http-api.md 5.1 / 5.7) and nothing else in the account, even artifacts
whose names start like the hub's."""

from __future__ import annotations

import json

import pytest
from _cli import Cli, copy_app, run_in_terminal
from azure.data.tables import TableServiceClient
from azure.storage.blob import BlobServiceClient
from azure.storage.queue import QueueServiceClient

from durable_local.testing import free_port

HUB_TABLES = ["CliHubHistory", "CliHubInstances", "CliHubPartitions"]
HUB_QUEUES = ["clihub-control-00", "clihub-control-01", "clihub-control-02", "clihub-control-03",
              "clihub-workitems"]
HUB_CONTAINERS = ["clihub-leases", "clihub-applease", "clihub-largemessages"]
OTHER_TABLES = ["OtherHubHistory", "CliHubHistoryArchive", "CliHub2Instances"]
OTHER_QUEUES = ["otherhub-workitems", "clihub-other", "clihub-control-0001", "clihub2-control-00"]
OTHER_CONTAINERS = ["otherhub-leases", "clihub-leases-backup", "clihub2-largemessages"]


class Account:
    """The Azurite account's table, queue and blob services, to create and inspect a task hub's artifacts."""

    def __init__(self, connection_string: str) -> None:
        self.tables = TableServiceClient.from_connection_string(connection_string)
        self.queues = QueueServiceClient.from_connection_string(connection_string)
        self.blobs = BlobServiceClient.from_connection_string(connection_string)

    def create(self, tables: list[str], queues: list[str], containers: list[str]) -> None:
        for name in tables:
            self.tables.create_table_if_not_exists(name).create_entity({"PartitionKey": "p", "RowKey": "r"})
        for name in queues:
            self.queues.create_queue(name).send_message("hello")
        for name in containers:
            self.blobs.create_container(name).upload_blob("blob.txt", b"data")

    def names(self) -> tuple[set[str], set[str], set[str]]:
        """Which of this test's artifacts exist (the Azurite account is shared with other tests)."""
        return ({t.name for t in self.tables.list_tables()} & set(HUB_TABLES + OTHER_TABLES),
                {q.name for q in self.queues.list_queues()} & set(HUB_QUEUES + OTHER_QUEUES),
                {c.name for c in self.blobs.list_containers()} & set(HUB_CONTAINERS + OTHER_CONTAINERS))

    def clear(self) -> None:
        tables, queues, containers = self.names()
        for name in tables:
            self.tables.delete_table(name)
        for name in queues:
            self.queues.delete_queue(name)
        for name in containers:
            self.blobs.delete_container(name)


@pytest.fixture
def account(azurite):
    storage = Account(azurite.connection_string)
    storage.clear()
    storage.create(HUB_TABLES + OTHER_TABLES, HUB_QUEUES + OTHER_QUEUES, HUB_CONTAINERS + OTHER_CONTAINERS)
    yield storage
    storage.clear()


@pytest.fixture
def durable(tmp_path, azurite, monkeypatch):
    app_dir = copy_app(tmp_path, hub_name="CliHub")
    monkeypatch.setenv("CLI_TEST_STORAGE", azurite.connection_string)
    return Cli(app_dir, f"http://127.0.0.1:{free_port()}")  # no app is needed for Azure Storage


def test_dry_run_lists_the_hubs_artifacts_and_changes_nothing(durable, account):
    before = account.names()
    result = durable.ok("delete-task-hub", "--connection-string-setting", "CLI_TEST_STORAGE", "--dry-run",
                        "-o", "json")
    data = result.json()
    assert data["dryRun"] is True and data["taskHub"] == "CliHub"
    assert {(a["kind"], a["name"]) for a in data["artifacts"]} == (
        {("table", n) for n in HUB_TABLES} | {("queue", n) for n in HUB_QUEUES}
        | {("container", n) for n in HUB_CONTAINERS})
    text = durable.ok("delete-task-hub", "--connection-string-setting", "CLI_TEST_STORAGE", "--dry-run").out
    assert text.splitlines()[0] == ("Would delete task hub 'CliHub' in storage account devstoreaccount1 "
                                    "(dry run; nothing was changed):")
    assert "  queue clihub-control-03" in text.splitlines()
    assert account.names() == before


def test_refuses_without_confirmation(durable, account):
    before = account.names()
    result = durable("delete-task-hub", "--connection-string-setting", "CLI_TEST_STORAGE")
    assert result.code == 2 and "refusing to delete task hub 'CliHub'" in result.err
    assert account.names() == before


def test_deletes_exactly_the_hubs_artifacts(durable, account):
    result = durable.ok("delete-task-hub", "--connection-string-setting", "CLI_TEST_STORAGE", "--yes")
    assert result.out.splitlines()[0] == "Deleted task hub 'CliHub' in storage account devstoreaccount1:"
    assert len(result.out.splitlines()) == 1 + len(HUB_TABLES + HUB_QUEUES + HUB_CONTAINERS)
    tables, queues, containers = account.names()
    assert tables == set(OTHER_TABLES)
    assert queues == set(OTHER_QUEUES)
    assert containers == set(OTHER_CONTAINERS)
    again = durable("delete-task-hub", "--connection-string-setting", "CLI_TEST_STORAGE", "--yes")
    assert again.code == 1 and "has no tables, queues or blob containers" in again.err


def test_connection_string_from_local_settings_and_confirmation_on_a_terminal(durable, account, azurite):
    settings = {"IsEncrypted": False, "Values": {"HubStorage": azurite.connection_string}}
    (durable.app_dir / "local.settings.json").write_text(json.dumps(settings), encoding="utf-8")
    argv = ["delete-task-hub", "--task-hub-name", "CliHub", "--connection-string-setting", "HubStorage"]
    declined = run_in_terminal(argv, "n\n", durable.app_dir, {})
    assert declined.code == 1 and "aborted" in declined.err
    assert "table CliHubHistory" in declined.err  # the prompt names every artifact
    accepted = run_in_terminal(argv, "y\n", durable.app_dir, {})
    assert accepted.code == 0, accepted.err
    tables, queues, containers = account.names()
    assert tables == set(OTHER_TABLES) and queues == set(OTHER_QUEUES) and containers == set(OTHER_CONTAINERS)


def test_missing_setting_and_bad_hub_name(durable):
    missing = durable("delete-task-hub", "--connection-string-setting", "NO_SUCH_SETTING", "--yes")
    assert missing.code == 2 and "NO_SUCH_SETTING" in missing.err
    bad = durable("delete-task-hub", "--task-hub-name", "my-hub", "--connection-string-setting",
                  "CLI_TEST_STORAGE", "--yes")
    assert bad.code == 2 and "invalid task hub name 'my-hub'" in bad.err


def test_unreachable_storage(durable, monkeypatch):
    port = free_port()
    monkeypatch.setenv("DEAD_STORAGE", f"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
                       f"AccountKey=a2V5;TableEndpoint=http://127.0.0.1:{port}/devstoreaccount1;"
                       f"QueueEndpoint=http://127.0.0.1:{port}/devstoreaccount1;"
                       f"BlobEndpoint=http://127.0.0.1:{port}/devstoreaccount1;")
    result = durable("delete-task-hub", "--connection-string-setting", "DEAD_STORAGE", "--yes")
    assert result.code == 1 and "listing tables failed" in result.err and len(result.err.splitlines()) == 1
