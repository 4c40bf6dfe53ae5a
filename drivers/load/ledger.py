"""The ledgers the load's processes wrote, read back: per-route and per-strategy figures, the
timeline the charts draw, and the acknowledged writes the invariants are checked against."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from drivers import metrics

CONFLICT = 409  # the version protocol's answer: retried, not an error


@dataclass
class Ledger:
    requests: list[dict[str, Any]] = field(default_factory=list)
    increments: list[dict[str, Any]] = field(default_factory=list)
    orders: list[dict[str, Any]] = field(default_factory=list)
    gave_up: int = 0

    @classmethod
    def read(cls, directory: Path) -> Ledger:
        return cls.from_records(
            json.loads(line)
            for path in sorted(directory.glob("*.jsonl"))
            for line in path.read_text().splitlines()
            if line.strip()
        )

    @classmethod
    def from_records(cls, records: Iterable[dict[str, Any]]) -> Ledger:
        ledger = cls()
        for record in records:
            kind = record.get("kind")
            if kind == "request":
                ledger.requests.append(record)
            elif kind == "increment":
                ledger.increments.append(record)
            elif kind == "order":
                ledger.orders.append(record)
            elif kind == "gave-up":
                ledger.gave_up += 1
        return ledger


def is_error(status: int) -> bool:
    return status == 0 or (status >= 400 and status != CONFLICT)


def _figures(prefix: str, samples: list[dict[str, Any]], seconds: float) -> dict[str, Any]:
    latencies = [sample["ms"] for sample in samples]
    statuses = Counter(sample["status"] for sample in samples)
    figures: dict[str, Any] = {
        f"{prefix}.requests": len(samples),
        f"{prefix}.throughput_rps": round(len(samples) / seconds, 2) if seconds > 0 else None,
        f"{prefix}.latency_ms.p50": metrics.percentile(latencies, 0.50),
        f"{prefix}.latency_ms.p95": metrics.percentile(latencies, 0.95),
        f"{prefix}.latency_ms.p99": metrics.percentile(latencies, 0.99),
        f"{prefix}.errors": sum(count for status, count in statuses.items() if is_error(status)),
        f"{prefix}.conflicts_409": statuses.get(CONFLICT, 0),
    }
    for status, count in sorted(statuses.items()):
        if is_error(status):
            figures[f"{prefix}.errors_by_status.{status or 'connection'}"] = count
    return figures


def route_key(route: str) -> str:
    """A route as a dotted key's part: 'GET /carts/{cart_id}' -> 'GET_/carts/{cart_id}'."""
    return route.replace(" ", "_")


def summarize(ledger: Ledger) -> dict[str, Any]:
    """Throughput, p50/p95/p99 and errors by status for the run, each strategy and each route."""
    if not ledger.requests:
        return {"load.requests": 0}
    start = min(sample["t"] for sample in ledger.requests)
    end = max(sample["t"] for sample in ledger.requests)
    seconds = max(end - start, 1.0)
    results: dict[str, Any] = {"load.seconds": round(seconds, 1)}
    results.update(_figures("load", ledger.requests, seconds))
    by_strategy: dict[str, list[dict[str, Any]]] = defaultdict(list)
    by_route: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for sample in ledger.requests:
        by_strategy[sample["strategy"]].append(sample)
        by_route[(sample["strategy"], sample["route"])].append(sample)
    for strategy, samples in sorted(by_strategy.items()):
        results.update(_figures(f"load.strategy.{strategy}", samples, seconds))
    for (strategy, route), samples in sorted(by_route.items()):
        results.update(_figures(f"load.route.{strategy}.{route_key(route)}", samples, seconds))
    results["load.cart.acknowledged_increments"] = len(ledger.increments)
    results["load.cart.gave_up_after_retries"] = ledger.gave_up
    results["load.cart.conflict_retries"] = sum(record["attempt"] for record in ledger.increments)
    results["load.orders.placed"] = len(ledger.orders)
    return results


@dataclass(frozen=True)
class Second:
    second: int
    requests: int
    errors: int
    p50_ms: float | None
    p95_ms: float | None


def timeline(ledger: Ledger, bucket_seconds: int = 1) -> list[Second]:
    """Per-bucket throughput, errors and latency from the first request, for the charts."""
    if not ledger.requests:
        return []
    start = min(sample["t"] for sample in ledger.requests)
    buckets: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for sample in ledger.requests:
        buckets[int((sample["t"] - start) // bucket_seconds)].append(sample)
    seconds = []
    for index in range(max(buckets) + 1):
        samples = buckets.get(index, [])
        latencies = [sample["ms"] for sample in samples]
        seconds.append(
            Second(
                index * bucket_seconds,
                len(samples),
                sum(1 for sample in samples if is_error(sample["status"])),
                metrics.percentile(latencies, 0.50),
                metrics.percentile(latencies, 0.95),
            )
        )
    return seconds
