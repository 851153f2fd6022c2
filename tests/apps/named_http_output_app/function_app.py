"""Test app for tests/e2e/test_output_bindings.py: HTTP functions answering through output bindings.

The starter is the pattern of Microsoft's Durable samples ported to v2: the response goes out through an HTTP
output named `message` (`binding_arg_name="message"`), not the return value.
"""

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="orchestrators/{functionName}", binding_arg_name="message")
@app.durable_client_input(client_name="client")
async def http_start(req: func.HttpRequest, client: df.DurableOrchestrationClient,
                     message: func.Out[func.HttpResponse]) -> None:
    instance_id = await client.start_new(req.route_params["functionName"], None, req.get_json())
    message.set(client.create_check_status_response(req, instance_id))


@app.orchestration_trigger(context_name="context")
def hello_sequence(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    names = context.get_input() or ["Tokyo", "Seattle"]
    results = []
    for name in names:
        results.append((yield context.call_activity("say_hello", name)))
    return results


@app.activity_trigger(input_name="name")
def say_hello(name: str) -> str:
    return f"Hello {name}!"


@app.route(route="plain", binding_arg_name="reply")
def plain(req: func.HttpRequest, reply: func.Out[str]) -> None:
    reply.set("set through Out")


@app.route(route="unset", binding_arg_name="reply")
def unset(req: func.HttpRequest, reply: func.Out[func.HttpResponse]) -> None:
    """Never sets its output: the host answers 500, as the worker sends no response."""
