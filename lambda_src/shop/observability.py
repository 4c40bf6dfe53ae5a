"""State-access latency as EMF metrics, named as the demo summary reads them (README, "Quick start").

Each measurement is its own EMF record (Powertools `single_metric`) because the
`Operation` dimension differs per call, and one record carries one dimension set.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

from aws_lambda_powertools.metrics import MetricUnit, single_metric

READ = "StateReadLatency"
WRITE = "StateWriteLatency"


def record_latency(
    metric_name: str, strategy: str, operation: str, milliseconds: float, dimension: str = "Operation"
) -> None:
    with single_metric(
        name=metric_name,
        unit=MetricUnit.Milliseconds,
        value=round(milliseconds, 3),
        default_dimensions={"Strategy": strategy},
    ) as metric:
        metric.add_dimension(name=dimension, value=operation)


def count(metric_name: str, strategy: str, value: float = 1) -> None:
    with single_metric(
        name=metric_name, unit=MetricUnit.Count, value=value, default_dimensions={"Strategy": strategy}
    ):
        pass


@contextmanager
def timed(metric_name: str, strategy: str, operation: str) -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    finally:
        record_latency(metric_name, strategy, operation, (time.perf_counter() - started) * 1000)


# Latency and counters go out as single-metric records, so the handler-level Metrics
# object often has nothing but ColdStart to flush; its per-invocation warning is noise.
warnings.filterwarnings("ignore", message="No application metrics to publish")
