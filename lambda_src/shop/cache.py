"""Cache-aside catalog reads over Valkey/Redis that never fail because the cache does.

Keys (hash tags keep a product's keys in one cluster slot, which the multi-key
MGET and the write-back script need on a cluster-mode or serverless cache):
    product:{SKU}      the cached product JSON, or a negative marker for unknown SKUs
    product:{SKU}:gen  invalidation generation, bumped by every write
    product:{SKU}:lock single-flight lock while one reader loads from DynamoDB

Why writers delete rather than set: a writer that SETs the new value can race a
reader that loaded the old value earlier and writes it back afterwards. Writers
instead bump the generation and delete; readers write back only if the generation
they saw before reading DynamoDB is still current, so an old value never lands after
a newer write.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from shop import observability
from shop.products import Product, ProductStore

NEGATIVE = "__none__"
CACHE_STRATEGY = "cache"
FALLBACK_STRATEGY = "dynamodb-fallback"

# Write the value only if no writer has invalidated since the reader looked.
WRITE_BACK_IF_CURRENT = """
local current = redis.call('GET', KEYS[2]) or '0'
if current == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
  return 1
end
return 0
"""
# Release the single-flight lock only if this reader still holds it.
RELEASE_LOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


def value_key(sku: str) -> str:
    return f"product:{{{sku}}}"


def generation_key(sku: str) -> str:
    return f"product:{{{sku}}}:gen"


def lock_key(sku: str) -> str:
    return f"product:{{{sku}}}:lock"


@dataclass(frozen=True)
class CacheSettings:
    ttl_seconds: int = 300
    ttl_jitter: float = 0.1
    negative_ttl_seconds: int = 30
    lock_ms: int = 2000
    wait_for_loader_ms: int = 1000
    poll_ms: int = 10

    def ttl(self, rng: random.Random) -> int:
        """TTL with jitter, so keys cached together do not all expire together."""
        spread = self.ttl_seconds * self.ttl_jitter
        return max(1, round(self.ttl_seconds + rng.uniform(-spread, spread)))


class CircuitBreaker:
    """Closed -> open after `threshold` consecutive failures; after `cooldown` one
    trial request is let through (half-open); its success closes the breaker."""

    def __init__(
        self, threshold: int, cooldown_seconds: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._threshold = threshold
        self._cooldown = cooldown_seconds
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._trial_in_flight = False
        self._lock = threading.Lock()
        self.times_opened = 0

    @property
    def state(self) -> str:
        if self._opened_at is None:
            return "closed"
        return "half-open" if self._clock() - self._opened_at >= self._cooldown else "open"

    def allows(self) -> bool:
        with self._lock:
            state = self.state
            if state == "closed":
                return True
            if state == "half-open" and not self._trial_in_flight:
                self._trial_in_flight = True
                return True
            return False

    def record_success(self) -> None:
        with self._lock:
            self._failures = 0
            self._opened_at = None
            self._trial_in_flight = False

    def record_failure(self) -> None:
        with self._lock:
            self._failures += 1
            self._trial_in_flight = False
            if self._opened_at is not None or self._failures >= self._threshold:
                if self._opened_at is None:
                    self.times_opened += 1
                self._opened_at = self._clock()


def _encode(product: Product | None) -> str:
    return NEGATIVE if product is None else json.dumps(product.to_json(), separators=(",", ":"))


def _decode(raw: bytes | str) -> Product | None:
    text = raw.decode() if isinstance(raw, bytes) else raw
    return None if text == NEGATIVE else Product.from_json(json.loads(text))


class CachedCatalog:
    """Reads through the cache; any cache failure falls back to DynamoDB."""

    def __init__(
        self,
        store: ProductStore,
        connect: Callable[[], Any],
        breaker: CircuitBreaker,
        settings: CacheSettings,
        cache_errors: tuple[type[BaseException], ...],
        rng: random.Random | None = None,
    ) -> None:
        self._store = store
        self._connect = connect
        self._client: Any = None
        self._breaker = breaker
        self._settings = settings
        self._cache_errors = cache_errors
        self._rng = rng or random.Random()

    @property
    def client(self) -> Any:
        # One connection per execution environment, made on first use, kept while warm.
        if self._client is None:
            self._client = self._connect()
        return self._client

    def reset_connection(self) -> None:
        """After a SnapStart restore the snapshot's sockets are dead: connect afresh on next use."""
        self._client = None
        self._breaker.record_success()

    def get(self, sku: str) -> Product | None:
        started = time.perf_counter()
        product, outcome = self._get(sku)
        elapsed_ms = (time.perf_counter() - started) * 1000
        observability.record_latency(
            "CatalogReadLatency", CACHE_STRATEGY, outcome, elapsed_ms, dimension="Outcome"
        )
        return product

    def _get(self, sku: str) -> tuple[Product | None, str]:
        if self._breaker.allows():
            try:
                product, found, hit = self._read_through(sku)
                self._breaker.record_success()
                if found:
                    return product, "hit" if hit else "miss"
                return self._store.find(sku), "miss"
            except self._cache_errors:
                self._cache_failed()
        return self._store.find(sku, strategy=FALLBACK_STRATEGY), "fallback"

    def _cache_failed(self) -> None:
        self._breaker.record_failure()
        observability.count("CacheError", CACHE_STRATEGY)

    def _read_through(self, sku: str) -> tuple[Product | None, bool, bool]:
        """(product, answered, hit): answered is False when the table must be read."""
        with observability.timed(observability.READ, CACHE_STRATEGY, "GetProduct"):
            cached, generation = self.client.mget([value_key(sku), generation_key(sku)])
        if cached is not None:
            observability.count("CacheHit", CACHE_STRATEGY)
            return _decode(cached), True, True
        observability.count("CacheMiss", CACHE_STRATEGY)
        token = f"{time.time_ns()}-{self._rng.random()}"
        if self.client.set(lock_key(sku), token, nx=True, px=self._settings.lock_ms):
            try:
                # A loader may have finished between our first look and taking the lock.
                cached, generation = self.client.mget([value_key(sku), generation_key(sku)])
                if cached is not None:
                    return _decode(cached), True, False
                return self._load(sku, generation), True, False
            finally:
                self.client.eval(RELEASE_LOCK, 1, lock_key(sku), token)
        product, answered = self._wait_for_loader(sku)
        return product, answered, False

    def _load(self, sku: str, generation: bytes | str | None) -> Product | None:
        product = self._store.find(sku)
        ttl = self._settings.ttl(self._rng) if product else self._settings.negative_ttl_seconds
        expected = generation.decode() if isinstance(generation, bytes) else (generation or "0")
        self.client.eval(
            WRITE_BACK_IF_CURRENT, 2, value_key(sku), generation_key(sku), expected, _encode(product), ttl
        )
        return product

    def _wait_for_loader(self, sku: str) -> tuple[Product | None, bool]:
        """Another reader holds the lock and is loading: wait for its value, bounded."""
        deadline = time.monotonic() + self._settings.wait_for_loader_ms / 1000
        while time.monotonic() < deadline:
            time.sleep(self._settings.poll_ms / 1000)
            cached = self.client.get(value_key(sku))
            if cached is not None:
                return _decode(cached), True
        return None, False

    def invalidate(self, sku: str) -> bool:
        """After a table write: bump the generation and delete the value, atomically.
        Returns False when the cache could not be reached (the entry then ages out by TTL)."""
        if not self._breaker.allows():
            return False
        try:
            pipeline = self.client.pipeline(transaction=True)
            pipeline.incr(generation_key(sku))
            pipeline.expire(generation_key(sku), self._settings.ttl_seconds * 4)
            pipeline.delete(value_key(sku))
            pipeline.execute()
            self._breaker.record_success()
            return True
        except self._cache_errors:
            self._cache_failed()
            return False
