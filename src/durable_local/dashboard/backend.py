"""What the dashboard asks of the app: the Durable HTTP API through the CLI's `DurableClient` (so settings, key
and task hub are the CLI's), plus the local host's optional extension endpoints, detected at runtime (404 means
absent) with a fallback to capped paging of the plain API, marked partial.

All calls are blocking (urllib); the server runs them in threads.
"""

from __future__ import annotations

import logging
import threading
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

from durable_local.dashboard import summary as summary_module
from durable_local.dashboard.filters import InstanceFilter, format_time
from durable_local.manage.client import DurableClient, InstanceQuery
from durable_local.manage.errors import CliError
from durable_local.vocabulary import CONTINUATION_HEADER, DURABLE_API

logger = logging.getLogger(__name__)

# Local-host extensions (docs/local-host.md; host/insights_api.py). Each is remembered as absent after a 404.
NAME_LIST_PATH = "/admin/host/instances"
ONE_INSTANCE_PATH = "/admin/host/instances/{id}"
SUMMARY_PATH = "/admin/host/counts"
RAW_HISTORY_PATH = "/admin/host/instances/{id}/history"  # DurableClient.raw_history

SCAN_PAGES = 20  # dashboard-side filtering (name, free text) reads at most this many backend pages per page
SUMMARY_CAP = 20_000  # the fallback summary pages through at most this many instances
SUMMARY_PAGE = 1000
ACTIONS = ("terminate", "suspend", "resume", "rewind", "restart", "purge", "raise-event")


@dataclass
class ListPage:
    """One page of the instances view, the token of the next one, and how it was obtained."""

    items: list[dict[str, Any]]
    next_token: str | None
    scanned: int = 0
    note: str = ""
    capped: bool = False


@dataclass
class ActionResult:
    """The outcome of one action on an instance: whether it worked, what to tell the user, the HTTP status."""

    ok: bool
    message: str
    status: int = 0
    data: Any = None


