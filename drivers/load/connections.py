"""Cache connections during a load run on the twin: how many the functions' execution environments
hold at once, sampled from the twin's Redis (local_twin.redis_server). docs/capacity.md's model
counts them against a node's maxclients; in AWS `make load` reads CurrConnections instead."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any

Sample = dict[str, dict[str, int]]  # function name -> execution environment -> connections


def peaks(samples: Iterable[Sample], keys_by_name: dict[str, str]) -> dict[str, Any]:
    """The run's peaks: all connections at once, and per function (by its stack key) the most
    environments connected at once and the most connections one environment held."""
    results: dict[str, Any] = {"load.cache.connections_peak": 0}
    for sample in samples:
        total = sum(sum(environments.values()) for environments in sample.values())
        results["load.cache.connections_peak"] = max(results["load.cache.connections_peak"], total)
        for name, environments in sample.items():
            key = keys_by_name.get(name, name)
            for field, value in (
                ("environments_peak", len(environments)),
                ("connections_per_environment_max", max(environments.values(), default=0)),
            ):
                results[f"load.cache.{field}.{key}"] = max(results.get(f"load.cache.{field}.{key}", 0), value)
    return results


class ConnectionSampler:
    """Samples every `interval` seconds in a thread while the run lasts; a failed sample is skipped
    (the cache may be restarting under a chaos drill)."""

    def __init__(self, sample: Callable[[], Sample], interval: float = 1.0) -> None:
        self._sample = sample
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="cache-connections", daemon=True)
        self.samples: list[Sample] = []

    def _run(self) -> None:
        while True:
            with contextlib.suppress(Exception):  # a sample is best effort; the run goes on
                self.samples.append(self._sample())
            if self._stop.wait(self._interval):
                return

    def __enter__(self) -> ConnectionSampler:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
