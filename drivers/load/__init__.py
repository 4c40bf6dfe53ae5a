"""`make load`: the shop's traffic on Locust, against the twin or a deployed environment.

The run: seed the run's products and hot carts through the API, record their stock, run Locust
(drivers/load/locustfile.py; `--processes N` forks a master and N workers), read the ledgers the
load processes wrote, settle every saga, check the invariants from the table, and, in AWS, read
from CloudWatch what the run cost the account. Writes build/load/results.json (flat dotted keys),
build/load/report.md and two charts beside it. Exits non-zero when an invariant breaks.
"""

from __future__ import annotations

import contextlib
import csv
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from drivers.load import connections, invariants, mix, report
from drivers.load.ledger import Ledger, summarize, timeline
from drivers.target import REPO_ROOT, Target
from tools.progress import heartbeat

LOCUSTFILE = Path(__file__).resolve().parent / "locustfile.py"


@dataclass
class LoadOptions:
    """What `make load` varies: the shape, the per-user rate, the mix and the seeded data."""

    shape: mix.Shape = field(default_factory=mix.Shape)
    user_rps: float = 2.0
    shares: str = "catalog=0.8,cart=0.15,orders=0.05"
    order_paths: str = mix.format_weights(mix.DEFAULT_PATH_WEIGHTS)
    catalog_skus: int = 200
    hot_carts: int = 4
    flash_stock: int = 20
    processes: int = 1  # >1: Locust forks a master and this many workers
    zipf_exponent: float = 1.1

    def __post_init__(self) -> None:
        mix.parse_weights(self.shares, ("catalog", "cart", "orders"))
        mix.parse_weights(self.order_paths, list(mix.ORDER_PATHS))
        if self.user_rps <= 0 or self.catalog_skus < 1 or self.hot_carts < 1 or self.flash_stock < 0:
            raise ValueError(
                "user_rps, catalog_skus and hot_carts must be positive, flash_stock not negative"
            )


# The twin's capacity on a shared 2-core machine: a few users at a couple of requests each.
TWIN_DEFAULTS = LoadOptions(
    shape=mix.Shape(profile="step", users=6, steps=3, step_seconds=20, hold_seconds=20),
    user_rps=2.0,
    catalog_skus=100,
)


def locust_command(
    host: str, options: LoadOptions, run_id: str, out_dir: Path, sigv4_region: str | None = None
) -> list[str]:
    """The Locust command line for one run (headless; the shape class sets users over time)."""
    shape = options.shape
    command = [
        sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--host", host,
        "--csv", str(out_dir / "locust"), "--html", str(out_dir / "locust.html"),
        "--stop-timeout", "60", "--loglevel", "WARNING", "--only-summary",
        "--run-id", run_id, "--catalog-skus", str(options.catalog_skus),
        "--zipf-exponent", str(options.zipf_exponent), "--hot-carts", str(options.hot_carts),
        "--shares", options.shares, "--order-paths", options.order_paths, "--user-rps", str(options.user_rps),
        "--load-shape", shape.profile, "--peak-users", str(shape.users), "--steps", str(shape.steps),
        "--step-seconds", str(shape.step_seconds), "--hold-seconds", str(shape.hold_seconds),
        "--base-users", str(shape.base_users), "--spike-at", str(shape.spike_at),
        "--spike-seconds", str(shape.spike_seconds), "--duration", str(shape.duration),
        "--ledger-dir", str(out_dir / "ledger"),
    ]  # fmt: skip
    if options.processes > 1:
        command += ["--processes", str(options.processes)]
    if sigv4_region:
        command += ["--sigv4-region", sigv4_region]
    return command


def locust_progress(stats_csv: Path) -> str:
    """The request and failure counts from the Aggregated row of the stats Locust rewrites as it runs
    (`--csv`; flushed every 10 s); "" before its first write."""
    try:
        with stats_csv.open(newline="") as handle:
            rows = list(csv.DictReader(handle))
    except FileNotFoundError:
        return ""
    for row in rows:
        if row.get("Name") == "Aggregated" and row.get("Request Count"):
            return f"{row['Request Count']} requests, {row.get('Failure Count') or 0} failed"
    return ""


