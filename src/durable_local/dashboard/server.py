"""The dashboard's web server: aiohttp routes rendering Jinja2 templates (autoescaped, so instance data always
displays as text), htmx fragments for the parts that refresh, and the actions (refused in read-only mode).

Pages: `/instances` (filters in the URL), `/instances/rows` and `/instances/summary` (fragments),
`/instance/{id}` (status, JSON, timeline, history, actions), `/bulk/...` (dry run, run, progress, cancel).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
import urllib.parse
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web
from multidict import MultiDict

from durable_local.dashboard import guard, jsonview, timeline
from durable_local.dashboard.backend import Backend
from durable_local.dashboard.filters import PAGE_SIZES, FilterError, InstanceFilter
from durable_local.dashboard.jobs import Jobs
from durable_local.manage import bulk
from durable_local.manage.client import DurableClient
from durable_local.manage.errors import CliError
from durable_local.manage.parsing import RUNTIME_STATUSES
from durable_local.vocabulary import TERMINAL_STATUSES

logger = logging.getLogger(__name__)
actions_log = logging.getLogger("durable_local.dashboard.actions")

HERE = Path(__file__).resolve().parent
ACTIONS = ("terminate", "suspend", "resume", "rewind", "restart", "purge", "raise-event")
REASON_ACTIONS = ("terminate", "suspend", "resume", "rewind")
EXPLAIN = {
    "terminate": "stops the instance for good: its status becomes Terminated, with the reason as its output. "
                 "Running activities finish but their results are ignored.",
    "suspend": "pauses the instance: it keeps its state and takes no new steps until it is resumed.",
    "resume": "continues a suspended instance from where it paused.",
    "rewind": "replays a Failed instance from its last good state: failed activities and sub-orchestrations "
              "run again, completed ones are not repeated.",
    "restart": "starts the orchestration again with its original input, under the same instance ID; its "
               "current history is replaced.",
    "purge": "deletes the instance and all of its history from the task hub. This cannot be undone.",
    "raise-event": "sends an external event with the JSON body below to the instance; an orchestration waiting "
                   "for that event name continues.",
}
MAX_EVENT_BYTES = 256 * 1024
DEFAULT_CONCURRENCY = 4
MAX_CONCURRENCY = 16


@dataclass
class DashboardConfig:
    """How the dashboard was started (see `durable dashboard --help`)."""

    client: DurableClient
    host: str = "127.0.0.1"
    port: int = 7080
    token: str = field(default_factory=guard.new_token)
    read_only: bool = False
    allowed_hosts: tuple[str, ...] = ()
    refresh_seconds: float = 5.0
    count_limit: int = 20_000

    @property
    def url(self) -> str:
        shown = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{shown}:{self.port}/?token={self.token}"


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(HERE / "templates")),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["q"] = lambda value: urllib.parse.quote(str(value), safe="")
    env.filters["when"] = _when
    env.filters["excerpt"] = timeline.excerpt
    env.filters["span"] = timeline.format_span
    env.filters["element_id"] = lambda value: "i" + hashlib.sha256(str(value).encode()).hexdigest()[:16]
    env.globals["STATUSES"] = RUNTIME_STATUSES
    env.globals["PAGE_SIZES"] = PAGE_SIZES
    return env


def _when(text: Any) -> str:
    """An API time as `2026-01-31 12:00:05` (UTC), for tables."""
    value = timeline.parse_time(text)
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else ""


def duration(item: dict[str, Any], now: datetime) -> str:
    created = timeline.parse_time(item.get("createdTime"))
    updated = timeline.parse_time(item.get("lastUpdatedTime"))
    if created is None:
        return ""
    end = updated if item.get("runtimeStatus") not in ("Running", "Pending", "Suspended") else now
    if end is None:
        return ""
    return timeline.format_duration(max((end - created).total_seconds(), 0))


class Dashboard:
    """Handlers of one dashboard process."""

    def __init__(self, config: DashboardConfig) -> None:
        self.config = config
        self.backend = Backend(config.client)
        self.jobs = Jobs(config.client)
        self.templates = _environment()

    # -- plumbing --------------------------------------------------------------------------------------
    def application(self) -> web.Application:
        app = web.Application(middlewares=[
            server_timing,
            guard.listener_rules(bound_host=self.config.host, allowed_hosts=self.config.allowed_hosts),
            guard.middleware(token=self.config.token, cookie_name=f"durable_dashboard_{self.config.port}"),
        ], client_max_size=guard.MAX_BODY_BYTES)
        app.router.add_get("/", self.home)
        app.router.add_get("/instances", self.instances_page)
        app.router.add_get("/instances/rows", self.instances_rows)
        app.router.add_get("/instances/summary", self.instances_summary)
        app.router.add_get("/instance/{id}", self.instance_page)
        app.router.add_get("/instance/{id}/body", self.instance_body)
        app.router.add_get("/instance/{id}/payload/{part}", self.instance_payload)
        app.router.add_get("/instance/{id}/confirm/{action}", self.confirm)
        app.router.add_post("/instance/{id}/action/{action}", self.act)
        app.router.add_post("/bulk/plan", self.bulk_plan)
        app.router.add_post("/bulk/run/{plan}", self.bulk_run)
        app.router.add_get("/bulk/job/{job}", self.bulk_job)
        app.router.add_post("/bulk/job/{job}/cancel", self.bulk_cancel)
        app.router.add_static("/static/", HERE / "static", append_version=True)
        return app

    def render(self, template: str, http_status: int = 200, headers: dict[str, str] | None = None,
               **context: Any) -> web.Response:
        context.setdefault("config", self.config)
        context.setdefault("client", self.config.client)
        context.setdefault("read_only", self.config.read_only)
        text = self.templates.get_template(template).render(**context)
        response = web.Response(text=text, content_type="text/html", status=http_status, headers=headers)
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Content-Security-Policy"] = (
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
            "frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
        response.headers["Referrer-Policy"] = "no-referrer"
        return response

    def error(self, message: str, status: int, *, fragment: bool) -> web.Response:
        return self.render("_error.html" if fragment else "error.html", http_status=status, message=message)

    @staticmethod
    async def call(function: Any, *args: Any, **kwargs: Any) -> Any:
        return await asyncio.to_thread(function, *args, **kwargs)

    def refuse_if_read_only(self) -> web.Response | None:
        if self.config.read_only:
            return web.json_response({"error": "the dashboard runs with --read-only: actions are off"}, status=403)
        return None

    # -- instances -------------------------------------------------------------------------------------
    async def home(self, request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound("/instances")

    def _filter(self, request: web.Request) -> InstanceFilter:
        return InstanceFilter.from_query(request.query)

    async def _rows_context(self, flt: InstanceFilter) -> dict[str, Any]:
        started = time.perf_counter()
        page = await self.call(self.backend.list_instances, flt)
        now = datetime.now(UTC)
        rows = [{**item, "duration": duration(item, now),
                 "custom": timeline.excerpt(item.get("customStatus"), 60)} for item in page.items]
        if flt.order == "desc":
            rows.sort(key=lambda r: (str(r.get("createdTime") or ""), str(r.get("instanceId"))), reverse=True)
        elapsed = (time.perf_counter() - started) * 1000
        next_url = "/instances?" + flt.with_page(page.next_token).query_string() if page.next_token else ""
        return {"flt": flt, "rows": rows, "page": page, "next_url": next_url, "elapsed_ms": elapsed,
                "first_url": "/instances?" + flt.query_string(page=False)}

    async def instances_page(self, request: web.Request) -> web.StreamResponse:
        try:
            flt = self._filter(request)
        except FilterError as error:
            return self.error(str(error), 400, fragment=False)
        try:
            context = await self._rows_context(flt)
        except CliError as error:
            return self.render("instances.html", flt=flt, rows=[], page=None, next_url="", elapsed_ms=0,
                               first_url="/instances", api_error=error.message)
        return self.render("instances.html", api_error="", **context)

    async def instances_rows(self, request: web.Request) -> web.StreamResponse:
        try:
            flt = self._filter(request)
            context = await self._rows_context(flt)
        except FilterError as error:
            return self.error(str(error), 400, fragment=True)
        except CliError as error:
            return self.error(error.message, 502, fragment=True)
        return self.render("_rows.html", **context)

    async def instances_summary(self, request: web.Request) -> web.StreamResponse:
        try:
            flt = self._filter(request).with_page(None)
            result = await self.call(self.backend.summary, flt, cap=self.config.count_limit)
        except FilterError as error:
            return self.error(str(error), 400, fragment=True)
        except CliError as error:
            return self.error(error.message, 502, fragment=True)
        def bucket_query(bucket: Any) -> str:
            """The filter narrowed to one histogram bucket (a click on its bar shows those instances)."""
            end = bucket.start + result.bucket_size - timedelta(seconds=1)
            return replace(flt, created_from=bucket.start, created_to=end).query_string(page=False)

        return self.render("_summary.html", flt=flt, summary=result, bucket_query=bucket_query)

    # -- one instance ----------------------------------------------------------------------------------
    async def _instance_context(self, instance_id: str) -> dict[str, Any] | None:
        status = await self.call(self.backend.status, instance_id, history=True)
        if status is None:
            return None
        raw = await self.call(self.backend.raw_history, instance_id)
        parent, children = timeline.links_from_raw(raw or [])
        history = status.get("historyEvents") or []
        if raw is None:  # the HTTP API's history names only the sub-orchestrations still running
            children = [(str(e.get("Name") or "?"), str(e["InstanceId"])) for e in history
                        if e.get("EventType") == "SubOrchestrationInstanceCreated" and e.get("InstanceId")]
        parent = parent or await self.call(self.backend.parent_id, instance_id)
        now = datetime.now(UTC)
        output = status.get("output")
        failure = None
        if status.get("runtimeStatus") == "Failed":
            failure = _failure(output)
        return {
            "status": status,
            "instance_id": instance_id,
            "duration": duration(status, now),
            "input": jsonview.render(status.get("input")),
            "output": jsonview.render(output),
            "custom": jsonview.render(status.get("customStatus")),
            "failure": failure,
            "timeline": timeline.build(history, now=now),
            "history": history[:2000],
            "history_total": len(history),
            "parent": parent,
            "children": children,
            "raw_links": raw is not None,
            "urls": self.backend.management_urls(instance_id),
            "actions": _available_actions(str(status.get("runtimeStatus") or "")),
            "LABEL_WIDTH": timeline.LABEL_WIDTH,
            "CHART_WIDTH": timeline.CHART_WIDTH,
        }

    async def instance_page(self, request: web.Request) -> web.StreamResponse:
        instance_id = request.match_info["id"]
        try:
            context = await self._instance_context(instance_id)
        except CliError as error:
            return self.error(error.message, 502, fragment=False)
        if context is None:
            return self.error(f"No instance with ID '{instance_id}' in this task hub.", 404, fragment=False)
        return self.render("instance.html", **context)

    async def instance_body(self, request: web.Request) -> web.StreamResponse:
        instance_id = request.match_info["id"]
        try:
            context = await self._instance_context(instance_id)
        except CliError as error:
            return self.error(error.message, 502, fragment=True)
        if context is None:
            return self.error(f"Instance '{instance_id}' is gone (purged?).", 404, fragment=True)
        return self.render("_instance_body.html", **context)

    async def instance_payload(self, request: web.Request) -> web.StreamResponse:
        instance_id, part = request.match_info["id"], request.match_info["part"]
        keys = {"input": "input", "output": "output", "custom-status": "customStatus"}
        if part not in keys:
            return web.json_response({"error": f"unknown part {part!r}; one of {', '.join(keys)}"}, status=400)
        status = await self.call(self.backend.status, instance_id, history=False)
        if status is None:
            return web.json_response({"error": f"no instance with ID '{instance_id}'"}, status=404)
        safe_name = "".join(c if c.isalnum() or c in "-_." else "_" for c in instance_id)[:80]
        return web.Response(body=json.dumps(status.get(keys[part]), ensure_ascii=False, indent=2).encode(),
                            content_type="application/json", headers={
                                "Content-Disposition": f'attachment; filename="{safe_name}-{part}.json"'})

    async def confirm(self, request: web.Request) -> web.StreamResponse:
        instance_id, action = request.match_info["id"], request.match_info["action"]
        if self.config.read_only:
            return self.error("The dashboard runs with --read-only: actions are off.", 403, fragment=True)
        if action not in ACTIONS:
            return self.error(f"unknown action {action!r}", 400, fragment=True)
        return self.render("_confirm.html", instance_id=instance_id, action=action, explain=EXPLAIN[action],
                           with_reason=action in REASON_ACTIONS)

    async def act(self, request: web.Request) -> web.StreamResponse:
        refused = self.refuse_if_read_only()
        if refused:
            actions_log.warning("refused %s: read-only", request.path)
            return refused
        instance_id, action = request.match_info["id"], request.match_info["action"]
        if action not in ACTIONS:
            return web.json_response({"error": f"unknown action {action!r}"}, status=400)
        form = await request.post()
        unknown = sorted(set(form.keys()) - {"reason", "event_name", "event_data", "new_instance_id"})
        if unknown:
            return self.error(f"unknown field(s) {', '.join(unknown)}", 400, fragment=True)
        reason = str(form.get("reason") or "")
        event_name = str(form.get("event_name") or "").strip()
        event_data: Any = None
        if action == "raise-event":
            if not event_name:
                return self.error("Give the event name.", 400, fragment=True)
            text = str(form.get("event_data") or "")
            if len(text.encode()) > MAX_EVENT_BYTES:
                return self.error(f"The event body is larger than {MAX_EVENT_BYTES // 1024} KiB.", 400,
                                  fragment=True)
            try:
                event_data = json.loads(text) if text.strip() else None
            except json.JSONDecodeError as error:
                return self.error(f"The event body is not valid JSON: {error.msg} (line {error.lineno}, column "
                                  f"{error.colno}). Nothing was sent.", 400, fragment=True)
        try:
            result = await self.call(self.backend.act, instance_id, action, reason=reason, event_name=event_name,
                                     event_data=event_data, new_instance_id=form.get("new_instance_id") == "on")
        except CliError as error:
            actions_log.info("%s %r%s: error: %s", action, instance_id, f" ({event_name})" if event_name else "",
                             error.message)
            return self.error(error.message, 502, fragment=True)
        actions_log.info("%s %r%s: %s", action, instance_id, f" ({event_name})" if event_name else "",
                         "ok" if result.ok else result.message)
        headers = {"HX-Trigger": "instance-changed"} if result.ok and action != "purge" else None
        return self.render("_action_result.html", result=result, action=action, instance_id=instance_id,
                           headers=headers)

    # -- bulk ------------------------------------------------------------------------------------------
    async def bulk_plan(self, request: web.Request) -> web.StreamResponse:
        refused = self.refuse_if_read_only()
        if refused:
            return refused
        form = await request.post()
        operation = str(form.get("operation") or "")
        if operation not in bulk.OPERATIONS:
            return self.error(f"Choose an operation ({', '.join(bulk.OPERATIONS)}).", 400, fragment=True)
        try:
            flt = InstanceFilter.from_query(_multi(str(form.get("filter") or "")))
        except FilterError as error:
            return self.error(str(error), 400, fragment=True)
        event_name = str(form.get("event_name") or "").strip()
        event_data: Any = None
        if operation == "raise-event":
            if not event_name:
                return self.error("Give the event name.", 400, fragment=True)
            try:
                text = str(form.get("event_data") or "")
                event_data = json.loads(text) if text.strip() else None
            except json.JSONDecodeError as error:
                return self.error(f"The event body is not valid JSON: {error.msg}. Nothing was planned.", 400,
                                  fragment=True)
        selection = bulk.BulkFilter(tuple(flt.statuses), flt.created_from, flt.created_to, flt.prefix or None,
                                    flt.name or None)
        if selection.is_empty() and not flt.text:
            return self.error("Filter the list first: a bulk action acts on the filtered set, and an empty "
                              "filter is refused rather than read as 'all'.", 400, fragment=True)
        try:
            if selection.is_empty():  # free text only: every instance the operation allows, then the text
                selection = bulk.BulkFilter(bulk.runtime_statuses(operation, ()))
            plan = await self.call(bulk.plan, self.config.client, operation, selection)
        except bulk.BulkError as error:
            return self.error(error.message, 400, fragment=True)
        except CliError as error:
            return self.error(error.message, 502, fragment=True)
        if flt.text:  # free text on the id: the plan keeps only the ids that contain it
            plan = bulk.BulkPlan(operation, [i for i in plan.instance_ids if flt.matches({"instanceId": i})],
                                 plan.filter, plan.planned_at)
        planned = self.jobs.add_plan(plan, reason=str(form.get("reason") or ""), event_name=event_name,
                                     event_data=event_data)
        return self.render("_bulk_plan.html", planned=planned, plan=plan, flt=flt, ids=plan.instance_ids[:500],
                           allowed=bulk.ALLOWED_STATUSES[operation],
                           concurrency=DEFAULT_CONCURRENCY, max_concurrency=MAX_CONCURRENCY)

    async def bulk_run(self, request: web.Request) -> web.StreamResponse:
        refused = self.refuse_if_read_only()
        if refused:
            return refused
        form = await request.post()
        text = str(form.get("concurrency") or DEFAULT_CONCURRENCY)
        if not text.isdigit() or not 1 <= int(text) <= MAX_CONCURRENCY:
            return self.error(f"Concurrency must be 1 to {MAX_CONCURRENCY}.", 400, fragment=True)
        job = self.jobs.start(request.match_info["plan"], concurrency=int(text))
        if job is None:
            return self.error("This dry run has expired or already ran; make a new one.", 409, fragment=True)
        return self.render("_bulk_job.html", job=job)

    async def bulk_job(self, request: web.Request) -> web.StreamResponse:
        job = self.jobs.jobs.get(request.match_info["job"])
        if job is None:
            return self.error("Unknown bulk run.", 404, fragment=True)
        return self.render("_bulk_job.html", job=job)

    async def bulk_cancel(self, request: web.Request) -> web.StreamResponse:
        job = self.jobs.jobs.get(request.match_info["job"])
        if job is None:
            return self.error("Unknown bulk run.", 404, fragment=True)
        job.cancel.set()
        actions_log.info("bulk %s cancel requested (job %s)", job.planned.plan.operation, job.id)
        return self.render("_bulk_job.html", job=job)


@web.middleware
async def server_timing(request: web.Request, handler: guard.Handler) -> web.StreamResponse:
    """Each answer says how long the dashboard took to make it (`Server-Timing: app;dur=ms`), backend calls and
    rendering included; the benchmark reads it, and so can the browser's developer tools."""
    started = time.perf_counter()
    try:
        response = await handler(request)
    except web.HTTPException as error:
        error.headers["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.1f}"
        raise
    response.headers["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.1f}"
    return response


def _multi(query: str) -> MultiDict[str]:
    """A query string as a MultiDict (repeated `status` kept), for `InstanceFilter.from_query`."""
    return MultiDict(urllib.parse.parse_qsl(query, keep_blank_values=True))


def _failure(output: Any) -> dict[str, str]:
    """The failure message first, details on demand: the output of a Failed instance is the failure text
    (`Orchestrator function 'X' failed: message`) or an object with `message`/`details`."""
    if isinstance(output, dict):
        message = str(output.get("message") or output.get("Message") or json.dumps(output)[:500])
        details = str(output.get("details") or output.get("Details") or output.get("stackTrace") or "")
        return {"message": message, "details": details}
    text = "" if output is None else str(output)
    first, _, rest = text.partition("\n")
    return {"message": first[:2000] or "(no message)", "details": rest.strip()}


def _available_actions(status: str) -> list[str]:
    """The actions that make sense in `status` (the API decides; the others are simply not offered)."""
    running = status in ("Running", "Pending")
    offered = []
    if running or status == "Suspended":
        offered += ["raise-event", "terminate"]
    if running:
        offered.append("suspend")
    if status == "Suspended":
        offered.append("resume")
    if status == "Failed":
        offered.append("rewind")
    if status in TERMINAL_STATUSES:
        offered += ["restart", "purge"]
    return offered
