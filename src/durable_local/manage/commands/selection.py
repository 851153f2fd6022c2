"""What the commands that can change many instances (`terminate`, `purge-history`) share. They first select
the instances (by ID, or through `GET /instances` with the filters), show or confirm that exact selection,
then act on each selected instance by ID, so `--dry-run` lists exactly what a real run changes."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from durable_local.manage.context import Context
from durable_local.manage.output import Progress, format_instances

WORKERS = 8


def unique(values: Sequence[str]) -> list[str]:
    """`values` without repeats, in their first order."""
    return list(dict.fromkeys(values))


def for_each(items: Sequence[str], action: Callable[[str], Any], label: str) -> list[Any]:
    """Run `action` on every item (a few at a time), with progress on stderr when there are many."""
    progress = Progress()
    results: list[Any] = []
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        for done, result in enumerate(pool.map(action, items), 1):
            results.append(result)
            if len(items) > 20:
                progress.update(f"{label}: {done}/{len(items)}")
    if len(items) > 20:
        progress.done(f"{label}: {len(items)}/{len(items)} done.")
    return results


def show_selection(ctx: Context, instances: list[dict[str, Any]], verb: str) -> None:
    """`--dry-run` output: the exact instances a real run would change."""
    ids = [item["instanceId"] for item in instances]
    if ctx.out.json:
        ctx.out.emit_json({"dryRun": True, "taskHub": ctx.task_hub, "instanceIds": ids})
    elif not instances:
        ctx.out.line(f"No instances match; nothing would be {verb} (dry run).")
    else:
        ctx.out.line(f"{len(ids)} instances would be {verb} (dry run; nothing was changed):")
        ctx.out.line(format_instances(instances))
