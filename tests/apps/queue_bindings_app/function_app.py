"""Queue bindings beside Durable Functions: queue outputs from HTTP, timer and activity functions, a queue trigger
that answers through a `$return` queue output, one that runs on at its first delivery, a function that always
fails (its messages end in the poison queue) and one whose connection setting is missing (listed in error; the
rest runs)."""

import asyncio
import json

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="send", methods=["POST"])
@app.queue_output(arg_name="msg", queue_name="orders", connection="AzureWebJobsStorage")
def send(req: func.HttpRequest, msg: func.Out[str]) -> func.HttpResponse:
    msg.set(req.get_body().decode())
    return func.HttpResponse("queued", status_code=202)


@app.route(route="send-many", methods=["POST"])
@app.queue_output(arg_name="msgs", queue_name="batch", connection="AzureWebJobsStorage")
def send_many(req: func.HttpRequest, msgs: func.Out[list[str]]) -> func.HttpResponse:
    msgs.set(req.get_json())
    return func.HttpResponse("queued", status_code=202)


@app.route(route="send-doomed", methods=["POST"])
@app.queue_output(arg_name="msg", queue_name="doomed", connection="AzureWebJobsStorage")
def send_doomed(req: func.HttpRequest, msg: func.Out[str]) -> func.HttpResponse:
    msg.set(req.get_body().decode())
    return func.HttpResponse("queued", status_code=202)


@app.route(route="start/{text}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def start(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    instance_id = await client.start_new("notify", None, req.route_params["text"])
    return client.create_check_status_response(req, instance_id)


@app.orchestration_trigger(context_name="context")
def notify(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    result = yield context.call_activity("enqueue", context.get_input())
    return result


@app.activity_trigger(input_name="text")
@app.queue_output(arg_name="msg", queue_name="orders", connection="AzureWebJobsStorage")
def enqueue(text: str, msg: func.Out[str]) -> str:
    msg.set(f"from activity: {text}")
    return f"enqueued {text}"


@app.timer_trigger(arg_name="timer", schedule="0 0 0 1 1 *", run_on_startup=False)
@app.queue_output(arg_name="msg", queue_name="orders", connection="AzureWebJobsStorage")
def nightly(timer: func.TimerRequest, msg: func.Out[str]) -> None:
    msg.set("from timer")


@app.queue_trigger(arg_name="message", queue_name="orders", connection="AzureWebJobsStorage")
@app.queue_output(arg_name="$return", queue_name="received", connection="AzureWebJobsStorage")
def on_order(message: func.QueueMessage) -> str:
    def when(value):  # type: ignore[no-untyped-def]
        return value.isoformat() if value is not None else None

    return json.dumps({"id": message.id, "body": message.get_body().decode(),
                       "dequeue_count": message.dequeue_count, "pop_receipt": message.pop_receipt,
                       "insertion_time": when(message.insertion_time),
                       "expiration_time": when(message.expiration_time),
                       "time_next_visible": when(message.time_next_visible)})


@app.queue_trigger(arg_name="message", queue_name="starts", connection="AzureWebJobsStorage")
@app.durable_client_input(client_name="client")
async def start_from_queue(message: func.QueueMessage, client: df.DurableOrchestrationClient) -> None:
    text = message.get_body().decode()
    await client.start_new("notify", f"from-queue-{text}", text)


@app.queue_trigger(arg_name="message", queue_name="slow", connection="AzureWebJobsStorage")
@app.queue_output(arg_name="$return", queue_name="slow-done", connection="AzureWebJobsStorage")
async def slow_order(message: func.QueueMessage) -> str:
    if message.dequeue_count == 1:  # the first delivery runs on until the host stops
        await asyncio.sleep(120)
    return json.dumps({"body": message.get_body().decode(), "dequeue_count": message.dequeue_count})


@app.queue_trigger(arg_name="message", queue_name="doomed", connection="AzureWebJobsStorage")
def always_fails(message: func.QueueMessage) -> None:
    raise RuntimeError(f"cannot handle {message.get_body().decode()}")


@app.queue_trigger(arg_name="message", queue_name="elsewhere", connection="MissingStorage")
def unreachable(message: func.QueueMessage) -> None:
    pass
