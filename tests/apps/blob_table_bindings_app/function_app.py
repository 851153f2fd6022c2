"""Blob and table bindings beside Durable Functions: blob input and output on HTTP, timer, activity and queue
functions (paths with `{name}`, `{queueTrigger}`, a JSON message's `{Id}`, `{rand-guid}`, `%Setting%`), and table
input (one entity by keys, or a filtered list) and output (an entity or a list); blob triggers (one that records each
firing in a blob named by the trigger's `{name}`, one that always fails)."""

import json

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="copy/{name}", methods=["POST"])
@app.blob_input(arg_name="source", path="inbox/{name}", connection="AzureWebJobsStorage")
@app.blob_output(arg_name="target", path="%OUTBOX_CONTAINER%/{name}.copy", connection="AzureWebJobsStorage")
def copy(req: func.HttpRequest, source: func.InputStream, target: func.Out[bytes]) -> func.HttpResponse:
    if source is None:
        return func.HttpResponse("no such blob", status_code=404)
    content = source.read()
    target.set(content.upper())
    return func.HttpResponse(f"copied {len(content)} bytes")


@app.route(route="as-text/{name}", methods=["GET"])
@app.blob_input(arg_name="text", path="inbox/{name}", connection="AzureWebJobsStorage",
                data_type=func.DataType.STRING)
@app.blob_input(arg_name="raw", path="inbox/{name}", connection="AzureWebJobsStorage",
                data_type=func.DataType.BINARY)
def as_text(req: func.HttpRequest, text: str, raw: bytes) -> func.HttpResponse:
    return func.HttpResponse(json.dumps({"text": [type(text).__name__, text],
                                         "raw": [type(raw).__name__, list(raw)]}), mimetype="application/json")


@app.route(route="write-text", methods=["POST"])
@app.blob_output(arg_name="target", path="generated/{rand-guid}.txt", connection="AzureWebJobsStorage")
def write_text(req: func.HttpRequest, target: func.Out[str]) -> func.HttpResponse:
    target.set(req.get_body().decode())
    return func.HttpResponse("written", status_code=201)


@app.route(route="people/{partition}/{row}", methods=["GET"])
@app.table_input(arg_name="person", table_name="people", partition_key="{partition}", row_key="{row}",
                 connection="AzureWebJobsStorage")
def person(req: func.HttpRequest, person: str | None) -> func.HttpResponse:
    if person is None:
        return func.HttpResponse("not found", status_code=404)
    return func.HttpResponse(person, mimetype="application/json")


@app.route(route="people/{partition}", methods=["GET"])
@app.table_input(arg_name="people", table_name="people", partition_key="{partition}", filter="Age gt 30",
                 take=2, connection="AzureWebJobsStorage")
def elders(req: func.HttpRequest, people: str) -> func.HttpResponse:
    return func.HttpResponse(people, mimetype="application/json")


@app.route(route="people", methods=["POST"])
@app.table_output(arg_name="rows", table_name="people", connection="AzureWebJobsStorage")
def add_people(req: func.HttpRequest, rows: func.Out[str]) -> func.HttpResponse:
    rows.set(req.get_body().decode())
    return func.HttpResponse("added", status_code=201)


@app.route(route="archive/{name}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def start_archive(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    instance_id = await client.start_new("archive", None, req.route_params["name"])
    return client.create_check_status_response(req, instance_id)


@app.orchestration_trigger(context_name="context")
def archive(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    result = yield context.call_activity("archive_report", context.get_input())
    return result


@app.activity_trigger(input_name="name")
@app.blob_input(arg_name="report", path="inbox/report.txt", connection="AzureWebJobsStorage")
@app.table_output(arg_name="row", table_name="archive", partition_key="reports", connection="AzureWebJobsStorage")
def archive_report(name: str, report: func.InputStream, row: func.Out[str]) -> str:
    text = report.read().decode()
    row.set(json.dumps({"RowKey": name, "Text": text}))
    return f"archived {len(text)} characters"


@app.timer_trigger(arg_name="timer", schedule="0 0 0 1 1 *", run_on_startup=False)
@app.blob_output(arg_name="stamp", path="stamps/{DateTime:yyyy-MM-dd}.txt", connection="AzureWebJobsStorage")
def stamp(timer: func.TimerRequest, stamp: func.Out[str]) -> None:
    stamp.set("from timer")


@app.queue_trigger(arg_name="message", queue_name="blob-jobs", connection="AzureWebJobsStorage")
@app.blob_input(arg_name="source", path="inbox/{Name}", connection="AzureWebJobsStorage", data_type="string")
@app.blob_output(arg_name="target", path="processed/{OrderId}-{Name}", connection="AzureWebJobsStorage")
def process_job(message: func.QueueMessage, source: func.InputStream, target: func.Out[str]) -> None:
    target.set(f"{message.get_json()['OrderId']}: {source.read().decode()}")


@app.queue_trigger(arg_name="message", queue_name="blob-names", connection="AzureWebJobsStorage")
@app.blob_output(arg_name="target", path="by-name/{queueTrigger}", connection="AzureWebJobsStorage")
def by_name(message: func.QueueMessage, target: func.Out[str]) -> None:
    target.set("named by the message")


@app.blob_trigger(arg_name="upload", path="uploads/{name}.txt", connection="AzureWebJobsStorage")
@app.blob_output(arg_name="record", path="fired/{name}/{rand-guid}", connection="AzureWebJobsStorage")
def on_upload(upload: func.InputStream, record: func.Out[str]) -> None:
    record.set(json.dumps({"name": upload.name, "length": upload.length, "content": upload.read().decode(),
                           "uri": upload.uri}))


@app.blob_trigger(arg_name="upload", path="broken/{name}", connection="AzureWebJobsStorage")
def on_broken(upload: func.InputStream) -> None:
    raise RuntimeError(f"cannot process {upload.name}")
