"""Test app for tests/e2e/test_unsupported_bindings.py: one function with a Twilio output (which the local host
cannot load) beside an HTTP starter and an orchestration that must keep working."""

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="sms")
@app.generic_output_binding(arg_name="sms", type="twilioSms", from_number="+15550100",
                            account_sid_setting="TwilioAccountSid", auth_token_setting="TwilioAuthToken")
def send_sms(req: func.HttpRequest, sms: func.Out[str]) -> str:
    sms.set('{"body": "hello", "to": "+15550101"}')
    return "sent"


@app.route(route="start/{functionName}")
@app.durable_client_input(client_name="client")
async def start(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    instance_id = await client.start_new(req.route_params["functionName"])
    return client.create_check_status_response(req, instance_id)


@app.orchestration_trigger(context_name="context")
def greet(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    return (yield context.call_activity("hello", "Twilio-free"))


@app.activity_trigger(input_name="name")
def hello(name: str) -> str:
    return f"Hello {name}!"
