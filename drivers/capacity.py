"""The capacity model behind docs/capacity.md: AWS's documented limits, the per-request costs the
bench measured, and the first limit each strategy meets at an environment's settings times N.

The round trips are the bench's own counts (tests/integration/test_bench.py asserts that
`make bench` measures exactly these); the settings come from the environment's terraform.tfvars
and the stack's variable defaults, never from a copy kept here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent

# Requests that leave the function per API operation, counted at the sockets by the bench.
ROUND_TRIPS = {
    "roundtrips.cart.get.dynamodb": 1,
    "roundtrips.cart.add_item.dynamodb": 2,
    "roundtrips.catalog.get.hit.redis": 1,
    "roundtrips.catalog.get.hit.dynamodb": 0,
    "roundtrips.catalog.get.miss.redis": 5,
    "roundtrips.catalog.get.miss.dynamodb": 1,
    "roundtrips.catalog.put.dynamodb": 1,
    "roundtrips.catalog.put.redis": 1,
    "roundtrips.checkout.place_order.dynamodb": 6,
    "roundtrips.checkout.place_order.states": 1,
}
# States a happy-path order enters (the bench's workflow.transitions_per_order).
TRANSITIONS_PER_ORDER = 6


@dataclass(frozen=True)
class Limit:
    name: str
    value: float
    unit: str
    url: str


LIMITS = {
    "dynamodb.partition_write_units": Limit(
        "DynamoDB write units per partition (one item lives in one partition)",
        1_000,
        "WCU/s",
        "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/bp-partition-key-design.html",
    ),
    "dynamodb.partition_read_units": Limit(
        "DynamoDB read units per partition",
        3_000,
        "RCU/s",
        "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/bp-partition-key-design.html",
    ),
    "dynamodb.transactional_write_units_per_item": Limit(
        "Write units a transactional write of an item up to 1 KB consumes (two: prepare and commit)",
        2,
        "WCU",
        "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis.html",
    ),
    "dynamodb.on_demand_table_default": Limit(
        "On-demand table throughput quota per table (default, each of reads and writes)",
        40_000,
        "units/s",
        "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html",
    ),
    "lambda.scaling_rate": Limit(
        "Lambda concurrency scaling rate per function",
        1_000,
        "environments per 10 s",
        "https://docs.aws.amazon.com/lambda/latest/dg/scaling-behavior.html",
    ),
    "lambda.requests_per_environment": Limit(
        "Lambda synchronous invocation requests per execution environment (10 x a function's concurrency)",
        10,
        "requests/s",
        "https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html",
    ),
    "lambda.account_concurrency": Limit(
        "Lambda concurrent executions per account and Region (default)",
        1_000,
        "environments",
        "https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html",
    ),
    "apigateway.account_rate": Limit(
        "API Gateway throttle per account and Region, all APIs (burst 5,000)",
        10_000,
        "requests/s",
        "https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html",
    ),
    "states.start_execution_refill": Limit(
        "Step Functions Standard StartExecution refill rate (us-east-1, us-west-2, eu-west-1; bucket 1,300)",
        300,
        "executions/s",
        "https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html",
    ),
    "states.state_transition_refill": Limit(
        "Step Functions Standard state transitions refill rate (us-east-1, us-west-2, eu-west-1; bucket 5,000)",
        5_000,
        "transitions/s",
        "https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html",
    ),
    "elasticache.maxclients": Limit(
        "Valkey/Redis OSS maxclients on ElastiCache (not modifiable)",
        65_000,
        "connections per node",
        "https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/ParameterGroups.Engine.html",
    ),
}

# The item size up to which a transactional write costs LIMITS["dynamodb.transactional_write_units_per_item"].
TRANSACTIONAL_ITEM_BYTES = 1024


def hot_product_reservations_per_second() -> float:
    """One SKU's reservations per second at most: its item's partition write units over what each
    reservation's conditional decrement costs (the item is under TRANSACTIONAL_ITEM_BYTES, measured on
    the twin by tests/integration/test_catalog_cache.py)."""
    return (
        LIMITS["dynamodb.partition_write_units"].value
        / LIMITS["dynamodb.transactional_write_units_per_item"].value
    )


# Baseline network bandwidth of the node types the environments use (a node bursts above it on
# network I/O credits, best effort): what a node moves for as long as you like.
NODE_TYPES_URL = "https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/CacheNodes.SupportedTypes.html"
NODE_BASELINE_GBPS = {"cache.t4g.micro": 0.064, "cache.t4g.small": 0.128, "cache.r7g.large": 0.937}
# What one catalog read moves through the node, both ways, at most: a hit is one script call (its
# command and the product's JSON back; 127 bytes for the test's product), measured on the twin's Redis
# from its own counters (tests/integration/test_catalog_cache.py); a miss is 5 round trips, at 5 KB.
CACHE_BYTES_PER_HIT = 1024
CACHE_BYTES_PER_MISS = 5 * CACHE_BYTES_PER_HIT

# Connections one execution environment of each function holds to the cache
# (lambda_src/shop/cache_connection.py): the catalog's read client, plus its own invalidation
# client once it has written; the invalidator's one. Cluster mode opens one per node it talks to.
CACHE_CONNECTIONS_PER_ENVIRONMENT = {"catalog": 2, "cache_invalidator": 1}


def _optional_default(variables_tf: str, attribute: str) -> float:
    """The default of `attribute = optional(number, N)` in the stack's variables.tf."""
    found = re.search(rf"\b{attribute}\s*=\s*optional\(number,\s*([0-9.]+)\)", variables_tf)
    if found is None:
        raise KeyError(f"terraform/variables.tf has no optional default for {attribute}")
    return float(found.group(1))


