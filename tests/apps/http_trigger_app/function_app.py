"""Test app for tests/e2e/test_http_triggers.py: HTTP triggers probing what a `func start` user observes."""

import json

import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="echo/{*rest}")
def echo(req: func.HttpRequest) -> func.HttpResponse:
    """Reflects what the function received: query, selected headers and route values."""
    body = {"params": dict(req.params), "route": dict(req.route_params),
            "x-multi": req.headers.get("x-multi"), "method": req.method}
    return func.HttpResponse(json.dumps(body), mimetype="application/json")


@app.route(route="cookies")
def cookies(req: func.HttpRequest) -> func.HttpResponse:
    response = func.HttpResponse("two cookies")
    response.headers.add("Set-Cookie", "a=1; Path=/")
    response.headers.add("Set-Cookie", "b=2; Path=/")
    return response


@app.route(route="getonly", methods=["GET"])
def getonly(req: func.HttpRequest) -> str:
    return "got"


@app.route(route="items")
def items_list(req: func.HttpRequest) -> str:
    return "items_list"


@app.route(route="items/{id?}")
def items_one(req: func.HttpRequest) -> str:
    return "items_one:" + str(req.route_params.get("id"))
