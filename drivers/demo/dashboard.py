"""Demo section: the figures of each environment's CloudWatch dashboard (modules/observability),
computed from the same EMF metrics the functions wrote during the whole demo."""

from __future__ import annotations

from typing import Any

from drivers import dashboard, metrics
from drivers.target import Target


def run(target: Target, since_ms: int = 0) -> dict[str, Any]:
    points = [
        point
        for key in target.function_keys
        for point in metrics.emf_points(target.function_log(key, since_ms=since_ms))
    ]
    return {f"dashboard.{name}": value for name, value in dashboard.dashboard_figures(points).items()}
