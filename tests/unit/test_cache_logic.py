"""Cache-aside building blocks without AWS: breaker, TTL jitter, key slots, and the
read/invalidate protocol against a real Redis and an in-process moto table.

The interleavings tests: a reader takes the generation token, reads the table, and
writes back; writes and invalidations land at every point in between, in both orders,
and Redis loses its data in between. The rule each checks: once an invalidation that
follows a write has run, the cache never holds a value older than that write."""

from __future__ import annotations

import json
import os
import random
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from moto import mock_aws
from redis.cluster import key_slot
from shop.cache import (
    CachedCatalog,
    CacheSettings,
    CircuitBreaker,
    generation_key,
    invalidate,
    lock_key,
    value_key,
)
from shop.cache_connection import CACHE_ERRORS
from shop.products import ProductStore

from tests.unit.handler_harness import create_state_table


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_breaker_opens_after_threshold_and_recovers_through_one_trial() -> None:
    clock = Clock()
    breaker = CircuitBreaker(threshold=3, cooldown_seconds=5, clock=clock)
    for _ in range(2):
        breaker.record_failure()
    assert breaker.state == "closed" and breaker.allows()
    breaker.record_failure()
    assert breaker.state == "open" and not breaker.allows()
    clock.now += 5
    assert breaker.state == "half-open"
    assert breaker.allows()
    assert not breaker.allows(), "only one trial request while half-open"
    breaker.record_failure()
    assert breaker.state == "open", "a failed trial re-opens for a full cool-down"
    clock.now += 5
    assert breaker.allows()
    breaker.record_success()
    assert breaker.state == "closed" and breaker.times_opened == 1


def test_ttl_jitter_stays_within_its_band() -> None:
    settings = CacheSettings(ttl_seconds=300, ttl_jitter=0.1)
    rng = random.Random(7)
    ttls = {settings.ttl(rng) for _ in range(500)}
    assert min(ttls) >= 270 and max(ttls) <= 330
    assert len(ttls) > 20, "jitter must spread expiries"


def test_a_products_keys_share_one_cluster_slot() -> None:
    for sku in ("SKU-1", "A1B", "ZZ-99-TOP"):
        slots = {key_slot(key.encode()) for key in (value_key(sku), generation_key(sku), lock_key(sku))}
        assert len(slots) == 1


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from local_twin.redis_server import RedisServer

    server = RedisServer(Path(tmp_path_factory.mktemp("redis")))
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


class CountingStore(ProductStore):
    def __init__(self, table: object) -> None:
        super().__init__(table)
        self.reads = 0
        self._count_lock = threading.Lock()

    def find(self, sku: str, strategy: str = "dynamodb"):  # type: ignore[override]
        with self._count_lock:
            self.reads += 1
        return super().find(sku, strategy)


@pytest.fixture
def catalog(redis_url: str) -> Iterator[tuple[CachedCatalog, CountingStore]]:
    import redis

    os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "ServerlessState")
    with mock_aws():
        store = CountingStore(create_state_table("unit-cache-state"))
        client = redis.Redis.from_url(redis_url)
        client.flushall()
        yield (
            CachedCatalog(
                store, lambda: client, CircuitBreaker(3, 1), CacheSettings(), (redis.RedisError, OSError)
            ),
            store,
        )


def test_miss_then_hit_then_negative_cache(catalog) -> None:
    cached, store = catalog
    store.put("SKU-1", "Mug", 1200, 3, 0)
    assert cached.get("SKU-1").price_cents == 1200
    assert cached.get("SKU-1").price_cents == 1200
    assert store.reads == 1, "the second read is a hit"
    assert cached.get("NONE-1") is None and cached.get("NONE-1") is None
    assert store.reads == 2, "an unknown SKU is cached as absent"
    assert 0 < cached.client.ttl(value_key("NONE-1")) <= CacheSettings().negative_ttl_seconds


GENERATION_TTL = CacheSettings().generation_ttl_seconds


def cached_price(cached: CachedCatalog, sku: str) -> int | None:
    """What the cache itself holds (None: nothing), without going through the read path."""
    raw = cached.client.get(value_key(sku))
    return None if raw is None else json.loads(raw)["price_cents"]


def slow_reader_loads_old_price(cached: CachedCatalog, store: ProductStore, sku: str):
    """A reader that missed, looked (took the token) and read the table: no write-back yet."""
    look = cached.look_before_load(sku)
    assert look.value is None
    return look, store.find(sku)


