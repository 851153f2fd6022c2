"""Pure logic of bulk operations: derived restart IDs, status rules, the rate limiter and the progress bar."""

from __future__ import annotations

import threading
import time

import pytest

from blueprints._bulk_actions import restarted_instance_id
from blueprints._params import MAX_INSTANCE_ID_LENGTH
from durable_local.manage import bulk
from durable_local.manage.commands.bulk import bar


def test_restart_ids_are_derived_from_the_run_and_stay_within_the_id_limit():
    assert restarted_instance_id("order-1", "bulk-restart-abc") == "order-1.bulk-restart-abc"
    long_id = "x" * 250
    derived = restarted_instance_id(long_id, "bulk-restart-abc")
    assert len(derived) <= MAX_INSTANCE_ID_LENGTH
    assert derived == restarted_instance_id(long_id, "bulk-restart-abc")  # a repeat finds the same ID
    assert derived != restarted_instance_id("y" * 250, "bulk-restart-abc")


@pytest.mark.parametrize(
    ("operation", "given", "expected"),
    [
        ("terminate", [], ("Pending", "Running", "Suspended", "ContinuedAsNew")),
        ("purge", [], ("Completed", "Failed", "Terminated", "Canceled")),
        ("rewind", ["FAILED"], ("Failed",)),
        ("resume", ["suspended", "Suspended"], ("Suspended",)),
    ],
)
def test_runtime_statuses_default_to_what_the_operation_allows(operation, given, expected):
    assert bulk.runtime_statuses(operation, given) == expected


@pytest.mark.parametrize(("operation", "given"), [("purge", ["Running"]), ("resume", ["Running"]),
                                                 ("terminate", ["Completed"]), ("terminate", ["Runing"])])
def test_statuses_an_operation_cannot_act_on_are_refused(operation, given):
    with pytest.raises(bulk.BulkError):
        bulk.runtime_statuses(operation, given)


def test_management_orchestrations_are_recognised_in_any_case():
    assert bulk.is_management_orchestration("bulkoperation")
    assert bulk.is_management_orchestration("RetentionPurge")
    assert not bulk.is_management_orchestration("HelloWorld") and not bulk.is_management_orchestration(None)


def test_the_rate_limiter_spaces_starts_across_threads():
    limiter = bulk.RateLimiter(100)
    began = time.monotonic()
    threads = [threading.Thread(target=lambda: [limiter.acquire() for _ in range(5)]) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert time.monotonic() - began >= 0.18  # 20 starts at 100/s: the last one 0.19 s after the first


def test_the_rate_limiter_wakes_when_cancelled():
    limiter, cancel = bulk.RateLimiter(0.1), threading.Event()
    limiter.acquire()
    cancel.set()
    began = time.monotonic()
    limiter.acquire(1, cancel)
    assert time.monotonic() - began < 5  # not the 10 s the rate asks for


def test_progress_bar():
    assert bar(bulk.BulkProgress(total=120, done=58, skipped=1, failed=1)) == (
        "[###############...............] 60/120  done 58  skipped 1  failed 1")
    assert bar(bulk.BulkProgress(total=0, done=0, skipped=0, failed=0)).startswith("[......")


def test_retention_windows_widen_when_fast_and_narrow_when_slow_within_the_settings():
    from datetime import timedelta

    from blueprints.retention import next_width

    day, year = timedelta(days=1), timedelta(days=365)
    assert next_width(day, 0.2, day, year) == 2 * day
    assert next_width(300 * day, 0.2, day, year) == year
    assert next_width(8 * day, 2.0, day, year) == 8 * day
    assert next_width(8 * day, 9.0, day, year) == 4 * day
    assert next_width(day, 9.0, day, year) == day
    assert next_width(day, 0.1, day, day) == day  # PURGE_MAX_WINDOW_HOURS = PURGE_WINDOW_HOURS: fixed windows
