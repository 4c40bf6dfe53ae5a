"""Cache-aside building blocks without AWS: breaker, TTL jitter, key slots, and the
read/invalidate protocol against a real Redis and an in-process moto table."""

from __future__ import annotations

import os
import random
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from moto import mock_aws
from redis.cluster import key_slot
from shop.cache import (
    CachedCatalog,
    CacheSettings,
    CircuitBreaker,
    generation_key,
    lock_key,
    value_key,
)
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


def test_stale_write_back_is_refused_after_invalidation(catalog) -> None:
    cached, store = catalog
    store.put("SKU-2", "Pen", 100, 1, 0)
    generation_seen = cached.client.get(generation_key("SKU-2"))  # a reader looks...
    store.put("SKU-2", "Pen", 150, 1, 1)  # ...a writer commits and invalidates...
    cached.invalidate("SKU-2")
    cached._load("SKU-2", generation_seen)  # ...the slow reader tries to write back
    assert cached.get("SKU-2").price_cents == 150


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
