"""The bench's measurements, one function per figure group. Each returns flat dotted keys
and, where a chart needs them, raw series under keys starting with "_"."""

from __future__ import annotations

import bisect
import contextlib
import json
import math
import os
import random
import subprocess
import sys
import time
import uuid
import zipfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path, PurePosixPath
from typing import Any

import boto3
from botocore.config import Config

from drivers import metrics
from drivers.bench import naive_cart
from drivers.bench.inprocess import FakeContext, Shop, function_environment
from drivers.bench.measure import count_round_trips, interleaved, median, ratio
from drivers.demo.checkout import (
    PRICE_CENTS,
    _place,
    _product,
    _settle,
    analyse,
    analysis_keys,
    order_cart,
    state_table,
)
from drivers.demo.checkout import Path as CheckoutPath
from drivers.pricing import (
    EXPRESS_MEMORY_GB,
    EXPRESS_USD_PER_GB_SECOND,
    EXPRESS_USD_PER_REQUEST,
    PRICE_DATE,
    STANDARD_USD_PER_TRANSITION,
)
from local_twin.lambda_runtime import RUNTIME_DISTRIBUTIONS
from local_twin.twin import REGION, LocalTwin
from tools.build import canonical_name
from tools.packaging import LAMBDA_SOURCE, function_zip

Results = dict[str, Any]
ROUNDS = 7


@contextlib.contextmanager
def quiet() -> Any:
    """Handlers print their EMF metrics; the bench's own output stays readable."""
    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
        yield


def _sku() -> str:
    return f"BNC-{uuid.uuid4().hex[:8].upper()}"


def _put_product(shop: Shop, sku: str, price: int = 1_000, stock: int = 1_000) -> None:
    """Creates a product and waits until the stream invalidator has handled its record: that
    invalidation deletes the cached value, and would turn a measured hit into a miss."""
    since_ms = int(time.time() * 1000)
    with quiet():
        response = shop.call(
            "PUT",
            f"/products/{sku}",
            {"name": "Bench item", "price_cents": price, "stock": stock, "version": 0},
        )
    if response["statusCode"] != 201:
        raise RuntimeError(f"bench product {sku} not created: {response}")
    shop.twin.wait_for_stream_invalidation({sku}, since_ms)


