"""Progress on long steps that have no count of their own (tools/progress.py), and the load run's
request count read from Locust's live stats."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from drivers.load import locust_progress
from tools.progress import heartbeat


class Lines:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.two = threading.Event()

    def __call__(self, line: str) -> None:
        self.lines.append(line)
        if len(self.lines) >= 2:
            self.two.set()


def test_a_heartbeat_reports_while_the_step_runs_and_stops_with_it() -> None:
    lines = Lines()
    with heartbeat("plan of dev", every_seconds=0.02, report=lines, detail=lambda: "12 requests"):
        assert lines.two.wait(30), "no progress line while the step ran"
    after = len(lines.lines)
    time.sleep(0.1)
    assert len(lines.lines) == after, "progress went on after the step ended"
    assert all(line.startswith("plan of dev: ") and line.endswith(" s, 12 requests") for line in lines.lines)


def test_a_step_that_fails_stops_its_heartbeat_and_a_failing_detail_ends_nothing() -> None:
    lines = Lines()

    def broken() -> str:
        raise OSError("stats not there")

    with pytest.raises(KeyboardInterrupt), heartbeat("x", every_seconds=0.02, report=lines, detail=broken):
        assert lines.two.wait(30)
        raise KeyboardInterrupt
    after = len(lines.lines)
    time.sleep(0.1)
    assert len(lines.lines) == after
    assert lines.lines[0].endswith("(OSError)")


def test_the_load_progress_reads_locusts_aggregated_row(tmp_path: Path) -> None:
    stats = tmp_path / "locust_stats.csv"
    assert locust_progress(stats) == "", "before Locust's first write"
    stats.write_text(
        "Type,Name,Request Count,Failure Count,Median Response Time\n"
        "GET,/products/[sku],120,1,12\n"
        ",Aggregated,131,3,14\n"
    )
    assert locust_progress(stats) == "131 requests, 3 failed"
    stats.write_text("Type,Name,Request Count,Failure Count\n")  # rewritten, not yet filled
    assert locust_progress(stats) == ""