def environment_settings(environment: str) -> dict[str, float]:
    """An environment's settings as Terraform sees them: its tfvars, else the stack's defaults."""
    import hcl2

    variables_tf = (REPO_ROOT / "terraform" / "variables.tf").read_text()
    with (REPO_ROOT / "environments" / environment / "terraform.tfvars").open() as handle:
        values = hcl2.load(handle)
    api, functions = values.get("api", {}), values.get("functions", {})
    return {
        name: float(section.get(name, _optional_default(variables_tf, name)))
        for section, names in ((api, ("rate_limit", "burst_limit")), (functions, ("reserved_concurrency",)))
        for name in names
    }


def cache_node_gbps(environment: str) -> float:
    """The baseline bandwidth of the environment's cache node type (its tfvars' cache.node_type)."""
    import hcl2

    from tools.hcl import unquote

    with (REPO_ROOT / "environments" / environment / "terraform.tfvars").open() as handle:
        node_type = unquote(hcl2.load(handle)["cache"]["node_type"])
    return NODE_BASELINE_GBPS[node_type]


@dataclass(frozen=True)
class Demand:
    """Requests per second for a mix, and what each costs in round trips and concurrency."""

    total_rps: float
    catalog_share: float = 0.8
    cart_share: float = 0.15
    order_share: float = 0.05
    hit_ratio: float = 0.95
    hot_sku_order_share: float = 0.0  # share of orders that buy the one flash-sale SKU


def environments_needed(rate: float, duration_ms: float) -> float:
    """Execution environments a function needs for `rate` requests/s: Little's law (rate x duration),
    but never fewer than Lambda's 10 requests/s per environment allow; a function faster than 100 ms
    is bound by the second."""
    return max(rate * duration_ms / 1000, rate / LIMITS["lambda.requests_per_environment"].value)


def first_limits(
    settings: dict[str, Any], demand: Demand, duration_ms: dict[str, float]
) -> list[tuple[float, str, str]]:
    """Each limit's utilisation (demand / limit) for this demand, highest first: the first
    entry is the first limit reached. duration_ms: each function's mean duration in AWS."""
    rps = demand.total_rps
    orders = rps * demand.order_share
    catalog = rps * demand.catalog_share
    cart_requests = rps * demand.cart_share
    checks: list[tuple[float, str, str]] = [
        (rps / settings["rate_limit"], "the API stage's rate limit", "api.rate_limit"),
        (
            rps / LIMITS["apigateway.account_rate"].value,
            LIMITS["apigateway.account_rate"].name,
            "a Service Quotas increase",
        ),
    ]
    for function, rate in (("catalog", catalog), ("cart", cart_requests), ("checkout", orders)):
        concurrency = environments_needed(rate, duration_ms[function])
        checks.append(
            (
                concurrency / settings["reserved_concurrency"],
                f"{function}'s reserved concurrency",
                "functions.reserved_concurrency",
            )
        )
    steps = orders * (TRANSITIONS_PER_ORDER - 1)  # order-steps tasks per order
    total_concurrency = sum(
        environments_needed(rate, duration_ms[name])
        for name, rate in (
            ("catalog", catalog),
            ("cart", cart_requests),
            ("checkout", orders),
            ("order_steps", steps),
        )
    )
    checks += [
        (
            total_concurrency / LIMITS["lambda.account_concurrency"].value,
            LIMITS["lambda.account_concurrency"].name,
            "a Service Quotas increase",
        ),
        (
            orders / LIMITS["states.start_execution_refill"].value,
            LIMITS["states.start_execution_refill"].name,
            "checkout_engine = durable, or a quota increase",
        ),
        (
            orders * TRANSITIONS_PER_ORDER / LIMITS["states.state_transition_refill"].value,
            LIMITS["states.state_transition_refill"].name,
            "a quota increase",
        ),
    ]
    hot_sku_writes = (
        orders * demand.hot_sku_order_share * LIMITS["dynamodb.transactional_write_units_per_item"].value
    )
    checks.append(
        (
            hot_sku_writes / LIMITS["dynamodb.partition_write_units"].value,
            "one hot product's partition (transactional stock decrements)",
            "sharded stock counters",
        )
    )
    if "cache_node_gbps" in settings:  # every read goes to the primary: cluster mode is off
        hits, misses = catalog * demand.hit_ratio, catalog * (1 - demand.hit_ratio)
        bits = (hits * CACHE_BYTES_PER_HIT + misses * CACHE_BYTES_PER_MISS) * 8
        checks.append(
            (
                bits / (settings["cache_node_gbps"] * 1e9),
                "the cache node's baseline network bandwidth",
                "cache.node_type (or read replicas with reads from them)",
            )
        )
    connections = settings["reserved_concurrency"] * sum(CACHE_CONNECTIONS_PER_ENVIRONMENT.values())
    checks.append(
        (
            connections / LIMITS["elasticache.maxclients"].value,
            "cache connections per node at full reserved concurrency",
            "reserved concurrency bounds it",
        )
    )
    return sorted(checks, reverse=True)
