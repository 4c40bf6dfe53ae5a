"""Demo section: execution-environment reuse, from the functions' own logs.

Every invocation logs START; Powertools emits ColdStart once per execution environment.
The warm share is what module-scope clients, connections and cached config are worth.
"""

from __future__ import annotations

from typing import Any

from drivers import metrics
from drivers.target import Target


def run(target: Target, since_ms: int = 0) -> dict[str, Any]:
    invocations = cold_starts = 0
    for key in target.function_keys:
        lines = target.function_log(key, since_ms=since_ms)
        invocations += sum(1 for line in lines if line.startswith("START RequestId"))
        cold_starts += int(sum(metrics.select(metrics.emf_points(lines), "ColdStart")))
    return {
        "reuse.invocations": invocations,
        "reuse.cold_starts": cold_starts,
        "reuse.warm_ratio": round(1 - cold_starts / invocations, 4) if invocations else None,
    }
