"""The stack the twin runs on is what `terraform apply` made, and a second plan agrees with it."""

from __future__ import annotations

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
        "order_steps",
    }
    deployed = {f["FunctionName"] for f in twin.client("lambda").list_functions()["Functions"]}
    assert deployed >= set(twin.outputs.function_names.values())
    assert twin.outputs.routes["GET /products/{sku}"] == "catalog"


def test_a_second_plan_shows_no_changes(twin) -> None:
    """moto reports back every attribute the stack sets (with the twin's emulations), so a
    re-plan of the applied stack must propose nothing."""
    assert replan(twin.build_dir) == []
