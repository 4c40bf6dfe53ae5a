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


@dataclass(frozen=True)
class Demand:
    """Requests per second for a mix, and what each costs in round trips and concurrency."""

    total_rps: float
    catalog_share: float = 0.8
    cart_share: float = 0.15
    order_share: float = 0.05
    hit_ratio: float = 0.95
    hot_sku_order_share: float = 0.0  # share of orders that buy the one flash-sale SKU


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
        concurrency = rate * duration_ms[function] / 1000  # Little's law
        checks.append(
            (
                concurrency / settings["reserved_concurrency"],
                f"{function}'s reserved concurrency",
                "functions.reserved_concurrency",
            )
        )
    steps = orders * (TRANSITIONS_PER_ORDER - 1)  # order-steps tasks per order
    total_concurrency = sum(
        rate * duration_ms[name] / 1000
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
    connections = settings["reserved_concurrency"] * sum(CACHE_CONNECTIONS_PER_ENVIRONMENT.values())
    checks.append(
        (
            connections / LIMITS["elasticache.maxclients"].value,
            "cache connections per node at full reserved concurrency",
            "reserved concurrency bounds it",
        )
    )
    return sorted(checks, reverse=True)
