"""Demo section: the figures of each environment's CloudWatch dashboard (modules/observability),
computed from the same EMF metrics the functions wrote during the whole demo."""

from __future__ import annotations

from typing import Any

from local_twin import dashboard, metrics
from local_twin.twin import LocalTwin


def run(twin: LocalTwin, since_ms: int = 0) -> dict[str, Any]:
    points = [
        point
        for key in twin.function_keys
        for point in metrics.emf_points(twin.function_log(key, since_ms=since_ms))
    ]
    return {f"dashboard.{name}": value for name, value in dashboard.dashboard_figures(points).items()}
