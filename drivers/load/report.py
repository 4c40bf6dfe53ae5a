"""The load run's outputs: results.json (flat dotted keys), report.md and its two charts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from drivers.bench.report import write_results
from drivers.load import mix
from drivers.load.ledger import Second

INVARIANTS = (
    "invariants.lost_updates",
    "invariants.duplicate_orders",
    "invariants.inventory_drift",
    "invariants.flash_oversold",
    "invariants.unsettled_orders",
)


def broken_invariants(results: dict[str, Any]) -> list[str]:
    """Every invariant that is not 0, or was not checked."""
    return [f"{key} = {results.get(key)!r} (must be 0)" for key in INVARIANTS if results.get(key) != 0]


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _users(shape: mix.Shape, seconds: list[Second]) -> list[int]:
    return [shape.users_at(second.second) or 0 for second in seconds]


def latency_throughput_chart(seconds: list[Second], shape: mix.Shape, path: Path) -> Path:
    plt = _pyplot()
    times = [second.second for second in seconds]
    figure, (latency, throughput) = plt.subplots(2, 1, figsize=(10, 6.5), sharex=True)
    latency.plot(times, [s.p50_ms for s in seconds], ".-", label="p50")
    latency.plot(times, [s.p95_ms for s in seconds], ".-", label="p95")
    latency.set_ylabel("ms per request")
    latency.set_title(f"Latency and throughput over time, {shape.profile} load")
    latency.legend(loc="upper left")
    throughput.plot(times, [s.requests for s in seconds], ".-", color="#2ca02c", label="requests/s")
    throughput.set_ylabel("requests per second")
    throughput.set_xlabel("seconds since the first request")
    users = throughput.twinx()
    users.step(times, _users(shape, seconds), where="post", color="#999999", label="users (the shape)")
    users.set_ylabel("users")
    users.set_ylim(0, shape.users + 1)
    throughput.set_ylim(bottom=0)
    latency.set_ylim(bottom=0)
    throughput.legend(loc="upper left")
    users.legend(loc="upper right")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def errors_chart(seconds: list[Second], path: Path) -> Path:
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(10, 3.2))
    axis.bar([s.second for s in seconds], [s.errors for s in seconds], width=1.0, color="#d62728")
    axis.set_xlabel("seconds since the first request")
    axis.set_ylabel("errors per second")
    axis.set_title(
        "Errors over time (every status >= 400 but the version protocol's 409, and refused connections)"
    )
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def _table(results: dict[str, Any], prefix: str) -> list[str]:
    names = sorted(
        {
            key[len(prefix) :].rsplit(".requests", 1)[0]
            for key in results
            if key.startswith(prefix) and key.endswith(".requests")
        }
    )
    lines = [
        "| | requests | req/s | p50 ms | p95 ms | p99 ms | errors | 409 retried |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name in names:
        base = f"{prefix}{name}"
        lines.append(
            f"| `{name}` | {results[f'{base}.requests']} | {results[f'{base}.throughput_rps']} | "
            f"{results[f'{base}.latency_ms.p50']} | {results[f'{base}.latency_ms.p95']} | "
            f"{results[f'{base}.latency_ms.p99']} | {results[f'{base}.errors']} | {results[f'{base}.conflicts_409']} |"
        )
    return lines


def write(
    out_dir: Path,
    results: dict[str, Any],
    seconds: list[Second],
    shape: mix.Shape,
    states_table: list[str] | None = None,
) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    write_results(out_dir, results)
    charts = {
        "Latency and throughput with the ramp": latency_throughput_chart(
            seconds, shape, out_dir / "latency_throughput.png"
        ),
        "Errors over time": errors_chart(seconds, out_dir / "errors.png"),
    }
    broken = broken_invariants(results)
    lines = [
        f"# serverless-state load: {results.get('load.environment')}",
        "",
        f"{results.get('load.requests')} requests in {results.get('load.seconds')} s, {shape.profile} shape "
        f"up to {shape.users} users at {results.get('load.user_rps')} requests/s each. "
        "See docs/load.md and docs/capacity.md.",
        "",
        "## Invariants",
        "",
    ]
    lines += [f"- BROKEN: {item}" for item in broken] or [f"- `{key}` = 0" for key in INVARIANTS]
    lines += ["", "## Per strategy", "", *_table(results, "load.strategy.")]
    lines += ["", "## Per route", "", *_table(results, "load.route.")]
    if states_table:
        # The demo's per-state table over the run's sagas (docs/saga.md, "Finding the bottleneck").
        lines += ["", "## Where the sagas' time went, per state", "", "```", *states_table, "```"]
    errors = {key: value for key, value in results.items() if ".errors_by_status." in key}
    lines += ["", "## Errors by status", ""]
    lines += [f"- `{key}`: {value}" for key, value in errors.items()] or ["- none"]
    account = {key: value for key, value in results.items() if key.startswith(("cloudwatch.", "cost."))}
    if account:
        lines += [
            "",
            "## What the run cost the account (CloudWatch, list prices)",
            "",
            "| key | value |",
            "|---|---|",
        ]
        lines += [f"| `{key}` | {value} |" for key, value in account.items()]
    lines += ["", "## All figures", "", "| key | value |", "|---|---|"]
    lines += [f"| `{key}` | {value} |" for key, value in results.items()]
    lines += ["", "## Charts", ""]
    for title, chart in charts.items():
        lines += [f"### {title}", "", f"![{title}]({chart.name})", ""]
    path = out_dir / "report.md"
    path.write_text("\n".join(lines) + "\n")
    return path
