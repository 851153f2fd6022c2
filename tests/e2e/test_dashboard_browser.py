"""`durable dashboard` in a real headless Chromium, against the project's app on a local host with Azurite:
listing and filtering, paging past 100, an instance's timeline, single-instance actions (terminate, raise the
approval event, rewind after fixing the configuration), a bulk purge with progress, and instance data that
holds HTML and script, which must display as text and never run."""

from __future__ import annotations

import re
import time
import urllib.parse
from datetime import UTC, datetime, timedelta

import pytest
from _app import app_host, start, unique
from _dashboard import chromium, dashboard
from azure.data.tables import TableServiceClient
from playwright.sync_api import expect

from durable_local.testing import eventually
from durable_local.vocabulary import DURABLE_API

PAGE_PREFIX = "page-"
EVIL_ID = 'evil-<script>window.__pwned=1<img src=x onerror="window.__pwned=2">'
EVIL_INPUT = {"html": '<script>window.__pwned=3</script><img src=x onerror="window.__pwned=4">'}
SEED_START = datetime(2026, 3, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def app(azurite):
    with app_host(azurite) as host:
        seeds = [{"instanceId": f"{PAGE_PREFIX}{i:04d}", "name": "SeededJob",
                  "runtimeStatus": "Failed" if i % 10 == 0 else "Completed",
                  "createdTime": (SEED_START + timedelta(hours=i)).isoformat(), "output": f"result {i}"}
                 for i in range(130)]
        seeds.append({"instanceId": EVIL_ID, "name": "Evil<b>Name</b>", "runtimeStatus": "Completed",
                      "createdTime": SEED_START.isoformat(), "input": EVIL_INPUT, "output": EVIL_INPUT["html"],
                      "customStatus": "<img src=x onerror=\"window.__pwned=5\">"})
        assert host.seed(seeds) == 131
        yield host


@pytest.fixture(scope="module")
def board(app):
    with dashboard(app.base_url) as running:
        yield running


@pytest.fixture(scope="module")
def browser():
    with chromium() as running:
        yield running


@pytest.fixture
def page(browser, board):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: errors.append(message.text)
            if message.type == "error" and "Content Security Policy" in message.text else None)
    page.goto(board.url)  # sets the session cookie, then redirects to /instances
    yield page
    context.close()
    assert not errors, errors


def ids_on_page(page) -> list[str]:
    return page.locator("table.instances td.id a").all_inner_texts()


def open_list(page, board, **params: str | list[str]) -> None:
    page.goto(f"{board.origin}/instances?{urllib.parse.urlencode(params, doseq=True)}")


# -- instances view ---------------------------------------------------------------------------------------
def test_the_token_url_opens_the_instances_view_and_the_filter_lives_in_the_url(page, board):
    assert page.url == f"{board.origin}/instances"
    page.get_by_label("ID prefix").fill(PAGE_PREFIX)
    page.locator("label.chip", has_text="Failed").locator("input").check()
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url(re.compile(r"status=Failed"))
    assert "prefix=page-" in page.url
    ids = ids_on_page(page)
    assert ids == [f"{PAGE_PREFIX}{i:04d}" for i in range(0, 130, 10)]
    assert set(page.locator("table.instances .status").all_inner_texts()) == {"Failed"}
    # counts and histogram load separately and match the filter
    page.wait_for_selector("#summary .total")
    assert page.locator("#summary .total strong").inner_text() == "13"
    assert page.locator("#summary a.count.st-failed strong").inner_text() == "13"
    assert page.locator("#summary svg rect.bar").count() >= 1
    # a bookmarked URL shows the same view
    page.goto(page.url)
    assert ids_on_page(page) == ids
    # a click on a histogram bar narrows the filter to that bucket's created times
    page.wait_for_selector("#summary svg a")
    page.locator("#summary svg a").first.click()
    page.wait_for_url(re.compile(r"from=.*&to="))
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(page.url).query)
    low, high = (datetime.fromisoformat(query[k][0].replace("Z", "+00:00")) for k in ("from", "to"))
    expected = [f"{PAGE_PREFIX}{i:04d}" for i in range(0, 130, 10) if low <= SEED_START + timedelta(hours=i) <= high]
    assert expected and ids_on_page(page) == expected


