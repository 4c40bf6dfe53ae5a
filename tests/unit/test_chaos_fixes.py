"""The fixes the chaos experiments found (drivers/chaos/), at the unit level; each experiment is
the end-to-end test (tests/integration/test_chaos.py, `make chaos`)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from shop import clients
from shop.orders import OrderStore
from shop.payments import TransientError

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_every_client_call_ends_within_the_shortest_function_timeout() -> None:
    timeouts = [
        float(t)
        for t in re.findall(
            r"^\s+timeout\s+=\s+(\d+)\s*$", (REPO_ROOT / "terraform/functions.tf").read_text(), re.M
        )
    ]
    assert timeouts, "no function timeouts found in terraform/functions.tf"
    assert min(timeouts) == clients.SHORTEST_FUNCTION_TIMEOUT
    assert clients.worst_case_seconds() < clients.SHORTEST_FUNCTION_TIMEOUT
    assert clients.CONFIG.retries["total_max_attempts"] == clients.MAX_ATTEMPTS


class _ConflictingTable:
    """A table whose item reads answer a PENDING order and whose transactions are cancelled."""

    name = "state"

    def __init__(self, reasons: list[dict[str, Any]]) -> None:
        self.meta = type("Meta", (), {"client": self})()
        self._reasons = reasons

    def get_item(self, **_: Any) -> dict[str, Any]:
        return {
            "Item": {
                "pk": "ORDER#o1",
                "sk": "ORDER",
                "status": "PENDING",
                "items": {"SKU-1": 1},
                "total_cents": 100,
                "payment_token": "tok_ok",
            }
        }

    def transact_write_items(self, **_: Any) -> None:
        raise ClientError(
            {
                "Error": {"Code": "TransactionCanceledException", "Message": "cancelled"},
                "CancellationReasons": self._reasons,
            },
            "TransactWriteItems",
        )


def test_a_conflicting_reservation_is_retried_not_taken_for_out_of_stock() -> None:
    store = OrderStore(_ConflictingTable([{"Code": "TransactionConflict"}, {"Code": "None"}]))
    with pytest.raises(TransientError, match="TransactionConflict"):
        store.reserve_inventory("o1")


def test_a_reservation_without_stock_is_still_out_of_stock() -> None:
    from shop.orders import OutOfStock

    store = OrderStore(_ConflictingTable([{"Code": "None"}, {"Code": "ConditionalCheckFailed"}]))
    with pytest.raises(OutOfStock):
        store.reserve_inventory("o1")


def test_every_saga_task_retries_a_crashed_runtime() -> None:
    definition = json.loads((REPO_ROOT / "terraform/workflows/checkout.asl.json").read_text())
    tasks = [state for state in definition["States"].values() if state["Type"] == "Task"]
    assert tasks
    for task in tasks:
        retried = {name for retry in task.get("Retry", []) for name in retry["ErrorEquals"]}
        assert {"Runtime.ExitError", "Sandbox.Timedout"} <= retried, task.get("Comment")


def test_a_throttled_saga_task_is_retried_longer_than_a_transient_error() -> None:
    """A throttle is the function at its concurrency, not the order failing: 56 orders at once
    against order-steps' reservation of 16 were compensated once three quick retries had run out.
    The throttle's retrier comes first (the first retrier whose ErrorEquals matches applies:
    https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html)."""
    definition = json.loads((REPO_ROOT / "terraform/workflows/checkout.asl.json").read_text())
    for name, task in definition["States"].items():
        if task["Type"] != "Task":
            continue
        throttle, *others = task["Retry"]
        assert throttle["ErrorEquals"] == ["Lambda.TooManyRequestsException"], name
        assert all("Lambda.TooManyRequestsException" not in other["ErrorEquals"] for other in others), name
        assert throttle["MaxAttempts"] > max(other["MaxAttempts"] for other in others), name
        waited = sum(
            min(throttle["IntervalSeconds"] * throttle["BackoffRate"] ** i, throttle["MaxDelaySeconds"])
            for i in range(throttle["MaxAttempts"])
        )
        assert waited >= 60, f"{name}: a throttle is waited out for a minute at most back-off ({waited} s)"
