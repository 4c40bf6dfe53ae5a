"""Cache invalidation after a product changes in the table: a fast path and a durable one.

Two paths run the same invalidation (`cache.invalidate`: replace the product's generation
token and delete its value, in one transaction):

- **sync**, in the catalog function right after its table write: a few attempts with
  backoff and a socket timeout of its own, longer than reads' (writes are rare and a stale
  price is worse than a slower PUT). It has its own client and ignores the read breaker,
  whose state it neither reads nor changes: a breaker opened by slow reads must not skip
  invalidation, and a slow invalidation must not make reads give up on the cache. It never
  fails the PUT (the table is the truth).
- **stream**, in the cache-invalidator function, for every change of a product item in the
  table's stream, whoever wrote it (the catalog, the checkout saga's stock updates, a bulk
  load). On a cache error it retries with capped exponential backoff until a deadline taken
  from the invocation's remaining time, so one delivery covers a long outage and the first
  retry after the cache comes back succeeds within one backoff cap. Only then does it report
  the record as failed, and Lambda delivers it again.

What that guarantees (with the write-back rules in `shop.cache`):

1. No value older than a write is ever stored after an invalidation of that write ran:
   entries are only deleted by invalidations, and a reader's write-back is refused once any
   invalidation ran after its look, in whatever order Redis executes the commands (also
   commands queued while it was paused), and also when Redis lost its data in between.
2. While the cache answers, a read that starts after a PUT returned sees that PUT, unless
   all the PUT's sync attempts failed (then 3).
3. A change whose sync invalidation failed, or that did not go through the catalog at all,
   is invalidated by its stream record as soon as the cache answers again: the stale
   window is the stream's lag plus, after an outage, at most one backoff cap (200 ms) and
   one attempt after the cache is back (an attempt sent during a pause runs on resume).
4. Without any invalidation, a value older than a write is gone at most
   `CacheSettings.staleness_bound_seconds` after it (ttl * (1 + jitter) + lock_ms: 332 s for
   a 300 s TTL): it was stored at most lock_ms after the write (the write-back's time limit)
   and expires ttl * (1 + jitter) later. A stream record may therefore be given up (to the
   mapping's on-failure destination) only after that: the mapping's
   maximum_record_age_in_seconds and its retry budget, (maximum_retry_attempts + 1) *
   (function timeout - CACHE_INVALIDATION_MARGIN_MS), must both be at least the bound.

What stays eventually consistent, and for how long: the window in 3 (stream lag, plus the
outage itself, during which readers go to DynamoDB anyway, unless the cache answers readers
but not the invalidator: then up to the bound in 4), and a failover that loses an
acknowledged invalidation its replica never got (the old value lives until its TTL; the two
paths invalidate the same write twice, at different times, which narrows that).
InvalidationLag is measured from the record's ApproximateCreationDateTime, whole seconds in
AWS (rounded down): there it reads up to 1 s high.
"""

from __future__ import annotations

import os
import random
import re
import time
from collections.abc import Callable
from typing import Any

from shop import cache, observability
from shop.backoff import Backoff
from shop.validation import SKU

SYNC = "sync"
STREAM = "stream"

PRODUCT_PK = re.compile(r"PRODUCT#(?P<sku>.+)")

# Defaults of the environment variables below.
DEFAULT_TIMEOUT_MS = 250  # CACHE_INVALIDATION_TIMEOUT_MS: connect and socket timeout, both paths
DEFAULT_SYNC_ATTEMPTS = 3  # CACHE_INVALIDATION_ATTEMPTS: the writer's attempts
DEFAULT_MARGIN_MS = 1000  # CACHE_INVALIDATION_MARGIN_MS: stream path, stop this long before the timeout

INVALIDATION_METRIC = "CacheInvalidation"
FAILED_METRIC = "CacheInvalidationFailed"
LAG_METRIC = "InvalidationLag"


def _positive_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "")
    value = int(raw) if raw.strip() else default
    if value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {raw!r}")
    return value


def timeout_ms_from_environment() -> int:
    return _positive_int("CACHE_INVALIDATION_TIMEOUT_MS", DEFAULT_TIMEOUT_MS)


def sync_attempts_from_environment() -> int:
    return _positive_int("CACHE_INVALIDATION_ATTEMPTS", DEFAULT_SYNC_ATTEMPTS)


def margin_ms_from_environment() -> int:
    return _positive_int("CACHE_INVALIDATION_MARGIN_MS", DEFAULT_MARGIN_MS)


class CacheUnavailable(Exception):
    """Every attempt of an invalidation failed, or its deadline passed before one could start."""


class PoisonRecord(ValueError):
    """A stream record that names no product: retrying it cannot help."""


def count(metric_name: str, path: str) -> None:
    observability.count(metric_name, cache.CACHE_STRATEGY, Path=path)


