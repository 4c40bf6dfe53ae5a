"""The stack the twin runs on is what `terraform apply` made, and a second plan agrees with it."""

from __future__ import annotations

import re

import pytest

from local_twin.provision import replan

pytestmark = pytest.mark.twin


def test_the_twin_was_applied_by_terraform(twin) -> None:
    assert twin.timings is not None and twin.timings.resources >= 100
    assert set(twin.outputs.function_names) == {
        "cache_invalidator",
        "cart",
        "catalog",
        "checkout",
        "checkout_durable",
        "order_relay",
        "order_steps",
    }
    deployed = {f["FunctionName"] for f in twin.client("lambda").list_functions()["Functions"]}
    assert deployed >= set(twin.outputs.function_names.values())
    assert twin.outputs.routes["GET /products/{sku}"] == "catalog"


def test_a_second_plan_shows_no_changes(twin) -> None:
    """moto reports back every attribute the stack sets (with the twin's emulations), so a
    re-plan of the applied stack must propose nothing."""
    assert replan(twin.build_dir) == []


def test_make_plan_env_twin_plans_the_whole_stack_without_an_account(tmp_path) -> None:
    """`make plan ENV=twin`: a real plan of every resource against a fresh twin's moto."""
    import os
    import subprocess
    import sys

    from tools.packaging import REPO_ROOT

    environment = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    result = subprocess.run(
        [sys.executable, "-m", "local_twin", "plan", "--build-dir", str(tmp_path)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env=environment,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    planned = re.search(r"Plan: (\d+) to add, 0 to change, 0 to destroy", result.stdout)
    assert planned and int(planned.group(1)) >= 100, result.stdout[-2000:]