def test_write_back_after_the_invalidation_is_refused(catalog) -> None:
    cached, store = catalog
    store.put("SKU-2", "Pen", 100, 1, 0)
    look, old = slow_reader_loads_old_price(cached, store, "SKU-2")
    store.put("SKU-2", "Pen", 150, 1, 1)  # a writer commits...
    invalidate(cached.client, "SKU-2", GENERATION_TTL)  # ...and invalidates (sync or stream)
    assert not cached.write_back("SKU-2", look, old), "the slow reader's old value is refused"
    assert cached_price(cached, "SKU-2") is None
    assert cached.get("SKU-2").price_cents == 150


def test_write_back_before_the_invalidation_is_deleted_by_it(catalog) -> None:
    # The order of the outage: the reader's write-back lands before the invalidation
    # of the write it missed (the writer's failed; the stream's, retried, lands later).
    cached, store = catalog
    store.put("SKU-4", "Pen", 100, 1, 0)
    look, old = slow_reader_loads_old_price(cached, store, "SKU-4")
    store.put("SKU-4", "Pen", 999, 1, 1)
    assert cached.write_back("SKU-4", look, old)
    assert cached_price(cached, "SKU-4") == 100, "stale until the stream record is invalidated"
    invalidate(cached.client, "SKU-4", GENERATION_TTL)
    assert cached_price(cached, "SKU-4") is None
    assert cached.get("SKU-4").price_cents == 999
    assert cached_price(cached, "SKU-4") == 999


def test_two_invalidations_in_any_order_around_the_write_back_leave_no_stale_value(catalog) -> None:
    # Sync and stream both invalidate the same write; the write-back can land before, between
    # or after them.
    cached, store = catalog
    for position in range(3):
        sku = f"SKU-5{position}"
        store.put(sku, "Pen", 100, 1, 0)
        look, old = slow_reader_loads_old_price(cached, store, sku)
        store.put(sku, "Pen", 999, 1, 1)
        steps = [lambda s=sku: invalidate(cached.client, s, GENERATION_TTL)] * 2
        steps.insert(position, lambda s=sku, lk=look, o=old: cached.write_back(s, lk, o))
        for step in steps:
            step()
        assert cached_price(cached, sku) is None, f"write-back at position {position}"
        assert cached.get(sku).price_cents == 999


@pytest.mark.parametrize("loss", ["flushall", "generation-expired"])
def test_write_back_after_redis_lost_its_data_is_refused(catalog, loss: str) -> None:
    # Redis restarts empty (or the token expires or is evicted) between the reader's look and
    # its write-back; the write and its invalidation happened before the loss. A missing
    # generation used to read as "0" and match a reader that had seen none: stale until TTL.
    cached, store = catalog
    store.put("SKU-6", "Pen", 100, 1, 0)
    look, old = slow_reader_loads_old_price(cached, store, "SKU-6")
    store.put("SKU-6", "Pen", 999, 1, 1)
    invalidate(cached.client, "SKU-6", GENERATION_TTL)
    if loss == "flushall":
        cached.client.flushall()
    else:
        cached.client.delete(generation_key("SKU-6"))
    assert not cached.write_back("SKU-6", look, old)
    assert cached_price(cached, "SKU-6") is None
    # Another reader re-creates a token after the loss: a fresh one, which the slow reader's
    # cannot match either.
    assert cached.look_before_load("SKU-6").generation != look.generation
    assert not cached.write_back("SKU-6", look, old)
    assert cached.get("SKU-6").price_cents == 999


def test_write_back_later_than_lock_ms_after_the_look_is_refused(catalog) -> None:
    cached, store = catalog
    store.put("SKU-8", "Pen", 100, 1, 0)
    look, old = slow_reader_loads_old_price(cached, store, "SKU-8")
    lock_ms = CacheSettings().lock_ms
    too_old = replace(look, server_ms=look.server_ms - lock_ms - 50)
    assert not cached.write_back("SKU-8", too_old, old)
    assert cached_price(cached, "SKU-8") is None
    just_in_time = replace(look, server_ms=look.server_ms - lock_ms + 500)
    assert cached.write_back("SKU-8", just_in_time, old)
    assert cached_price(cached, "SKU-8") == 100


def test_the_loader_creates_a_generation_that_outlives_its_load(catalog) -> None:
    cached, store = catalog
    store.put("SKU-7", "Pen", 100, 1, 0)
    assert cached.client.get(generation_key("SKU-7")) is None
    assert cached.get("SKU-7").price_cents == 100
    token = cached.client.get(generation_key("SKU-7"))
    assert token is not None and len(token) == 32
    assert cached_price(cached, "SKU-7") == 100
    assert CacheSettings().ttl_seconds < cached.client.ttl(generation_key("SKU-7")) <= GENERATION_TTL
    invalidate(cached.client, "SKU-7", GENERATION_TTL)
    assert cached.client.get(generation_key("SKU-7")) not in (None, token), "every invalidation a new token"
    assert cached.client.ttl(generation_key("SKU-7")) > 0


