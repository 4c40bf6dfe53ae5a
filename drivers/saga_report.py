"""`python -m drivers.saga_report --env prod`: where the checkout saga's time went, per state.

Reads the executions both engines started in the last minutes from the engines' own records
(Step Functions' GetExecutionHistory, Lambda's GetDurableExecutionHistory, through
shop.engines), and prints the demo's per-state table with the bottleneck named. It runs
against a deployed environment with the caller's credentials, or against any `Target` (the
twin's tests call `report`). For Step Functions the saved Logs Insights query
(modules/observability, "<name>/state-durations") answers the same question from the execution
log without one API call per execution; the durable engine writes no such log, so its
equivalent is this report (docs/observability.md, "Finding the saga's bottleneck").
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from shop.engines import TERMINAL

from drivers import saga_analysis
from drivers.demo.checkout import ENGINES, analysis_keys, saga_engine, state_table
from drivers.target import DEPLOYED_ENVIRONMENTS, DeployedStack, Target


def report(target: Target, since: datetime, limit: int = 500) -> dict[str, Any]:
    """Per-state figures of each engine's ended executions started after `since` (the newest
    `limit` of them), printed as a table; returns the summary keys the demo uses."""
    results: dict[str, Any] = {}
    analyses: dict[str, saga_analysis.Analysis] = {}
    for engine, prefix in ENGINES.items():
        runner = saga_engine(target, engine)
        histories = []
        for execution_arn in runner.executions_since(since)[-limit:]:
            if runner.status(execution_arn) in TERMINAL:
                histories.append(runner.history(execution_arn))
        analyses[engine] = saga_analysis.analyse_histories(engine, histories)
        results[f"{prefix}.executions_analysed"] = len(histories)
        results.update(analysis_keys(prefix, analyses[engine]))
    print(
        f"\n  the checkout saga since {since:%Y-%m-%d %H:%M} UTC, per state (Step Functions) and per step (durable), in ms:"
    )
    print("\n".join(state_table(analyses)))
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m drivers.saga_report", description=__doc__)
    parser.add_argument("--env", required=True, choices=DEPLOYED_ENVIRONMENTS)
    parser.add_argument("--minutes", type=int, default=60, help="how far back to look (default 60)")
    parser.add_argument("--limit", type=int, default=500, help="the newest executions per engine to read")
    parser.add_argument("--out", type=Path, help="also write the keys as JSON here")
    args = parser.parse_args(argv)
    since = datetime.now(UTC) - timedelta(minutes=args.minutes)
    results = report(DeployedStack.connect(args.env), since, args.limit)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
