"""`make load ENV=twin`'s short run: Locust (a master and two forked workers) with the shop's mix
against the session twin's HTTP API, a step ramp, the report and the invariants from the table."""

from __future__ import annotations

import json

import pytest

from drivers import capacity, load
from drivers.load import mix
from local_twin.http_server import serving
from tests.conftest import BUILD_DIR

pytestmark = pytest.mark.twin

SHORT = load.LoadOptions(
    shape=mix.Shape(profile="step", users=4, steps=2, step_seconds=15, hold_seconds=10),
    user_rps=1.5,
    shares="catalog=0.6,cart=0.25,orders=0.15",
    catalog_skus=30,
    hot_carts=2,
    flash_stock=3,
    processes=2,
)


def test_short_load_run_reports_every_strategy_and_keeps_the_invariants(twin) -> None:
    out_dir = BUILD_DIR / "load"
    with serving(twin) as http:
        results = load.run_against(twin, http.base_url, SHORT, out_dir, "twin")
    assert load.finish(out_dir, results, SHORT.shape) == 0
    written = json.loads((out_dir / "results.json").read_text())
    assert (out_dir / "report.md").exists()
    assert (out_dir / "latency_throughput.png").stat().st_size > 0
    assert (out_dir / "errors.png").stat().st_size > 0
    # Two workers wrote ledgers: the load really ran distributed.
    assert len(list((out_dir / "ledger").glob("*.jsonl"))) >= 2
    for strategy in mix.STRATEGIES:
        assert written[f"load.strategy.{strategy}.requests"] > 0
        assert (
            written[f"load.strategy.{strategy}.latency_ms.p50"]
            <= written[f"load.strategy.{strategy}.latency_ms.p99"]
        )
    assert written["invariants.lost_updates"] == 0
    assert written["invariants.duplicate_orders"] == 0
    assert written["invariants.inventory_drift"] == 0
    assert written["invariants.flash_oversold"] == 0
    assert written["load.cart.acknowledged_increments"] > 0
    assert written["load.orders.placed"] > 0
    # Every client retry was answered with the first send's order.
    assert written["load.orders.client_retries_same_order"] == written["load.orders.placed"]
    assert written["load.errors"] == 0, {k: v for k, v in written.items() if "errors_by_status" in k}
    # The cache's connections at their peak, per execution environment: what docs/capacity.md counts.
    assert written["load.cache.connections_peak"] > 0
    per_environment = capacity.CACHE_CONNECTIONS_PER_ENVIRONMENT
    assert 1 <= written["load.cache.connections_per_environment_max.catalog"] <= per_environment["catalog"]
    assert written.get("load.cache.connections_per_environment_max.cache_invalidator", 1) == 1
    # The demo's per-state analysis over the run's sagas, in the keys and in the report.
    assert written["load.checkout.states.ValidateOrder.executions"] > 0
    assert written["load.checkout.bottleneck.p99"] in {
        key.split(".")[3] for key in written if key.startswith("load.checkout.states.")
    }
    assert "## Where the sagas' time went, per state" in (out_dir / "report.md").read_text()


def test_what_a_run_cost_is_read_back_from_the_stacks_own_cloudwatch(twin) -> None:
    """`make load ENV=<env>`'s CloudWatch read-back (drivers.load.cloudwatch.account_figures), run
    against the twin's applied stack: its names, dimensions and the cost arithmetic, with data points
    put where Lambda and DynamoDB would publish them."""
    import datetime as dt
    import time

    from drivers.load import cloudwatch

    now = time.time()
    checkout = twin.function_name("checkout")
    metrics = twin.client("cloudwatch")
    for namespace, name, dimensions, value in (
        ("AWS/Lambda", "Invocations", [{"Name": "FunctionName", "Value": checkout}], 1000.0),
        ("AWS/Lambda", "Duration", [{"Name": "FunctionName", "Value": checkout}], 80.0),
        (
            "AWS/DynamoDB",
            "ConsumedWriteCapacityUnits",
            [{"Name": "TableName", "Value": twin.table_name}],
            4000.0,
        ),
    ):
        metrics.put_metric_data(
            Namespace=namespace,
            MetricData=[
                {
                    "MetricName": name,
                    "Dimensions": dimensions,
                    "Value": value,
                    "Timestamp": dt.datetime.fromtimestamp(now - 30, tz=dt.UTC),
                }
            ],
        )
    results = {
        "load.started_epoch": now - 60,
        "load.ended_epoch": now,
        "load.requests": 20_000,
        f"load.strategy.{mix.ORDERS}.requests": 1_000,
    }
    figures = cloudwatch.account_figures(twin, results)
    assert figures["cloudwatch.lambda.checkout.Invocations"] == 1000.0
    assert figures["cloudwatch.dynamodb.ConsumedWriteCapacityUnits"] == 4000.0
    # Every function the stack applied is read, the order relay included.
    assert {f"cloudwatch.lambda.{key}.Invocations" for key in twin.function_keys} <= set(figures)
    assert figures[f"cost.{mix.ORDERS}.usd"] > 0 and figures["cost.dynamodb.usd"] > 0
    assert figures["cost.stack.usd_per_million_requests"] > 0
