"""How the bench measures: interleaved rounds, medians, and round trips counted at the sockets."""

from __future__ import annotations

import statistics
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import botocore.endpoint
import redis.connection

Samples = dict[str, list[float]]


def interleaved(variants: dict[str, Callable[[], Any]], rounds: int, calls: int) -> Samples:
    """Microseconds per call, one figure per round and variant. Variants take turns within
    every round (A B, then B A, ...), so a machine that slows down mid-run slows both."""
    samples: Samples = {name: [] for name in variants}
    order = list(variants)
    for round_number in range(rounds):
        for name in order if round_number % 2 == 0 else reversed(order):
            call = variants[name]
            started = time.perf_counter()
            for _ in range(calls):
                call()
            samples[name].append((time.perf_counter() - started) / calls * 1e6)
    return samples


def median(values: list[float]) -> float:
    return round(statistics.median(values), 3)


def ratio(samples: Samples, numerator: str, denominator: str) -> float:
    return round(statistics.median(samples[numerator]) / statistics.median(samples[denominator]), 3)


class RoundTrips:
    """Requests that leave the process, per service: every HTTP attempt botocore sends
    (retries included) and every write redis-py makes to a socket (a pipeline or a script
    is one). Counts every thread; use it around one operation at a time."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def add(self, service: str) -> None:
        with self._lock:
            self.counts[service] += 1

    @contextmanager
    def counting(self) -> Iterator[Counter[str]]:
        original_send = botocore.endpoint.Endpoint._send
        original_packed = redis.connection.AbstractConnection.send_packed_command
        counter = self

        def send(endpoint: Any, request: Any) -> Any:
            counter.add(str(endpoint._endpoint_prefix))
            return original_send(endpoint, request)

        def send_packed(connection: Any, command: Any, check_health: bool = True) -> Any:
            counter.add("redis")
            return original_packed(connection, command, check_health)

        botocore.endpoint.Endpoint._send = send  # type: ignore[method-assign]
        redis.connection.AbstractConnection.send_packed_command = send_packed  # type: ignore[method-assign]
        try:
            yield self.counts
        finally:
            botocore.endpoint.Endpoint._send = original_send  # type: ignore[method-assign]
            redis.connection.AbstractConnection.send_packed_command = original_packed  # type: ignore[method-assign]


def count_round_trips(operation: Callable[[], Any]) -> dict[str, int]:
    trips = RoundTrips()
    with trips.counting() as counts:
        operation()
    return dict(counts)
