"""The `durable` command handlers against a scripted stand-in for the Durable HTTP API: which requests they
send (query parameters, headers, bodies), how they page, confirm and report errors, and their exit codes.
The end-to-end tests in tests/e2e run the same commands against the real local host."""

from __future__ import annotations

import argparse
import io
import json
import threading
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from durable_local.manage import commands
from durable_local.testing import DURABLE_API

Reply = tuple[int, dict[str, str], Any]


@dataclass
class Seen:
    """One request the stand-in API received."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes


@dataclass
class Stub:
    """Routes (method, path) to a reply or to a function of the request; records every request."""

    base_url: str = ""
    routes: dict[tuple[str, str], Callable[[Seen], Reply] | list[Reply] | Reply] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)

    def on(self, method: str, path: str, *replies: Reply | Callable[[Seen], Reply]) -> None:
        self.routes[(method, path)] = replies[0] if len(replies) == 1 else list(replies)  # type: ignore[assignment]

    def reply(self, request: Seen) -> Reply:
        route = self.routes.get((request.method, request.path))
        if route is None:
            return 404, {}, None
        if isinstance(route, list):
            return route.pop(0) if len(route) > 1 else route[0]
        return route(request) if callable(route) else route

    def requests(self, method: str, path: str | None = None) -> list[Seen]:
        return [r for r in self.seen if r.method == method and (path is None or r.path == path)]


@pytest.fixture
def stub() -> Iterator[Stub]:
    state = Stub()

    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            url = urllib.parse.urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            seen = Seen(self.command, url.path, urllib.parse.parse_qs(url.query),
                        {k.lower(): v for k, v in self.headers.items()}, self.rfile.read(length))
            if (seen.method, seen.path) != ("GET", "/admin/host/status"):  # the CLI's task hub probe
                state.seen.append(seen)
            status, headers, body = state.reply(seen)
            data = b"" if body is None else json.dumps(body).encode()
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_DELETE = _serve

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    state.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def app_dir(tmp_path, monkeypatch):
    (tmp_path / "host.json").write_text(
        json.dumps({"version": "2.0", "extensions": {"durableTask": {"hubName": "CliTestHub"}}}), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("sys.stdin", io.StringIO(""))  # not a terminal
    monkeypatch.delenv("DURABLE_SYSTEM_KEY", raising=False)
    return tmp_path


@dataclass
class Result:
    """A `durable` command's exit code and output."""

    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="durable")
    subparsers = root.add_subparsers(dest="command", required=True)
    commands.add_commands(subparsers)
    return root


@pytest.fixture
def durable(stub, app_dir, capsys, monkeypatch) -> Callable[..., Result]:
    monkeypatch.setenv("DURABLE_BASE_URL", stub.base_url)

    def run(*argv: str) -> Result:
        try:
            args = parser().parse_args(list(argv))
            code = args.handler(args)
        except SystemExit as exit_:
            code = int(exit_.code or 0)
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


def status(instance_id: str, runtime_status: str, **extra: Any) -> dict[str, Any]:
    return {"name": "Hello", "instanceId": instance_id, "runtimeStatus": runtime_status, "input": "in",
            "customStatus": None, "output": "out", "createdTime": "2026-01-01T00:00:00Z",
            "lastUpdatedTime": "2026-01-01T00:00:01Z", **extra}


def test_task_hub_from_host_json_and_system_key_from_env(durable, stub, monkeypatch):
    monkeypatch.setenv("DURABLE_SYSTEM_KEY", "s3cret")
    stub.on("GET", f"{DURABLE_API}/instances/abc", (200, {}, status("abc", "Completed")))
    result = durable("get-runtime-status", "--id", "abc")
    assert result.code == 0
    assert "Runtime status: Completed" in result.out
    assert "Input" not in result.out
    query = stub.seen[0].query
    assert query["taskHub"] == ["CliTestHub"] and query["code"] == ["s3cret"] and query["showInput"] == ["false"]
    assert "connection" not in query