def test_staleness_bound_covers_the_longest_ttl_and_the_latest_write_back() -> None:
    assert CacheSettings().staleness_bound_seconds == pytest.approx(332.0)
    assert CacheSettings(ttl_seconds=60, lock_ms=1000).staleness_bound_seconds == pytest.approx(67.0)


@contextmanager
def paused(server_client: Any) -> Iterator[None]:
    """SIGSTOP the redis-server this test started (as the issue's reproduction does), then SIGCONT."""
    pid = int(server_client.info("server")["process_id"])
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(pid, signal.SIGCONT)


def eval_calls(server_client: Any) -> int:
    return int(server_client.info("commandstats").get("cmdstat_eval", {}).get("calls", 0))


@pytest.mark.skipif(sys.platform == "win32", reason="SIGSTOP/SIGCONT")
@pytest.mark.parametrize(("lock_ms", "stale_after_resume"), [(300, False), (60_000, True)])
def test_a_write_back_queued_while_redis_was_paused_runs_on_resume_and_is_refused_if_late(
    tmp_path: Path, lock_ms: int, stale_after_resume: bool
) -> None:
    # The write's invalidations all failed and its stream record was given up: nothing but the
    # time limit stops the reader's queued write-back. With a 60 s limit (the control) it lands:
    # the hazard is real; with lock_ms shorter than the pause it is refused.
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    from local_twin.redis_server import RedisServer

    server = RedisServer(tmp_path)
    server.start()
    try:
        admin = redis.Redis.from_url(server.url)
        reads = redis.Redis.from_url(
            server.url, socket_timeout=0.05, socket_connect_timeout=0.05, retry=Retry(NoBackoff(), 0)
        )
        with mock_aws():
            store = ProductStore(create_state_table("unit-late-write-back"))
            settings = CacheSettings(lock_ms=lock_ms)
            cached = CachedCatalog(store, lambda: reads, CircuitBreaker(3, 1), settings, CACHE_ERRORS)
            store.put("SKU-L", "Pen", 100, 1, 0)
            look, old = slow_reader_loads_old_price(cached, store, "SKU-L")
            evals = eval_calls(admin)
            with paused(admin):
                store.put("SKU-L", "Pen", 999, 1, 1)
                with pytest.raises(redis.exceptions.TimeoutError):
                    cached.write_back("SKU-L", look, old)  # sent; Redis does not answer
                time.sleep(0.6)
            deadline = time.monotonic() + 5
            while eval_calls(admin) == evals and time.monotonic() < deadline:
                time.sleep(0.01)
            assert eval_calls(admin) == evals + 1, "the queued write-back ran after the resume"
            stored = admin.get(value_key("SKU-L"))
            assert (stored is not None) is stale_after_resume
            if stale_after_resume:
                assert json.loads(stored)["price_cents"] == 100
    finally:
        server.stop()


def test_concurrent_misses_read_the_table_once(catalog) -> None:
    cached, store = catalog
    store.put("SKU-3", "Cup", 500, 9, 0)
    store.reads = 0
    barrier = threading.Barrier(12)

    def read() -> int:
        barrier.wait()
        return cached.get("SKU-3").price_cents

    threads = [threading.Thread(target=read) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert store.reads == 1


def test_reset_connection_reconnects_on_next_use() -> None:
    connections = []

    def connect() -> object:
        connections.append(object())
        return connections[-1]

    cached = CachedCatalog(None, connect, CircuitBreaker(3, 1), CacheSettings(), (OSError,))  # type: ignore[arg-type]
    first = cached.client
    assert cached.client is first and len(connections) == 1, "one connection per warm environment"
    cached.reset_connection()
    assert cached.client is not first and len(connections) == 2


def test_a_cluster_cache_that_cannot_be_reached_falls_back_to_the_table() -> None:
    # RedisCluster raises RedisClusterException, not a RedisError, when no node answers on
    # connect: it must count as a cache error, or a serverless cache that is down fails reads.
    import redis

    def connect() -> object:
        raise redis.exceptions.RedisClusterException("Redis Cluster cannot be connected")

    os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "ServerlessState")
    with mock_aws():
        store = ProductStore(create_state_table("unit-cluster-down"))
        store.put("SKU-C", "Mug", 700, 1, 0)
        breaker = CircuitBreaker(3, 1)
        cached = CachedCatalog(store, connect, breaker, CacheSettings(), CACHE_ERRORS)
        assert cached.get("SKU-C").price_cents == 700
        assert [cached.get("SKU-C").price_cents for _ in range(2)] == [700, 700]
        assert breaker.state == "open", "three cache errors in a row"