@dataclass
class Backend:
    """The app behind the dashboard (one base URL and task hub)."""

    client: DurableClient
    _absent: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # -- extension detection -----------------------------------------------------------------------------
    def _extension(self, key: str, method: str, path: str, **kwargs: Any) -> Any | None:
        """The JSON of an extension endpoint, or None when it is absent (404/405/501), remembered."""
        with self._lock:
            if key in self._absent:
                return None
        response = self.client.request(method, path, **kwargs)
        if response.status in (404, 405, 501):
            with self._lock:
                self._absent.add(key)
            logger.info("local-host extension %s is not there (%s); using the plain Durable HTTP API", path,
                        response.status)
            return None
        if response.status != 200:  # e.g. a parameter it does not take: this time, use the plain API
            logger.info("local-host extension %s answered %s (%s); using the plain Durable HTTP API", path,
                        response.status, response.detail())
            return None
        return response

    # -- listing ---------------------------------------------------------------------------------------
    def list_instances(self, flt: InstanceFilter) -> ListPage:
        """The page of instances after `flt.after` (the backend's continuation token)."""
        if flt.name and not flt.text:
            page = self._list_by_name_extension(flt)
            if page is not None:
                return page
        if not flt.needs_local_filter:
            items, next_token = self.client.list_page(flt.api_query(), top=flt.page_size,
                                                      continuation_token=flt.after or None)
            return ListPage(items, next_token, len(items))
        found: list[dict[str, Any]] = []
        scanned = 0
        token: str | None = flt.after or None
        for _ in range(SCAN_PAGES):
            items, token = self.client.list_page(flt.api_query(), top=flt.page_size, continuation_token=token)
            scanned += len(items)
            found.extend(item for item in items if flt.matches(item))
            if token is None or len(found) >= flt.page_size:
                break
        capped = token is not None and len(found) < flt.page_size
        note = f"name/text filtered by the dashboard over {scanned} instances"
        if capped:
            note += f"; stopped after {SCAN_PAGES} pages, 'Next' continues the search"
        return ListPage(found, token, scanned, note, capped)

    @staticmethod
    def _extension_params(flt: InstanceFilter) -> dict[str, str]:
        params = {k: v for k, v in flt.api_query().params().items() if k != "showInput"}
        if flt.name:
            params["name"] = flt.name
        return params

    def _list_by_name_extension(self, flt: InstanceFilter) -> ListPage | None:
        params = {**self._extension_params(flt), "top": str(flt.page_size), "showInput": "false"}
        headers = {CONTINUATION_HEADER: flt.after} if flt.after else None
        response = self._extension("list", "GET", NAME_LIST_PATH, query=params, headers=headers)
        if response is None:
            return None
        items = response.json() or []
        token = (response.header(CONTINUATION_HEADER) or "").strip() or None
        return ListPage(list(items), token, len(items), "orchestrator name filtered by the local host")

    # -- summary ---------------------------------------------------------------------------------------
    def summary(self, flt: InstanceFilter, *, cap: int = SUMMARY_CAP) -> summary_module.Summary:
        """Counts per status and the created-time histogram of everything matching `flt` (page position
        ignored): from the local host's summary endpoint when present, else by paging up to `cap` instances."""
        if not flt.text:
            response = self._extension("summary", "GET", SUMMARY_PATH, query=self._extension_params(flt))
            if response is not None:
                return summary_module.from_extension(response.json() or {})
        query: InstanceQuery = flt.api_query()
        matched: list[dict[str, Any]] = []
        scanned = 0
        partial = False
        for items, token in self.client.iter_pages(query, top=min(SUMMARY_PAGE, cap)):
            scanned += len(items)
            matched.extend(item for item in items if flt.matches(item))
            if token is not None and scanned >= cap:
                partial = True
                break
        result = summary_module.summarize(matched, window_from=flt.created_from, window_to=flt.created_to,
                                          partial=partial)
        result.scanned = scanned
        return result

    # -- one instance ----------------------------------------------------------------------------------
    def status(self, instance_id: str, *, history: bool) -> dict[str, Any] | None:
        """The status with input, output and (optionally) history with results; None when unknown (404)."""
        response = self.client.get_status(instance_id, show_input=True, show_history=history,
                                          show_history_output=history)
        if response.status == 404:
            return None
        data = self.client.expect(response, 200, 202, 500).json()
        if not isinstance(data, dict):
            raise CliError(f"GET {response.url} did not return a status object")
        return data

    def parent_id(self, instance_id: str) -> str | None:
        """The parent orchestration of a sub-orchestration, from the local host's extension (else None)."""
        path = ONE_INSTANCE_PATH.format(id=urllib.parse.quote(instance_id, safe=""))
        with self._lock:
            if "one" in self._absent:
                return None
        response = self.client.request("GET", path, query={"showInput": "false"})
        if response.status in (405, 501) or (response.status == 404 and not response.body.strip()):
            with self._lock:
                self._absent.add("one")
        if response.status != 200:
            return None
        data = response.json()
        parent = data.get("parentInstanceId") if isinstance(data, dict) else None
        return str(parent) if parent else None

    def raw_history(self, instance_id: str) -> list[dict[str, Any]] | None:
        """Raw history from the local host's extension (for parent and sub-orchestration links), or None."""
        with self._lock:
            if "raw-history" in self._absent:
                return None
        response = self.client.raw_history(instance_id)
        if response.status != 200:
            if response.status in (405, 501) or (response.status == 404 and not response.body.strip()):
                with self._lock:
                    self._absent.add("raw-history")
            return None
        data = response.json()
        if isinstance(data, dict):
            data = data.get("history") or data.get("events")
        return data if isinstance(data, list) else None

    def management_urls(self, instance_id: str) -> dict[str, str]:
        """The instance's management URLs, as the check-status payload gives them, with the key hidden."""
        quoted = urllib.parse.quote(instance_id, safe="")
        base = f"{self.client.base_url}{DURABLE_API}/instances/{quoted}"
        params: dict[str, str] = {}
        if self.client.task_hub:
            params["taskHub"] = self.client.task_hub
        if self.client.connection:
            params["connection"] = self.client.connection
        if self.client.code:
            params["code"] = "SYSTEM-KEY"
        query = urllib.parse.urlencode(params)
        suffix = "?" + query if query else ""
        joiner = "&" if query else "?"
        return {
            "statusQueryGetUri": base + suffix,
            "sendEventPostUri": f"{base}/raiseEvent/{{eventName}}{suffix}",
            "terminatePostUri": f"{base}/terminate{suffix}{joiner}reason={{text}}",
            "rewindPostUri": f"{base}/rewind{suffix}{joiner}reason={{text}}",
            "purgeHistoryDeleteUri": base + suffix,
            "restartPostUri": f"{base}/restart{suffix}",
            "suspendPostUri": f"{base}/suspend{suffix}{joiner}reason={{text}}",
            "resumePostUri": f"{base}/resume{suffix}{joiner}reason={{text}}",
        }

    # -- actions ---------------------------------------------------------------------------------------
    def act(self, instance_id: str, action: str, *, reason: str = "", event_name: str = "",
            event_data: Any = None, new_instance_id: bool = False) -> ActionResult:
        """Run one action on one instance; the API's answer becomes a result (never raises for 4xx/5xx)."""
        if action in ("terminate", "suspend", "resume", "rewind"):
            response = self.client.operation(instance_id, action, reason or None)
            ok_codes: tuple[int, ...] = (202,)
        elif action == "restart":
            response = self.client.restart(instance_id, new_instance_id=new_instance_id)
            ok_codes = (202,)
        elif action == "purge":
            response = self.client.durable("DELETE", self.client.instance_path(instance_id))
            ok_codes = (200,)
        elif action == "raise-event":
            response = self.client.raise_event(instance_id, event_name, event_data)
            ok_codes = (202,)
        else:
            raise ValueError(f"unknown action {action!r}")
        if response.status in ok_codes:
            data = response.json() if response.body.strip() else None
            return ActionResult(True, _done_message(action, instance_id, data), response.status, data)
        detail = response.detail() or "no details"
        if response.status == 404:
            detail = f"no instance with ID '{instance_id}'"
        return ActionResult(False, f"{action} refused: HTTP {response.status}: {detail}", response.status)


def _done_message(action: str, instance_id: str, data: Any) -> str:
    if action == "purge":
        return f"purged instance '{instance_id}' and its history"
    if action == "restart" and isinstance(data, dict) and data.get("id"):
        return f"restarted as instance '{data['id']}'"
    if action == "raise-event":
        return f"event sent to instance '{instance_id}'"
    past = {"terminate": "terminate", "suspend": "suspend", "resume": "resume", "rewind": "rewind"}[action]
    return f"{past} requested for instance '{instance_id}' (the API accepted it; the view refreshes)"


def iso(value: Any) -> str:
    return format_time(value) if value is not None else ""