def test_flags_override_and_connection_is_sent(durable, stub):
    stub.on("GET", f"{DURABLE_API}/instances/abc", (200, {}, status("abc", "Completed")))
    result = durable("get-runtime-status", "--id", "abc", "--task-hub-name", "Other", "--code", "k",
                     "--connection-string-setting", "MyStorage", "--show-input", "true", "--show-output",
                     "--output", "json")
    assert result.code == 0
    assert result.json()["input"] == "in" and result.json()["output"] == "out"
    query = stub.seen[0].query
    assert query["taskHub"] == ["Other"] and query["code"] == ["k"] and query["connection"] == ["MyStorage"]


def test_json_output_leaves_out_input_and_output_unless_asked(durable, stub):
    stub.on("GET", f"{DURABLE_API}/instances/abc", (200, {}, status("abc", "Completed")))
    shown = durable("get-runtime-status", "--id", "abc", "-o", "json").json()
    assert shown["runtimeStatus"] == "Completed" and "input" not in shown and "output" not in shown


def test_unknown_instance_is_one_line_and_exit_1(durable):
    result = durable("get-runtime-status", "--id", "nope")
    assert result.code == 1
    assert result.out == ""
    assert result.err == "durable get-runtime-status: error: no instance with ID 'nope' found in task hub " \
                         "'CliTestHub'\n"


def test_unreachable_app(durable, monkeypatch):
    monkeypatch.setenv("DURABLE_BASE_URL", "http://127.0.0.1:9")
    result = durable("get-instances")
    assert result.code == 1
    assert "cannot reach the app at http://127.0.0.1:9" in result.err
    assert len(result.err.strip().splitlines()) == 1


def test_system_key_never_shown_in_errors(durable, stub):
    stub.on("GET", f"{DURABLE_API}/instances", (401, {}, None))
    result = durable("get-instances", "--code", "topsecret")
    assert result.code == 1
    assert "HTTP 401" in result.err and "--code" in result.err and "topsecret" not in result.err


def test_get_instances_page_and_continuation_token(durable, stub):
    stub.on("GET", f"{DURABLE_API}/instances", (200, {"x-ms-continuation-token": "tok2"}, [status("a", "Running")]))
    result = durable("get-instances", "--runtime-status", "running", "completed,failed",
                     "--created-after", "2018-03-10T13:57:31Z", "--created-before", "2018-03-10T23:59Z")
    assert result.code == 0
    assert result.out.splitlines()[1].split()[:3] == ["a", "Hello", "Running"]
    assert "Continuation token for next set of results: 'tok2'" in result.out
    query = stub.seen[0].query
    assert query["top"] == ["10"]
    assert query["runtimeStatus"] == ["Running,Completed,Failed"]
    assert query["createdTimeFrom"] == ["2018-03-10T13:57:31Z"]
    assert query["createdTimeTo"] == ["2018-03-10T23:59:00Z"]

    durable("get-instances", "--continuation-token", "tok2", "--top", "15")
    assert stub.seen[-1].headers["x-ms-continuation-token"] == "tok2"
    assert stub.seen[-1].query["top"] == ["15"]


def test_get_instances_all_pages_through_everything(durable, stub):
    def page(request: Seen) -> Reply:
        token = request.headers.get("x-ms-continuation-token")
        number = int(token) if token else 0
        items = [status(f"i{number}-{k}", "Completed") for k in range(2)]
        return 200, ({"x-ms-continuation-token": str(number + 1)} if number < 2 else {}), items

    stub.on("GET", f"{DURABLE_API}/instances", page)
    result = durable("get-instances", "--all", "-o", "json")
    assert result.code == 0
    data = result.json()
    assert [i["instanceId"] for i in data["instances"]] == ["i0-0", "i0-1", "i1-0", "i1-1", "i2-0", "i2-1"]
    assert data["continuationToken"] is None
    assert stub.seen[0].query["top"] == ["100"]
    assert "Fetched 6 instances." in result.err


def test_get_instances_empty(durable, stub):
    stub.on("GET", f"{DURABLE_API}/instances", (200, {}, []))
    result = durable("get-instances")
    assert result.code == 0 and result.out == "No instances found.\n"


def test_repeated_continuation_token_stops(durable, stub):
    stub.on("GET", f"{DURABLE_API}/instances", (200, {"x-ms-continuation-token": "same"}, []))
    result = durable("get-instances", "--all")
    assert result.code == 1 and "twice" in result.err


