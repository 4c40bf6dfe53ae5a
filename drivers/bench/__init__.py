"""`make bench`: every state strategy measured against its floor, on the local twin.

Writes build/bench/results.json (flat dotted keys), build/bench/report.md and its PNG charts.
Every comparison is a ratio of medians measured in the same run, its variants interleaved
round by round, because absolute times on a laptop drift from run to run; the ratios and
the round-trip counts are what carry over to AWS (docs/bench.md).
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from drivers.bench import report, sections
from drivers.bench.inprocess import Shop
from local_twin.twin import LocalTwin, print_progress
from tools.progress import heartbeat


def run_bench(build_dir: Path) -> int:
    out_dir = build_dir / "bench"
    out_dir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    print("bench: starting the twin (terraform apply against moto; about 2-3 minutes)", flush=True)
    results: dict[str, Any] = {}
    failed: list[str] = []
    samples: dict[str, list[float]] = {}
    timeline: list[tuple[float, str, float]] = []
    with LocalTwin.start(out_dir / "twin", report=print_progress) as twin, Shop.loaded(twin) as shop:
        print(
            f"bench: twin ready in {time.monotonic() - started:.0f} s ({twin.describe_provisioning()})",
            flush=True,
        )
        steps: list[tuple[str, Callable[[], dict[str, Any]]]] = [
            ("overhead: cache hit and cart store vs raw client calls", lambda: sections.overhead(shop)),
            ("round trips per API operation", lambda: sections.round_trips(shop)),
            ("speedups: cache vs table, reference vs naive handler", lambda: sections.speedups(shop)),
            (
                "catalog hit ratio: Zipf over 10,000 SKUs, outage, recovery",
                lambda: sections.hit_ratio(twin, shop),
            ),
            ("concurrency: 8 workers x 200 increments on one cart", lambda: sections.concurrency(twin)),
            ("idempotency: what the layer adds to each order placement", lambda: sections.idempotency(shop)),
            ("workflow: transitions, end to end, cost", lambda: sections.workflow(twin)),
            (
                "cold start: handler imports vs bare boto3, 7 interleaved rounds",
                lambda: sections.coldstart(twin),
            ),
            (
                "memory: peak RSS after 1,000 warm invocations per function",
                lambda: sections.memory(twin, out_dir / "workers"),
            ),
            ("invokes through the twin's Lambda: warm and cold", lambda: sections.invokes(twin)),
        ]
        for number, (title, step) in enumerate(steps, start=1):
            step_started = time.monotonic()
            print(f"bench: [{number}/{len(steps) + 1}] {title} ...", flush=True)
            try:
                with heartbeat(f"bench:     step {number} running", every_seconds=15):
                    figures = step()
            except Exception:
                # One broken section should not hide the others' figures; the run still fails.
                traceback.print_exc()
                failed.append(title)
                continue
            samples.update(figures.pop("_samples", {}))
            timeline = figures.pop("_timeline", timeline)
            results.update(figures)
            print(f"bench:     done in {time.monotonic() - step_started:.1f} s", flush=True)
    print(f"bench: [{len(steps) + 1}/{len(steps) + 1}] package sizes (pip builds the layer) ...", flush=True)
    results.update(sections.packages(out_dir))
    charts = {
        "Latency per strategy": report.latency_chart(samples, out_dir / "latency.png"),
        "Catalog hit ratio across an outage": report.hit_ratio_chart(timeline, out_dir / "hit_ratio.png"),
    }
    explanations = {name: why for name, (_, why) in sections.MINIMUM_ROUND_TRIPS.items() if why}
    print("\n" + report.table(results))
    print("\nround trips beyond the minimum:")
    for name, (minimum, why) in sections.MINIMUM_ROUND_TRIPS.items():
        print(f"  {name:<24} minimum {minimum}  {why}")
    print(f"\nwrote {report.write_results(out_dir, results)}")
    print(f"wrote {report.write_report(out_dir, results, charts, explanations)} and {len(charts)} charts")
    print(f"bench: {time.monotonic() - started:.0f} s in all")
    missed = report.missed_targets(results)
    for miss in missed:
        print(f"TARGET MISSED: {miss}")
    for title in failed:
        print(f"SECTION FAILED: {title} (its traceback is above)")
    return 1 if missed or failed else 0
