"""Reading the shop's EMF metrics back out of CloudWatch Logs, as an operator would."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class MetricPoint:
    name: str
    value: float
    dimensions: dict[str, str]


def emf_points(lines: Iterable[str]) -> list[MetricPoint]:
    points = []
    for line in lines:
        if '"_aws"' not in line:
            continue
        try:
            record = json.loads(line)
            directives = record["_aws"]["CloudWatchMetrics"]
        except (ValueError, KeyError, TypeError):
            continue
        for directive in directives:
            dimension_names = {name for group in directive.get("Dimensions", []) for name in group}
            dimensions = {name: str(record[name]) for name in dimension_names if name in record}
            for metric in directive.get("Metrics", []):
                values = record.get(metric["Name"])
                for value in values if isinstance(values, list) else [values]:
                    if isinstance(value, int | float):
                        points.append(MetricPoint(metric["Name"], float(value), dimensions))
    return points


def select(points: Iterable[MetricPoint], name: str, **dimensions: str) -> list[float]:
    return [
        point.value
        for point in points
        if point.name == name and all(point.dimensions.get(k) == v for k, v in dimensions.items())
    ]


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """Nearest-rank percentile; None for no data rather than a made-up zero."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return round(ordered[rank - 1], 3)