def run_against(
    target: Target,
    host: str,
    options: LoadOptions,
    out_dir: Path,
    environment: str,
    sigv4_region: str | None = None,
) -> dict[str, Any]:
    """One load run against a running stack; the results, also written to out_dir."""
    out_dir.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(out_dir / "ledger", ignore_errors=True)
    run_id = uuid.uuid4().hex[:8].upper()
    seeded = invariants.Seeded(run_id, options.catalog_skus, options.hot_carts, options.flash_stock)
    print(
        f"load: seeding {len(seeded.skus)} products and {len(seeded.carts)} hot carts (run {run_id})",
        flush=True,
    )
    invariants.seed(target, seeded)
    before = invariants.stock(target, seeded.skus)
    command = locust_command(host, options, run_id, out_dir, sigv4_region)
    print(
        f"load: Locust, {options.shape.profile} shape up to {options.shape.users} users x {options.user_rps} "
        f"req/s for {options.shape.total_seconds:.0f} s against {host}",
        flush=True,
    )
    started = time.time()
    # On the twin, who holds the cache's connections meanwhile (in AWS: CurrConnections, read after).
    redis_server = getattr(target, "redis", None)
    sampler = connections.ConnectionSampler(redis_server.connections_by_environment) if redis_server else None
    # --only-summary keeps Locust's own tables out of the way; this says how the run goes meanwhile.
    with (
        heartbeat(
            f"load: Locust of {options.shape.total_seconds:.0f} s",
            detail=lambda: locust_progress(out_dir / "locust_stats.csv"),
        ),
        sampler or contextlib.nullcontext(),
    ):
        ran = subprocess.run(command, cwd=REPO_ROOT, env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})
    ended = time.time()
    if ran.returncode not in (0, 1):  # 1: Locust saw failed requests, which the report counts
        raise RuntimeError(f"Locust exited with {ran.returncode}")
    ledger = Ledger.read(out_dir / "ledger")
    results: dict[str, Any] = {
        "load.environment": environment,
        "load.profile": options.shape.profile,
        "load.peak_users": options.shape.users,
        "load.user_rps": options.user_rps,
        "load.shares": options.shares,
        "load.processes": options.processes,
        "load.started_epoch": round(started, 1),
        "load.ended_epoch": round(ended, 1),
    }
    results.update(summarize(ledger))
    if sampler is not None:
        names = {name: key for key, name in target.outputs.function_names.items()}
        results.update(connections.peaks(sampler.samples, names))
    print(f"load: {len(ledger.requests)} requests; settling {len(ledger.orders)} orders ...", flush=True)
    results.update(invariants.check(target, seeded, ledger, before))
    results["_seconds"] = timeline(ledger)
    return results


def finish(out_dir: Path, results: dict[str, Any], shape: mix.Shape) -> int:
    seconds = results.pop("_seconds", [])
    states_table = results.pop("_states_table", [])
    path = report.write(out_dir, results, seconds, shape, states_table)
    print("\n".join(states_table))
    for key in report.INVARIANTS:
        print(f"  {key:<36} {results.get(key)}")
    for key in (
        "load.requests",
        "load.throughput_rps",
        "load.latency_ms.p50",
        "load.latency_ms.p99",
        "load.errors",
    ):
        print(f"  {key:<36} {results.get(key)}")
    print(f"wrote {out_dir / 'results.json'} and {path} (with its charts)")
    broken = report.broken_invariants(results)
    for item in broken:
        print(f"INVARIANT BROKEN: {item}")
    return 1 if broken else 0


@contextlib.contextmanager
def twin_with_api(build_dir: Path) -> Iterator[tuple[Any, str]]:
    """A fresh twin and its HTTP API on a free port, as `make twin` runs them."""
    from local_twin.http_server import serving
    from local_twin.twin import LocalTwin, print_progress

    print("load: starting a fresh twin (terraform apply against moto; about 2-3 minutes)", flush=True)
    with LocalTwin.start(build_dir / "twin", report=print_progress) as twin, serving(twin) as http:
        yield twin, http.base_url


def run_load(environment: str, build_dir: Path, options: LoadOptions | None = None) -> int:
    out_dir = build_dir / "load"
    if environment == "twin":
        options = options or TWIN_DEFAULTS
        with twin_with_api(out_dir) as (twin, host):
            results = run_against(twin, host, options, out_dir, "twin")
        return finish(out_dir, results, options.shape)
    from drivers.load import cloudwatch
    from drivers.target import DeployedStack

    options = options or LoadOptions()
    stack = DeployedStack.connect(environment)  # refuses without credentials (NoCredentials)
    host = stack.outputs.api_url
    if not host:
        raise RuntimeError(f"{environment}'s stack has no api_url output")
    results = run_against(stack, host, options, out_dir, environment, sigv4_region=stack.region)
    print("load: reading what the run cost the account from CloudWatch (metrics arrive within minutes) ...")
    results.update(cloudwatch.account_figures(stack, results))
    return finish(out_dir, results, options.shape)