def test_invalid_flags_exit_2(durable):
    assert durable("get-instances", "--runtime-status", "finished").code == 2
    assert durable("get-instances", "--top", "0").code == 2
    assert durable("get-instances", "--created-after", "last week").code == 2
    assert durable("raise-event", "--id", "abc").code == 2  # --event-name is required
    assert durable("start-new").code == 2
    result = durable("start-new", "--function-name", "Hello", "--input", "@missing.json")
    assert result.code == 2 and "cannot read missing.json" in result.err


def test_created_after_later_than_before(durable):
    result = durable("get-instances", "--created-after", "2020-01-02", "--created-before", "2020-01-01")
    assert result.code == 2 and "later than" in result.err  # a bad flag value: usage error


def test_start_new_with_file_input_and_id(durable, stub, app_dir):
    (app_dir / "counter-data.json").write_text('{"start": 5}', encoding="utf-8")
    stub.on("POST", f"{DURABLE_API}/orchestrators/HelloWorld/my-id", (202, {}, {"id": "my-id"}))
    result = durable("start-new", "--function-name", "HelloWorld", "--input", "@counter-data.json", "--id", "my-id")
    assert result.code == 0
    assert result.out == "Started 'HelloWorld'. Instance ID: my-id\n"
    request = stub.seen[0]
    assert json.loads(request.body) == {"start": 5}
    assert request.headers["content-type"] == "application/json"


def test_start_new_unknown_function(durable, stub):
    stub.on("POST", f"{DURABLE_API}/orchestrators/Nope", (400, {}, {"Message": "The function 'Nope' doesn't exist."}))
    result = durable("start-new", "--function-name", "Nope")
    assert result.code == 1
    assert "cannot start 'Nope' in task hub 'CliTestHub': The function 'Nope' doesn't exist." in result.err


def test_raise_event_sends_plain_text_as_json_string(durable, stub):
    stub.on("POST", f"{DURABLE_API}/instances/abc/raiseEvent/MyOtherEvent", (202, {}, None))
    result = durable("raise-event", "--id", "abc", "--event-name", "MyOtherEvent", "--event-data", "approved")
    assert result.code == 0
    assert result.out == "Raised event 'MyOtherEvent' to instance 'abc'.\n"
    assert json.loads(stub.seen[0].body) == "approved"


def test_raise_event_to_finished_instance(durable, stub):
    stub.on("POST", f"{DURABLE_API}/instances/abc/raiseEvent/MyEvent", (410, {}, None))
    stub.on("GET", f"{DURABLE_API}/instances/abc", (200, {}, status("abc", "Completed")))
    result = durable("raise-event", "--id", "abc", "--event-name", "MyEvent")
    assert result.code == 1
    assert "cannot raise event 'MyEvent' to instance 'abc': its status is Completed" in result.err


def test_terminate_waits_until_terminated(durable, stub):
    stub.on("POST", f"{DURABLE_API}/instances/abc/terminate", (202, {}, None))
    stub.on("GET", f"{DURABLE_API}/instances/abc", (202, {}, status("abc", "Running")),
            (200, {}, status("abc", "Terminated")))
    result = durable("terminate", "--id", "abc", "--reason", "It was time to be done.")
    assert result.code == 0
    assert result.out == "Terminated instance 'abc'. Runtime status: Terminated.\n"
    assert stub.requests("POST")[0].query["reason"] == ["It was time to be done."]


def test_terminate_times_out(durable, stub):
    stub.on("POST", f"{DURABLE_API}/instances/abc/terminate", (202, {}, None))
    stub.on("GET", f"{DURABLE_API}/instances/abc", (202, {}, status("abc", "Running")))
    result = durable("terminate", "--id", "abc", "--timeout", "0.2")
    assert result.code == 1 and "still Running 0.2 s after the terminate request" in result.err


def test_terminate_finished_instance(durable, stub):
    stub.on("POST", f"{DURABLE_API}/instances/abc/terminate", (410, {}, None))
    stub.on("GET", f"{DURABLE_API}/instances/abc", (200, {}, status("abc", "Failed")))
    result = durable("terminate", "--id", "abc")
    assert result.code == 1 and "cannot terminate instance 'abc': its status is Failed" in result.err