# ---- overheads over the raw client calls ---------------------------------------------------
def overhead(shop: Shop, calls: int = 1_000) -> Results:
    catalog = shop.modules["catalog"].catalog
    carts = shop.modules["cart"].store
    table = carts._table
    sku = _sku()
    _put_product(shop, sku)
    with quiet():
        catalog.get(sku)  # loads it into the cache
        if catalog.read(sku)[1] != "hit":
            raise RuntimeError("the bench product is not served from the cache")
        key = f"product:{{{sku}}}"
        raw_client = catalog.client  # the catalog's own connection: only the code differs
        flush = shop.modules["catalog"].observability.buffer.flush

        def hit_with_flush() -> None:
            catalog.get(sku)
            flush()

        cache = interleaved(
            {
                "cache_hit": lambda: catalog.get(sku),
                "raw_get": lambda: raw_client.get(key),
                "cache_hit_with_flush": hit_with_flush,
            },
            ROUNDS,
            calls,
        )
        flush()
        cart_id = f"bench-{uuid.uuid4().hex[:8]}"
        raw_cart_id = f"bench-{uuid.uuid4().hex[:8]}"
        carts.put(cart_id, {"SKU-1": 1}, None)
        carts.put(raw_cart_id, {"SKU-1": 1}, None)
        versions = {cart_id: 1, raw_cart_id: 1}

        def store_write() -> None:
            versions[cart_id] = carts.put(
                cart_id, {"SKU-1": versions[cart_id] % 50 + 1}, versions[cart_id]
            ).version

        def raw_write() -> None:
            version = versions[raw_cart_id]
            now = int(time.time())
            table.update_item(
                Key={"pk": f"CART#{raw_cart_id}", "sk": "CART"},
                UpdateExpression="SET #items = :items, version = :next, updated_at = :now, expires_at = :expires",
                ConditionExpression="version = :expected AND expires_at > :now",
                ExpressionAttributeNames={"#items": "items"},
                ExpressionAttributeValues={
                    ":items": {"SKU-1": version % 50 + 1},
                    ":next": version + 1,
                    ":expected": version,
                    ":now": now,
                    ":expires": now + 3600,
                },
            )
            versions[raw_cart_id] = version + 1

        reads = interleaved(
            {
                "store_read": lambda: carts.find(cart_id),
                "raw_get_item": lambda: table.get_item(
                    Key={"pk": f"CART#{cart_id}", "sk": "CART"}, ConsistentRead=True
                ),
            },
            ROUNDS,
            calls // 20,
        )
        writes = interleaved({"store_write": store_write, "raw_update_item": raw_write}, ROUNDS, calls // 20)
        flush()
    labels = {
        "cache_hit": "catalog hit (CachedCatalog.get)",
        "raw_get": "raw redis GET",
        "cache_hit_with_flush": "catalog hit + metrics flush",
        "store_read": "cart store read",
        "raw_get_item": "raw get_item",
        "store_write": "cart store write",
        "raw_update_item": "raw update_item",
    }
    samples = {labels[name]: values for name, values in {**cache, **reads, **writes}.items()}
    return {
        "overhead.cache_hit_vs_raw_get": ratio(cache, "cache_hit", "raw_get"),
        "overhead.cache_hit_with_flush_vs_raw_get": ratio(cache, "cache_hit_with_flush", "raw_get"),
        "overhead.cache_hit_us": median(cache["cache_hit"]),
        "overhead.raw_get_us": median(cache["raw_get"]),
        "overhead.store_read_vs_raw_get_item": ratio(reads, "store_read", "raw_get_item"),
        "overhead.store_write_vs_raw_update_item": ratio(writes, "store_write", "raw_update_item"),
        "overhead.store_read_us": median(reads["store_read"]),
        "overhead.raw_get_item_us": median(reads["raw_get_item"]),
        "overhead.store_write_us": median(writes["store_write"]),
        "overhead.raw_update_item_us": median(writes["raw_update_item"]),
        "_samples": samples,
    }


# ---- round trips per API operation ---------------------------------------------------------
# The fewest round trips each operation could make, and why the shop makes more.
MINIMUM_ROUND_TRIPS: dict[str, tuple[dict[str, int], str]] = {
    "cart.get": ({"dynamodb": 1}, ""),
    "cart.add_item": (
        {"dynamodb": 1},
        "+1 DynamoDB: the cart rules (at most 200 lines, 999 per line) need the current lines, so the "
        "store reads, then writes conditionally on the version it read",
    ),
    "catalog.get.hit": ({"redis": 1, "dynamodb": 0}, ""),
    "catalog.get.miss": (
        {"redis": 2, "dynamodb": 1},
        "+3 Redis: the single-flight lock (SET NX) and its release keep a stampede to one table read; "
        "the look before the read takes the generation token that refuses a write-back an "
        "invalidation has overtaken",
    ),
    "catalog.put": (
        {"dynamodb": 1, "redis": 1},
        "",
    ),
    "checkout.place_order": (
        {"dynamodb": 3, "states": 1},
        "the minimum: read the cart, read its product (1 line), write the order, start the execution; "
        "+2 DynamoDB for the idempotency record (claim, then complete), +1 to record the execution "
        "ARN on the order",
    ),
}


def round_trips(shop: Shop) -> Results:
    sku, cold_sku = _sku(), _sku()
    cart_id = f"bench-{uuid.uuid4().hex[:8]}"
    with quiet():
        _put_product(shop, sku)
        _put_product(shop, cold_sku)
        shop.call("PUT", f"/carts/{cart_id}", {"items": {sku: 1}})
        shop.call("GET", f"/products/{sku}")  # cached
        catalog = shop.modules["catalog"].catalog
        catalog.client.delete(f"product:{{{cold_sku}}}")
        operations: dict[str, Callable[[], Any]] = {
            "cart.get": lambda: shop.call("GET", f"/carts/{cart_id}"),
            "cart.add_item": lambda: shop.call(
                "POST", f"/carts/{cart_id}/items", {"sku": sku, "quantity": 1}
            ),
            "catalog.get.hit": lambda: shop.call("GET", f"/products/{sku}"),
            "catalog.get.miss": lambda: shop.call("GET", f"/products/{cold_sku}"),
            "catalog.put": lambda: shop.call(
                "PUT",
                f"/products/{cold_sku}",
                {"name": "Bench item", "price_cents": 1_001, "stock": 1_000, "version": 1},
            ),
            "checkout.place_order": lambda: shop.call(
                "POST",
                "/orders",
                {"cart_id": cart_id, "payment_token": "tok_ok"},
                {"Idempotency-Key": uuid.uuid4().hex},
            ),
        }
        results: Results = {}
        for name, operation in operations.items():
            answers: list[dict[str, Any]] = []
            counts = count_round_trips(
                lambda operation=operation, answers=answers: answers.append(operation())
            )
            if answers[0]["statusCode"] >= 400:
                raise RuntimeError(f"bench operation {name} answered {answers[0]}")
            for service in sorted(set(counts) | set(MINIMUM_ROUND_TRIPS[name][0])):
                results[f"roundtrips.{name}.{service}"] = counts.get(service, 0)
    return results


# ---- speedups ------------------------------------------------------------------------------
def speedups(shop: Shop, calls: int = 200) -> Results:
    catalog = shop.modules["catalog"]
    cart = shop.modules["cart"]
    sku = _sku()
    cart_id = f"bench-{uuid.uuid4().hex[:8]}"
    with quiet():
        _put_product(shop, sku)
        catalog.catalog.get(sku)
        cart.store.put(cart_id, {sku: 2}, None)
        reads = interleaved(
            {"cached": lambda: catalog.catalog.get(sku), "uncached": lambda: catalog.products.find(sku)},
            ROUNDS,
            calls,
        )
        _, event = shop.event("GET", f"/carts/{cart_id}")
        reference = cart.handler(event, FakeContext())
        naive = naive_cart.handler(event, FakeContext())
        if (reference["statusCode"], json.loads(reference["body"])) != (
            naive["statusCode"],
            json.loads(naive["body"]),
        ):
            raise RuntimeError(
                f"the naive handler does not behave as the reference one: {naive} != {reference}"
            )
        invocations = interleaved(
            {
                "reference": lambda: cart.handler(event, FakeContext()),
                "naive": lambda: naive_cart.handler(event, FakeContext()),
            },
            ROUNDS,
            calls // 10,
        )
        catalog.observability.buffer.flush()
    return {
        "speedup.cached_vs_uncached_read": ratio(reads, "uncached", "cached"),
        "speedup.reference_vs_naive_invocation": ratio(invocations, "naive", "reference"),
        "speedup.reference_invocation_us": median(invocations["reference"]),
        "speedup.naive_invocation_us": median(invocations["naive"]),
        "_samples": {
            "catalog read (cached)": reads["cached"],
            "table read (uncached)": reads["uncached"],
            "cart GET, reference": invocations["reference"],
            "cart GET, naive": invocations["naive"],
        },
    }


# ---- catalog hit ratio: Zipf over 10,000 SKUs, then an outage and a recovery ----------------
class _MemoryTable:
    """The catalog's table for the hit-ratio run: 10,000 products read by key. The hit ratio is a
    property of the cache (keys, TTL, the Zipf traffic), not of the table behind it; an in-memory
    table lets the run make 100,000 reads in seconds."""

    def __init__(self, products: int) -> None:
        self.reads = 0
        self._items = {
            f"PRODUCT#ZIPF-{rank:05d}": {
                "pk": f"PRODUCT#ZIPF-{rank:05d}",
                "sk": "PRODUCT",
                "name": "Zipf item",
                "price_cents": 100 + rank,
                "stock": 10,
                "version": 1,
            }
            for rank in range(1, products + 1)
        }

    def get_item(self, Key: dict[str, str], ConsistentRead: bool = False) -> dict[str, Any]:
        self.reads += 1
        item = self._items.get(Key["pk"])
        return {"Item": item} if item else {}


def zipf_sampler(products: int, exponent: float, seed: int) -> Callable[[], str]:
    weights = [1 / rank**exponent for rank in range(1, products + 1)]
    cumulative, total = [], 0.0
    for weight in weights:
        total += weight
        cumulative.append(total)
    rng = random.Random(seed)

    def sample() -> str:
        rank = bisect.bisect_left(cumulative, rng.random() * total) + 1
        return f"ZIPF-{min(rank, products):05d}"

    return sample


def hit_ratio(
    twin: LocalTwin,
    shop: Shop,
    products: int = 10_000,
    warmup: int = 100_000,
    window: int = 30_000,
    outage_seconds: float = 2.0,
    recovery_seconds: float = 4.0,
    bucket: int = 1_000,
) -> Results:
    """Steady state as 130,000 reads within one TTL (300 s, nothing expires during the run) see
    it: about 430 reads/s. Then Redis stops for outage_seconds (every read falls back to the
    table) and starts again, empty, while reads go on."""
    from shop.cache import CachedCatalog, CacheSettings, CircuitBreaker
    from shop.cache_connection import CACHE_ERRORS, connect_from_environment
    from shop.products import ProductStore

    assert twin.redis is not None
    catalog = CachedCatalog(
        ProductStore(_MemoryTable(products)),
        connect=connect_from_environment,
        breaker=CircuitBreaker(threshold=3, cooldown_seconds=0.5),
        settings=CacheSettings(),
        cache_errors=CACHE_ERRORS,
        rng=random.Random(7),
    )
    sample = zipf_sampler(products, 1.1, seed=11)
    timeline: list[tuple[float, str, float]] = []  # (seconds since start, phase, hit ratio of the bucket)
    started = time.monotonic()
    flush = shop.modules["catalog"].observability.buffer.flush

    def run(phase: str, reads: int = 0, seconds: float = 0.0) -> dict[str, int]:
        outcomes = {"hit": 0, "miss": 0, "fallback": 0}
        until = time.monotonic() + seconds
        done = in_bucket = hits = 0
        while done < reads or time.monotonic() < until:
            outcome = catalog.read(sample())[1]
            outcomes[outcome] += 1
            done += 1
            in_bucket += 1
            hits += outcome == "hit"
            if in_bucket == bucket:
                timeline.append((round(time.monotonic() - started, 3), phase, hits / bucket))
                in_bucket = hits = 0
                flush()
        return outcomes

    with quiet():
        run("warm-up", reads=warmup)
        steady = run("steady", reads=window)
        twin.redis.stop()
        outage = run("outage", seconds=outage_seconds)
        twin.redis.start()
        restarted = time.monotonic() - started
        recovery = run("recovery", seconds=recovery_seconds)
        flush()
    steady_ratio = steady["hit"] / window
    recovered_at = next(
        (t for t, phase, ratio_ in timeline if phase == "recovery" and ratio_ >= 0.9 * steady_ratio), None
    )
    recovery_reads = sum(recovery.values())
    return {
        "catalog.hit_ratio.zipf_10k": round(steady_ratio, 4),
        "catalog.hit_ratio.zipf_10k.ttl_model": ttl_cache_hit_ratio(products, 1.1, warmup + window),
        "catalog.hit_ratio.outage.reads": sum(outage.values()),
        "catalog.hit_ratio.outage.fallback_reads": outage["fallback"],
        "catalog.hit_ratio.recovery": round(recovery["hit"] / recovery_reads, 4) if recovery_reads else None,
        "catalog.hit_ratio.recovery.seconds_to_90pct_of_steady": (
            round(recovered_at - restarted, 2) if recovered_at is not None else None
        ),
        "_timeline": timeline,
    }


def ttl_cache_hit_ratio(products: int, exponent: float, reads_per_ttl: float) -> float:
    """The same traffic's hit ratio in a TTL cache at equilibrium (entries live one TTL from the
    miss that loaded them, Poisson arrivals): sum of p_i * (p_i n) / (1 + p_i n), n the reads per
    TTL. Printed beside the measurement because a run this short never sees an entry expire."""
    weights = [1 / rank**exponent for rank in range(1, products + 1)]
    total = sum(weights)
    return round(sum((w / total) ** 2 * reads_per_ttl / (1 + w / total * reads_per_ttl) for w in weights), 4)


# ---- concurrency: optimistic locking under contention ----------------------------------------
def concurrency(
    twin: LocalTwin,
    workers_list: tuple[int, ...] = (1, 2, 4, 8),
    increments: int = 200,
    throughput_increments: int = 10,
) -> Results:
    from shop.carts import CartStore
    from shop.errors import VersionConflict

    def table() -> Any:
        resource = boto3.session.Session().resource(
            "dynamodb",
            endpoint_url=twin.endpoint_url,
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=Config(max_pool_connections=4),
        )
        return resource.Table(twin.table_name)

    def hammer(workers: int, per_worker: int) -> tuple[int, int, float]:
        cart_id = f"bench-{uuid.uuid4().hex[:8]}"
        # One line per worker, all in one cart item: every increment contends for the cart's version,
        # and no line passes the cart rules' 999 per product.
        CartStore(table(), ttl_seconds=3600).put(cart_id, {}, None)
        successes = [0] * workers

        def worker(index: int) -> None:
            store = CartStore(table(), ttl_seconds=3600)
            for _ in range(per_worker):
                while True:
                    try:
                        store.add_item(cart_id, f"SKU-W{index}", 1, None)
                        successes[index] += 1
                        break
                    except VersionConflict:
                        continue  # out of the store's own retries: the client tries again

        started = time.perf_counter()
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(worker, range(workers)))
        elapsed = time.perf_counter() - started
        final = sum(CartStore(table(), ttl_seconds=3600).get(cart_id).items.values())
        return sum(successes), final, elapsed

    with quiet():
        done, final, _ = hammer(8, increments)
        results: Results = {"concurrency.lost_updates": done - final, "concurrency.increments": done}
        for workers in workers_list:
            done, _, elapsed = hammer(workers, throughput_increments)
            results[f"concurrency.increments_per_s.{workers}"] = round(done / elapsed, 1)
    return results


