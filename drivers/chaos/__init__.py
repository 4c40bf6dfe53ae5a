"""`make chaos`: the experiment catalogue (this folder, one file each) on a fresh twin, or through
Fault Injection Service against a deployed environment (ENV=staging). One table, and
build/chaos/results.json; a broken invariant makes the run fail."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from drivers.chaos.catalogue import CATALOGUE, by_name
from drivers.chaos.faults import FisFaults, TwinFaults
from drivers.chaos.harness import INVARIANTS, Experiment, Faults, broken_invariants, run_experiment
from drivers.target import Target
from tools.progress import heartbeat

COLUMNS = ("requests", "errors_during", "errors_after", *INVARIANTS[:-1], "time_to_recover_s")
SHORT_NAMES = {
    "requests": "req",
    "errors_during": "5xx dur",
    "errors_after": "5xx aft",
    "lost_updates": "lost",
    "duplicate_orders": "dup ord",
    "duplicate_executions": "dup exe",
    "duplicate_charges": "dup chg",
    "inventory_drift": "drift",
    "orders_not_terminal": "not term",
    "orders_unanswered": "unansw",
    "orders_failed_by_the_fault": "failed",
    "stream_records_discarded": "dropped",
    "time_to_recover_s": "recover s",
}


def run_catalogue(target: Target, faults: Faults, experiments: list[Experiment]) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for experiment in experiments:
        print(f"  {experiment.name}: {experiment.fault} ...", flush=True)
        with heartbeat(f"  {experiment.name} running", every_seconds=15):
            results.update(run_experiment(experiment, target, faults))
    results["chaos.experiments"] = len(experiments)
    results["chaos.passed"] = all(results[f"chaos.{e.name}.passed"] for e in experiments)
    return results


def table(results: dict[str, Any], experiments: list[Experiment]) -> list[str]:
    header = (
        f"{'experiment':<24} {'fault':<58} " + " ".join(f"{SHORT_NAMES[c]:>9}" for c in COLUMNS) + "  broken"
    )
    lines = [header, "-" * len(header)]
    for experiment in experiments:
        prefix = f"chaos.{experiment.name}"
        cells = " ".join(f"{results.get(f'{prefix}.{column}', ''):>9}" for column in COLUMNS)
        broken = ", ".join(broken_invariants(results, prefix)) or "none"
        stale = ""
        if f"{prefix}.max_stale_read_s" in results:
            stale = f"  stale {results[f'{prefix}.max_stale_read_s']} s <= {results[f'{prefix}.staleness_bound_s']} s"
        lines.append(f"{experiment.name:<24} {experiment.fault[:58]:<58} {cells}  {broken}{stale}")
    return lines


def write_results(build_dir: Path, results: dict[str, Any]) -> Path:
    out = build_dir / "chaos" / "results.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, sort_keys=True, default=str) + "\n")
    return out


def run_chaos(build_dir: Path, environment: str = "twin", names: list[str] | None = None) -> bool:
    """Runs the catalogue; True when every invariant held."""
    experiments = by_name(names)
    if environment == "twin":
        from local_twin.twin import LocalTwin, print_progress

        print("starting a fresh twin (terraform apply of the stack) ...", flush=True)
        with LocalTwin.start(build_dir / "chaos" / "twin", report=print_progress) as twin:
            results = run_catalogue(twin, TwinFaults(twin.faults), experiments)
    else:
        from drivers.target import DeployedStack

        results = run_catalogue(DeployedStack.connect(environment), FisFaults(), experiments)
    print()
    print("\n".join(table(results, experiments)))
    print(f"\nwrote {write_results(build_dir, results)}")
    return bool(results["chaos.passed"])


__all__ = ["CATALOGUE", "run_catalogue", "run_chaos", "table"]
