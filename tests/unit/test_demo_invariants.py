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