def test_the_list_refreshes_itself_unless_paused(page, board, app):
    prefix = unique("fresh") + "-"
    app.seed([{"instanceId": f"{prefix}a", "name": "Fresh", "runtimeStatus": "Running"}])
    open_list(page, board, prefix=prefix)
    assert ids_on_page(page) == [f"{prefix}a"]
    page.get_by_role("link", name=f"{prefix}a").focus()
    app.seed([{"instanceId": f"{prefix}b", "name": "Fresh", "runtimeStatus": "Running"}])
    expect(page.locator("table.instances td.id a")).to_have_count(2, timeout=15000)
    expect(page.get_by_role("link", name=f"{prefix}a")).to_be_focused()  # the refresh keeps the keyboard focus
    open_list(page, board, prefix=prefix, refresh="off")
    app.seed([{"instanceId": f"{prefix}c", "name": "Fresh", "runtimeStatus": "Running"}])
    page.wait_for_timeout(6500)  # longer than the refresh interval (5 s)
    assert ids_on_page(page) == [f"{prefix}a", f"{prefix}b"]


def test_orchestrator_name_and_free_text_filters(page, board):
    open_list(page, board, name="seededjob", q="012")
    assert ids_on_page(page) == ["page-0012", "page-0120", "page-0121", "page-0122", "page-0123", "page-0124",
                                 "page-0125", "page-0126", "page-0127", "page-0128", "page-0129"]


def test_paging_past_100_with_the_continuation_token(page, board):
    open_list(page, board, prefix=PAGE_PREFIX, size="100", refresh="off")
    first = ids_on_page(page)
    assert len(first) == 100
    page.locator("#next-page").click()
    page.wait_for_url(re.compile(r"after="))
    second = ids_on_page(page)
    assert len(second) == 30
    assert sorted(first + second) == [f"{PAGE_PREFIX}{i:04d}" for i in range(130)]
    assert page.locator("#next-page").count() == 0
    page.get_by_role("link", name="« First page").click()
    assert ids_on_page(page) == first


def test_newest_first_and_page_size(page, board):
    open_list(page, board, prefix=PAGE_PREFIX, size="25", order="desc")
    ids = ids_on_page(page)
    assert ids == [f"{PAGE_PREFIX}{i:04d}" for i in range(24, -1, -1)]


def test_a_bad_filter_is_explained_not_ignored(page, board):
    open_list(page, board, status="Runing")
    assert "unknown runtime status 'Runing'" in page.locator(".notice.error").inner_text()


# -- instance view ----------------------------------------------------------------------------------------
def test_instance_view_shows_the_timeline_and_history(page, board, app):
    instance_id = start(app, "E1_HelloSequence", None, unique("hello"))
    app.wait_for_status(instance_id, {"Completed"})
    open_list(page, board, prefix=instance_id)
    page.get_by_role("link", name=instance_id).click()
    page.wait_for_selector("svg.gantt")
    assert page.locator("#runtime-status").inner_text() == "Completed"
    bars = page.locator("svg.gantt g.k-activity.o-completed")
    assert bars.count() == 3
    assert bars.locator("text.label").all_text_contents() == ["E1_SayHello"] * 3
    assert "Hello Tokyo!" in page.locator("section.history").inner_text()
    assert '"Hello London!"' in page.locator("section.payload", has_text="Output").inner_text()
    page.get_by_text("Management URLs").click()
    assert f"{DURABLE_API}/instances/{instance_id}" in page.locator(".urls-list").inner_text()


def test_html_and_script_in_instance_data_display_as_text(page, board):
    open_list(page, board, prefix="evil-")
    link = page.locator("table.instances td.id a")
    assert link.inner_text() == EVIL_ID
    assert page.locator("table.instances td", has_text="Evil<b>Name</b>").count() == 1
    link.click()
    page.wait_for_selector("section.payload")
    assert page.locator("h1 .id").inner_text() == EVIL_ID
    shown = page.locator("section.payload", has_text="Input").inner_text()
    assert '"html": "<script>window.__pwned=3</script><img src=x onerror=\\"window.__pwned=4\\">"' in shown
    assert page.locator("img").count() == 0
    time.sleep(0.3)
    assert page.evaluate("window.__pwned") is None


# -- actions ----------------------------------------------------------------------------------------------
def running_approval(app) -> str:
    instance_id = start(app, "ApprovalWorkflow", {"requestId": unique("req")}, unique("approval"))
    app.wait_for_status(instance_id, {"Running"})
    return instance_id


