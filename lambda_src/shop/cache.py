"""Cache-aside catalog reads over Valkey/Redis that never fail because the cache does.

Keys (hash tags keep a product's keys in one cluster slot, which the multi-key
transaction and scripts need on a cluster-mode or serverless cache):
    product:{SKU}      the cached product JSON, or a negative marker for unknown SKUs
    product:{SKU}:gen  invalidation generation: a random token, replaced by every invalidation
    product:{SKU}:lock single-flight lock while one reader loads from DynamoDB

Why writers delete rather than set: a writer that SETs the new value can race a
reader that loaded the old value earlier and writes it back afterwards. Invalidations
(the writer's, and the stream invalidator's for every change of a product item) instead
replace the generation token and delete the value in one transaction; a reader writes
back only if the token it took *before* reading DynamoDB is still there, unchanged. So,
whatever order Redis executes them in (even commands that were queued while it was
paused and run when it resumes):
  - a write-back that lands before an invalidation is deleted by it;
  - a write-back that lands after one is refused (the token changed).

Why a random token and not a counter: a missing generation used to read as "0" and a
counter starts again at 1 after Redis loses its data (a restart without persistence, a
failover, eviction, expiry). A reader that saw "0" before the loss and writes back after
it would then match, and store a value read before a write whose invalidation the loss
erased. Now the loader creates the token if it is missing, before reading the table, and
the write-back requires that exact token to still exist: lost data means a refused
write-back, never a stale one. Tokens are never reused, so a re-created one cannot match.

Why a write-back also has a time limit: a command sent to a Redis that is paused (or
unreachable behind a full socket buffer) can run when it resumes, long after the client
gave up on it. A late write-back whose write was never invalidated (every attempt failed,
and the stream record was given up) would then store an old value with a fresh TTL. So
the look returns Redis's own clock, and the write-back is refused once more than lock_ms
has passed on that clock since the look: the loader's lock has expired by then anyway.
That bounds every stale value: it was written at most lock_ms after the write it misses,
and is gone ttl * (1 + jitter) later, with or without an invalidation.
"""

from __future__ import annotations

import functools
import json
import os
import random
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from shop import observability
from shop.products import Product, ProductStore

NEGATIVE = "__none__"
CACHE_STRATEGY = "cache"
FALLBACK_STRATEGY = "dynamodb-fallback"

