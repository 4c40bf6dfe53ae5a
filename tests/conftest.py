"""Shared fixtures: one local twin per test session, stopped whatever happens."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
BUILD_DIR = REPO_ROOT / "build" / "test"

# Handlers read these at import time; tests that import them in-process get fakes.
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "ServerlessState")
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "tests")


@pytest.fixture(scope="session")
def twin() -> Iterator[object]:
    from local_twin.twin import LocalTwin

    with LocalTwin.start(BUILD_DIR / "twin") as running:
        yield running


# `make test` runs the suite on pytest-xdist workers with --dist loadgroup. Each group below runs
# on one worker, whole: the session twin is started once and its tests share it, and the tests
# that init and apply Terraform share build/terraform/tree and the example pipeline. Most of an
# apply is the provider waiting on its propagation checks, so the two groups overlap well even on
# two cores; everything else fills in wherever a worker is free.
TWIN_GROUP = "twin"
TERRAFORM_GROUP = "terraform"
TERRAFORM_FOLDERS = ("apply", "terraform")


def xdist_group_of(item: pytest.Item) -> str | None:
    if "twin" in getattr(item, "fixturenames", ()):
        return TWIN_GROUP
    folder = Path(str(item.path)).relative_to(REPO_ROOT / "tests").parts[0]
    if folder in TERRAFORM_FOLDERS:
        return TERRAFORM_GROUP
    return None


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook, which reads the marks into node ids
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        group = xdist_group_of(item)
        if group is not None:
            item.add_marker(pytest.mark.xdist_group(group))
