"""Cache invalidation's two paths: the writer's retries (not blocked by the read breaker) and
the stream invalidator (partial batch failures, retry until a deadline, lag metric), with fake
clocks where timing is the point and a real Redis where the protocol is."""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis
from moto import mock_aws
from redis.backoff import NoBackoff
from redis.retry import Retry
from shop import observability
from shop.cache import CachedCatalog, CacheSettings, CircuitBreaker, generation_key, value_key
from shop.cache_connection import CACHE_ERRORS
from shop.invalidation import (
    Backoff,
    CacheUnavailable,
    Invalidator,
    PoisonRecord,
    StreamInvalidator,
    deadline_from,
    sku_from_stream_record,
)
from shop.products import ProductStore
from shop.stream_events import validate_stream_event

from drivers.metrics import emf_points, select
from local_twin.redis_server import RedisServer
from local_twin.twin import http_api_event
from tests.unit.handler_harness import FakeContext, create_state_table, fresh_import

GENERATION_TTL = CacheSettings().generation_ttl_seconds
STREAM_ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/unit-state/stream/2024-01-01T00:00:00.000"


def stream_record(pk: Any, sequence: str, created: float = 1_700_000_000.0) -> dict[str, Any]:
    """A KEYS_ONLY record as Lambda delivers it from a DynamoDB stream."""
    return {
        "eventID": f"event-{sequence}",
        "eventName": "MODIFY",
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": {
            "ApproximateCreationDateTime": created,
            "Keys": {"pk": {"S": pk} if isinstance(pk, str) else pk, "sk": {"S": "PRODUCT"}},
            "SequenceNumber": sequence,
            "SizeBytes": 40,
            "StreamViewType": "KEYS_ONLY",
        },
        "eventSourceARN": STREAM_ARN,
    }


def points(capsys: pytest.CaptureFixture[str]) -> list:
    """What this test's code recorded, written as a handler's end of invocation writes it."""
    observability.buffer.flush()
    return emf_points(capsys.readouterr().out.splitlines())


# --- fakes -------------------------------------------------------------------------------


