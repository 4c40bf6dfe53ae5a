"""The catalog function on the twin with a real Redis: cache-aside, invalidation,
stampede protection, TTL, bad input, and a cache outage in the middle of a run."""

from __future__ import annotations

import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis
from shop.cache import value_key

from drivers import capacity, metrics

pytestmark = [pytest.mark.twin, pytest.mark.redis]


def new_sku() -> str:
    return f"T-{uuid.uuid4().hex[:10].upper()}"


def create(twin, sku: str, price: int = 1000) -> dict:
    """Create a product and wait for its stream record's invalidation, which would otherwise
    delete what the test caches next at a moment of its own."""
    since = now_ms()
    response = twin.request(
        "PUT", f"/products/{sku}", json_body={"name": "Thing", "price_cents": price, "stock": 5, "version": 0}
    )
    assert response.status == 201, response.body
    twin.wait_for_stream_invalidation({sku}, since)
    return response.json


def cache_client(twin) -> redis.Redis:
    return redis.Redis(host="127.0.0.1", port=twin.redis.port, socket_timeout=1)


def catalog_points(twin, since_ms: int) -> list[metrics.MetricPoint]:
    return metrics.emf_points(twin.function_log("catalog", since_ms=since_ms))


def now_ms() -> int:
    return int(time.time() * 1000)


def test_miss_hit_and_negative_cache(twin) -> None:
    sku = new_sku()
    create(twin, sku)
    since = now_ms()
    assert twin.request("GET", f"/products/{sku}").status == 200
    assert twin.request("GET", f"/products/{sku}").status == 200
    assert twin.request("GET", "/products/NOPE-" + sku).status == 404
    assert twin.request("GET", "/products/NOPE-" + sku).status == 404
    points = catalog_points(twin, since)
    assert sum(metrics.select(points, "CacheMiss")) == 2
    assert sum(metrics.select(points, "CacheHit")) == 2
    assert len(metrics.select(points, "StateReadLatency", Strategy="dynamodb")) == 2
    assert cache_client(twin).get(value_key("NOPE-" + sku)) == b"__none__"


def test_ttl_expiry(twin) -> None:
    sku = new_sku()
    create(twin, sku)
    twin.request("GET", f"/products/{sku}")
    ttl = cache_client(twin).ttl(value_key(sku))
    assert 270 <= ttl <= 330, "TTL 300 s with +-10 % jitter"
    cache_client(twin).expire(value_key(sku), 1)
    time.sleep(1.2)
    since = now_ms()
    assert twin.request("GET", f"/products/{sku}").status == 200
    assert sum(metrics.select(catalog_points(twin, since), "CacheMiss")) == 1


def test_put_invalidates_and_no_reader_sees_stale_data(twin) -> None:
    sku = new_sku()
    create(twin, sku, price=1)  # a product must cost something; each write below raises the price
    stale_reads = []
    since = now_ms()

    def writer() -> None:
        for version in range(1, 16):
            response = twin.request(
                "PUT",
                f"/products/{sku}",
                json_body={"name": "Thing", "price_cents": version + 1, "stock": 5, "version": version},
            )
            assert response.status == 200, response.body
            # Anything read after the write returned must be at least this new.
            for _ in range(2):
                seen = twin.request("GET", f"/products/{sku}").json["price_cents"]
                if seen < version + 1:
                    stale_reads.append((version, seen))

    def reader() -> None:
        for _ in range(25):
            assert twin.request("GET", f"/products/{sku}").status == 200

    with ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(writer)] + [pool.submit(reader) for _ in range(3)]
        for future in futures:
            future.result()
    assert stale_reads == []
    synchronous = metrics.select(catalog_points(twin, since), "CacheInvalidation", Path="sync")
    assert sum(synchronous) == 15, "every write invalidated on the fast path: 15 updates"


def test_stampede_reads_the_table_once(twin) -> None:
    warm = new_sku()
    create(twin, warm)
    concurrency = 10
    with ThreadPoolExecutor(concurrency) as pool:  # warm 10 execution environments first
        list(pool.map(lambda _: twin.request("GET", f"/products/{warm}"), range(concurrency * 2)))
    sku = new_sku()
    create(twin, sku)
    since = now_ms()
    with ThreadPoolExecutor(concurrency) as pool:
        statuses = list(
            pool.map(lambda _: twin.request("GET", f"/products/{sku}").status, range(concurrency))
        )
    assert statuses == [200] * concurrency
    db_reads = metrics.select(
        catalog_points(twin, since), "StateReadLatency", Strategy="dynamodb", Operation="GetProduct"
    )
    assert len(db_reads) == 1


