"""Demo section: carts in DynamoDB (optimistic locking, TTL), measured from the logs."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from drivers import client, metrics
from drivers.target import Target

WRITERS = 8
INCREMENTS_PER_WRITER = 10
BROWSING_CARTS = 40
READS_PER_CART = 5
SHORT_TTL_SECONDS = 2


class Counter:
    def __init__(self) -> None:
        self.requests = 0

    def request(self, target: Target, *args: Any, **kwargs: Any) -> Any:
        self.requests += 1
        return target.request(*args, **kwargs)


def _contended_increments(target: Target, counter: Counter, cart_id: str) -> tuple[int, int]:
    """WRITERS clients add one unit at a time, each a read-then-conditional-write."""

    def writer(_: int) -> tuple[int, int]:
        succeeded = conflicts = 0
        for _ in range(INCREMENTS_PER_WRITER):
            while True:
                # A read is safe to send again (drivers/client.py); the conditional write below is
                # not: a 5xx after it was sent may or may not have written.
                read = client.until_answered(lambda: counter.request(target, "GET", f"/carts/{cart_id}"))
                if read.response.status != 200:
                    raise RuntimeError(f"reading the contended cart: {read.response.describe()}")
                version = read.response.json["version"]
                response = counter.request(
                    target,
                    "POST",
                    f"/carts/{cart_id}/items",
                    json_body={"sku": "HOT-1", "quantity": 1},
                    headers={"If-Match": str(version)},
                )
                if response.status == 200:
                    succeeded += 1
                    break
                if response.status != 409:
                    raise RuntimeError(f"unexpected {response.describe()}")
                conflicts += 1
        return succeeded, conflicts

    with ThreadPoolExecutor(WRITERS) as pool:
        results = list(pool.map(writer, range(WRITERS)))
    return sum(s for s, _ in results), sum(c for _, c in results)


def _stored_quantity(target: Target, cart_id: str, sku: str) -> int:
    item = target.stored_item(f"CART#{cart_id}", "CART")
    return int(item["items"]["M"][sku]["N"]) if item else 0


def _expiry_check(target: Target, counter: Counter) -> bool:
    """Deploys the cart function with a 2 s TTL, lets a cart expire, and reads it back."""
    lambda_client = target.client("lambda")
    name = target.function_name("cart")
    environment = target.function_environment("cart")
    lambda_client.update_function_configuration(
        FunctionName=name,
        Environment={"Variables": {**environment, "CART_TTL_SECONDS": str(SHORT_TTL_SECONDS)}},
    )
    try:
        cart_id = f"expiring-{uuid.uuid4().hex[:8]}"
        created = counter.request(target, "PUT", f"/carts/{cart_id}", json_body={"items": {"SKU-1": 1}})
        fresh_read = counter.request(target, "GET", f"/carts/{cart_id}").status
        time.sleep(SHORT_TTL_SECONDS + 1.1)
        expired_read = counter.request(target, "GET", f"/carts/{cart_id}").status
        still_stored = target.stored_item(f"CART#{cart_id}", "CART") is not None
        return created.status == 201 and fresh_read == 200 and expired_read == 404 and still_stored
    finally:
        lambda_client.update_function_configuration(FunctionName=name, Environment={"Variables": environment})


def run(target: Target) -> dict[str, Any]:
    started_ms = int(time.time() * 1000)
    counter = Counter()
    hot_cart = f"hot-{uuid.uuid4().hex[:8]}"
    counter.request(target, "PUT", f"/carts/{hot_cart}", json_body={"items": {"HOT-1": 1}})
    before = _stored_quantity(target, hot_cart, "HOT-1")
    successes, conflicts = _contended_increments(target, counter, hot_cart)
    after = _stored_quantity(target, hot_cart, "HOT-1")

    def browse(index: int) -> None:
        cart_id = f"browse-{index}-{uuid.uuid4().hex[:6]}"
        counter.request(target, "PUT", f"/carts/{cart_id}", json_body={"items": {"SKU-1": 1}})
        for _ in range(READS_PER_CART):
            counter.request(target, "GET", f"/carts/{cart_id}")

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(browse, range(BROWSING_CARTS)))
    expired_reads_absent = _expiry_check(target, counter)

    points = metrics.emf_points(target.function_log("cart", since_ms=started_ms))
    reads = metrics.select(points, "StateReadLatency", Strategy="dynamodb")
    writes = metrics.select(points, "StateWriteLatency", Strategy="dynamodb")
    return {
        "carts.operations": counter.requests,
        "carts.version_conflicts_detected": conflicts,
        "carts.version_conflict_metrics": int(sum(metrics.select(points, "VersionConflict"))),
        "carts.successful_increments": successes,
        "carts.lost_updates": successes - (after - before),
        "carts.expired_reads_absent": expired_reads_absent,
        "carts.read_latency_ms.p50": metrics.percentile(reads, 0.50),
        "carts.read_latency_ms.p99": metrics.percentile(reads, 0.99),
        "carts.write_latency_ms.p50": metrics.percentile(writes, 0.50),
        "carts.write_latency_ms.p99": metrics.percentile(writes, 0.99),
    }
