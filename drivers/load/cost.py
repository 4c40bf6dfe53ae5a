"""Cost per million requests per strategy, from what CloudWatch says a run used and list prices.

Per strategy: its functions' invocations and GB-seconds (Lambda bills both), its share of the
HTTP API's requests, and for the saga the Step Functions transitions (executions started times
the transitions each one makes, which the demo and the bench count from execution histories;
CloudWatch has no per-execution transition count). DynamoDB's consumed capacity is published
per table, not per caller, so the table's cost is the stack's, and so is the cache's node time.
"""

from __future__ import annotations

from typing import Any

from drivers import pricing
from drivers.load import mix

# Which functions serve which strategy (terraform output's function keys).
STRATEGY_FUNCTIONS = {
    mix.CATALOG: ("catalog", "cache_invalidator"),
    mix.CART: ("cart",),
    mix.ORDERS: ("checkout", "order_steps", "order_relay", "checkout_durable"),
}
# States a happy-path order's execution enters, counted from its history by the bench
# (workflow.transitions_per_order, docs/bench.md); retries add one each.
TRANSITIONS_PER_EXECUTION = 6


def lambda_usd(invocations: float, duration_ms: float, memory_mb: int) -> float:
    gb_seconds = duration_ms / 1000 * memory_mb / 1024
    return invocations * pricing.LAMBDA_USD_PER_REQUEST + gb_seconds * pricing.LAMBDA_ARM_USD_PER_GB_SECOND


def per_million_requests(
    figures: dict[str, float],
    results: dict[str, Any],
    memory_mb: dict[str, int],
    transitions_per_execution: float = TRANSITIONS_PER_EXECUTION,
) -> dict[str, Any]:
    """USD per million client requests, per strategy and for the stack, at list prices."""
    out: dict[str, Any] = {"cost.price_date": pricing.PRICE_DATE}
    total_requests = results.get("load.requests") or 0
    stack_usd = 0.0
    for strategy, keys in STRATEGY_FUNCTIONS.items():
        requests = results.get(f"load.strategy.{strategy}.requests") or 0
        usd = requests * pricing.HTTP_API_USD_PER_REQUEST
        for key in keys:
            usd += lambda_usd(
                figures.get(f"cloudwatch.lambda.{key}.Invocations", 0.0),
                figures.get(f"cloudwatch.lambda.{key}.Duration_ms", 0.0),
                memory_mb.get(key, 0),
            )
        if strategy == mix.ORDERS:
            started = figures.get("cloudwatch.states.ExecutionsStarted", 0.0)
            usd += started * transitions_per_execution * pricing.STANDARD_USD_PER_TRANSITION
        stack_usd += usd
        out[f"cost.{strategy}.usd"] = round(usd, 6)
        out[f"cost.{strategy}.usd_per_million_requests"] = (
            round(usd / requests * 1_000_000, 2) if requests else None
        )
    table_usd = (
        figures.get("cloudwatch.dynamodb.ConsumedReadCapacityUnits", 0.0) * pricing.DYNAMODB_USD_PER_READ_UNIT
        + figures.get("cloudwatch.dynamodb.ConsumedWriteCapacityUnits", 0.0)
        * pricing.DYNAMODB_USD_PER_WRITE_UNIT
    )
    out["cost.dynamodb.usd"] = round(table_usd, 6)
    stack_usd += table_usd
    out["cost.stack.usd"] = round(stack_usd, 6)
    out["cost.stack.usd_per_million_requests"] = (
        round(stack_usd / total_requests * 1_000_000, 2) if total_requests else None
    )
    return out
