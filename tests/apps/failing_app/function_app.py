"""Test app whose user code fails in hostile ways: the host must end each instance in a definite state.

- `CallActivity` (orchestrator) calls the activity named by its input's `kind` and returns its result.
- `FailInOrchestrator` raises the exception named by its input's `kind` from the orchestrator itself.
- Activities `BrokenStr` (an exception whose `__str__` raises), `Unpicklable` (an exception holding a lock and
  refusing to pickle), `HugeMessage` (a 20 MB message), `Fine` (returns "fine").
- HTTP routes `server-error/{*rest}` (always 500) and `not-an-api/{*rest}` (200 HTML), for CLI exit codes.
"""

import threading
from typing import Any

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)
HUGE = 20 * 1024 * 1024


class BrokenStrError(Exception):
    """An exception whose text cannot even be built."""

    def __str__(self) -> str:
        raise RuntimeError("__str__ is broken too")


class UnpicklableError(Exception):
    """An exception that cannot cross a process boundary by pickling."""

    def __init__(self) -> None:
        super().__init__("cannot be pickled")
        self.lock = threading.Lock()

    def __reduce__(self) -> Any:
        raise TypeError("UnpicklableError refuses to be pickled")


def failure(kind: str) -> Exception:
    if kind == "BrokenStr":
        return BrokenStrError()
    if kind == "Unpicklable":
        return UnpicklableError()
    return ValueError("x" * HUGE)


@app.orchestration_trigger(context_name="context")
def CallActivity(context: df.DurableOrchestrationContext) -> Any:
    result = yield context.call_activity(context.get_input()["kind"], None)
    return result


@app.orchestration_trigger(context_name="context")
def FailInOrchestrator(context: df.DurableOrchestrationContext) -> Any:
    yield context.call_activity("Fine", None)
    raise failure(context.get_input()["kind"])


@app.activity_trigger(input_name="unused")
def BrokenStr(unused: Any) -> str:
    raise failure("BrokenStr")


@app.activity_trigger(input_name="unused")
def Unpicklable(unused: Any) -> str:
    raise failure("Unpicklable")


@app.activity_trigger(input_name="unused")
def HugeMessage(unused: Any) -> str:
    raise failure("HugeMessage")


@app.activity_trigger(input_name="unused")
def Fine(unused: Any) -> str:
    return "fine"


@app.route(route="server-error/{*rest}", methods=["GET", "POST", "DELETE"])
def server_error(req: func.HttpRequest) -> func.HttpResponse:
    """A server that fails: every request under it answers 500 with an ASP.NET-style error object."""
    return func.HttpResponse('{"Message": "Something went wrong while processing your request"}', status_code=500,
                             mimetype="application/json")


@app.route(route="not-an-api/{*rest}", methods=["GET", "POST", "DELETE"])
def not_an_api(req: func.HttpRequest) -> func.HttpResponse:
    """A server that answers 200 with something that is not the Durable HTTP API (an HTML page)."""
    return func.HttpResponse("<html><body>Welcome</body></html>", mimetype="text/html")
