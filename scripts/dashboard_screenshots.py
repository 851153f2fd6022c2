"""Screenshots of `durable dashboard` for the docs, taken in Debian's headless chromium (Playwright for Python).

A local host runs the project's app with the virtual clock (so the durations shown are the same every run) on
an in-memory Azurite; it holds 2,000 seeded instances over 30 days plus real runs of the app's orchestrations:
an order that failed for a missing configuration row (after a 95-minute wait for its approval) and an approval
that timed out and was escalated. Writes docs/images/dashboard-*.png (or the folder given).
"""

from __future__ import annotations

import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "e2e"))

from _dashboard import chromium, dashboard  # noqa: E402

from durable_local.testing import LocalHost, free_port  # noqa: E402

CLOCK_START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
DEV_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
NAMES = ("E1_HelloSequence", "ApprovalWorkflow", "OrderFulfillment", "HelloWorld")


def azurite() -> tuple[subprocess.Popen[bytes], str]:
    ports = [free_port() for _ in range(3)]
    command = [str(REPO / "node_modules/.bin/azurite"), "--silent", "--skipApiVersionCheck", "--loose",
               "--inMemoryPersistence", "--disableTelemetry",
               "--blobHost", "127.0.0.1", "--blobPort", str(ports[0]), "--queueHost", "127.0.0.1",
               "--queuePort", str(ports[1]), "--tableHost", "127.0.0.1", "--tablePort", str(ports[2])]
    process = subprocess.Popen(command, cwd=tempfile.gettempdir(), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    time.sleep(2)
    base = "http://127.0.0.1"
    return process, (f"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={DEV_KEY};"
                     f"BlobEndpoint={base}:{ports[0]}/devstoreaccount1;QueueEndpoint={base}:{ports[1]}/"
                     f"devstoreaccount1;TableEndpoint={base}:{ports[2]}/devstoreaccount1;")


def seed(host: LocalHost) -> None:
    rng = random.Random(7)
    items = []
    for n in range(2000):
        created = CLOCK_START - timedelta(days=30) + timedelta(minutes=rng.randrange(30 * 24 * 60))
        status = rng.choices(("Completed", "Failed", "Terminated", "Running", "Suspended"), (80, 6, 4, 8, 2))[0]
        name = rng.choice(NAMES)
        items.append({"instanceId": f"{name.lower().replace('_', '-')}-{n:05d}", "name": name,
                      "runtimeStatus": status, "createdTime": created.isoformat(),
                      "lastUpdatedTime": (created + timedelta(seconds=rng.randrange(2, 7200))).isoformat(),
                      "customStatus": {"step": rng.choice(("reserve", "approve", "ship"))} if status == "Running"
                      else None, "input": {"orderId": n}})
    host.seed(items)


def post(host: LocalHost, path: str, body: object = None) -> dict:
    reply = host.post(path, body)
    assert reply.status in (200, 202), (path, reply.status, reply.body)
    return reply.json() if reply.body else {}


def run_stories(host: LocalHost) -> tuple[str, str]:
    order = "order-2026-11-0042"
    post(host, f"/orchestrators/OrderFulfillment/{order}", {"orderId": "2026-11-0042", "warehouse": "rotterdam"})
    host.wait_idle()
    host.advance(minutes=95)
    post(host, f"/runtime/webhooks/durabletask/instances/{order}/raiseEvent/ApprovalEvent",
         {"approvedBy": "dana@contoso.com"})
    host.wait_for_status(order, {"Failed"})
    approval = "approval-vendor-7781"
    post(host, f"/orchestrators/ApprovalWorkflow/{approval}", {"requestId": "vendor-7781", "timeoutHours": 2,
                                                                "approver": "finance"})
    host.wait_idle()
    host.advance(hours=3)
    host.wait_for_status(approval, {"Completed"})
    return order, approval


def main() -> int:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "docs" / "images"
    out.mkdir(parents=True, exist_ok=True)
    emulator, connection = azurite()
    env = {"AzureWebJobsStorage": connection, "FUNCTIONS_WORKER_RUNTIME": "python",
           "CONFIG_TABLE_NAME": "OperatorSettings", "PAYLOAD_TABLE_NAME": "ManagementPayloads",
           "PURGE_SCHEDULE": "0 0 0 * * *", "PURGE_RUNTIME_STATUSES": "Completed", "RETENTION_DAYS": "30"}
    try:
        with LocalHost(REPO, virtual_clock=True, clock_start=CLOCK_START, env=env) as host:
            seed(host)
            order, approval = run_stories(host)
            with dashboard(host.base_url) as board, chromium() as browser:
                wide = browser.new_context(viewport={"width": 1280, "height": 860})
                page = wide.new_page()
                page.goto(board.url)
                page.goto(f"{board.origin}/instances?status=Running&status=Failed&status=Suspended&refresh=off")
                page.wait_for_selector("#summary svg")
                page.screenshot(path=str(out / "dashboard-instances.png"))
                page.goto(f"{board.origin}/instance/{order}")
                page.wait_for_selector("svg.gantt")
                page.get_by_role("button", name="Rewind…").click()
                page.wait_for_selector("form.confirm")
                page.screenshot(path=str(out / "dashboard-failed-instance.png"), full_page=True)
                page.goto(f"{board.origin}/instance/{approval}")
                page.wait_for_selector("svg.gantt")
                page.locator("section.timeline").screenshot(path=str(out / "dashboard-timeline.png"))
                page.goto(f"{board.origin}/instances?status=Failed&name=OrderFulfillment&refresh=off")
                page.locator(".bulk-form select[name=operation]").select_option("rewind")
                page.get_by_role("button", name="Dry run").click()
                page.wait_for_selector("#bulk-plan")
                page.locator("section.bulk").screenshot(path=str(out / "dashboard-bulk-dry-run.png"))
                wide.close()
                narrow = browser.new_context(viewport={"width": 390, "height": 800}, device_scale_factor=1)
                page = narrow.new_page()
                page.goto(board.url)
                page.goto(f"{board.origin}/instances?status=Running&refresh=off&size=25")
                page.wait_for_selector("#summary .total")
                page.screenshot(path=str(out / "dashboard-narrow.png"))
                page.goto(f"{board.origin}/instance/{order}")
                page.wait_for_selector("svg.gantt")
                page.screenshot(path=str(out / "dashboard-narrow-instance.png"))
                narrow.close()
    finally:
        emulator.terminate()
        emulator.wait(10)
    for path in sorted(out.glob("dashboard-*.png")):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