# ---- cold start: import time in a fresh interpreter ----------------------------------------
BASELINE = "import boto3; boto3.resource('dynamodb')"


def _import_ms(statement: str, environment: dict[str, str]) -> float:
    code = (
        "import time\nstarted = time.perf_counter()\n"
        f"{statement}\n"
        "print((time.perf_counter() - started) * 1000)\n"
    )
    output = subprocess.run(
        [sys.executable, "-c", code],
        cwd=LAMBDA_SOURCE,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return float(output.stdout.strip().splitlines()[-1])


def coldstart(twin: LocalTwin, rounds: int = ROUNDS) -> Results:
    environments = {key: function_environment(twin, key) for key in twin.function_keys}
    for environment in environments.values():
        environment["PYTHONPATH"] = str(LAMBDA_SOURCE)
        environment["POWERTOOLS_TRACE_DISABLED"] = "false"  # as in AWS: the tracer and its SDK load
    handlers = {
        key: twin.client("lambda").get_function_configuration(FunctionName=twin.function_name(key))["Handler"]
        for key in environments
    }
    samples: dict[str, list[float]] = {key: [] for key in environments}
    samples["baseline"] = []
    any_environment = next(iter(environments.values()))
    order = ["baseline", *environments]
    for round_number in range(rounds):
        for key in order if round_number % 2 == 0 else reversed(order):
            if key == "baseline":
                samples[key].append(_import_ms(BASELINE, any_environment))
            else:
                module = handlers[key].rpartition(".")[0]
                samples[key].append(_import_ms(f"import {module}", environments[key]))
    results: Results = {"coldstart.baseline_ms": median(samples["baseline"])}
    for key in environments:
        results[f"coldstart.import_ms.{key}"] = median(samples[key])
        results[f"coldstart.import_vs_boto3.{key}"] = ratio(samples, key, "baseline")
    return results


# ---- package sizes -------------------------------------------------------------------------
def packages(out_dir: Path) -> Results:
    from tools.build import build_layer

    functions = function_zip()
    results: Results = {"package.function_zip_bytes": len(functions)}
    try:
        layer = build_layer(out_dir, "arm64", "3.13")
    except subprocess.CalledProcessError as error:
        print(f"    the layer could not be built (pip needs the package registry): {error}")
        return {
            **results,
            "package.layer_zip_bytes": None,
            "package.layer_unzipped_bytes": None,
            "package.layer_unzipped_bytes_beyond_runtime": None,
        }
    return {**results, "package.layer_zip_bytes": layer.stat().st_size, **layer_figures(layer)}


def layer_figures(layer: Path) -> Results:
    """The layer's unzipped size, and how much of it the runtime has a copy of too: the files that
    the RECORDs of the runtime's own distributions (the twin's RUNTIME_DISTRIBUTIONS: boto3's closure
    and the durable SDK, which the layer ships on purpose, tools/build.py) list."""
    owned: set[str] = set()
    with zipfile.ZipFile(layer) as archive:
        infos = archive.infolist()
        for info in infos:
            path = PurePosixPath(info.filename)
            dist_info = path.parent.name
            distribution = canonical_name(dist_info.removesuffix(".dist-info").rsplit("-", 1)[0])
            if (
                path.name == "RECORD"
                and dist_info.endswith(".dist-info")
                and distribution in RUNTIME_DISTRIBUTIONS
            ):
                site = path.parent.parent
                record = archive.read(info).decode().splitlines()
                owned |= {str(site / line.split(",", 1)[0]) for line in record if line}
    runtime_owned = [i for i in infos if i.filename in owned]
    unzipped = sum(i.file_size for i in infos)
    return {
        "package.layer_unzipped_bytes": unzipped,
        "package.layer_unzipped_bytes_beyond_runtime": unzipped - sum(i.file_size for i in runtime_owned),
        "package.layer_files": len(infos),
        "package.layer_runtime_provided_files": len(runtime_owned),
    }


# ---- idempotency: what the idempotency layer adds to an order placement -----------------------
def idempotency(shop: Shop, orders: int = 10) -> Results:
    """Time spent in the Powertools idempotency layer's persistence (claiming the key before the
    placement, storing the result after it), per real order placement. Measured inside each
    placement rather than as the difference of two sets of placements, whose noise on the twin (a
    placement takes about 300 ms, its Step Functions start included) is larger than the layer."""
    checkout = shop.modules["checkout"]
    persistence = checkout.persistence
    spent: list[float] = []
    sku = _sku()
    cart_id = f"bench-{uuid.uuid4().hex[:8]}"

    def timed(method: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                spent[-1] += (time.perf_counter() - started) * 1000

        return wrapper

    placements: list[float] = []
    with quiet():
        _put_product(shop, sku, price=500, stock=100_000)
        shop.call("PUT", f"/carts/{cart_id}", {"items": {sku: 1}})
        original = persistence.save_inprogress, persistence.save_success
        persistence.save_inprogress, persistence.save_success = timed(original[0]), timed(original[1])
        try:
            for _ in range(orders):
                spent.append(0.0)
                started = time.perf_counter()
                checkout.place_order(
                    request={
                        "idempotency_key": uuid.uuid4().hex,
                        "cart_id": cart_id,
                        "payment_token": "tok_ok",
                    }
                )
                placements.append((time.perf_counter() - started) * 1000)
        finally:
            persistence.save_inprogress, persistence.save_success = original
        checkout.observability.buffer.flush()
    return {
        "idempotency.overhead_ms": median(spent),
        "idempotency.place_order_ms": median(placements),
        "idempotency.overhead_share": round(median(spent) / median(placements), 3),
    }


# ---- the workflow: transitions, end to end, cost -------------------------------------------
def workflow(twin: LocalTwin, orders: int = 6) -> Results:
    happy = CheckoutPath("happy", orders)
    placed = [_place(twin, happy, _product(twin, stock=5, price=PRICE_CENTS), 1) for _ in range(orders)]
    with ThreadPoolExecutor(4) as pool:
        settled = list(pool.map(lambda order: _settle(twin, order), placed))
    transitions = [len(order.history) for order in settled]
    durations = [order.duration_ms for order in settled if order.duration_ms is not None]
    per_order = metrics.percentile(transitions, 0.5) or 0
    end_to_end = metrics.percentile(durations, 0.5) or 0
    # The same per-state table as the demo's, over the bench's orders (their execution histories).
    engine = settled[0].engine if settled else "step-functions"  # the stack's checkout_engine
    analysis = analyse(engine, settled)
    print("\n".join(state_table({engine: analysis})))
    return {
        "workflow.orders": len(settled),
        "workflow.confirmed": sum(1 for order in settled if order.status == "CONFIRMED"),
        "workflow.transitions_per_order": per_order,
        "workflow.end_to_end_ms.p50": end_to_end,
        "workflow.cost_per_1k_orders_usd": round(1_000 * per_order * STANDARD_USD_PER_TRANSITION, 4),
        "workflow.cost_per_1k_orders_usd.express": round(
            1_000
            * (
                EXPRESS_USD_PER_REQUEST
                + math.ceil(end_to_end / 100) / 10 * EXPRESS_MEMORY_GB * EXPRESS_USD_PER_GB_SECOND
            ),
            4,
        ),
        "workflow.price_date": PRICE_DATE,
        **analysis_keys("workflow", analysis),
    }


# ---- memory: a warm environment's peak after 1,000 invocations ------------------------------
def memory(twin: LocalTwin, work_dir: Path, invocations: int = 1_000) -> Results:
    """Each function's deployed code in the twin's own worker (local_twin/lambda_pool), invoked
    directly rather than through the moto server, so 5,000 invocations take seconds; the peak is
    the worker's `Max Memory Used`, as its REPORT line gives it."""
    from local_twin.lambda_pool import FunctionSpec, LambdaPool, environment_variables_for_worker
    from local_twin.lambda_runtime import LayerContent, twin_layer_zip
    from local_twin.twin import http_api_event, match_route

    sku = _sku()
    twin.request(
        "PUT",
        f"/products/{sku}",
        json_body={"name": "Bench item", "price_cents": 500, "stock": 50, "version": 0},
    )
    ordered = order_cart(twin, sku)
    order, cart_id = ordered.response.json, ordered.body["cart_id"]

    def http(method: str, path: str) -> Any:
        route_key, _, parameters = match_route(twin.outputs.routes, method, path)  # type: ignore[misc]
        return http_api_event(method, path, route_key, parameters, None, {})

    stream_arn = (
        twin.client("dynamodb").describe_table(TableName=twin.table_name)["Table"].get("LatestStreamArn", "")
    )
    stream_record = {
        "eventID": "bench-1",
        "eventName": "MODIFY",
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": REGION,
        "eventSourceARN": stream_arn,
        "dynamodb": {
            "ApproximateCreationDateTime": time.time(),
            "Keys": {"pk": {"S": f"PRODUCT#{sku}"}, "sk": {"S": "PRODUCT"}},
            "SequenceNumber": "1",
            "SizeBytes": 40,
            "StreamViewType": "KEYS_ONLY",
        },
    }
    # The order relay reads an inserted order that checkout has started already: it starts nothing.
    order_record = {
        **stream_record,
        "eventID": "bench-2",
        "eventName": "INSERT",
        "dynamodb": {
            **stream_record["dynamodb"],
            "Keys": {"pk": {"S": f"ORDER#{order['order_id']}"}, "sk": {"S": "ORDER"}},
            "SequenceNumber": "2",
        },
    }
    events: dict[str, Any] = {
        "cart": http("GET", f"/carts/{cart_id}"),
        "catalog": http("GET", f"/products/{sku}"),
        "checkout": http("GET", f"/orders/{order['order_id']}"),
        "order_steps": {"step": "ValidateOrder", "order_id": order["order_id"]},
        "cache_invalidator": {"Records": [stream_record]},
        "order_relay": {"Records": [order_record]},
    }
    code = function_zip()
    layer_zip = twin_layer_zip().read_bytes()
    runtime = environment_variables_for_worker(twin.endpoint_url, REGION)
    pool = LambdaPool(runtime, work_dir)
    peaks: dict[str, int | None] = {}
    try:

        def hammer(key: str) -> None:
            configuration = twin.client("lambda").get_function_configuration(
                FunctionName=twin.function_name(key)
            )
            environment = function_environment(twin, key)
            spec = FunctionSpec(
                name=configuration["FunctionName"],
                arn=configuration["FunctionArn"],
                handler=configuration["Handler"],
                timeout_seconds=float(configuration["Timeout"]),
                memory_mb=int(configuration["MemorySize"]),
                environment={name: environment[name] for name in configuration["Environment"]["Variables"]},
                code=code,
                # The dependencies layer is the one the twin built and uploaded (moto's API gives no
                # layer content back: its Location is a bare "s3://"); another account's layer the
                # twin has no content for, as the twin's own workers do.
                layers=tuple(
                    LayerContent(layer["Arn"], layer_zip if "-dependencies:" in layer["Arn"] else b"")
                    for layer in configuration.get("Layers", [])
                ),
            )
            result = None
            for _ in range(invocations):  # one caller: one warm environment serves them all
                result = pool.invoke(spec, events[key])
                if result.errored:
                    raise RuntimeError(f"bench invocation of {key} failed: {result.payload}")
            peaks[key] = result.max_memory_used_mb if result else None

        with ThreadPoolExecutor(len(events)) as workers:
            list(workers.map(hammer, events))
    finally:
        pool.shutdown()
    return {f"memory.peak_rss_mb.{key}": peaks[key] for key in events}


# ---- warm and cold invokes through the twin's Lambda (the harness included) ------------------
def invokes(twin: LocalTwin, warm: int = 100, cold: int = 3) -> Results:
    path = f"/carts/bench-{uuid.uuid4().hex[:8]}"
    twin.request("PUT", path, json_body={"items": {"SKU-1": 1}})

    def timed() -> float:
        started = time.perf_counter()
        twin.request("GET", path)
        return (time.perf_counter() - started) * 1000

    warm_ms = [timed() for _ in range(warm)]
    name = twin.function_name("cart")
    lam = twin.client("lambda")
    original = lam.get_function_configuration(FunctionName=name)["Timeout"]
    cold_ms = []
    for round_number in range(1, cold + 1):
        # A configuration change retires warm environments, as a deployment does.
        lam.update_function_configuration(FunctionName=name, Timeout=original + round_number)
        cold_ms.append(timed())
    lam.update_function_configuration(FunctionName=name, Timeout=original)
    return {
        "carts.invoke_ms.warm.p50": metrics.percentile(warm_ms, 0.5),
        "carts.invoke_ms.warm.p99": metrics.percentile(warm_ms, 0.99),
        "carts.invoke_ms.cold.p50": metrics.percentile(cold_ms, 0.5),
    }
