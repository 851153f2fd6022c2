"""Listing, purging and counting over the store's index paths agree with a brute-force reading of the same rows."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from durable_local.host.instance_counts import bucket_seconds_for, count_instances
from durable_local.host.records import Commit, Instance, RuntimeStatus
from durable_local.host.schema import MICROS_PER_DAY
from durable_local.host.store import InstanceQuery, Store

HUB = "Hub"
START = 1735689600000000  # 2025-01-01T00:00:00Z
HOUR = 3_600_000_000
STATUSES = (RuntimeStatus.Completed, RuntimeStatus.Failed, RuntimeStatus.Running, RuntimeStatus.Pending,
            RuntimeStatus.Terminated, RuntimeStatus.Suspended)
NAMES = ("Order", "Invoice", "Report")
PREFIXES = ("a", "ab", "abc-01", "b-", "b-00", "c", "zz", "")


def _random_instances(rng: random.Random, count: int, first: int = 0) -> list[Instance]:
    items = []
    for n in range(first, first + count):
        kind = rng.choice(("a", "ab", "abc-", "b-", "c"))
        created = START + rng.randrange(20 * 24) * HOUR + rng.randrange(3) * 1000  # duplicates happen
        items.append(Instance(instance_id=f"{kind}{n:04d}", name=rng.choice(NAMES), execution_id="e",
                              runtime_status=rng.choice(STATUSES), created_time=created, last_updated_time=created))
    return items


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    store = Store(tmp_path_factory.mktemp("queries") / "store.sqlite", HUB)
    rng = random.Random(11)
    instances = _random_instances(rng, 900)
    entities = [Instance(instance_id=f"@counter@k{n}", name="counter", execution_id="e",
                         runtime_status=RuntimeStatus.Running, created_time=START + n * HOUR,
                         last_updated_time=START) for n in range(20)]
    other_hub = _random_instances(random.Random(12), 50)
    store.apply(Commit(new_instances=instances + entities))
    store.hub = "Other"  # the same ids may exist in another task hub of the same store
    store.apply(Commit(new_instances=other_hub))
    store.hub = HUB
    yield store
    store.close()


def _matches(instance: Instance, query: InstanceQuery) -> bool:
    return ((not query.statuses or instance.runtime_status in query.statuses)
            and (query.created_from is None or instance.created_time >= query.created_from)
            and (query.created_to is None or instance.created_time <= query.created_to)
            and (not query.prefix or instance.instance_id.startswith(query.prefix))
            and (query.name is None or instance.name == query.name)
            and not instance.instance_id.startswith("@"))


def _all(store: Store) -> list[Instance]:
    page, _ = store.query(InstanceQuery(), 100_000, None)
    return page


def _page_through(store: Store, query: InstanceQuery, top: int) -> list[Instance]:
    seen, after = [], None
    while True:
        page, after = store.query(query, top, after)
        seen += page
        if after is None:
            return seen


def _random_query(rng: random.Random) -> InstanceQuery:
    low = START + rng.randrange(20 * 24) * HOUR if rng.random() < 0.5 else None
    high = (low or START) + rng.randrange(1, 10 * 24) * HOUR if rng.random() < 0.5 else None
    return InstanceQuery(
        statuses=tuple(rng.sample(STATUSES, rng.randrange(3))), created_from=low, created_to=high,
        prefix=rng.choice(PREFIXES) or None, name=rng.choice((*NAMES, None, None)))


@pytest.mark.parametrize("prefix_range_limit", [0, 10, 1_000_000], ids=["walk", "mixed", "prefix-range"])
def test_filtered_pages_return_exactly_the_matching_instances_in_created_order(
        store: Store, prefix_range_limit: int) -> None:
    store.prefix_range_limit = prefix_range_limit
    everything = _all(store)
    rng = random.Random(prefix_range_limit)
    try:
        for _ in range(60):
            query = _random_query(rng)
            expected = [i.instance_id for i in everything if _matches(i, query)]
            got = [i.instance_id for i in _page_through(store, query, rng.choice((1, 7, 50)))]
            assert got == expected, query
    finally:
        store.prefix_range_limit = 5_000


def test_a_prefix_page_lists_only_that_prefix_whatever_the_hub_holds(store: Store) -> None:
    page, _ = store.query(InstanceQuery(prefix="abc-0"), 100, None)
    assert page and all(i.instance_id.startswith("abc-0") for i in page)
    assert [(i.created_time, i.instance_id) for i in page] == sorted((i.created_time, i.instance_id) for i in page)
    assert store.query(InstanceQuery(prefix="nothing-here"), 100, None) == ([], None)


def test_entities_and_other_task_hubs_never_appear_in_instance_pages(store: Store) -> None:
    ids = {i.instance_id for i in _all(store)}
    assert not any(i.startswith("@") for i in ids)
    other, _ = store.query(InstanceQuery(), 1000, None, hub="Other")
    assert len(ids) == 900 and len(other) == 50  # the same ids exist in both hubs; each lists its own


@pytest.mark.parametrize("prefix_range_limit", [0, 1_000_000], ids=["walk", "prefix-range"])
def test_paging_while_instances_are_added_and_purged_skips_and_repeats_nothing(
        tmp_path: Path, prefix_range_limit: int) -> None:
    store = Store(tmp_path / "store.sqlite", HUB)
    store.prefix_range_limit = prefix_range_limit
    rng = random.Random(3)
    store.apply(Commit(new_instances=_random_instances(rng, 400)))
    query = InstanceQuery(prefix="a", statuses=(RuntimeStatus.Completed, RuntimeStatus.Failed, RuntimeStatus.Running))
    before = {i.instance_id for i in _all(store) if _matches(i, query)}
    purged: set[str] = set()
    seen: list[Instance] = []
    after = None
    added = 400
    while True:
        page, after = store.query(query, 9, after)
        assert not purged & {i.instance_id for i in page}  # a purged instance is never listed afterwards
        seen += page
        # between pages: new instances arrive (anywhere in time) and some not yet seen are purged
        store.apply(Commit(new_instances=_random_instances(rng, 5, added)))
        added += 5
        candidates = sorted(before - purged - {i.instance_id for i in seen})
        victims = set(rng.sample(candidates, min(2, len(candidates))))
        store.purge(victims)
        purged |= victims
        if after is None:
            break
    keys = [(i.created_time, i.instance_id) for i in seen]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)  # in order, no repeats
    assert before - purged <= {i.instance_id for i in seen}  # every instance present throughout was listed
    store.close()


@pytest.mark.parametrize("prefix_range_limit", [0, 1_000_000], ids=["walk", "prefix-range"])
def test_purge_by_filter_deletes_exactly_the_matching_instances(tmp_path: Path, prefix_range_limit: int) -> None:
    store = Store(tmp_path / "store.sqlite", HUB)
    store.prefix_range_limit = prefix_range_limit
    store.apply(Commit(new_instances=_random_instances(random.Random(5), 500)))
    everything = _all(store)
    query = InstanceQuery(prefix="ab", statuses=(RuntimeStatus.Completed, RuntimeStatus.Failed),
                          created_from=START + 48 * HOUR, name="Order")
    doomed = {i.instance_id for i in everything if _matches(i, query)}
    assert doomed
    deleted = 0
    while batch := store.purge_batch(query, 7):
        deleted += batch
    assert deleted == len(doomed)
    assert {i.instance_id for i in _all(store)} == {i.instance_id for i in everything} - doomed
    store.close()


def _brute_counts(instances: list[Instance], query: InstanceQuery, bucket: int) -> tuple[Counter[str], Counter[int]]:
    matching = [i for i in instances if _matches(i, query)]
    return (Counter(i.runtime_status.value for i in matching),
            Counter(i.created_time // bucket * bucket for i in matching))


@pytest.mark.parametrize("seed", range(8))
def test_counts_and_histograms_equal_a_brute_force_count(store: Store, seed: int) -> None:
    everything = _all(store)
    rng = random.Random(100 + seed)
    queries = [_random_query(rng) for _ in range(12)]
    queries += [InstanceQuery(), InstanceQuery(created_from=START + 5 * HOUR + 7, created_to=START + 30 * HOUR),
                InstanceQuery(created_from=START + 2 * HOUR, created_to=START + 9 * 24 * HOUR - 1),
                InstanceQuery(created_from=START, created_to=START + 3 * MICROS_PER_DAY - 1, name="Invoice")]
    for query in queries:
        result = count_instances(store.db, HUB, query)
        statuses, buckets = _brute_counts(everything, query, result.bucket_seconds * 1_000_000)
        assert {s.value: n for s, n in result.counts.items() if n} == dict(statuses), query
        assert all(s in result.counts for s in (query.statuses or tuple(RuntimeStatus)))
        histogram = {start: sum(counts.values()) for start, counts in result.buckets.items()}
        assert {k: v for k, v in histogram.items() if v} == dict(buckets), query


def test_counts_follow_purges_and_new_instances_in_the_same_transaction(tmp_path: Path) -> None:
    store = Store(tmp_path / "store.sqlite", HUB)
    store.apply(Commit(new_instances=_random_instances(random.Random(9), 300)))
    store.purge([i.instance_id for i in _all(store)[:40]])
    store.apply(Commit(instances=[Instance(instance_id=i.instance_id, name=i.name, execution_id="e",
                                           runtime_status=RuntimeStatus.Completed, created_time=i.created_time,
                                           last_updated_time=i.created_time) for i in _all(store)[:30]]))
    result = count_instances(store.db, HUB, InstanceQuery())
    assert result.method == "summary"
    assert {s.value: n for s, n in result.counts.items() if n} == dict(
        Counter(i.runtime_status.value for i in _all(store)))
    store.close()


def test_bucket_sizes_grow_with_the_window() -> None:
    minute, day = 60 * 1_000_000, MICROS_PER_DAY
    assert bucket_seconds_for(30 * minute) == 60
    assert bucket_seconds_for(6 * 60 * minute) == 300
    assert bucket_seconds_for(day) == 900
    assert bucket_seconds_for(3 * day) == 3600
    assert bucket_seconds_for(30 * day) == 86400
    assert bucket_seconds_for(365 * day) == 7 * 86400
    assert bucket_seconds_for(3 * 365 * day) == 30 * 86400
