"""The demo's summary keys are a contract (docs/demo.md): present, and honest."""

from __future__ import annotations

import pytest

from drivers.demo import carts

pytestmark = pytest.mark.twin

CART_KEYS = {
    "carts.operations",
    "carts.version_conflicts_detected",
    "carts.lost_updates",
    "carts.expired_reads_absent",
    "carts.read_latency_ms.p50",
    "carts.read_latency_ms.p99",
    "carts.write_latency_ms.p50",
    "carts.write_latency_ms.p99",
}


def test_cart_section_keys_and_invariants(twin) -> None:
    results = carts.run(twin)
    assert set(results) >= CART_KEYS
    assert results["carts.lost_updates"] == 0
    assert results["carts.successful_increments"] == carts.WRITERS * carts.INCREMENTS_PER_WRITER
    assert results["carts.expired_reads_absent"] is True
    assert results["carts.version_conflicts_detected"] == results["carts.version_conflict_metrics"] > 0
    assert 0 < results["carts.read_latency_ms.p50"] <= results["carts.read_latency_ms.p99"]
    assert 0 < results["carts.write_latency_ms.p50"] <= results["carts.write_latency_ms.p99"]


CATALOG_KEYS = {
    "catalog.reads",
    "catalog.hit_ratio",
    "catalog.stale_reads_after_write",
    "catalog.db_reads_per_stampede",
    "catalog.outage.requests",
    "catalog.outage.errors",
    "catalog.outage.recovered_hit_ratio",
    "catalog.read_latency_ms.hit.p50",
    "catalog.read_latency_ms.miss.p50",
    "catalog.recovery.stale_reads",
    "catalog.recovery.max_stale_ms",
    "catalog.recovery.stale_reads_after_invalidation",
    "catalog.invalidations.stream",
    "catalog.invalidations.sync",
    "catalog.invalidation.lag_ms.p50",
    "catalog.invalidation.lag_ms.p99",
    "catalog.invalidation.data_load.lag_ms.max",
    "catalog.stock_visible_after_reservation_ms.p99",
}


def test_catalog_section_keys_and_invariants(twin, monkeypatch: pytest.MonkeyPatch) -> None:
    from drivers.demo import broken_invariants, catalog

    # The same section on a smaller workload, to keep the suite quick; `make demo` runs it full size.
    for name, value in {
        "SKUS": 200,
        "READS": 2400,
        "WARM_UP_READS": 1200,
        "OUTAGE_READS": 160,
        "RECOVERY_WARM_UP_READS": 400,
        "RECOVERY_READS": 240,
    }.items():
        monkeypatch.setattr(catalog, name, value)
    results = catalog.run(twin)
    assert set(results) >= CATALOG_KEYS
    assert results["catalog.reads"] == 2400
    assert broken_invariants(results) == []
    assert results["catalog.outage.errors"] == 0, results["catalog.outage.first_failures"]
    assert results["catalog.outage.cache_errors"] > 0
    assert results["catalog.read_latency_ms.hit.p50"] < results["catalog.read_latency_ms.miss.p50"]
    # The SIGSTOP drill: its reads after the resume, none stale once the invalidator has run.
    assert results["catalog.recovery.reads"] > 0
    assert results["catalog.recovery.invalidation_seen_ms"] is not None
    assert results["catalog.recovery.max_stale_ms"] <= 2000
    # The seeded products (a data load, no catalog involved) reach the stream path; every
    # successful PUT of the section invalidates on the fast path as well.
    assert results["catalog.invalidations.stream"] >= catalog.SKUS + results["catalog.writes"]
    assert results["catalog.invalidations.sync"] >= results["catalog.writes"]
    assert 0 <= results["catalog.invalidation.lag_ms.p50"] <= results["catalog.invalidation.lag_ms.p99"]
    assert results["catalog.reservations"] == catalog.RESERVATIONS
    assert 0 < results["catalog.stock_visible_after_reservation_ms.p99"] <= 2000


ENGINE_KEYS = {
    "orders",
    "confirmed",
    "compensated",
    "inventory_drift",
    "executions_in_terminal_state",
    "end_to_end_ms.p50",
    "lambda_invocations_per_order.p50",
    "cost_per_1k_orders_usd",
}
CHECKOUT_KEYS = (
    {f"checkout.{key}" for key in ENGINE_KEYS}
    | {f"checkout.durable.{key}" for key in ENGINE_KEYS}
    | {"checkout.state_transitions_per_order.p50", "checkout.durable.durable_operations_per_order.p50"}
    | {"checkout.price_date"}
)


def test_checkout_section_keys_and_invariants(twin, monkeypatch: pytest.MonkeyPatch) -> None:
    from drivers.demo import broken_invariants, checkout

    small = [checkout.Path(p.name, 2, p.payment_token, p.decision, p.last_unit_race) for p in checkout.PATHS]
    monkeypatch.setattr(checkout, "PATHS", small)
    results = checkout.run(twin)
    assert set(results) >= CHECKOUT_KEYS
    assert results["checkout.orders"] == 2 * len(small)
    assert broken_invariants(results) == []
    # happy 2, transient 2, race 1 of 2, approved 2
    assert results["checkout.confirmed"] == 7
    assert results["checkout.compensated"] == results["checkout.orders"] - results["checkout.confirmed"]
    for prefix in ("checkout", "checkout.durable"):
        # Every order's client retry is a replay; a request resent after a 5xx whose first
        # attempt had placed the order is one too (drivers/client.py).
        assert results[f"{prefix}.client_retries"] == results["checkout.orders"]
        assert (
            results[f"{prefix}.client_retries"]
            <= results[f"{prefix}.idempotent_replays"]
            <= results[f"{prefix}.client_retries"] + results[f"{prefix}.requests_resent"]
        ), prefix
    # The durable engine, the same paths and the same outcomes.
    for key in ("orders", "confirmed", "compensated"):
        assert results[f"checkout.durable.{key}"] == results[f"checkout.{key}"], key
    assert results["checkout.durable.engine"] == "durable"
    # A happy order is 6 transitions on Step Functions and 5 operations (start + 4 steps) durable;
    # the mix's p50 is at least that.
    assert results["checkout.state_transitions_per_order.p50"] >= 6
    assert results["checkout.durable.durable_operations_per_order.p50"] >= 5
    assert results["checkout.durable.lambda_invocations_per_order.p50"] >= 1
    assert results["checkout.lambda_invocations_per_order.p50"] >= 4
    assert (
        results["checkout.cost_per_1k_orders_usd"] > 0
        and results["checkout.durable.cost_per_1k_orders_usd"] > 0
    )
