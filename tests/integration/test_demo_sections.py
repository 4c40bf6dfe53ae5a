"""The demo's summary keys are a contract (DESIGN.md): present, and honest."""

from __future__ import annotations

import pytest

from local_twin.demo import carts

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
