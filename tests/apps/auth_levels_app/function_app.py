"""Test app for tests/e2e/test_keys.py: one HTTP trigger per authorization level, and a Durable starter and
status route that use the client binding (so the SDK's own calls and the 202 payload are exercised)."""

import json

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)


@app.route(route="open", auth_level=func.AuthLevel.ANONYMOUS)
def open_route(req: func.HttpRequest) -> str:
    return "open"


@app.route(route="guarded")
def guarded(req: func.HttpRequest) -> str:
    return "guarded"


@app.route(route="other")
def other(req: func.HttpRequest) -> str:
    return "other"


@app.route(route="admin-only", auth_level=func.AuthLevel.ADMIN)
def admin_only(req: func.HttpRequest) -> str:
    return "admin"


@app.route(route="start/{name}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def start(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    body = req.get_body()
    instance_id = await client.start_new(req.route_params["name"], None, json.loads(body) if body else None)
    return client.create_check_status_response(req, instance_id)


@app.route(route="status/{instanceId}", methods=["GET"])
@app.durable_client_input(client_name="client")
async def status(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    found = await client.get_status(req.route_params["instanceId"])
    payload = {"runtimeStatus": found.runtime_status.value if found.runtime_status else None,
               "output": found.output}
    return func.HttpResponse(json.dumps(payload), mimetype="application/json")


@app.orchestration_trigger(context_name="context")
def Greeter(context: df.DurableOrchestrationContext):
    name = context.get_input() or "World"
    result = yield context.call_activity("Greet", name)
    return result


@app.activity_trigger(input_name="name")
def Greet(name: str) -> str:
    return f"Hello {name}!"
