"""The twin's Lambda runtime contents: which interpreter, which packages, which path order."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from local_twin import lambda_runtime
from local_twin.lambda_runtime import WorkerPython, WorkerRuntime


@pytest.fixture
def fresh_detection():
    lambda_runtime.worker_python.cache_clear()
    yield
    lambda_runtime.worker_python.cache_clear()


def test_without_python313_the_worker_falls_back_to_this_interpreter_and_warns(
    fresh_detection, monkeypatch
) -> None:
    monkeypatch.delenv(lambda_runtime.PYTHON_OVERRIDE_VARIABLE, raising=False)
    monkeypatch.setattr(lambda_runtime.shutil, "which", lambda name: None)
    with pytest.warns(RuntimeWarning, match="not on Lambda's Python version"):
        found = lambda_runtime.worker_python()
    assert found == WorkerPython(sys.executable, sys.version_info[:2])


def test_an_override_that_does_not_run_is_refused(fresh_detection, monkeypatch) -> None:
    monkeypatch.setenv(lambda_runtime.PYTHON_OVERRIDE_VARIABLE, "/nonexistent/python3.13")
    with pytest.raises(lambda_runtime.RuntimeBuildFailed, match="does not run"):
        lambda_runtime.worker_python()


def test_the_override_names_the_interpreter(fresh_detection, monkeypatch) -> None:
    monkeypatch.setenv(lambda_runtime.PYTHON_OVERRIDE_VARIABLE, sys.executable)
    assert lambda_runtime.worker_python().version == sys.version_info[:2]


def test_workers_are_isolated_from_every_site_packages() -> None:
    command = WorkerPython("/usr/bin/python3.13", (3, 13)).command(Path("worker.py"), "{}")
    assert command[1:4] == ["-I", "-S", "-u"]


def test_runtime_packages_are_pinned_and_can_be_set_to_a_measured_version(monkeypatch) -> None:
    pinned = dict(requirement.split("==") for requirement in lambda_runtime.runtime_requirements())
    assert set(pinned) == set(lambda_runtime.RUNTIME_DISTRIBUTIONS)
    assert all(pinned.values())
    monkeypatch.setenv(lambda_runtime.RUNTIME_PINS_VARIABLE, "boto3==1.40.4 botocore==1.40.4")
    measured = dict(requirement.split("==") for requirement in lambda_runtime.runtime_requirements())
    assert measured["boto3"] == "1.40.4" and measured["botocore"] == "1.40.4"
    assert measured["jmespath"] == pinned["jmespath"]


def test_the_search_path_is_lambdas_order(tmp_path: Path) -> None:
    runtime = WorkerRuntime(WorkerPython("python3.13", (3, 13)), tmp_path / "runtime")
    found = runtime.search_path(tmp_path / "task", tmp_path / "opt")
    assert found["path"] == [
        str(tmp_path / "task"),
        str(tmp_path / "opt/python/lib/python3.13/site-packages"),
        str(tmp_path / "opt/python"),
        str(tmp_path / "runtime"),
    ]
    assert found["site_dirs"] == [
        str(tmp_path / "opt/python/lib/python3.13/site-packages"),
        str(tmp_path / "runtime"),
    ]
