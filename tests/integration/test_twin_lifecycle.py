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
from tests.foreground import take_ctrl_c

pytestmark = pytest.mark.twin
REPO_ROOT = Path(__file__).resolve().parents[2]

OWNER = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    from local_twin.processes import install_signal_handlers
    from local_twin.twin import LocalTwin

    from tests.integration.test_twin_lifecycle import deploy_probe

    install_signal_handlers()
    # Lifecycle is about processes, not the stack: no terraform apply, one probe function.
    with LocalTwin.start(Path(sys.argv[1]), provision=False) as twin:
        deploy_probe(twin)
        twin.client("lambda").invoke(FunctionName="probe", Payload=b"{}")  # warm a worker
        print(json.dumps({"groups": [twin.server.pgid, twin.redis._group.pgid]}), flush=True)
        if sys.argv[2] == "raise":
            raise RuntimeError("a failing test run")
        time.sleep(60)
    """
)


PROBE_SOURCE = "def handler(event, context):\n    return {'ok': True}\n"


def deploy_probe(twin: object) -> None:
    """A one-line function, created directly: enough to start a warm Lambda worker."""
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("probe.py", PROBE_SOURCE)
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
    role = twin.client("iam").create_role(RoleName="probe", AssumeRolePolicyDocument=json.dumps(trust))[
        "Role"
    ]["Arn"]
    twin.client("lambda").create_function(
        FunctionName="probe",
        Runtime="python3.13",
        Role=role,
        Handler="probe.handler",
        Code={"ZipFile": buffer.getvalue()},
    )


def start_owner(tmp_path: Path, mode: str) -> tuple[subprocess.Popen, list[int]]:
    owner = subprocess.Popen(
        [sys.executable, "-c", OWNER, str(tmp_path / "twin"), mode],
        cwd=REPO_ROOT,
        preexec_fn=take_ctrl_c,
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
    with LocalTwin.start(Path("relative-build"), with_redis=False, provision=False) as twin:
        deploy_probe(twin)
        response = twin.client("lambda").invoke(FunctionName="probe", Payload=b"{}")
        assert "FunctionError" not in response
        assert json.loads(response["Payload"].read()) == {"ok": True}
    assert not (tmp_path / "relative-build" / "lambda-environments").exists(), "unpacked code is removed"


def terraform_processes(marker: str) -> list[int]:
    """Pids of terraform (and its provider plugins) whose command line names `marker`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().decode(errors="replace")
            cwd = os.readlink(entry / "cwd")
        except OSError:
            continue
        if "terraform" in argv and (marker in argv or marker in cwd):
            found.append(int(entry.name))
    return found


def test_ctrl_c_during_terraform_apply_stops_terraform_too(tmp_path: Path) -> None:
    """Ctrl-C while `make demo` is still applying the stack must not leave terraform running."""
    build = tmp_path / "twin"
    script = textwrap.dedent(
        """
        import sys
        from pathlib import Path
        from local_twin.processes import install_signal_handlers
        from local_twin.twin import LocalTwin

        install_signal_handlers()
        with LocalTwin.start(Path(sys.argv[1])):
            pass
        """
    )
    owner = subprocess.Popen(
        [sys.executable, "-c", script, str(build)],
        cwd=REPO_ROOT,
        stderr=subprocess.PIPE,
        preexec_fn=take_ctrl_c,
    )
    deadline = time.monotonic() + 120
    while not terraform_processes(str(build)):
        assert owner.poll() is None, owner.stderr.read().decode()
        assert time.monotonic() < deadline, "terraform never started"
        time.sleep(0.2)
    time.sleep(1.0)  # well inside init or apply
    owner.send_signal(signal.SIGINT)
    owner.wait(timeout=60)
    assert owner.returncode != 0
    deadline = time.monotonic() + 15
    while terraform_processes(str(build)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert terraform_processes(str(build)) == []
