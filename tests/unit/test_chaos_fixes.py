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


# Lambda's own failures as Step Functions names them: the service's 500s, which AWS's best practice
# retries 6 times from 2 s doubling (https://docs.aws.amazon.com/step-functions/latest/dg/bp-lambda-serviceexception.html),
# and an environment that died (Lambda.Unknown in that page; Runtime.ExitError and Sandbox.Timedout
# as the function's error type).
LAMBDA_FAILURES = {
    "Lambda.ClientExecutionTimeoutException",
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.Unknown",
    "Runtime.ExitError",
    "Sandbox.Timedout",
}


def _lambda_retriers() -> dict[str, dict[str, Any]]:
    definition = json.loads((REPO_ROOT / "terraform/workflows/checkout.asl.json").read_text())
    retriers = {}
    for name, state in definition["States"].items():
        if state["Type"] != "Task":
            continue
        (retrier,) = [r for r in state["Retry"] if "Runtime.ExitError" in r["ErrorEquals"]]
        retriers[name] = retrier
    assert retriers
    return retriers


def test_every_saga_task_retries_lambdas_own_failures_as_aws_recommends() -> None:
    for name, retrier in _lambda_retriers().items():
        assert set(retrier["ErrorEquals"]) == LAMBDA_FAILURES, name
        assert retrier["MaxAttempts"] >= 6 and retrier["IntervalSeconds"] >= 2, name
        assert retrier["BackoffRate"] == 2.0, name


def test_the_crash_experiment_cannot_take_every_attempt_of_one_step() -> None:
    """step-crash-after-write asserts that a retried step finds its work done; it kills at most as
    many environments as a step has retries, so no order fails by the draw of the dice."""
    from drivers.chaos import step_crash_after_write

    (rule,) = step_crash_after_write.EXPERIMENT.rules(_NamedTarget())
    for name, retrier in _lambda_retriers().items():
        assert rule["count"] <= retrier["MaxAttempts"], name


class _NamedTarget:
    def function_name(self, key: str) -> str:
        return f"shop-{key}"


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


def test_a_reservation_waits_out_a_hot_products_contention_on_both_engines() -> None:
    """make chaos's transaction-conflict compensated one order in thirteen at 50% conflicts for 8 s:
    four quick attempts all met the fault (0.5^4 = 1/16 of orders). The reservation now retries as
    long as compensation does, backing off to 16 s, so its later attempts land after the
    contention; the durable saga's step has the same budget."""
    from shop import durable_saga

    from drivers.chaos import transaction_conflict

    definition = json.loads((REPO_ROOT / "terraform/workflows/checkout.asl.json").read_text())

    def transient(state: str) -> dict:
        (retrier,) = [
            r for r in definition["States"][state]["Retry"] if r["ErrorEquals"] == ["TransientError"]
        ]
        return retrier

    reservation = transient("ReserveInventory")
    assert reservation["MaxAttempts"] + 1 == durable_saga.RESERVATION_ATTEMPTS
    assert reservation["MaxDelaySeconds"] == durable_saga.RESERVATION_MAX_DELAY_SECONDS
    assert reservation["MaxAttempts"] > transient("ChargePayment")["MaxAttempts"]
    (rule,) = transaction_conflict.EXPERIMENT.rules(_NamedTarget())
    assert rule["probability"] ** durable_saga.RESERVATION_ATTEMPTS < 0.01