class Invalidator:
    """Runs `cache.invalidate` with retries, on a client of its own (made on first use)."""

    def __init__(
        self,
        connect: Callable[[], Any],
        cache_errors: tuple[type[BaseException], ...],
        generation_ttl_seconds: int,
        backoff: Backoff | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        self._connect = connect
        self._client: Any = None
        self._cache_errors = cache_errors
        self._generation_ttl = generation_ttl_seconds
        self._backoff = backoff or Backoff()
        self._sleep = sleep
        self._clock = clock
        self._rng = rng or random.Random()

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = self._connect()
        return self._client

    def reset_connection(self) -> None:
        """After a SnapStart restore: connect afresh on next use."""
        self._client = None

    def invalidate(
        self, sku: str, path: str, *, max_attempts: int | None = None, deadline: float | None = None
    ) -> int:
        """Invalidate, retrying cache errors until max_attempts or the deadline (on `clock`).
        Returns the attempts it took; raises CacheUnavailable when it gives up. At least one of
        the bounds must be given; no attempt starts at or after the deadline."""
        if max_attempts is None and deadline is None:
            raise ValueError("an invalidation needs max_attempts or a deadline")
        attempts = 0
        last_error: BaseException | None = None
        while deadline is None or self._clock() < deadline:
            attempts += 1
            try:
                cache.invalidate(self.client, sku, self._generation_ttl)
            except self._cache_errors as error:
                last_error = error
            else:
                count(INVALIDATION_METRIC, path)
                return attempts
            if max_attempts is not None and attempts >= max_attempts:
                break
            delay = self._backoff.delay_seconds(attempts, self._rng)
            if deadline is not None:
                delay = min(delay, max(0.0, deadline - self._clock()))
            self._sleep(delay)
        count(FAILED_METRIC, path)
        raise CacheUnavailable(
            f"cache invalidation of {sku} gave up after {attempts} attempt(s): {last_error or 'deadline passed'}"
        ) from last_error

    def after_write(self, sku: str, max_attempts: int) -> bool:
        """The writer's fast path: False when the cache could not be reached (the stream
        record then invalidates once it can)."""
        try:
            self.invalidate(sku, SYNC, max_attempts=max_attempts)
            return True
        except CacheUnavailable:
            return False


def sku_from_stream_record(record: dict[str, Any]) -> str:
    """The SKU of a product item's stream record (`Keys.pk` = PRODUCT#<SKU>), or PoisonRecord."""
    try:
        pk = record["dynamodb"]["Keys"]["pk"]["S"]
    except (KeyError, TypeError) as error:
        raise PoisonRecord(f"stream record has no string key pk: {_describe(record)}") from error
    match = PRODUCT_PK.fullmatch(pk) if isinstance(pk, str) else None
    if match is None or not SKU.fullmatch(match["sku"]):
        raise PoisonRecord(f"stream record is not a product item (pk {str(pk)[:80]!r}): {_describe(record)}")
    return match["sku"]


def record_created_at(record: dict[str, Any]) -> float | None:
    """ApproximateCreationDateTime in epoch seconds (whole seconds, rounded down, in AWS and on the twin)."""
    value = (record.get("dynamodb") or {}).get("ApproximateCreationDateTime")
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        return float(value)
    except ValueError:
        return None


def _describe(record: Any) -> str:
    if not isinstance(record, dict):
        return f"a {type(record).__name__}"
    stream = record.get("dynamodb")
    sequence = stream.get("SequenceNumber") if isinstance(stream, dict) else None
    return f"eventName {record.get('eventName')!r}, SequenceNumber {sequence!r}"


class StreamInvalidator:
    """The durable path: one stream record, invalidated until a deadline, its lag recorded."""

    def __init__(self, invalidator: Invalidator, wall_clock: Callable[[], float] = time.time) -> None:
        self._invalidator = invalidator
        self._wall_clock = wall_clock

    def invalidate_record(self, record: dict[str, Any], deadline: float) -> str:
        sku = sku_from_stream_record(record)
        self._invalidator.invalidate(sku, STREAM, deadline=deadline)
        created_at = record_created_at(record)
        if created_at is not None:
            lag_ms = max(0.0, (self._wall_clock() - created_at) * 1000)
            observability.record_latency(LAG_METRIC, cache.CACHE_STRATEGY, STREAM, lag_ms, dimension="Path")
        return sku


def deadline_from(remaining_ms: int, margin_ms: int, clock: Callable[[], float] = time.monotonic) -> float:
    """When to stop starting attempts: the invocation's remaining time less a margin that leaves
    room for the last attempt (up to a connect plus a command timeout) and the response."""
    return clock() + max(0, remaining_ms - margin_ms) / 1000