@pytest.mark.parametrize(
    ("sku", "body", "headers"),
    [
        ("bad sku", {"name": "x", "price_cents": 1, "stock": 1, "version": 0}, {}),
        ("GOOD-1", {"name": "x", "price_cents": -1, "stock": 1, "version": 0}, {}),
        ("GOOD-1", {"name": "x", "price_cents": 1, "stock": 1}, {}),
        ("GOOD-1", {"name": "", "price_cents": 1, "stock": 1, "version": 0}, {}),
        ("GOOD-1", {"name": "x", "price_cents": "1", "stock": 1, "version": 0}, {}),
        ("GOOD-1", {"name": "x", "price_cents": 1, "stock": 1, "version": 0, "extra": True}, {}),
        ("GOOD-1", {"name": "x", "price_cents": 1, "stock": 1, "version": 0}, {"If-Match": "1"}),
    ],
)
def test_bad_product_input_is_400_with_no_write_and_no_cache_change(twin, sku, body, headers) -> None:
    target = sku if sku != "GOOD-1" else new_sku()
    cache = cache_client(twin)
    before = set(cache.keys(f"product:{{{target}}}*"))
    response = twin.request("PUT", f"/products/{target}", json_body=body, headers=headers)
    assert response.status == 400, response.body
    # A rejected write invalidates nothing (a later read may create a generation token itself).
    assert set(cache.keys(f"product:{{{target}}}*")) == before
    assert twin.request("GET", f"/products/{target}").status in (400, 404)


def test_stale_version_is_409(twin) -> None:
    sku = new_sku()
    create(twin, sku)
    response = twin.request(
        "PUT", f"/products/{sku}", json_body={"name": "x", "price_cents": 1, "stock": 1, "version": 0}
    )
    assert response.status == 409 and response.json["current_version"] == 1


def test_cache_outage_degrades_to_dynamodb_and_recovers(twin) -> None:
    skus = [new_sku() for _ in range(5)]
    for sku in skus:
        create(twin, sku)

    def read_all(rounds: int) -> list[int]:
        with ThreadPoolExecutor(4) as pool:
            return list(
                pool.map(
                    lambda i: twin.request("GET", f"/products/{skus[i % len(skus)]}").status, range(rounds)
                )
            )

    assert set(read_all(20)) == {200}
    outage_started = now_ms()
    twin.redis.stop()
    try:
        started = time.monotonic()
        statuses = read_all(40)
        outage_seconds = time.monotonic() - started
    finally:
        twin.redis.start()
    recovered_at = now_ms()
    assert statuses == [200] * 40, "no request may fail because the cache is down"
    outage_points = metrics.emf_points(twin.function_log("catalog", since_ms=outage_started))
    assert sum(metrics.select(outage_points, "CacheError")) >= 1
    fallback = metrics.select(outage_points, "StateReadLatency", Strategy="dynamodb-fallback")
    assert len(fallback) > sum(metrics.select(outage_points, "CacheError")), "the open breaker skips Redis"
    assert outage_seconds < 30

    time.sleep(1.5)  # the twin's breaker cool-down is 1 s
    assert set(read_all(40)) == {200}
    steady_from = now_ms()
    assert set(read_all(40)) == {200}
    points = metrics.emf_points(twin.function_log("catalog", since_ms=steady_from))
    hits, misses = sum(metrics.select(points, "CacheHit")), sum(metrics.select(points, "CacheMiss"))
    assert hits / max(1, hits + misses) >= 0.9, (hits, misses)
    assert recovered_at > outage_started


CONNECT_STATEMENT = "CacheConnectAsAppUser"  # modules/cache's client_connect_policy_statement


def test_the_cache_admits_the_catalog_only_while_its_role_may_elasticache_connect(twin) -> None:
    """ElastiCache's IAM authentication (local_twin/cache_auth.py): a catalog whose role loses
    elasticache:Connect gets WRONGPASS from the cache on its next connection and reads DynamoDB."""
    sku = new_sku()
    create(twin, sku)
    lambda_client, iam_client = twin.client("lambda"), twin.client("iam")
    catalog = twin.function_name("catalog")
    configuration = lambda_client.get_function_configuration(FunctionName=catalog)
    role = configuration["Role"].rsplit("/", 1)[-1]
    granted = {
        name: iam_client.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
        for name in iam_client.list_role_policies(RoleName=role)["PolicyNames"]
    }
    name, document = next(
        (name, document)
        for name, document in granted.items()
        if any(statement.get("Sid") == CONNECT_STATEMENT for statement in document["Statement"])
    )
    stripped = {
        **document,
        "Statement": [s for s in document["Statement"] if s.get("Sid") != CONNECT_STATEMENT],
    }
    variables = configuration["Environment"]["Variables"]

    def fresh_environments(marker: str | None) -> None:
        # A changed configuration starts new execution environments, and so new connections.
        changed = dict(variables) if marker is None else {**variables, "TWIN_TEST_MARKER": marker}
        lambda_client.update_function_configuration(FunctionName=catalog, Environment={"Variables": changed})

    iam_client.put_role_policy(RoleName=role, PolicyName=name, PolicyDocument=json.dumps(stripped))
    try:
        fresh_environments(uuid.uuid4().hex)
        since = now_ms()
        for _ in range(2):
            response = twin.request("GET", f"/products/{sku}")
            assert response.status == 200 and response.json["sku"] == sku, response.body
        points = catalog_points(twin, since)
        assert sum(metrics.select(points, "CacheError")) >= 1
        assert sum(metrics.select(points, "CacheHit")) == 0
        log = "\n".join(twin.function_log("catalog", since_ms=since))
        assert f"[twin cache auth] ElastiCache refuses AUTH as {twin.outputs.cache['user_id']}" in log
        assert "is not authorized to perform: elasticache:Connect" in log
    finally:
        iam_client.put_role_policy(RoleName=role, PolicyName=name, PolicyDocument=json.dumps(document))
        fresh_environments(uuid.uuid4().hex)
    since = now_ms()
    assert twin.request("GET", f"/products/{sku}").status == 200
    assert twin.request("GET", f"/products/{sku}").status == 200
    points = catalog_points(twin, since)
    assert sum(metrics.select(points, "CacheError")) == 0
    assert sum(metrics.select(points, "CacheHit")) >= 1
    fresh_environments(None)
    report = json.loads((twin.build_dir / "iam-usage.json").read_text())
    assert "elasticache:Connect" in report["used"][role]


