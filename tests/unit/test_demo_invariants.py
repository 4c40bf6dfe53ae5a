"""The demo's pass/fail rules read the whole summary and apply only to sections that ran."""

from __future__ import annotations

from drivers.demo import broken_invariants

CHECKOUT_OK = {
    "checkout.orders": 3,
    "checkout.executions_in_terminal_state": 3,
    "checkout.inventory_drift": 0,
    "checkout.duplicate_executions": 0,
}


def test_a_clean_section_breaks_nothing_and_absent_sections_are_not_judged() -> None:
    assert broken_invariants(CHECKOUT_OK) == []


def test_cross_key_rule_and_missing_keys_are_reported() -> None:
    broken = broken_invariants({**CHECKOUT_OK, "checkout.executions_in_terminal_state": 2})
    assert broken == ["checkout.executions_in_terminal_state == checkout.orders (got 2)"]
    missing = {k: v for k, v in CHECKOUT_OK.items() if k != "checkout.inventory_drift"}
    assert broken_invariants(missing) == ["checkout.inventory_drift == 0 (got None)"]


CATALOG_OK = {
    "catalog.hit_ratio": 0.95,
    "catalog.stale_reads_after_write": 0,
    "catalog.recovery.max_stale_ms": 0.0,
    "catalog.recovery.stale_reads_after_invalidation": 0,
    "catalog.db_reads_per_stampede": 1,
    "catalog.outage.errors": 0,
}


def test_catalog_staleness_rules() -> None:
    assert broken_invariants(CATALOG_OK) == []
    assert broken_invariants({**CATALOG_OK, "catalog.recovery.max_stale_ms": 2000.0}) == []
    assert broken_invariants({**CATALOG_OK, "catalog.recovery.max_stale_ms": 2000.4}) == [
        "catalog.recovery.max_stale_ms <= 2000 (got 2000.4)"
    ]
    assert broken_invariants({**CATALOG_OK, "catalog.recovery.max_stale_ms": None}) == [
        "catalog.recovery.max_stale_ms <= 2000 (got None)"
    ]
    assert broken_invariants({**CATALOG_OK, "catalog.stale_reads_after_write": 1}) == [
        "catalog.stale_reads_after_write == 0 (got 1)"
    ]
    assert broken_invariants({**CATALOG_OK, "catalog.recovery.stale_reads_after_invalidation": 2}) == [
        "catalog.recovery.stale_reads_after_invalidation == 0 (got 2)"
    ]
    missing = {k: v for k, v in CATALOG_OK.items() if k != "catalog.recovery.max_stale_ms"}
    assert broken_invariants(missing) == ["catalog.recovery.max_stale_ms <= 2000 (got None)"]


def test_a_failed_call_names_the_function_error_the_demo_reports() -> None:
    from tools.stack import HttpResponse

    crashed = HttpResponse(500, {}, {"message": "Internal Server Error"}, "Unhandled")
    assert "Unhandled" in crashed.describe() and "500" in crashed.describe()
    assert HttpResponse(409, {}, {"error": "conflict"}).describe() == "409 {'error': 'conflict'}"


DURABLE_OK = {
    "checkout.durable.orders": 3,
    "checkout.durable.executions_in_terminal_state": 3,
    "checkout.durable.inventory_drift": 0,
    "checkout.durable.duplicate_executions": 0,
}


def test_the_durable_engine_is_judged_by_the_same_rules_when_it_ran() -> None:
    assert broken_invariants({**CHECKOUT_OK, **DURABLE_OK}) == []
    assert broken_invariants({**CHECKOUT_OK, **DURABLE_OK, "checkout.durable.inventory_drift": 1}) == [
        "checkout.durable.inventory_drift == 0 (got 1)"
    ]
    assert broken_invariants(
        {**CHECKOUT_OK, **DURABLE_OK, "checkout.durable.executions_in_terminal_state": 2}
    ) == ["checkout.durable.executions_in_terminal_state == checkout.durable.orders (got 2)"]
    missing = {k: v for k, v in DURABLE_OK.items() if k != "checkout.durable.duplicate_executions"}
    assert broken_invariants(missing) == ["checkout.durable.duplicate_executions == 0 (got None)"]


def test_side_by_side_table_has_a_column_per_engine_and_the_price_date() -> None:
    from drivers import pricing
    from drivers.demo.checkout import side_by_side

    results = {
        "checkout.orders": 56,
        "checkout.state_transitions_per_order.p50": 6,
        "checkout.cost_per_1k_orders_usd": 0.1512,
        "checkout.durable.orders": 56,
        "checkout.durable.durable_operations_per_order.p50": 5,
        "checkout.durable.cost_per_1k_orders_usd": 0.0412,
    }
    header, *rows, footnote = side_by_side(results)
    assert header.split() == ["step-functions", "durable"]
    assert rows[0].split()[-2:] == ["56", "56"]
    billed = next(row for row in rows if row.lstrip().startswith("billed units"))
    assert billed.split()[-2:] == ["6", "5"]
    cost = next(row for row in rows if row.lstrip().startswith("cost per 1,000"))
    assert cost.split()[-2:] == ["0.1512", "0.0412"]
    assert pricing.PRICE_DATE in footnote


def test_an_orders_cost_on_each_engine_follows_the_list_prices() -> None:
    from drivers import pricing

    # Six transitions and five task invocations: 6 x $0.025/1k + 5 x $0.20/M.
    assert abs(pricing.step_functions_order_usd(6, 5) - (0.00015 + 0.000001)) < 1e-12
    # Five operations, one invocation, no data: 5 x $8/M + $0.20/M.
    assert abs(pricing.durable_order_usd(5, 1, 0) - (0.00004 + 0.0000002)) < 1e-12
    # A GB written costs $0.25 and 14 days of retention at $0.15 per GB-month.
    assert abs(pricing.durable_order_usd(0, 0, pricing.GB) - (0.25 + 0.15 * 14 / 30)) < 1e-9
