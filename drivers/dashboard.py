"""The figures of modules/observability's dashboard, computed on the twin from the same EMF metrics.

In AWS, CloudWatch turns the functions' EMF records into metrics and the dashboard graphs them.
The twin has no CloudWatch metrics engine, so this reads the same records back from the
functions' log groups (`drivers.metrics.emf_points`) and computes the same figures, over the
whole window given rather than per period. The metric names come from the module itself
(`local.app_metrics` in modules/observability), so the twin and the dashboard cannot disagree on
a name; tests/unit/test_observability_metrics.py ties those names to lambda_src/.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache

from drivers.metrics import MetricPoint, percentile, select
from tools import hcl

MODULE = hcl.REPO_ROOT / "modules" / "observability"
OUTCOMES = ("hit", "miss", "fallback")


@cache
def metric_names() -> dict[str, str]:
    """local.app_metrics of modules/observability: key -> metric name."""
    loaded = hcl.TerraformDir.load(MODULE)
    return {key: hcl.unquote(value) for key, value in hcl.body_items(loaded.locals["app_metrics"])}


def _values(points: list[MetricPoint], key: str, **dimensions: str) -> list[float]:
    return select(points, metric_names()[key], **dimensions)


def _dimension_values(points: list[MetricPoint], key: str, dimension: str) -> list[str]:
    name = metric_names()[key]
    return sorted({p.dimensions[dimension] for p in points if p.name == name and dimension in p.dimensions})


def dashboard_figures(points: Iterable[MetricPoint]) -> dict[str, float | int | None]:
    """The dashboard's application graphs as flat dotted keys, for example
    `state.read_ms.dynamodb.p99`, `cache.hit_ratio` (None without reads), `cache.fallback_reads`.
    Latencies are percentiles over every operation of a strategy; counts are sums."""
    points = list(points)
    figures: dict[str, float | int | None] = {}
    for key, prefix in (("state_read_latency", "state.read_ms"), ("state_write_latency", "state.write_ms")):
        for strategy in _dimension_values(points, key, "Strategy"):
            values = _values(points, key, Strategy=strategy)
            figures[f"{prefix}.{strategy}.p50"] = percentile(values, 0.5)
            figures[f"{prefix}.{strategy}.p99"] = percentile(values, 0.99)

    hits = sum(_values(points, "cache_hit", Strategy="cache"))
    misses = sum(_values(points, "cache_miss", Strategy="cache"))
    figures["cache.hits"] = int(hits)
    figures["cache.misses"] = int(misses)
    figures["cache.hit_ratio"] = round(hits / (hits + misses), 4) if hits + misses else None
    figures["cache.errors"] = int(sum(_values(points, "cache_error", Strategy="cache")))
    for outcome in OUTCOMES:
        values = _values(points, "catalog_read_latency", Outcome=outcome)
        figures[f"catalog.read_ms.{outcome}.p50"] = percentile(values, 0.5)
        figures[f"catalog.read_ms.{outcome}.p99"] = percentile(values, 0.99)
    figures["cache.fallback_reads"] = len(_values(points, "catalog_read_latency", Outcome="fallback"))
    for path in _dimension_values(points, "cache_invalidation", "Path"):
        figures[f"cache.invalidations.{path}"] = int(sum(_values(points, "cache_invalidation", Path=path)))
    for path in _dimension_values(points, "cache_invalidation_failed", "Path"):
        figures[f"cache.invalidations_failed.{path}"] = int(
            sum(_values(points, "cache_invalidation_failed", Path=path))
        )
    figures["cache.invalidation_lag_ms.p99"] = percentile(_values(points, "invalidation_lag"), 0.99)

    for key, figure in (
        ("version_conflict", "version_conflicts"),
        ("idempotent_replay", "idempotent_replays"),
        ("workflow_started", "workflows_started"),
        ("cold_start", "cold_starts"),
    ):
        figures[figure] = int(sum(_values(points, key)))
    return figures