def test_terminate_many_needs_confirmation(durable, stub):
    stub.on("GET", f"{DURABLE_API}/instances", (200, {}, [status("a", "Running"), status("b", "Pending")]))
    stub.on("POST", f"{DURABLE_API}/instances/a/terminate", (202, {}, None))
    stub.on("POST", f"{DURABLE_API}/instances/b/terminate", (202, {}, None))
    refused = durable("terminate", "--runtime-status", "running", "pending")
    assert refused.code == 2 and "--yes" in refused.err
    assert not stub.requests("POST")
    dry = durable("terminate", "--runtime-status", "running", "pending", "--dry-run", "-o", "json")
    assert dry.code == 0 and dry.json()["instanceIds"] == ["a", "b"] and not stub.requests("POST")
    done = durable("terminate", "--runtime-status", "running", "pending", "--yes", "--no-wait")
    assert done.code == 0 and done.out == "Requested termination of 2 instances.\n"
    assert {r.path for r in stub.requests("POST")} == {f"{DURABLE_API}/instances/a/terminate",
                                                       f"{DURABLE_API}/instances/b/terminate"}


def test_terminate_refuses_terminal_status_filter(durable):
    result = durable("terminate", "--runtime-status", "completed")
    assert result.code == 2 and "cannot be terminated" in result.err
    assert durable("terminate").code == 2


def test_rewind_shows_before_and_after(durable, stub):
    stub.on("GET", f"{DURABLE_API}/instances/abc", (200, {}, status("abc", "Failed")),
            (202, {}, status("abc", "Running", lastUpdatedTime="2026-01-01T00:00:09Z")))
    stub.on("POST", f"{DURABLE_API}/instances/abc/rewind", (202, {}, None))
    result = durable("rewind", "--id", "abc", "--reason", "Orchestrator failed and needs to be revived.")
    assert result.code == 0
    assert result.out == "Status before rewind: Failed\nStatus after rewind: Running\n"


def test_rewind_of_completed_instance(durable, stub):
    stub.on("GET", f"{DURABLE_API}/instances/abc", (200, {}, status("abc", "Completed")))
    stub.on("POST", f"{DURABLE_API}/instances/abc/rewind", (410, {}, None))
    result = durable("rewind", "--id", "abc")
    assert result.code == 1
    assert "its status is Completed (only Failed instances can be rewound)" in result.err


def test_suspend_resume_restart(durable, stub):
    stub.on("POST", f"{DURABLE_API}/instances/abc/suspend", (202, {}, None))
    stub.on("GET", f"{DURABLE_API}/instances/abc", (202, {}, status("abc", "Suspended")))
    assert durable("suspend", "--id", "abc").out == "Suspended instance 'abc'. Runtime status: Suspended.\n"
    stub.on("POST", f"{DURABLE_API}/instances/abc/resume", (500, {}, {"Message": "not suspended"}))
    stub.on("GET", f"{DURABLE_API}/instances/abc", (202, {}, status("abc", "Running")))
    result = durable("resume", "--id", "abc")
    assert result.code == 1 and "its status is Running (only Suspended instances can be resumed)" in result.err
    stub.on("POST", f"{DURABLE_API}/instances/abc/restart", (202, {}, {"id": "new-id"}))
    result = durable("restart", "--id", "abc")
    assert result.out == "Restarted instance 'abc'. New instance ID: new-id\n"
    restart = stub.requests("POST", f"{DURABLE_API}/instances/abc/restart")[0]
    assert restart.query["restartWithNewInstanceId"] == ["true"]


def test_wait_exit_codes(durable, stub):
    stub.on("GET", f"{DURABLE_API}/instances/ok", (202, {}, status("ok", "Running")),
            (200, {}, status("ok", "Completed")))
    result = durable("wait", "--id", "ok", "--interval", "0.01")
    assert result.code == 0 and "Runtime status: Completed" in result.out and '"out"' in result.out
    stub.on("GET", f"{DURABLE_API}/instances/bad", (200, {}, status("bad", "Failed")))
    result = durable("wait", "--id", "bad")
    assert result.code == 1 and "ended Failed" in result.err
    stub.on("GET", f"{DURABLE_API}/instances/slow", (202, {}, status("slow", "Running")))
    result = durable("wait", "--id", "slow", "--timeout", "0.1", "--interval", "0.01")
    assert result.code == 1 and "still Running after 0.1 s" in result.err


