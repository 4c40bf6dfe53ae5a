"""Demo section: cache-aside catalog reads over Valkey/Redis, a Zipf workload and an outage.

Besides the workload (hit ratio, stampede, a stop-and-start outage), three drills of the
cache's invalidation (issue 9):

- recovery: redis-server paused with SIGSTOP while products are re-priced (the writer's
  invalidation cannot reach it), then resumed; reads of an old price after the resume are
  stale, and the window from the resume to the last of them is what the stream invalidator
  bounds;
- reservations: the checkout saga changes a product's stock without the catalog; the time
  from the reservation's table write (the same transaction as the order's RESERVED status)
  to the catalog serving the new stock;
- the invalidation counts by path and the stream's lag, from the functions' EMF logs: the lag
  of single writes, and on its own the largest lag of the data load (SKUS records at once).
  InvalidationLag counts from ApproximateCreationDateTime, whole seconds (rounded down) on
  the twin as in AWS, so it reads up to 1 s high.
"""

from __future__ import annotations

import itertools
import os
import random
import signal
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drivers import metrics
from drivers.demo.checkout import order_cart
from local_twin.processes import group_members
from local_twin.twin import LocalTwin

SKUS = 1000
READS = 8000
WARM_UP_READS = 3000  # the steady-state hit ratio is measured over the 5,000 reads after it
WRITE_EVERY = 60  # one write per this many reads
ZIPF_EXPONENT = 1.1
CLIENTS = 8
STAMPEDE_CLIENTS = 10
OUTAGE_READS = 400
RECOVERY_WARM_UP_READS = 1600
RECOVERY_READS = 800
INVALIDATOR = "cache_invalidator"
STALE_DRILL_SKUS = 3
# Reads go on after the resume for at least this long (past the twin's 1 s breaker cool-down,
# when readers go back to Redis) and this long after the stream invalidations were seen.
STALE_DRILL_READ_SECONDS = 3.0
STALE_DRILL_SETTLE_SECONDS = 1.0
STREAM_DEADLINE_SECONDS = 30.0
RESERVATIONS = 5
STOCK_VISIBILITY_TIMEOUT_SECONDS = 10.0


def sku_name(index: int) -> str:
    return f"SKU-{index:04d}"


def zipf_sampler(count: int, exponent: float, seed: int) -> Any:
    rng = random.Random(seed)
    cumulative = list(itertools.accumulate(1 / (rank**exponent) for rank in range(1, count + 1)))
    population = list(range(count))
    return lambda: rng.choices(population, cum_weights=cumulative)[0]


def seed_products(twin: LocalTwin) -> None:
    """The catalog's data load: straight into the table, as an import job would."""
    table = twin.client("dynamodb")
    for start in range(0, SKUS, 25):
        requests = [
            {
                "PutRequest": {
                    "Item": {
                        "pk": {"S": f"PRODUCT#{sku_name(i)}"},
                        "sk": {"S": "PRODUCT"},
                        "name": {"S": f"Product {i}"},
                        "price_cents": {"N": str(100 + i)},
                        "stock": {"N": "100"},
                        "version": {"N": "1"},
                    }
                }
            }
            for i in range(start, min(start + 25, SKUS))
        ]
        table.batch_write_item(RequestItems={twin.table_name: requests})


