"""Demo section: cache-aside catalog reads over Valkey/Redis, a Zipf workload and an outage."""

from __future__ import annotations

import itertools
import random
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from local_twin import metrics
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
                self.failures.append(
                    f"{method} {response.status} {response.body} {response.function_error or ''}"
                )

    def read(self, _: int = 0) -> None:
        response = self.twin.request("GET", f"/products/{sku_name(self.next_sku())}")
        self._tally(requests=1, reads=1, errors=int(response.status != 200))
        if response.status != 200:
            self._note_failure("GET", response)

    def write_then_read(self) -> None:
        sku = sku_name(self.next_sku())
        read = self.twin.request("GET", f"/products/{sku}")
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
        self._tally(requests=2, errors=int(read.status != 200) + int(response.status not in (200, 409)))
        if response.status not in (200, 409):
            self._note_failure("PUT", response)
        if response.status != 200:
            return  # a concurrent writer won (409); nothing to check
        after = self.twin.request("GET", f"/products/{sku}")
        self._tally(
            requests=1,
            writes=1,
            errors=int(after.status != 200),
            stale_reads_after_write=int(after.json["price_cents"] < new_price),
        )

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


def run(twin: LocalTwin) -> dict[str, Any]:
    assert twin.redis is not None, "the catalog section needs the twin's Redis"
    seed_products(twin)
    workload = Workload(twin)
    workload.run(WARM_UP_READS)
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
    }
