"""`make bench`: latency and throughput of the cart slice on the twin.

Writes build/bench/results.json (flat dotted keys). Timings here are for comparing
changes on one machine, not for predicting AWS: the twin's DynamoDB is moto.
"""

from __future__ import annotations

import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from local_twin import metrics
from local_twin.twin import LocalTwin

WARM_REQUESTS = 300
COLD_STARTS = 5
CONCURRENT_CLIENTS = 8
CONCURRENT_REQUESTS = 400


def _timed(call: Any) -> float:
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


def _cold_start_ms(twin: LocalTwin, path: str) -> list[float]:
    """A configuration change retires warm environments, so the next invoke is cold."""
    samples = []
    name = twin.function_name("cart")
    original_timeout = twin.client("lambda").get_function_configuration(FunctionName=name)["Timeout"]
    for round_number in range(1, COLD_STARTS + 1):
        twin.client("lambda").update_function_configuration(
            FunctionName=name, Timeout=original_timeout + round_number
        )
        samples.append(_timed(lambda: twin.request("GET", path)))
    twin.client("lambda").update_function_configuration(FunctionName=name, Timeout=original_timeout)
    return samples


def run_bench(build_dir: Path) -> dict[str, Any]:
    out_dir = build_dir / "bench"
    out_dir.mkdir(parents=True, exist_ok=True)
    with LocalTwin.start(out_dir / "twin", with_redis=False) as twin:
        started_ms = int(time.time() * 1000)
        path = f"/carts/bench-{uuid.uuid4().hex[:8]}"
        twin.request("PUT", path, json_body={"items": {"SKU-1": 1}})
        warm = [_timed(lambda: twin.request("GET", path)) for _ in range(WARM_REQUESTS)]
        cold = _cold_start_ms(twin, path)

        def one(_: int) -> None:
            twin.request("GET", path)

        started = time.perf_counter()
        with ThreadPoolExecutor(CONCURRENT_CLIENTS) as pool:
            list(pool.map(one, range(CONCURRENT_REQUESTS)))
        throughput = CONCURRENT_REQUESTS / (time.perf_counter() - started)
        points = metrics.emf_points(twin.function_log("cart", since_ms=started_ms))
    reads = metrics.select(points, "StateReadLatency", Strategy="dynamodb")
    results = {
        "carts.invoke_ms.warm.p50": metrics.percentile(warm, 0.5),
        "carts.invoke_ms.warm.p99": metrics.percentile(warm, 0.99),
        "carts.invoke_ms.cold.p50": metrics.percentile(cold, 0.5),
        "carts.state_read_ms.p50": metrics.percentile(reads, 0.5),
        "carts.state_read_ms.p99": metrics.percentile(reads, 0.99),
        "carts.throughput_rps": round(throughput, 1),
        "carts.concurrent_clients": CONCURRENT_CLIENTS,
    }
    (out_dir / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    for key, value in results.items():
        print(f"  {key:<28} {value}")
    print(f"wrote {out_dir / 'results.json'}")
    return results
