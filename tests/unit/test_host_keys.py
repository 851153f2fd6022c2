"""The local host's key rules (host/keys.py): which level a key grants and what it opens, the keys file's shape,
generation of missing keys, and the binding's `code` query when keys are enforced."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from multidict import CIMultiDict

from durable_local.host.binding import client_binding, rpc_path_for, system_key_query
from durable_local.host.keys import (
    DURABLE_SYSTEM_KEY_NAME,
    AuthLevel,
    HostKeys,
    KeysFileError,
    default_keys_file,
    load_or_create,
    masked,
    presented_key,
    read_keys,
)

KEYS = HostKeys(master="M", function_keys={"default": "H"}, system_keys={DURABLE_SYSTEM_KEY_NAME: "S"},
                functions={"Guarded": {"default": "F"}, "Other": {"default": "O"}})


def test_levels_follow_the_secret_manager_order() -> None:
    assert KEYS.level_of("M") == (AuthLevel.ADMIN, "master")
    assert KEYS.level_of("S") == (AuthLevel.SYSTEM, DURABLE_SYSTEM_KEY_NAME)
    assert KEYS.level_of("H") == (AuthLevel.FUNCTION, "default")
    assert KEYS.level_of("F", "guarded") == (AuthLevel.FUNCTION, "default")  # function names ignore case
    assert KEYS.level_of("F") == (AuthLevel.ANONYMOUS, None)
    assert KEYS.level_of("") == (AuthLevel.ANONYMOUS, None)


def test_a_requirement_is_met_by_admin_or_the_exact_level() -> None:
    assert KEYS.allows(None, AuthLevel.ANONYMOUS)
    assert KEYS.allows("F", AuthLevel.FUNCTION, "Guarded")
    assert not KEYS.allows("O", AuthLevel.FUNCTION, "Guarded")
    assert not KEYS.allows("S", AuthLevel.FUNCTION, "Guarded")
    assert KEYS.allows("M", AuthLevel.FUNCTION, "Guarded")
    assert not KEYS.allows("H", AuthLevel.ADMIN)
    assert KEYS.allows("S", AuthLevel.SYSTEM, key_name=DURABLE_SYSTEM_KEY_NAME)
    assert not KEYS.allows("S", AuthLevel.SYSTEM, key_name="eventgrid_extension")
    assert not KEYS.allows("H", AuthLevel.SYSTEM, key_name=DURABLE_SYSTEM_KEY_NAME)
    assert KEYS.allows("M", AuthLevel.SYSTEM, key_name=DURABLE_SYSTEM_KEY_NAME)


def test_trigger_auth_levels_default_to_function() -> None:
    assert AuthLevel.of_trigger("ANONYMOUS") == AuthLevel.ANONYMOUS
    assert AuthLevel.of_trigger("admin") == AuthLevel.ADMIN
    assert AuthLevel.of_trigger(None) == AuthLevel.FUNCTION


def test_the_header_is_read_before_the_code_parameter() -> None:
    assert presented_key(CIMultiDict({"X-Functions-Key": "a"}), {"code": "b"}) == "a"
    assert presented_key(CIMultiDict(), {"code": "b"}) == "b"
    assert presented_key(CIMultiDict(), {}) is None


def test_missing_keys_are_generated_once_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    first = load_or_create(path, ["Hello"])
    assert first.master and first.function_keys["default"] and first.durable_system_key
    assert first.function_keys_of("hello")["default"]
    assert path.stat().st_mode & 0o077 == 0
    again = load_or_create(path, ["Hello", "Other"])
    assert again.master == first.master and again.function_keys_of("Hello") == first.function_keys_of("Hello")
    assert again.function_keys_of("Other")


def test_a_keys_file_in_the_hosts_shape_is_completed(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    path.write_text(json.dumps({"masterKey": {"name": "master", "value": "mine", "encrypted": False},
                                "functionKeys": [{"name": "default", "value": "hk"}]}))
    keys = load_or_create(path)
    assert (keys.master, keys.function_keys) == ("mine", {"default": "hk"})
    assert read_keys(path) == keys  # the generated system key was written back
    assert json.loads(path.read_text())["systemKeys"][0]["name"] == DURABLE_SYSTEM_KEY_NAME


@pytest.mark.parametrize("content", ['{"masterKey": 5}', '{"functionKeys": {"a": "b"}}', "[]", "{",
                                     '{"systemKeys": [{"name": "x"}]}', '{"functions": []}'])
def test_a_malformed_keys_file_is_refused(tmp_path: Path, content: str) -> None:
    path = tmp_path / "keys.json"
    path.write_text(content)
    with pytest.raises(KeysFileError, match=str(path).replace(".", r"\.")):
        load_or_create(path)
    assert path.read_text() == content


def test_keys_live_beside_the_store_by_default() -> None:
    assert default_keys_file(Path(".durable/store.sqlite")) == Path(".durable/store.keys.json")


def test_masked_keys_show_four_characters() -> None:
    assert masked("abcdefgh") == "abcd..."


def test_the_binding_carries_the_system_key_and_a_private_rpc_path() -> None:
    binding = json.loads(client_binding("http://localhost:7071", "http://127.0.0.1:7071", "Hub",
                                        system_key_query("s+k"), rpc_path_for("tok")))
    assert binding["requiredQueryStringParameters"] == "code=s%2Bk"
    assert binding["rpcBaseUrl"] == "http://127.0.0.1:7071/durabletask/tok/"
    status_uri = binding["managementUrls"]["statusQueryGetUri"]
    assert parse_qs(urlsplit(status_uri).query)["code"] == ["s+k"]
    assert binding["creationUrls"]["createNewInstancePostUri"].endswith("?code=s%2Bk")


def test_generated_keys_never_start_with_a_dash_so_they_work_as_a_separate_argument() -> None:
    from durable_local.host.keys import generate_key

    keys = [generate_key() for _ in range(2000)]  # about 1 in 64 token_urlsafe values start with "-"
    assert not any(key.startswith("-") for key in keys)
    assert len(set(keys)) == len(keys)
