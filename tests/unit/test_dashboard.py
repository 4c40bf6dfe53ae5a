"""drivers.dashboard: the dashboard's figures from EMF records, as the functions write them."""

from __future__ import annotations

import json

from drivers import dashboard
from drivers.metrics import emf_points


def emf(name: str, value: float, unit: str = "Count", **dimensions: str) -> str:
    """One EMF document shaped as Powertools' single_metric writes it."""
    return json.dumps(
        {
            "_aws": {
                "Timestamp": 0,
                "CloudWatchMetrics": [
                    {
                        "Namespace": "ServerlessState",
                        "Dimensions": [sorted(dimensions)],
                        "Metrics": [{"Name": name, "Unit": unit}],
                    }
                ],
            },
            **dimensions,
            name: [value],
        }
    )


def test_names_come_from_the_module() -> None:
    names = dashboard.metric_names()
    assert names["cache_hit"] == "CacheHit" and names["state_read_latency"] == "StateReadLatency"


def test_figures_match_the_dashboards_graphs() -> None:
    catalog = {"Strategy": "cache", "service": "catalog"}
    lines = [
        *(emf("CacheHit", 1, **catalog) for _ in range(9)),
        emf("CacheMiss", 1, **catalog),
        emf("CacheError", 1, **catalog),
        *(emf("CatalogReadLatency", ms, "Milliseconds", Outcome="hit", **catalog) for ms in (1, 2, 3, 4)),
        emf("CatalogReadLatency", 40, "Milliseconds", Outcome="fallback", **catalog),
        *(
            emf(
                "StateReadLatency",
                ms,
                "Milliseconds",
                Strategy="dynamodb",
                Operation="GetCart",
                service="cart",
            )
            for ms in range(1, 101)
        ),
        emf("StateWriteLatency", 7, "Milliseconds", Strategy="dynamodb", Operation="PutCart", service="cart"),
        emf("VersionConflict", 1, Strategy="dynamodb", service="cart"),
        emf("IdempotentReplay", 1, Strategy="idempotency", service="checkout"),
        emf("WorkflowStarted", 1, Strategy="stepfunctions", service="checkout"),
        emf("CacheInvalidation", 1, Strategy="cache", Path="sync", service="catalog"),
        emf("CacheInvalidation", 1, Strategy="cache", Path="stream", service="cache-invalidator"),
        emf("CacheInvalidationFailed", 1, Strategy="cache", Path="sync", service="catalog"),
        emf(
            "InvalidationLag",
            250,
            "Milliseconds",
            Strategy="cache",
            Path="stream",
            service="cache-invalidator",
        ),
        emf("ColdStart", 1, function_name="shop-twin-cart", service="cart"),
        "START RequestId: not a metric",
    ]
    figures = dashboard.dashboard_figures(emf_points(lines))
    assert figures["cache.hit_ratio"] == 0.9
    assert (figures["cache.hits"], figures["cache.misses"], figures["cache.errors"]) == (9, 1, 1)
    assert figures["cache.fallback_reads"] == 1
    assert (figures["catalog.read_ms.hit.p50"], figures["catalog.read_ms.fallback.p99"]) == (2.0, 40.0)
    assert (figures["state.read_ms.dynamodb.p50"], figures["state.read_ms.dynamodb.p99"]) == (50.0, 99.0)
    assert figures["state.write_ms.dynamodb.p99"] == 7.0
    assert (figures["version_conflicts"], figures["idempotent_replays"], figures["workflows_started"]) == (
        1,
        1,
        1,
    )
    assert (figures["cache.invalidations.sync"], figures["cache.invalidations.stream"]) == (1, 1)
    assert figures["cache.invalidations_failed.sync"] == 1
    assert (figures["cache.invalidation_lag_ms.p99"], figures["cold_starts"]) == (250.0, 1)


def test_no_reads_means_no_ratio_rather_than_zero() -> None:
    figures = dashboard.dashboard_figures([])
    assert figures["cache.hit_ratio"] is None and figures["catalog.read_ms.hit.p50"] is None
    assert figures["cache.hits"] == 0
