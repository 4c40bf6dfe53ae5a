"""`make demo`: the whole shop on the local twin, every strategy exercised and measured."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from local_twin.twin import LocalTwin

Section = Callable[[LocalTwin], dict[str, Any]]


def sections() -> list[tuple[str, Section]]:
    from local_twin.demo import carts

    return [("carts (DynamoDB, optimistic locking, TTL)", carts.run)]


def _format(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.3f}"
    if value is None:
        return "n/a"
    return str(value)


def print_summary(results: dict[str, Any], titles: dict[str, str]) -> None:
    width = max(len(key) for key in results)
    current = None
    for key, value in results.items():
        prefix = key.split(".", 1)[0]
        if prefix != current:
            current = prefix
            print(f"\n== {titles.get(prefix, prefix)}")
        print(f"  {key:<{width}}  {_format(value)}")


def run_demo(build_dir: Path) -> dict[str, Any]:
    out_dir = build_dir / "demo"
    out_dir.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {}
    titles: dict[str, str] = {}
    started = time.monotonic()
    print("starting the local twin (moto server, Lambda workers, Redis) on 127.0.0.1 ...", flush=True)
    with LocalTwin.start(out_dir / "twin") as twin:
        print(f"twin up at {twin.endpoint_url}", flush=True)
        for title, section in sections():
            print(f"running: {title} ...", flush=True)
            section_results = section(twin)
            titles[next(iter(section_results)).split(".", 1)[0]] = title
            results.update(section_results)
    results["demo.seconds"] = round(time.monotonic() - started, 1)
    titles["demo"] = "run"
    summary = out_dir / "summary.json"
    summary.write_text(json.dumps(results, indent=2) + "\n")
    print_summary(results, titles)
    print(f"\nwrote {summary}; every process the twin started has been stopped")
    return results
