"""State-access metrics as EMF, named as the demo summary and the dashboard read them.

Why values are buffered and not written one by one: a catalog hit records three values
(`CacheHit`, `StateReadLatency`, `CatalogReadLatency`). Written as three `single_metric`
documents, each built, validated and serialized on its own, they cost more than the Redis
GET they measure (`make bench`, `overhead.cache_hit_vs_raw_get`). EMF carries up to 100
values per metric in one document, so the values are appended to an in-memory buffer and
written once per invocation (`flush_after_invocation` on every handler), one document per
dimension set, serialized by Powertools' own EMF provider. Every value is kept: CloudWatch
counts each element of a value array as one sample.

The dimension sets are exactly those the dashboard and alarms name (modules/observability):
[Strategy, service] for counters and [Strategy, <Operation|Outcome|Path>, service] for the rest.
"""

from __future__ import annotations

import functools
import json
import os
import threading
import time
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import AmazonCloudWatchEMFProvider

# The only traced library the functions call over the network (boto3 goes through botocore).
# Tracer's default patches every library X-Ray supports that it can import, which at cold start
# imports them all; redis-py calls show as time in the handler's own subsegments.
TRACED_MODULES = ("botocore",)

READ = "StateReadLatency"
WRITE = "StateWriteLatency"

MILLISECONDS = MetricUnit.Milliseconds.value
COUNT = MetricUnit.Count.value
# EMF's limit: at most 100 values in one metric's array.
MAX_VALUES_PER_METRIC = 100

DimensionSet = tuple[tuple[str, str], ...]
Handler = TypeVar("Handler", bound=Callable[..., Any])


class MetricBuffer:
    """Values per dimension set and metric, until `flush` writes them to stdout as EMF."""

    def __init__(self, write: Callable[[str], None] = print) -> None:
        self._write = write
        self._lock = threading.Lock()
        self._sets: dict[DimensionSet, dict[str, tuple[str, list[float]]]] = {}
        self._provider: AmazonCloudWatchEMFProvider | None = None

    def add(self, name: str, unit: str, value: float, dimensions: DimensionSet) -> None:
        with self._lock:
            metrics = self._sets.setdefault(dimensions, {})
            entry = metrics.get(name)
            if entry is None:
                entry = metrics[name] = (unit, [])
            entry[1].append(value)
            full = len(entry[1]) >= MAX_VALUES_PER_METRIC
        if full:
            self.flush()

    def pending(self) -> int:
        with self._lock:
            return sum(len(values) for metrics in self._sets.values() for _, values in metrics.values())

    def flush(self) -> None:
        with self._lock:
            sets, self._sets = self._sets, {}
        if not sets:
            return
        provider = self._emf_provider()
        service = os.environ.get("POWERTOOLS_SERVICE_NAME")
        for dimensions, metrics in sets.items():
            named = dict(dimensions)
            if service:
                named["service"] = service
            document = provider.serialize_metric_set(
                metrics={name: {"Unit": unit, "Value": values} for name, (unit, values) in metrics.items()},
                dimensions=named,
                metadata={},
            )
            self._write(json.dumps(document, separators=(",", ":")))

    def _emf_provider(self) -> AmazonCloudWatchEMFProvider:
        # Made on first flush, not at import: the namespace comes from the environment.
        if self._provider is None:
            self._provider = AmazonCloudWatchEMFProvider(
                namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE")
            )
            # The service dimension is added per dimension set above, in the dashboard's order.
            self._provider.service = None
        return self._provider


buffer = MetricBuffer()


def record_latency(
    metric_name: str, strategy: str, operation: str, milliseconds: float, dimension: str = "Operation"
) -> None:
    buffer.add(
        metric_name, MILLISECONDS, round(milliseconds, 3), (("Strategy", strategy), (dimension, operation))
    )


def count(metric_name: str, strategy: str, value: float = 1, **dimensions: str) -> None:
    buffer.add(
        metric_name, MetricUnit.Count.value, float(value), (("Strategy", strategy), *dimensions.items())
    )


class timed:
    """Records the block's duration, raised or not. A class rather than a generator-based
    context manager: it wraps every state access, so its own cost shows in every figure."""

    __slots__ = ("_metric_name", "_operation", "_started", "_strategy")

    def __init__(self, metric_name: str, strategy: str, operation: str) -> None:
        self._metric_name = metric_name
        self._strategy = strategy
        self._operation = operation
        self._started = 0.0

    def __enter__(self) -> None:
        self._started = time.perf_counter()

    def __exit__(self, *exc_info: object) -> None:
        elapsed_ms = (time.perf_counter() - self._started) * 1000
        record_latency(self._metric_name, self._strategy, self._operation, elapsed_ms)


def flush_after_invocation(handler: Handler) -> Handler:
    """Write the invocation's buffered metrics when it ends, failed or not: a frozen
    execution environment may never run again to write them later."""

    @functools.wraps(handler)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return handler(*args, **kwargs)
        finally:
            buffer.flush()

    return wrapper  # type: ignore[return-value]


# State metrics go through the buffer, so the handler-level Metrics object often has nothing
# but ColdStart to flush; its per-invocation warning is noise.
warnings.filterwarnings("ignore", message="No application metrics to publish")