class Workload:
    def __init__(self, twin: LocalTwin, seed: int = 42) -> None:
        self.twin = twin
        self.next_sku = zipf_sampler(SKUS, ZIPF_EXPONENT, seed)
        self.requests = 0
        self.reads = 0
        self.errors = 0
        self.writes = 0
        self.stale_reads_after_write = 0
        self.failures: list[str] = []  # the first few failed responses, for the report
        self._lock = threading.Lock()

    def _tally(self, **increments: int) -> None:
        with self._lock:
            for name, value in increments.items():
                setattr(self, name, getattr(self, name) + value)

    def _note_failure(self, method: str, response: Any) -> None:
        with self._lock:
            if len(self.failures) < 5:
                self.failures.append(f"{method} {response.describe()}")

    def read(self, _: int = 0) -> None:
        response = self.twin.request("GET", f"/products/{sku_name(self.next_sku())}")
        self._tally(requests=1, reads=1, errors=int(response.status != 200))
        if response.status != 200:
            self._note_failure("GET", response)

    def write_then_read(self) -> None:
        sku = sku_name(self.next_sku())
        read = self.twin.request("GET", f"/products/{sku}")
        if read.status != 200:
            # Counted and noted like any failed read (a 5xx on a busy machine): there is no
            # current version to write against.
            self._tally(requests=1, errors=1)
            self._note_failure("GET", read)
            return
        current = read.json
        new_price = current["price_cents"] + 1
        response = self.twin.request(
            "PUT",
            f"/products/{sku}",
            json_body={
                "name": current["name"],
                "price_cents": new_price,
                "stock": current["stock"],
                "version": current["version"],
            },
        )
        self._tally(requests=2, errors=int(response.status not in (200, 409)))
        if response.status not in (200, 409):
            self._note_failure("PUT", response)
        if response.status != 200:
            return  # a concurrent writer won (409); nothing to check
        after = self.twin.request("GET", f"/products/{sku}")
        if after.status != 200:
            self._tally(requests=1, writes=1, errors=1)
            self._note_failure("GET", after)
            return
        self._tally(requests=1, writes=1, stale_reads_after_write=int(after.json["price_cents"] < new_price))

    def run(self, reads: int) -> None:
        def client(worker: int) -> None:
            for n in range(reads // CLIENTS):
                if (n * CLIENTS + worker) % WRITE_EVERY == 0:
                    self.write_then_read()
                self.read()

        with ThreadPoolExecutor(CLIENTS) as pool:
            list(pool.map(client, range(CLIENTS)))


def hit_ratio(points: list[metrics.MetricPoint]) -> float | None:
    hits, misses = sum(metrics.select(points, "CacheHit")), sum(metrics.select(points, "CacheMiss"))
    return round(hits / (hits + misses), 4) if hits + misses else None


def stampede_db_reads(twin: LocalTwin) -> int:
    with ThreadPoolExecutor(STAMPEDE_CLIENTS) as pool:  # every client on a warm environment
        list(pool.map(lambda _: twin.request("GET", f"/products/{sku_name(0)}"), range(STAMPEDE_CLIENTS * 2)))
    sku = f"HOT-{uuid.uuid4().hex[:8].upper()}"
    created = int(time.time() * 1000)
    twin.request(
        "PUT", f"/products/{sku}", json_body={"name": "Launch", "price_cents": 1, "stock": 1, "version": 0}
    )
    # Its own stream record's invalidation would delete the value the stampede loads, once.
    twin.wait_for_stream_invalidation({sku}, created)
    since = int(time.time() * 1000)
    with ThreadPoolExecutor(STAMPEDE_CLIENTS) as pool:
        list(pool.map(lambda _: twin.request("GET", f"/products/{sku}"), range(STAMPEDE_CLIENTS)))
    points = metrics.emf_points(twin.function_log("catalog", since_ms=since))
    return len(metrics.select(points, "StateReadLatency", Strategy="dynamodb", Operation="GetProduct"))


def now_ms() -> int:
    return int(time.time() * 1000)


def wait_until(check: Callable[[], Any], timeout: float, interval: float = 0.1) -> Any:
    """The first truthy result of `check`, or None once `timeout` seconds have passed."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() >= deadline:
            return result or None
        time.sleep(interval)


def redis_server_pid(twin: LocalTwin) -> int:
    """The redis-server process itself: the twin's Redis group is a guard and its child."""
    assert twin.redis is not None and twin.redis._group is not None, "the twin's Redis is not running"
    group = twin.redis._group
    guard = group.process.pid
    for pid in group_members(group.pgid):
        if pid == guard:
            continue
        try:  # redis-server rewrites its command line; its parent is what tells
            parent = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if parent == guard:
            return pid
    raise RuntimeError(f"no redis-server in the twin's Redis process group {group.pgid}")


@contextmanager
def paused(pid: int) -> Iterator[dict[str, float]]:
    """SIGSTOP for the block, SIGCONT whatever happens; yields {"resumed": monotonic time}."""
    moments: dict[str, float] = {}
    os.kill(pid, signal.SIGSTOP)
    try:
        yield moments
    finally:
        os.kill(pid, signal.SIGCONT)
        moments["resumed"] = time.monotonic()


def put_product(twin: LocalTwin, sku: str, price: int, version: int, stock: int = 100) -> Any:
    return twin.request(
        "PUT",
        f"/products/{sku}",
        json_body={"name": "Drill", "price_cents": price, "stock": stock, "version": version},
    )


def create_and_cache(twin: LocalTwin, skus: list[str], price: int, stock: int = 100) -> None:
    """Create the products, wait until the stream invalidator has handled their records (each
    deletes the cached value), then read each twice so that the cache holds it."""
    since = now_ms()
    for sku in skus:
        response = put_product(twin, sku, price, version=0, stock=stock)
        if response.status != 201:
            raise RuntimeError(f"creating {sku}: {response.describe()}")
    twin.wait_for_stream_invalidation(set(skus), since, STREAM_DEADLINE_SECONDS)
    for sku in skus:
        for _ in range(2):
            twin.request("GET", f"/products/{sku}")


@dataclass(frozen=True)
class DrillRead:
    started: float  # monotonic
    ended: float
    price: int | None


def stale_read_drill(twin: LocalTwin) -> dict[str, Any]:
    """Issue 9's reproduction on a few products: cache them at one price, pause redis-server,
    re-price them (the PUTs succeed, their invalidations cannot reach Redis), resume, and read
    until the stream invalidator has run. A read after the resume that shows the old price is
    stale; the window is from the resume to the end of the last stale read."""
    skus = [f"RCV-{uuid.uuid4().hex[:8].upper()}" for _ in range(STALE_DRILL_SKUS)]
    create_and_cache(twin, skus, price=100)
    with paused(redis_server_pid(twin)) as moments:
        for sku in skus:
            twin.request("GET", f"/products/{sku}")  # fallback reads; the breaker opens
        write_since = now_ms()
        for sku in skus:
            response = put_product(twin, sku, 999, version=1)
            if response.status != 200:
                raise RuntimeError(f"re-pricing {sku} while Redis was paused: {response.describe()}")
    resumed = moments["resumed"]
    reads: list[DrillRead] = []
    observed: float | None = None
    next_check = 0.0
    for n in itertools.count():
        now = time.monotonic()
        if observed is None and now >= next_check:
            if set(skus) <= twin.stream_invalidated_skus(write_since):
                observed = time.monotonic()
            next_check = now + 0.2
        done_reading = observed is not None and now >= max(
            resumed + STALE_DRILL_READ_SECONDS, observed + STALE_DRILL_SETTLE_SECONDS
        )
        if done_reading or now >= resumed + STREAM_DEADLINE_SECONDS:
            break
        started = time.monotonic()
        response = twin.request("GET", f"/products/{skus[n % len(skus)]}")
        price = response.json.get("price_cents") if response.status == 200 else None
        reads.append(DrillRead(started, time.monotonic(), price))
    stale = [read for read in reads if read.price != 999]
    return {
        "catalog.recovery.reads": len(reads),
        "catalog.recovery.stale_reads": len(stale),
        "catalog.recovery.max_stale_ms": round(
            max(((r.ended - resumed) * 1000 for r in stale), default=0.0), 1
        ),
        # Reads that began after the stream invalidations were seen (all of them, if never seen).
        "catalog.recovery.stale_reads_after_invalidation": sum(
            1 for read in stale if observed is None or read.started >= observed
        ),
        "catalog.recovery.invalidation_seen_ms": None
        if observed is None
        else round((observed - resumed) * 1000, 1),
    }


def stock_visible_after_reservation_ms(twin: LocalTwin) -> list[float]:
    """For a few saga reservations of products the catalog has cached: the time from the
    reservation's table write (observed with consistent reads; it is the transaction that
    also sets the order's RESERVED status) to the catalog serving the new stock. No catalog
    write is involved: only the stream invalidator can make it visible before the TTL."""
    skus = [f"RSV-{uuid.uuid4().hex[:8].upper()}" for _ in range(RESERVATIONS)]
    create_and_cache(twin, skus, price=100, stock=100)
    visible: list[float] = []
    orders: list[str] = []
    for sku in skus:
        placed = order_cart(twin, sku).response
        if placed.status != 202:
            raise RuntimeError(f"placing an order for {sku}: {placed.describe()}")
        orders.append(placed.json["order_id"])
        if not wait_until(lambda sku=sku: twin.product_stock(sku) == 99, 60, 0.005):
            raise RuntimeError(f"the saga did not reserve {sku} within 60 s")
        reserved = time.monotonic()
        served = wait_until(
            lambda sku=sku: twin.request("GET", f"/products/{sku}").json.get("stock") == 99,
            STOCK_VISIBILITY_TIMEOUT_SECONDS,
            0,
        )
        # Never served within the timeout: counted as the timeout, so the percentile shows it.
        visible.append(
            round((time.monotonic() - reserved) * 1000, 1)
            if served
            else STOCK_VISIBILITY_TIMEOUT_SECONDS * 1000
        )
    for order_id in orders:  # leave no saga running into the next section
        wait_until(
            lambda order_id=order_id: (
                twin.request("GET", f"/orders/{order_id}").json.get("execution_status") != "RUNNING"
            ),
            60,
            0.3,
        )
    return visible


def run(twin: LocalTwin) -> dict[str, Any]:
    assert twin.redis is not None, "the catalog section needs the twin's Redis"
    section_since = now_ms()
    seed_products(twin)
    workload = Workload(twin)
    workload.run(WARM_UP_READS)
    # The data load reaches the cache through the stream only, as a backlog of SKUS records;
    # its lag is reported on its own, and the lag of single writes from here on.
    twin.wait_for_stream_invalidation(
        {sku_name(i) for i in range(SKUS)}, section_since, STREAM_DEADLINE_SECONDS
    )
    load_points = metrics.emf_points(twin.function_log(INVALIDATOR, since_ms=section_since))
    steady_since = int(time.time() * 1000)
    workload.run(READS - WARM_UP_READS)
    steady = metrics.emf_points(twin.function_log("catalog", since_ms=steady_since))
    db_reads_per_stampede = stampede_db_reads(twin)

    outage = Workload(twin, seed=7)
    twin.redis.stop()
    outage_since = int(time.time() * 1000)
    try:
        outage.run(OUTAGE_READS)
    finally:
        twin.redis.start()
    outage_points = metrics.emf_points(twin.function_log("catalog", since_ms=outage_since))
    recovery = Workload(twin, seed=9)
    recovery.run(RECOVERY_WARM_UP_READS)  # the breakers close; the restarted, empty cache refills
    recovered_since = int(time.time() * 1000)
    recovery.run(RECOVERY_READS)
    recovered = metrics.emf_points(twin.function_log("catalog", since_ms=recovered_since))
    drill = stale_read_drill(twin)
    visible = stock_visible_after_reservation_ms(twin)
    # Every invalidation of the section, by path: the writer's (sync, the catalog function's
    # log) and the stream's (the cache-invalidator function's log, with the lag per record).
    stream_points = metrics.emf_points(twin.function_log(INVALIDATOR, since_ms=steady_since))
    catalog_points = metrics.emf_points(twin.function_log("catalog", since_ms=section_since))
    lag = metrics.select(stream_points, "InvalidationLag", Path="stream")

    return {
        "catalog.reads": workload.reads,
        "catalog.steady_state_reads": READS - WARM_UP_READS,
        "catalog.writes": workload.writes,
        "catalog.skus": SKUS,
        "catalog.hit_ratio": hit_ratio(steady),
        "catalog.stale_reads_after_write": sum(
            w.stale_reads_after_write for w in (workload, outage, recovery)
        ),
        "catalog.db_reads_per_stampede": db_reads_per_stampede,
        "catalog.outage.requests": outage.requests,
        "catalog.outage.errors": outage.errors,
        "catalog.outage.first_failures": outage.failures,
        "catalog.outage.cache_errors": int(sum(metrics.select(outage_points, "CacheError"))),
        "catalog.outage.fallback_reads": len(
            metrics.select(outage_points, "StateReadLatency", Strategy="dynamodb-fallback")
        ),
        "catalog.outage.recovered_hit_ratio": hit_ratio(recovered),
        "catalog.read_latency_ms.hit.p50": metrics.percentile(
            metrics.select(steady, "CatalogReadLatency", Outcome="hit"), 0.5
        ),
        "catalog.read_latency_ms.miss.p50": metrics.percentile(
            metrics.select(steady, "CatalogReadLatency", Outcome="miss"), 0.5
        ),
        "catalog.read_latency_ms.fallback.p50": metrics.percentile(
            metrics.select(outage_points, "CatalogReadLatency", Outcome="fallback"), 0.5
        ),
        **drill,
        "catalog.invalidations.stream": int(
            sum(metrics.select(load_points + stream_points, "CacheInvalidation", Path="stream"))
        ),
        "catalog.invalidations.sync": int(
            sum(metrics.select(catalog_points, "CacheInvalidation", Path="sync"))
        ),
        "catalog.invalidations.failed": int(
            sum(metrics.select(load_points + stream_points + catalog_points, "CacheInvalidationFailed"))
        ),
        "catalog.invalidation.data_load.lag_ms.max": max(
            metrics.select(load_points, "InvalidationLag", Path="stream"), default=None
        ),
        "catalog.invalidation.lag_ms.p50": metrics.percentile(lag, 0.5),
        "catalog.invalidation.lag_ms.p99": metrics.percentile(lag, 0.99),
        "catalog.reservations": len(visible),
        "catalog.stock_visible_after_reservation_ms.p99": metrics.percentile(visible, 0.99),
    }
