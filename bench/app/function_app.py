"""The benchmark's app: the 3-activity Hello sequence of the Durable Functions quickstart."""

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.orchestration_trigger(context_name="context")
def Hello(context: df.DurableOrchestrationContext):
    results = []
    for city in ["Tokyo", "Seattle", "London"]:
        results.append((yield context.call_activity("SayHello", city)))
    return results


@app.activity_trigger(input_name="city")
def SayHello(city: str) -> str:
    return f"Hello {city}!"