# The loader's look before it reads the table: the value, the generation token, created
# (ARGV[1], for ARGV[2] seconds) when missing, so the write-back has a token to compare with,
# and the server's clock in milliseconds, which the write-back's time limit is measured on.
READ_FOR_LOAD = """
local value = redis.call('GET', KEYS[1])
local generation = redis.call('GET', KEYS[2])
if not generation then
  generation = ARGV[1]
  redis.call('SET', KEYS[2], generation, 'EX', ARGV[2])
end
local now = redis.call('TIME')
return {value, generation, tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)}
"""
# Write the value only if no invalidation has happened since the reader looked (the token it
# saw, ARGV[1], must still be there: a missing one, expired, evicted or lost, refuses) and the
# look (ARGV[4], server ms) was at most ARGV[5] ms ago. 1: stored; 0: invalidated; -1: too late.
WRITE_BACK_IF_CURRENT = """
local current = redis.call('GET', KEYS[2])
if not current or current ~= ARGV[1] then
  return 0
end
local now = redis.call('TIME')
local elapsed = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000) - tonumber(ARGV[4])
if elapsed > tonumber(ARGV[5]) then
  return -1
end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
return 1
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
    lock_ms: int = 2000  # also the longest a loader may take from its look to its write-back
    # Waiters wait as long as the loader may hold its lock, so a loader slowed by a busy table
    # still answers them all (one table read per stampede) instead of each reading it again.
    wait_for_loader_ms: int = 2000
    poll_ms: int = 10

    @classmethod
    def from_environment(cls) -> CacheSettings:
        """CACHE_TTL_SECONDS (default 300): the catalog and the invalidator must agree on it."""
        return cls(ttl_seconds=int(os.environ.get("CACHE_TTL_SECONDS", "300")))

    def ttl(self, rng: random.Random) -> int:
        """TTL with jitter, so keys cached together do not all expire together."""
        spread = self.ttl_seconds * self.ttl_jitter
        return max(1, round(self.ttl_seconds + rng.uniform(-spread, spread)))

    @property
    def staleness_bound_seconds(self) -> float:
        """After a table write, how long a value older than it can be in the cache without any
        invalidation: written at most lock_ms after the write, it lives at most ttl * (1 + jitter).
        The stream invalidator may give a record up only after this."""
        return self.ttl_seconds * (1 + self.ttl_jitter) + self.lock_ms / 1000

    @property
    def generation_ttl_seconds(self) -> int:
        # Only has to outlive one load (read the table, write back); longer keeps keys few.
        return self.ttl_seconds * 4


def new_generation() -> str:
    return uuid.uuid4().hex


def invalidate(client: Any, sku: str, generation_ttl_seconds: int) -> None:
    """Replace the generation token and delete the value, atomically (one MULTI/EXEC).

    The one invalidation, shared by the writer's fast path and the stream invalidator.
    Idempotent in effect: running it again, late or twice, costs one cache miss."""
    pipeline = client.pipeline(transaction=True)
    pipeline.set(generation_key(sku), new_generation(), ex=generation_ttl_seconds)
    pipeline.delete(value_key(sku))
    pipeline.execute()


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
        # Every cache hit passes here: a closed breaker answers without taking the lock.
        if self._opened_at is None:
            return True
        with self._lock:
            state = self.state
            if state == "closed":
                return True
            if state == "half-open" and not self._trial_in_flight:
                self._trial_in_flight = True
                return True
            return False

    def record_success(self) -> None:
        if self._failures == 0 and self._opened_at is None and not self._trial_in_flight:
            return  # nothing to reset, the common case on a healthy cache
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


@dataclass(frozen=True)
class Look:
    """What a loader saw before reading the table."""

    value: bytes | None
    generation: bytes | str
    server_ms: int


def _encode(product: Product | None) -> str:
    return NEGATIVE if product is None else json.dumps(product.to_json(), separators=(",", ":"))


@functools.lru_cache(maxsize=1024)
def _decode(raw: bytes | str) -> Product | None:
    """Memoized by the cached bytes: a hot product's hit skips JSON parsing. Safe because the same
    bytes always decode to the same product, and Product is immutable."""
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
        return self.read(sku)[0]

    def read(self, sku: str) -> tuple[Product | None, str]:
        """The product and how it was served: "hit", "miss" or "fallback" (the cache failed)."""
        started = time.perf_counter()
        product, outcome = self._read(sku)
        elapsed_ms = (time.perf_counter() - started) * 1000
        observability.record_latency(
            "CatalogReadLatency", CACHE_STRATEGY, outcome, elapsed_ms, dimension="Outcome"
        )
        return product, outcome

    def _read(self, sku: str) -> tuple[Product | None, str]:
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
            cached = self.client.get(value_key(sku))
        if cached is not None:
            observability.count("CacheHit", CACHE_STRATEGY)
            return _decode(cached), True, True
        observability.count("CacheMiss", CACHE_STRATEGY)
        token = f"{time.time_ns()}-{self._rng.random()}"
        if self.client.set(lock_key(sku), token, nx=True, px=self._settings.lock_ms):
            try:
                # A loader may have finished between our first look and taking the lock.
                look = self.look_before_load(sku)
                if look.value is not None:
                    return _decode(look.value), True, False
                return self._load(sku, look), True, False
            finally:
                self.client.eval(RELEASE_LOCK, 1, lock_key(sku), token)
        product, answered = self._wait_for_loader(sku)
        return product, answered, False

    def look_before_load(self, sku: str) -> Look:
        """The cached value, the generation token (created if missing) and the server's clock.
        Taken before the table read, so any write the read might miss invalidates after it."""
        value, generation, server_ms = self.client.eval(
            READ_FOR_LOAD,
            2,
            value_key(sku),
            generation_key(sku),
            new_generation(),
            self._settings.generation_ttl_seconds,
        )
        return Look(value, generation, int(server_ms))

    def _load(self, sku: str, look: Look) -> Product | None:
        product = self._store.find(sku)
        self.write_back(sku, look, product)
        return product

    def write_back(self, sku: str, look: Look, product: Product | None) -> bool:
        """Store what the table returned, if no invalidation happened since the look and the
        look is at most lock_ms old on the server's clock."""
        ttl = self._settings.ttl(self._rng) if product else self._settings.negative_ttl_seconds
        generation = look.generation
        expected = generation.decode() if isinstance(generation, bytes) else generation
        stored = self.client.eval(
            WRITE_BACK_IF_CURRENT,
            2,
            value_key(sku),
            generation_key(sku),
            expected,
            _encode(product),
            ttl,
            look.server_ms,
            self._settings.lock_ms,
        )
        return stored == 1

    def _wait_for_loader(self, sku: str) -> tuple[Product | None, bool]:
        """Another reader holds the lock and is loading: wait for its value, bounded."""
        deadline = time.monotonic() + self._settings.wait_for_loader_ms / 1000
        while time.monotonic() < deadline:
            time.sleep(self._settings.poll_ms / 1000)
            cached = self.client.get(value_key(sku))
            if cached is not None:
                return _decode(cached), True
        return None, False