def open_instance(page, board, instance_id: str) -> None:
    page.goto(f"{board.origin}/instance/{urllib.parse.quote(instance_id, safe='')}")
    page.wait_for_selector("#runtime-status")


def test_terminate_asks_for_confirmation_naming_the_instance(page, board, app):
    instance_id = running_approval(app)
    open_instance(page, board, instance_id)
    page.get_by_role("button", name="Terminate…").click()
    confirm = page.locator("form.confirm")
    assert instance_id in confirm.locator("h2").inner_text()
    assert "Terminated" in confirm.inner_text()
    confirm.get_by_role("button", name="Cancel").click()
    expect(page.locator("form.confirm")).to_have_count(0)
    assert app.get(f"{DURABLE_API}/instances/{instance_id}").json()["runtimeStatus"] == "Running"
    page.get_by_role("button", name="Terminate…").click()
    page.get_by_label("Reason").fill("no longer needed")
    page.locator("#confirm-action").click()
    expect(page.locator("#action-result")).to_contain_text("terminate requested", timeout=30000)
    expect(page.locator("#runtime-status")).to_have_text("Terminated", timeout=20000)
    status = app.wait_for_status(instance_id)
    assert status["runtimeStatus"] == "Terminated" and status["output"] == "no longer needed"
    assert f"terminate '{instance_id}': ok" in board.log() or f"terminate {instance_id!r}: ok" in board.log()


def test_raise_the_approval_event_validating_its_json_first(page, board, app):
    instance_id = running_approval(app)
    open_instance(page, board, instance_id)
    page.get_by_role("button", name="Raise event…").click()
    page.get_by_label("Event name").fill("ApprovalEvent")
    page.get_by_label("Event data (JSON)").fill("{approved: true")
    page.locator("#confirm-action").click()
    assert "Not valid JSON" in page.locator("form.confirm .json-error").inner_text()
    assert app.get(f"{DURABLE_API}/instances/{instance_id}").json()["runtimeStatus"] == "Running"
    page.get_by_label("Event data (JSON)").fill('{"approved": true}')
    page.locator("#confirm-action").click()
    expect(page.locator("#action-result")).to_contain_text("event sent", timeout=30000)
    expect(page.locator("#runtime-status")).to_have_text("Completed", timeout=20000)
    assert app.wait_for_status(instance_id)["runtimeStatus"] == "Completed"


def test_rewind_the_failed_order_after_fixing_its_config_row(page, board, app, azurite):
    warehouse = unique("east").replace("-", "")
    order = {"orderId": unique("order"), "warehouse": warehouse}
    instance_id = start(app, "OrderFulfillment", order, unique("fulfil"))

    def approval_recorded() -> bool:  # raised again until the orchestration waits for it and records it
        history = app.get(f"{DURABLE_API}/instances/{instance_id}?showHistory=true").json()
        if any(e["EventType"] == "EventRaised" for e in history.get("historyEvents") or []):
            return True  # (once recorded the orchestration fails, and a further raise would answer 410)
        app.post(f"{DURABLE_API}/instances/{instance_id}/raiseEvent/ApprovalEvent", {"approvedBy": "alice"})
        return False

    eventually(approval_recorded, timeout=90, interval=0.1, message=f"the approval event recorded in {instance_id}")
    assert app.wait_for_status(instance_id)["runtimeStatus"] == "Failed"
    open_instance(page, board, instance_id)
    failure = page.locator("section.failure .message").inner_text()
    assert warehouse in failure and "rewind" in failure
    assert page.locator("svg.gantt g.o-failed").count() >= 1
    with TableServiceClient.from_connection_string(azurite.connection_string) as service:
        table = service.create_table_if_not_exists("OperatorSettings")
        table.upsert_entity({"PartitionKey": "warehouses", "RowKey": warehouse, "Carrier": "Contoso Freight"})
    page.get_by_role("button", name="Rewind…").click()
    page.get_by_label("Reason").fill("carrier configured")
    page.locator("#confirm-action").click()
    expect(page.locator("#action-result")).to_contain_text("rewind requested", timeout=30000)
    expect(page.locator("#runtime-status")).to_have_text("Completed", timeout=30000)
    output = page.locator("section.payload", has_text="Output").inner_text()
    assert "shipped by Contoso Freight" in output