def test_purge_lists_confirms_then_deletes_exactly_the_listed_ids(durable, stub):
    stub.on("GET", f"{DURABLE_API}/instances", (200, {}, [status("a", "Completed"), status("b", "Failed")]))
    stub.on("DELETE", f"{DURABLE_API}/instances/a", (200, {}, {"instancesDeleted": 1}))
    stub.on("DELETE", f"{DURABLE_API}/instances/b", (200, {}, {"instancesDeleted": 1}))

    refused = durable("purge-history")
    assert refused.code == 2 and "refusing to purge the history of 2 instances" in refused.err
    assert not stub.requests("DELETE")
    query = stub.seen[0].query
    assert query["createdTimeFrom"] == ["0001-01-01T00:00:00Z"]
    assert query["runtimeStatus"] == ["Completed,Failed,Terminated,Canceled"]
    assert "createdTimeTo" not in query

    dry = durable("purge-history", "--dry-run", "-o", "json")
    assert dry.code == 0 and dry.json()["instanceIds"] == ["a", "b"]
    assert not stub.requests("DELETE")

    done = durable("purge-history", "--yes", "-o", "json")
    assert done.code == 0 and done.json() == {"instancesDeleted": 2, "instanceIds": ["a", "b"]}
    deleted = sorted(r.path for r in stub.requests("DELETE"))
    assert deleted == [f"{DURABLE_API}/instances/a", f"{DURABLE_API}/instances/b"]


def test_purge_seed_filters_and_nothing_to_purge(durable, stub):
    stub.on("GET", f"{DURABLE_API}/instances", (200, {}, []))
    result = durable("purge-history", "--created-before", "2018-11-14T19:35:00.0000000Z", "--runtime-status",
                     "failed")
    assert result.code == 0 and result.out == "No instances match; nothing to purge.\n"
    query = stub.seen[0].query
    assert query["createdTimeTo"] == ["2018-11-14T19:35:00Z"] and query["runtimeStatus"] == ["Failed"]


def test_purge_by_id_refuses_running_instances(durable, stub):
    stub.on("GET", f"{DURABLE_API}/instances/abc", (202, {}, status("abc", "Running")))
    result = durable("purge-history", "--id", "abc", "--yes")
    assert result.code == 1 and "is Running" in result.err
    assert not stub.requests("DELETE")


def test_delete_task_hub_on_the_local_host(durable, stub):
    stub.on("GET", "/admin/host/taskhubs/UserTest", (200, {}, {"taskHub": "UserTest", "instances": 3}))
    stub.on("DELETE", "/admin/host/taskhubs/UserTest", (200, {}, {"taskHub": "UserTest", "instancesDeleted": 3}))
    stub.on("GET", f"{DURABLE_API}/instances", (200, {}, [status("a", "Completed")]))
    dry = durable("delete-task-hub", "--task-hub-name", "UserTest", "--dry-run")
    assert dry.code == 0 and "3 instances" in dry.out and not stub.requests("DELETE")
    assert dry.out.splitlines()[-1].split()[:3] == ["a", "Hello", "Completed"]
    assert stub.requests("GET", f"{DURABLE_API}/instances")[0].query["taskHub"] == ["UserTest"]
    refused = durable("delete-task-hub", "--task-hub-name", "UserTest")
    assert refused.code == 2 and not stub.requests("DELETE")
    done = durable("delete-task-hub", "--task-hub-name", "UserTest", "--yes")
    assert done.code == 0 and "Deleted task hub 'UserTest'" in done.out
    assert "taskHub" not in stub.requests("DELETE")[0].query


def test_delete_task_hub_defaults_to_host_json_hub(durable, stub):
    result = durable("delete-task-hub", "--dry-run")
    assert result.code == 1 and "task hub 'CliTestHub' not found" in result.err
    assert stub.seen[0].path == "/admin/host/taskhubs/CliTestHub"