class FakeClock:
    """Monotonic clock and sleep in one: sleeping advances the clock."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.sleeps.append(seconds)
        self.now += seconds


class FullDelay:
    """An rng whose jitter is nil: every delay is its ceiling."""

    def random(self) -> float:
        return 1.0


class FakeCache:
    """A client whose invalidation transaction fails while `down(attempt_time)` is true."""

    def __init__(self, clock: FakeClock, down, attempt_cost: float = 0.0) -> None:
        self.clock = clock
        self.down = down
        self.attempt_cost = attempt_cost
        self.attempts: list[tuple[float, bool]] = []
        self.commands: list[tuple[str, str]] = []

    def pipeline(self, transaction: bool) -> FakeCache:
        assert transaction, "set-generation and delete must be one transaction"
        self._queued: list[tuple[str, str]] = []
        return self

    def set(self, key: str, value: str, ex: int) -> None:
        assert ex == GENERATION_TTL
        self._queued.append(("set", key))

    def delete(self, key: str) -> None:
        self._queued.append(("delete", key))

    def execute(self) -> None:
        started = self.clock.now
        self.clock.now += self.attempt_cost
        failed = bool(self.down(started))
        self.attempts.append((started, not failed))
        if failed:
            raise redis.exceptions.TimeoutError("Timeout reading from socket")
        self.commands.extend(self._queued)


def invalidator_over(fake: FakeCache, clock: FakeClock) -> Invalidator:
    return Invalidator(
        lambda: fake, CACHE_ERRORS, GENERATION_TTL, sleep=clock.sleep, clock=clock, rng=FullDelay()
    )


# --- the writer's fast path ----------------------------------------------------------------


def test_writer_retries_with_backoff_until_the_cache_answers(capsys) -> None:
    clock = FakeClock()
    fake = FakeCache(clock, down=lambda _: len(fake.attempts) < 2)
    assert invalidator_over(fake, clock).after_write("SKU-1", max_attempts=3)
    assert [ok for _, ok in fake.attempts] == [False, False, True]
    assert clock.sleeps == pytest.approx([0.02, 0.04]), "exponential backoff between attempts"
    assert fake.commands == [("set", generation_key("SKU-1")), ("delete", value_key("SKU-1"))]
    seen = points(capsys)
    assert select(seen, "CacheInvalidation", Path="sync", Strategy="cache") == [1.0]
    assert select(seen, "CacheInvalidationFailed") == []


def test_writer_gives_up_after_its_attempts_and_never_raises(capsys) -> None:
    clock = FakeClock()
    fake = FakeCache(clock, down=lambda _: True)
    assert invalidator_over(fake, clock).after_write("SKU-1", max_attempts=3) is False
    assert len(fake.attempts) == 3 and len(clock.sleeps) == 2, "no sleep after the last attempt"
    seen = points(capsys)
    assert select(seen, "CacheInvalidationFailed", Path="sync", Strategy="cache") == [1.0]
    assert select(seen, "CacheInvalidation") == []


def test_a_cluster_that_cannot_be_reached_is_a_cache_error_and_retried() -> None:
    # RedisCluster raises RedisClusterException (not a RedisError) from its constructor.
    clock = FakeClock()
    made = []

    def connect() -> FakeCache:
        made.append(1)
        if len(made) == 1:
            raise redis.exceptions.RedisClusterException("Redis Cluster cannot be connected")
        return FakeCache(clock, down=lambda _: False)

    invalidator = Invalidator(connect, CACHE_ERRORS, GENERATION_TTL, sleep=clock.sleep, clock=clock)
    assert invalidator.invalidate("SKU-1", "sync", max_attempts=3) == 2


def test_backoff_is_exponential_jittered_and_capped() -> None:
    backoff = Backoff(base_ms=20, cap_ms=200)

    class Fixed:
        def __init__(self, value: float) -> None:
            self.value = value

        def random(self) -> float:
            return self.value

    ceilings = [0.02, 0.04, 0.08, 0.16, 0.2, 0.2, 0.2]
    for attempt, ceiling in enumerate(ceilings, start=1):
        assert backoff.delay_seconds(attempt, Fixed(1.0)) == pytest.approx(ceiling)
        assert backoff.delay_seconds(attempt, Fixed(0.0)) == pytest.approx(ceiling / 2)
    assert backoff.delay_seconds(60, Fixed(1.0)) == pytest.approx(0.2), "no overflow, still capped"


# --- the stream path's deadline ------------------------------------------------------------


def test_stream_invalidation_retries_until_the_cache_comes_back(capsys) -> None:
    clock = FakeClock(now=0.0)
    back_at = 42.0  # a 42 s outage, well inside one invocation's deadline
    fake = FakeCache(clock, down=lambda at: at < back_at, attempt_cost=0.25)  # each failure: a timeout
    invalidator = invalidator_over(fake, clock)
    attempts = invalidator.invalidate("SKU-1", "stream", deadline=deadline_from(119_000, 1000, clock))
    assert attempts == len(fake.attempts) > 80, "kept retrying through the outage"
    first_success = fake.attempts[-1][0]
    assert [ok for _, ok in fake.attempts].count(True) == 1
    assert back_at <= first_success <= back_at + 0.2 + 0.25, "first try after recovery within one cap"
    assert max(clock.sleeps) <= 0.2
    assert select(points(capsys), "CacheInvalidation", Path="stream") == [1.0]


def test_stream_invalidation_stops_at_the_deadline(capsys) -> None:
    clock = FakeClock(now=0.0)
    fake = FakeCache(clock, down=lambda _: True, attempt_cost=0.25)
    deadline = deadline_from(10_000, 1000, clock)
    assert deadline == pytest.approx(9.0)
    with pytest.raises(CacheUnavailable, match="SKU-1 gave up after"):
        invalidator_over(fake, clock).invalidate("SKU-1", "stream", deadline=deadline)
    assert all(started < deadline for started, _ in fake.attempts), "no attempt starts after the deadline"
    assert fake.attempts[-1][0] > deadline - 0.2 - 0.25, "kept trying until the deadline"
    assert clock.now <= deadline + 0.25, "never sleeps past the deadline"
    assert select(points(capsys), "CacheInvalidationFailed", Path="stream") == [1.0]


def test_a_passed_deadline_makes_no_attempt() -> None:
    clock = FakeClock(now=5.0)
    fake = FakeCache(clock, down=lambda _: False)
    with pytest.raises(CacheUnavailable, match="0 attempt"):
        invalidator_over(fake, clock).invalidate("SKU-1", "stream", deadline=5.0)
    assert fake.attempts == []
    with pytest.raises(ValueError, match="max_attempts or a deadline"):
        invalidator_over(fake, clock).invalidate("SKU-1", "stream")


def test_invalidation_lag_is_measured_from_the_records_creation(capsys) -> None:
    clock = FakeClock()
    fake = FakeCache(clock, down=lambda _: False)
    stream = StreamInvalidator(invalidator_over(fake, clock), wall_clock=lambda: 1_700_000_000.25)
    record = stream_record("PRODUCT#SKU-9", "100", created=1_700_000_000.0)
    assert stream.invalidate_record(record, deadline=clock.now + 5) == "SKU-9"
    seen = points(capsys)
    assert select(seen, "InvalidationLag", Path="stream", Strategy="cache") == [250.0]
    assert select(seen, "CacheInvalidation", Path="stream") == [1.0]


def test_a_record_without_creation_time_is_invalidated_without_a_lag_point(capsys) -> None:
    clock = FakeClock()
    fake = FakeCache(clock, down=lambda _: False)
    record = stream_record("PRODUCT#SKU-9", "100")
    del record["dynamodb"]["ApproximateCreationDateTime"]
    StreamInvalidator(invalidator_over(fake, clock)).invalidate_record(record, deadline=clock.now + 5)
    seen = points(capsys)
    assert select(seen, "InvalidationLag") == [] and select(seen, "CacheInvalidation") == [1.0]


def test_sku_comes_from_the_product_key() -> None:
    assert sku_from_stream_record(stream_record("PRODUCT#ABC-123", "1")) == "ABC-123"


@pytest.mark.parametrize(
    "record",
    [
        {"eventSource": "aws:dynamodb", "dynamodb": {"SequenceNumber": "1"}},
        stream_record({"N": "7"}, "1"),
        stream_record("CART#c1", "1"),
        stream_record("PRODUCT#", "1"),
        stream_record("PRODUCT#not a sku", "1"),
        stream_record("PRODUCT#SKU-1\n", "1"),
        {**stream_record("PRODUCT#SKU-1", "1"), "dynamodb": None},
    ],
    ids=[
        "no-keys",
        "numeric-pk",
        "not-a-product",
        "empty-sku",
        "invalid-sku",
        "trailing-newline",
        "null-dynamodb",
    ],
)
def test_a_record_naming_no_product_is_poison(record) -> None:
    with pytest.raises(PoisonRecord, match="stream record"):
        sku_from_stream_record(record)


# --- the handler, against a real Redis -----------------------------------------------------


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(Path(tmp_path_factory.mktemp("redis-invalidator")))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def raw(redis_server: RedisServer) -> redis.Redis:
    client = redis.Redis.from_url(redis_server.url)
    client.flushall()
    return client


def cache_environment(monkeypatch: pytest.MonkeyPatch, endpoint: str) -> None:
    for name, value in {
        "CACHE_ENDPOINT": endpoint,
        "CACHE_TLS": "false",
        "CACHE_CLUSTER_MODE": "false",
        "CACHE_USER": "",
        "AWS_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def invalidator_handler(monkeypatch: pytest.MonkeyPatch, redis_server: RedisServer) -> Any:
    cache_environment(monkeypatch, f"127.0.0.1:{redis_server.port}")
    return fresh_import("handlers.cache_invalidator").handler


def cached(raw: redis.Redis, sku: str, price: int) -> bytes:
    """A cached value and its generation token, as a reader leaves them."""
    raw.set(value_key(sku), json.dumps({"price_cents": price}), ex=300)
    raw.set(generation_key(sku), b"token-before", ex=GENERATION_TTL)
    return b"token-before"


def test_a_poison_record_is_reported_and_the_records_after_it_are_invalidated(
    invalidator_handler, raw, capsys, caplog
) -> None:
    for sku in ("SKU-A", "SKU-B"):
        cached(raw, sku, 100)
    event = {
        "Records": [
            stream_record("PRODUCT#SKU-A", "101", created=time.time()),
            stream_record("PRODUCT#lower case", "102"),
            stream_record("PRODUCT#SKU-B", "103", created=time.time()),
        ]
    }
    capsys.readouterr()
    response = invalidator_handler(event, FakeContext())
    assert response == {"batchItemFailures": [{"itemIdentifier": "102"}]}
    for sku in ("SKU-A", "SKU-B"):
        assert raw.get(value_key(sku)) is None, f"{sku} invalidated"
        assert raw.get(generation_key(sku)) not in (None, b"token-before")
    seen = points(capsys)
    assert select(seen, "CacheInvalidation", Path="stream") == [1.0, 1.0]
    summary = [r for r in caplog.records if r.getMessage() == "stream batch done"]
    assert [(r.records, r.failed, r.invalidated_skus) for r in summary] == [(3, 1, ["SKU-A", "SKU-B"])], (
        "the batch's log line names the products it invalidated, not the poison record"
    )
    lags = select(seen, "InvalidationLag", Path="stream")
    assert len(lags) == 2 and all(0 <= lag < 5000 for lag in lags)


def test_a_batch_of_good_records_reports_no_failure(invalidator_handler, raw) -> None:
    cached(raw, "SKU-C", 100)
    response = invalidator_handler({"Records": [stream_record("PRODUCT#SKU-C", "201")]}, FakeContext())
    assert response == {"batchItemFailures": []}
    assert raw.get(value_key("SKU-C")) is None


@pytest.mark.parametrize(
    "event",
    [
        {},
        [],
        None,
        "Records",
        {"Records": []},
        {"Records": "x"},
        http_api_event("PUT", "/products/SKU-D", "PUT /products/{sku}", {"sku": "SKU-D"}, "{}", {}),
        {"Records": [{"eventSource": "aws:sqs", "messageId": "1", "body": "PRODUCT#SKU-D"}]},
        {"Records": [{**stream_record("PRODUCT#SKU-D", "1"), "dynamodb": {"Keys": {}}}]},
        {"Records": [stream_record("PRODUCT#SKU-D", "1"), "not a record"]},
    ],
    ids=[
        "empty",
        "list",
        "none",
        "string",
        "no-records",
        "records-not-list",
        "http-api",
        "sqs",
        "no-sequence-number",
        "one-bad-record",
    ],
)
def test_a_non_stream_event_is_refused_and_changes_nothing(invalidator_handler, raw, event) -> None:
    token = cached(raw, "SKU-D", 100)
    with pytest.raises(ValueError, match="handles DynamoDB Streams events"):
        invalidator_handler(event, FakeContext())
    assert raw.get(generation_key("SKU-D")) == token and raw.get(value_key("SKU-D")) is not None
    with pytest.raises(ValueError, match="DynamoDB Streams"):
        validate_stream_event(event)


@dataclass
class ShortContext(FakeContext):
    remaining_ms: int = 10_000

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def test_a_cache_down_past_the_deadline_fails_the_batch_within_the_invocation(
    monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    cache_environment(monkeypatch, "127.0.0.1:1")  # refused: fails fast, so it retries many times
    monkeypatch.delenv("CACHE_INVALIDATION_MARGIN_MS", raising=False)  # the default, 1000 ms
    handler = fresh_import("handlers.cache_invalidator").handler
    event = {"Records": [stream_record(f"PRODUCT#SKU-{n}", str(300 + n)) for n in range(3)]}
    capsys.readouterr()
    started = time.monotonic()
    response = handler(event, ShortContext(remaining_ms=1500))
    elapsed = time.monotonic() - started
    assert response == {"batchItemFailures": [{"itemIdentifier": str(300 + n)} for n in range(3)]}, (
        "reported record by record, not raised: Lambda retries from the first, counted"
    )
    assert 0.45 <= elapsed < 1.5, "retried until the deadline (remaining - margin), not past it"
    assert select(points(capsys), "CacheInvalidationFailed", Path="stream") == [1.0, 1.0, 1.0]


# --- the outage, reproduced against a paused redis-server ---------------------------


@pytest.mark.skipif(sys.platform == "win32", reason="SIGSTOP/SIGCONT")
def test_after_a_pause_the_stream_invalidator_clears_the_stale_entry_within_one_backoff(
    tmp_path: Path,
) -> None:
    server = RedisServer(tmp_path)
    server.start()
    admin = redis.Redis.from_url(server.url)
    pid = int(admin.info("server")["process_id"])

    def client(timeout_ms: int) -> redis.Redis:
        return redis.Redis.from_url(
            server.url,
            socket_timeout=timeout_ms / 1000,
            socket_connect_timeout=timeout_ms / 1000,
            retry=Retry(NoBackoff(), 0),
        )

    try:
        with mock_aws():
            store = ProductStore(create_state_table("unit-outage-state"))
            reads = client(50)
            breaker = CircuitBreaker(3, 0.3)
            catalog = CachedCatalog(store, lambda: reads, breaker, CacheSettings(), CACHE_ERRORS)
            stream = StreamInvalidator(Invalidator(lambda: client(250), CACHE_ERRORS, GENERATION_TTL))
            store.put("SKU-P", "Mug", 100, 1, 0)
            assert catalog.get("SKU-P").price_cents == 100 and catalog.get("SKU-P").price_cents == 100
            outcome: dict[str, Any] = {}
            os.kill(pid, signal.SIGSTOP)
            try:
                for _ in range(4):
                    assert catalog.get("SKU-P").price_cents == 100, "served from the table"
                assert breaker.state == "open"
                store.put("SKU-P", "Mug", 999, 1, 1)  # the writer's sync invalidation failed

                def deliver() -> None:
                    record = stream_record("PRODUCT#SKU-P", "1", created=time.time())
                    try:
                        stream.invalidate_record(record, deadline=time.monotonic() + 20)
                    finally:
                        outcome["done"] = time.monotonic()

                worker = threading.Thread(target=deliver)
                worker.start()
                time.sleep(0.6)  # the invalidator retries against the paused server
                assert "done" not in outcome
            finally:
                resumed = time.monotonic()
                os.kill(pid, signal.SIGCONT)
            worker.join(20)
            stale_window = outcome["done"] - resumed
            assert stale_window < 1.5, f"stale entry lived {stale_window:.3f} s after the resume"
            assert admin.get(value_key("SKU-P")) is None
            time.sleep(0.35)  # the read breaker's cool-down
            assert catalog.get("SKU-P").price_cents == 999
            assert json.loads(admin.get(value_key("SKU-P")))["price_cents"] == 999
    finally:
        os.kill(pid, signal.SIGCONT)
        server.stop()


# --- the catalog handler's PUT ---------------------------------------------------------------


@pytest.fixture
def catalog_module(monkeypatch: pytest.MonkeyPatch, redis_server: RedisServer, raw) -> Iterator[Any]:
    cache_environment(monkeypatch, f"127.0.0.1:{redis_server.port}")
    monkeypatch.setenv("STATE_TABLE_NAME", "unit-catalog-state")
    monkeypatch.setenv("CACHE_TIMEOUT_MS", "50")
    with mock_aws():
        create_state_table("unit-catalog-state")
        yield fresh_import("handlers.catalog")


def put(module: Any, sku: str, price: int, version: int) -> dict[str, Any]:
    body = json.dumps({"name": "Mug", "price_cents": price, "stock": 1, "version": version})
    event = http_api_event("PUT", f"/products/{sku}", "PUT /products/{sku}", {"sku": sku}, body, {})
    return module.handler(event, FakeContext())


def get_price(module: Any, sku: str) -> int:
    event = http_api_event("GET", f"/products/{sku}", "GET /products/{sku}", {"sku": sku}, None, {})
    return json.loads(module.handler(event, FakeContext())["body"])["price_cents"]


def test_invalidation_has_its_own_connection_with_a_longer_timeout(catalog_module) -> None:
    reads = catalog_module.catalog.client.connection_pool.connection_kwargs
    invalidations = catalog_module.invalidator.client.connection_pool.connection_kwargs
    assert reads["socket_timeout"] == reads["socket_connect_timeout"] == 0.05
    assert invalidations["socket_timeout"] == invalidations["socket_connect_timeout"] == 0.25
    assert catalog_module.sync_attempts == 3


def test_an_open_read_breaker_does_not_skip_the_writers_invalidation(catalog_module, raw, capsys) -> None:
    assert put(catalog_module, "SKU-W", 100, 0)["statusCode"] == 201
    assert get_price(catalog_module, "SKU-W") == 100
    token = raw.get(generation_key("SKU-W"))
    assert raw.get(value_key("SKU-W")) is not None and token is not None
    breaker = catalog_module.catalog._breaker
    for _ in range(3):
        breaker.record_failure()
    assert breaker.state == "open"
    capsys.readouterr()
    assert put(catalog_module, "SKU-W", 999, 1)["statusCode"] == 200
    assert raw.get(value_key("SKU-W")) is None, "deleted although reads skip the cache"
    assert raw.get(generation_key("SKU-W")) not in (None, token)
    assert breaker.state == "open" and breaker.times_opened == 1, "the write left the breaker alone"
    assert select(points(capsys), "CacheInvalidation", Path="sync") == [1.0]
    assert get_price(catalog_module, "SKU-W") == 999


def test_a_put_succeeds_when_the_cache_cannot_be_reached(
    monkeypatch: pytest.MonkeyPatch, catalog_module, capsys
) -> None:
    monkeypatch.setenv("CACHE_ENDPOINT", "127.0.0.1:1")
    monkeypatch.setenv("CACHE_INVALIDATION_ATTEMPTS", "2")
    module = fresh_import("handlers.catalog")
    capsys.readouterr()
    assert put(module, "SKU-X", 100, 0)["statusCode"] == 201
    seen = points(capsys)
    assert select(seen, "CacheInvalidationFailed", Path="sync") == [1.0]
    assert module.products.find("SKU-X").price_cents == 100, "the table holds the write"
