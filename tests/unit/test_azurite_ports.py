"""scripts/run's choice of Azurite ports (durable_local.azurite_ports): a taken usual port moves Azurite to free
ports and points the development-storage settings at them; a second run on one data folder is refused."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from durable_local.azurite_ports import (
    USUAL_PORTS,
    choose_lines,
    choose_ports,
    connection_string,
    development_storage_settings,
    free_ports,
    main,
    port_is_free,
)
from durable_local.manage.settings import AZURITE_CONNECTION_STRING


@contextmanager
def listening(port: int = 0) -> Iterator[int]:
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", port))
    server.listen()
    try:
        yield server.getsockname()[1]
    finally:
        server.close()


def test_a_port_something_listens_on_is_not_free_and_is_free_once_it_stops() -> None:
    with listening() as port:
        assert not port_is_free(port)
    assert port_is_free(port)


def test_the_usual_ports_are_kept_when_all_are_free() -> None:
    assert choose_ports(is_free=lambda port: True) == (USUAL_PORTS, [])


def test_one_taken_usual_port_moves_all_three_to_free_ones() -> None:
    ports, busy = choose_ports(is_free=lambda port: port != 10001, pick_free=lambda count: (41000, 41001, 41002))
    assert (ports, busy) == ((41000, 41001, 41002), [10001])


def test_free_ports_are_distinct_and_free() -> None:
    ports = free_ports(3)
    assert len(set(ports)) == 3 and all(port_is_free(port) for port in ports)


def test_the_connection_string_at_the_usual_ports_is_the_cli_s_azurite_one() -> None:
    assert connection_string(*USUAL_PORTS) == AZURITE_CONNECTION_STRING


def test_development_storage_settings_are_read_where_the_app_reads_them_environment_first() -> None:
    values = {"AzureWebJobsStorage": "UseDevelopmentStorage=true", "Archive": "UseDevelopmentStorage=true;",
              "Other": "DefaultEndpointsProtocol=https;AccountName=x", "Number": 3}
    environ = {"Archive": "DefaultEndpointsProtocol=https;AccountName=real", "Extra": "usedevelopmentstorage=true"}
    assert development_storage_settings(environ, values) == ["AzureWebJobsStorage", "Extra"]


def test_settings_are_exported_only_when_the_ports_moved() -> None:
    assert choose_lines(USUAL_PORTS, ["AzureWebJobsStorage"]) == [
        "AZURITE_BLOB_PORT=10000", "AZURITE_QUEUE_PORT=10001", "AZURITE_TABLE_PORT=10002"]
    moved = choose_lines((41000, 41001, 41002), ["AzureWebJobsStorage"])
    assert moved[-1].startswith("export AzureWebJobsStorage=") and "127.0.0.1:41002" in moved[-1]


def test_choose_through_the_shell_points_the_settings_at_the_free_ports(tmp_path: Path) -> None:
    """What scripts/run evaluates, with a real listener on one of the usual ports (three free ports here)."""
    settings = tmp_path / "local.settings.json"
    settings.write_text(json.dumps({"Values": {"AzureWebJobsStorage": "UseDevelopmentStorage=true"}}))
    usual = free_ports(3)
    env = {key: value for key, value in os.environ.items() if key != "AzureWebJobsStorage"}
    with listening(usual[1]):
        script = (f'eval "$({sys.executable} -m durable_local.azurite_ports choose --settings {settings} '
                  f'--ports {usual[0]} {usual[1]} {usual[2]})"; '
                  'echo "$AZURITE_BLOB_PORT $AZURITE_QUEUE_PORT $AZURITE_TABLE_PORT"; echo "$AzureWebJobsStorage"')
        result = subprocess.run(["bash", "-c", script], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    ports_line, storage = result.stdout.splitlines()
    ports = tuple(int(port) for port in ports_line.split())
    assert usual[1] not in ports and len(set(ports)) == 3
    assert storage == connection_string(*ports)  # type: ignore[arg-type]
    assert f"{usual[1]} already in use" in result.stderr and "AzureWebJobsStorage" in result.stderr


def test_a_second_lock_on_the_data_folder_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lock = tmp_path / ".lock"
    with lock.open("w") as first, lock.open("w") as second:
        assert main(["lock", str(first.fileno())]) == 0
        assert main(["lock", str(second.fileno()), "--folder", ".azurite"]) == 1
    assert "in use by another ./scripts/run" in capsys.readouterr().err


def test_waiting_for_an_azurite_that_exited_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    port = free_ports(1)[0]
    assert main(["wait", str(dead.pid), str(port), str(port), str(port), "--timeout", "30"]) == 1
    assert "Azurite exited before listening" in capsys.readouterr().err