def test_each_environment_holds_the_cache_connections_the_capacity_model_counts(twin) -> None:
    """docs/capacity.md: a catalog environment holds at most two connections (reads, and invalidation
    once it has written), an invalidator one; measured on the twin's Redis (CLIENT LIST), each client
    attributed to the worker process, that is the execution environment, that holds it."""
    sku = new_sku()
    create(twin, sku)  # a write: its catalog environment opens its invalidation client
    with ThreadPoolExecutor(6) as pool:
        statuses = list(pool.map(lambda _: twin.request("GET", f"/products/{sku}").status, range(60)))
    assert set(statuses) == {200}
    counted = twin.redis.connections_by_environment()
    catalog = counted[twin.function_name("catalog")]
    assert catalog, counted
    assert max(catalog.values()) <= capacity.CACHE_CONNECTIONS_PER_ENVIRONMENT["catalog"], catalog
    invalidator = counted[twin.function_name("cache_invalidator")]
    assert invalidator, counted
    assert set(invalidator.values()) == {capacity.CACHE_CONNECTIONS_PER_ENVIRONMENT["cache_invalidator"]}


def test_a_cache_hit_costs_the_node_what_the_capacity_model_counts(twin) -> None:
    """The node's side of a hit, measured from the server's own counters (INFO stats): the commands
    it runs and the bytes it moves per hit, which docs/capacity.md divides into a node's bandwidth."""
    sku = new_sku()
    create(twin, sku)
    assert twin.request("GET", f"/products/{sku}").status == 200  # the miss that fills it
    hits = 40
    inspector = cache_client(twin)

    def moved(earlier: dict, later: dict) -> int:
        return sum(later[k] - earlier[k] for k in ("total_net_input_bytes", "total_net_output_bytes"))

    first = inspector.info("stats")
    before = inspector.info("stats")
    one_info = moved(first, before)  # an INFO and its reply: counted in `after` once more
    for _ in range(hits):
        assert twin.request("GET", f"/products/{sku}").status == 200
    after = inspector.info("stats")
    commands = after["total_commands_processed"] - before["total_commands_processed"] - 1
    per_hit = (moved(before, after) - one_info) / hits
    print(f"per hit: {commands / hits:.2f} commands, {per_hit:.0f} bytes")
    assert commands / hits <= capacity.ROUND_TRIPS["roundtrips.catalog.get.hit.redis"]
    assert per_hit <= capacity.CACHE_BYTES_PER_HIT


def test_a_product_item_is_small_enough_for_two_write_units_per_reservation(twin) -> None:
    """The hot product's bound in docs/capacity.md (1,000 WCU/s a partition, 2 WCU per transactional
    write of an item up to 1 KB: 500 reservations/s of one SKU) holds only while the item stays under
    1 KB: its size as DynamoDB counts it (attribute names and values), by moto's item-size rules."""
    from moto.dynamodb.models.dynamo_type import DynamoType, Item
    from shop.products import product_key

    sku = new_sku()
    create(twin, sku)
    key = {name: {"S": value} for name, value in product_key(sku).items()}
    stored = twin.client("dynamodb").get_item(TableName=twin.table_name, Key=key)["Item"]
    size = Item(DynamoType(stored["pk"]), DynamoType(stored["sk"]), stored).size()
    print(f"product item: {size} bytes")
    assert size <= capacity.TRANSACTIONAL_ITEM_BYTES
    assert capacity.hot_product_reservations_per_second() == 500