def test_bulk_purge_dry_run_then_run_with_progress(page, board, app):
    prefix = unique("bulk") + "-"
    app.seed([{"instanceId": f"{prefix}{i:03d}", "name": "BulkJob", "runtimeStatus": "Completed"} for i in range(60)]
             + [{"instanceId": f"{prefix}run{i}", "name": "BulkJob", "runtimeStatus": "Running"} for i in range(3)])
    open_list(page, board, prefix=prefix, refresh="off")
    page.locator(".bulk-form select[name=operation]").select_option("purge")
    page.get_by_role("button", name="Dry run").click()
    assert page.locator("#plan-count").inner_text() == "60"  # the 3 Running instances are not purged
    assert page.locator("ol.ids li").count() == 60
    assert f"{prefix}run0" not in page.locator("#bulk-plan").inner_text()
    app.seed([{"instanceId": f"{prefix}late", "name": "BulkJob", "runtimeStatus": "Completed",
               "createdTime": (datetime.now(UTC) + timedelta(minutes=5)).isoformat()}])
    page.locator("#bulk-run").click()
    page.wait_for_selector("#bulk-progress")
    expect(page.locator("#bulk-plan h3")).to_contain_text("finished", timeout=30000)
    assert page.locator("#bulk-progress").get_attribute("value") == "60"
    assert page.locator(".ok-count").inner_text() == "60 done"
    left = app.get(f"{DURABLE_API}/instances?instanceIdPrefix={prefix}").json()
    assert sorted(i["instanceId"] for i in left) == [f"{prefix}late"] + [f"{prefix}run{i}" for i in range(3)]


# -- read-only --------------------------------------------------------------------------------------------
def test_read_only_shows_no_actions_and_refuses_them(browser, app):
    instance_id = running_approval(app)
    with dashboard(app.base_url, "--read-only") as ro:
        context = browser.new_context()
        page = context.new_page()
        page.goto(ro.url)
        assert page.locator(".badge.ro").inner_text() == "read-only"
        assert page.locator("section.bulk").count() == 0
        open_instance(page, ro, instance_id)
        assert page.locator(".actions button").count() == 0
        status = page.evaluate("""async (url) => (await fetch(url, {method: 'POST',
            headers: {'HX-Request': 'true'}})).status""", f"/instance/{instance_id}/action/terminate")
        assert status == 403
        context.close()
        assert "refused" in ro.log()
    assert app.get(f"{DURABLE_API}/instances/{instance_id}").json()["runtimeStatus"] == "Running"
    app.post(f"{DURABLE_API}/instances/{instance_id}/terminate")


def test_narrow_screen_keeps_the_list_usable(browser, board, app):
    instance_id = start(app, "E1_HelloSequence", None, unique("narrow"))
    app.wait_for_status(instance_id, {"Completed"})
    context = browser.new_context(viewport={"width": 390, "height": 800})
    page = context.new_page()
    page.goto(board.url)
    page.goto(f"{board.origin}/instances?prefix={PAGE_PREFIX}&size=25")
    assert len(ids_on_page(page)) == 25
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 400, width
    open_instance(page, board, instance_id)
    page.wait_for_selector("svg.gantt")  # the timeline scrolls inside its own box; the page does not
    assert page.evaluate("document.documentElement.scrollWidth") <= 400
    context.close()


def test_actions_work_from_the_keyboard(page, board, app):
    instance_id = running_approval(app)
    open_instance(page, board, instance_id)
    page.get_by_role("button", name="Suspend…").focus()
    page.wait_for_timeout(3500)  # the running instance's view refreshes every 3 s; the focus stays put
    expect(page.get_by_role("button", name="Suspend…")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_label("Reason")).to_be_focused()  # focus moves into the confirmation
    page.keyboard.press("Escape")
    expect(page.locator("form.confirm")).to_have_count(0)
    page.get_by_role("button", name="Suspend…").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_label("Reason")).to_be_focused()  # type only once the confirmation has the focus
    page.keyboard.type("maintenance window")
    page.keyboard.press("Tab")  # to the confirm button
    page.keyboard.press("Enter")
    expect(page.locator("#runtime-status")).to_have_text("Suspended", timeout=20000)
    assert app.get(f"{DURABLE_API}/instances/{instance_id}").json()["runtimeStatus"] == "Suspended"
    app.post(f"{DURABLE_API}/instances/{instance_id}/terminate")
