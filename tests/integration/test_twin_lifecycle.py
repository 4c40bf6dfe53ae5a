"""The twin leaves no process behind: not on exceptions, Ctrl-C or a killed owner."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from local_twin.processes import group_members

pytestmark = pytest.mark.twin
REPO_ROOT = Path(__file__).resolve().parents[2]

OWNER = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    from local_twin.processes import install_signal_handlers
    from local_twin.twin import LocalTwin

    install_signal_handlers()
    with LocalTwin.start(Path(sys.argv[1])) as twin:
        twin.request("PUT", "/carts/lifecycle", json_body={"items": {"SKU-1": 1}})  # warm a worker
        print(json.dumps({"groups": [twin.server.pgid, twin.redis._group.pgid]}), flush=True)
        if sys.argv[2] == "raise":
            raise RuntimeError("a failing test run")
        time.sleep(60)
    """
)


def start_owner(tmp_path: Path, mode: str) -> tuple[subprocess.Popen, list[int]]:
    owner = subprocess.Popen(
        [sys.executable, "-c", OWNER, str(tmp_path / "twin"), mode],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    line = owner.stdout.readline()
    assert line, owner.stderr.read()
    groups = json.loads(line)["groups"]
    assert all(group_members(group) for group in groups), "the twin should be running"
    worker_count = len(group_members(groups[0]))
    assert worker_count >= 2, "the twin server and at least one warm Lambda worker"
    return owner, groups


def assert_all_gone(groups: list[int], within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if not any(group_members(group) for group in groups):
            return
        time.sleep(0.2)
    leftovers = {group: group_members(group) for group in groups}
    raise AssertionError(f"processes left behind: {leftovers}")


def test_exception_in_owner_stops_everything(tmp_path: Path) -> None:
    owner, groups = start_owner(tmp_path, "raise")
    owner.wait(timeout=30)
    assert owner.returncode != 0
    assert_all_gone(groups)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_interrupt_stops_everything(tmp_path: Path, signum: int) -> None:
    owner, groups = start_owner(tmp_path, "wait")
    owner.send_signal(signum)
    owner.wait(timeout=30)
    assert_all_gone(groups)


def test_killed_owner_leaves_no_orphans(tmp_path: Path) -> None:
    owner, groups = start_owner(tmp_path, "wait")
    os.kill(owner.pid, signal.SIGKILL)
    owner.wait(timeout=10)
    assert_all_gone(groups, within=15)


def test_a_relative_build_dir_works(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`make demo` passes a relative build dir; functions must still find their code."""
    from local_twin.twin import LocalTwin

    monkeypatch.chdir(tmp_path)
    with LocalTwin.start(Path("relative-build"), with_redis=False) as twin:
        response = twin.request("PUT", "/carts/relative", json_body={"items": {"SKU-1": 1}})
        assert response.status == 201, (response.body, response.function_error)
    assert not (tmp_path / "relative-build" / "lambda-environments").exists(), "unpacked code is removed"
