"""The demo's pass/fail rules read the whole summary and apply only to sections that ran."""

from __future__ import annotations

from local_twin.demo import broken_invariants

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
    from local_twin.twin import HttpResponse

    crashed = HttpResponse(500, {}, {"message": "Internal Server Error"}, "Unhandled")
    assert "Unhandled" in crashed.describe() and "500" in crashed.describe()
    assert HttpResponse(409, {}, {"error": "conflict"}).describe() == "409 {'error': 'conflict'}"
