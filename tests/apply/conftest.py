"""Fixtures of the apply tests: where the examples go, and the pipeline that applies them."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import boto3
import pytest

from tests.apply import support
from tools import tfrun

# The examples' own region; the twin's override sets its own (tools.tfrun.TWIN_REGION).
EXAMPLES_REGION = "eu-west-1"
WORKERS_VARIABLE = "SERVERLESS_STATE_APPLY_WORKERS"


@pytest.fixture(scope="session")
def target() -> Iterator[support.Target]:
    """Prepares this session's Terraform copy and points its roots at the selected target."""
    try:
        tfrun.toolchain()
    except tfrun.TerraformMissing as missing:
        pytest.skip(str(missing))
    name = support.selected_target()
    if name == support.AWS and boto3.session.Session().get_credentials() is None:
        pytest.skip(f"{support.TARGET_VARIABLE}=aws needs AWS credentials for a sandbox account")
    tree = support.prepare_tree()
    roots = [*(tree / "modules").glob("*/examples/*"), tree / "environments" / "bootstrap"]
    server = None
    try:
        if name == support.TWIN:
            server, endpoint = support.start_twin_server(support.SESSION_DIR)
            for root in roots:
                tfrun.target_twin(root, endpoint)
            yield support.Target(support.TWIN, tfrun.TWIN_REGION, endpoint)
        else:
            for root in roots:
                (root / tfrun.TWIN_OVERRIDE).unlink(missing_ok=True)
            yield support.Target(support.AWS, EXAMPLES_REGION)
    finally:
        if server is not None:
            server.stop()
        support.keep_logs()
        shutil.rmtree(support.SESSION_DIR, ignore_errors=True)


@pytest.fixture(scope="session")
def pipeline(request: pytest.FixtureRequest, target: support.Target) -> Iterator[support.Pipeline]:
    """Starts applying every example that a selected test uses, a few at a time
    (SERVERLESS_STATE_APPLY_WORKERS, default 5), and at the end destroys what is left."""
    from tests.apply.test_apply_examples import EXAMPLES

    workers = int(os.environ.get(WORKERS_VARIABLE, "5"))
    lifecycle = support.Pipeline(target, EXAMPLES, workers)
    lifecycle.baseline = support.inventory(target)
    # Under pytest-xdist a worker runs only some of the items it collected: there, each
    # example starts when its test asks for it.
    if not hasattr(request.config, "workerinput"):
        used = {name for item in request.session.items for name in getattr(item, "fixturenames", ())}
        lifecycle.start(example.name for example in EXAMPLES if example.name in used)
    try:
        yield lifecycle
    finally:
        lifecycle.close()
        _TIMINGS.update(lifecycle.timings)


_TIMINGS: dict[str, dict[str, float]] = {}


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """How long each example's apply (with init) and destroy took, overlapped as they were."""
    if _TIMINGS:
        terminalreporter.section("terraform apply / destroy per example")
        for name, timing in _TIMINGS.items():
            steps = ", ".join(f"{step} {seconds:.0f} s" for step, seconds in timing.items())
            terminalreporter.write_line(f"{name}: {steps}")
