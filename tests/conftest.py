"""Shared fixtures: one local twin per test session, stopped whatever happens."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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
        report = running.build_dir / "iam-usage.json"
    # The suite's gate on the twin's IAM: a call its evaluator could not map to IAM actions was
    # answered 500 and never passed unchecked, but a caller that swallowed the error would hide it.
    unmapped = json.loads(report.read_text()).get("unmapped", []) if report.exists() else []
    assert not unmapped, f"calls the twin's IAM could not map to actions and resources: {unmapped}"


# `make test` runs the suite on two pytest-xdist workers. Each group below runs on one worker,
# whole: the session twin is started once and its tests share it; the tests under tests/terraform
# init, validate and test in build/terraform/tree, which they share; the tests under tests/apply
# share the example pipeline and its twin. Most of an apply is the provider waiting on its
# propagation checks, so the groups overlap well even on two cores; every other test fills in
# wherever a worker is free.
#
# Not xdist's own --dist loadgroup: it tags each item's node id with its xdist_group mark, and
# pytest 9 no longer lets a plugin change a node id (Node.nodeid reads Node._id), so every test
# ran ungrouped. Here each worker writes the groups of the tests it collected to a folder the
# controller names, and the controller's scheduler reads them when it splits the work.
TWIN_GROUP = "twin"
FOLDER_GROUPS = ("apply", "terraform")  # a group each, named after its folder
GROUPS_FOLDER_VARIABLE = "SERVERLESS_STATE_TEST_GROUPS"


def group_of(item: pytest.Item) -> str | None:
    if "twin" in getattr(item, "fixturenames", ()):
        return TWIN_GROUP
    folder = Path(str(item.path)).relative_to(REPO_ROOT / "tests").parts[0]
    return folder if folder in FOLDER_GROUPS else None


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def pytest_configure(config: pytest.Config) -> None:
    if not _is_worker(config) and config.getoption("dist", "no") == "loadgroup":
        # Inherited by the workers, which xdist starts after this hook.
        os.environ[GROUPS_FOLDER_VARIABLE] = tempfile.mkdtemp(prefix="test-groups-")


def pytest_unconfigure(config: pytest.Config) -> None:
    folder = os.environ.get(GROUPS_FOLDER_VARIABLE)
    if folder and not _is_worker(config):
        shutil.rmtree(folder, ignore_errors=True)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    folder = os.environ.get(GROUPS_FOLDER_VARIABLE)
    if not folder or not _is_worker(config):
        return
    groups = {item.nodeid: group for item in items if (group := group_of(item)) is not None}
    written = Path(folder) / f"{config.workerinput['workerid']}.json"
    written.with_suffix(".tmp").write_text(json.dumps(groups))
    written.with_suffix(".tmp").rename(written)


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    folder = os.environ.get(GROUPS_FOLDER_VARIABLE)
    if not folder or config.getoption("dist", "no") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class GroupScheduling(LoadScopeScheduling):
        """xdist's scope scheduling, with each grouped test's scope its group's name."""

        _groups: dict[str, str] | None = None

        def _split_scope(self, nodeid: str) -> str:
            if self._groups is None:  # read once every worker has collected
                self._groups = {}
                for written in Path(folder).glob("*.json"):
                    self._groups.update(json.loads(written.read_text()))
            return self._groups.get(nodeid, nodeid)

    return GroupScheduling(config, log)
