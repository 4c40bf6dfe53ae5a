"""The checkout saga on the durable engine: every path of tests/integration/test_checkout_saga.py,
run by the SDK's own local runner (checkpoints, retries, callbacks and replays as the SDK
defines them) over the real handler and OrderStore against moto.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest
from aws_durable_execution_sdk_python.lambda_service import ErrorObject
from aws_durable_execution_sdk_python_testing import DurableFunctionTestRunner
from botocore.exceptions import ReadTimeoutError
from moto import mock_aws
from shop.orders import OrderStore, order_id_for
from shop.products import ProductStore

from tests.unit.handler_harness import create_state_table, fresh_import

TABLE = "durable-saga-state"
FORWARD = ["ValidateOrder", "ReserveInventory", "ChargePayment", "ConfirmOrder"]


@dataclass
class Shop:
    module: Any
    table: Any
    store: OrderStore
    invocations: int = 0

    def product(self, stock: int, price: int = 1000) -> str:
        sku = f"S-{uuid.uuid4().hex[:10].upper()}"
        ProductStore(self.table).put(sku, "Item", price, stock, 0)
        return sku

    def stock(self, sku: str) -> int:
        return int(self.table.get_item(Key={"pk": f"PRODUCT#{sku}", "sk": "PRODUCT"})["Item"]["stock"])

    def order(self, sku: str, quantity: int = 1, token: str = "tok_ok", approval: bool = False) -> str:
        order_id = order_id_for(uuid.uuid4().hex)
        self.store.create({sku: quantity}, 1000 * quantity, token, approval, order_id=order_id)
        return order_id

    def handler(self, event: Any, context: Any) -> Any:
        self.invocations += 1
        return self.module.handler(event, context)

    def runner(self) -> DurableFunctionTestRunner:
        return DurableFunctionTestRunner(handler=self.handler, poll_interval=0.05)

    def run(self, order_id: str, approval: bool = False) -> Any:
        with self.runner() as runner:
            return runner.run(
                input=json.dumps({"order_id": order_id, "requires_approval": approval}),
                execution_name=order_id,
                execution_timeout=60,
            )


@pytest.fixture
def shop() -> Iterator[Shop]:
    with pytest.MonkeyPatch.context() as patch, mock_aws():
        patch.setenv("STATE_TABLE_NAME", TABLE)
        table = create_state_table(TABLE)
        module = fresh_import("handlers.checkout_durable")
        yield Shop(module, table, module.store)


def names(result: Any) -> list[str]:
    return [operation.name for operation in result.operations]


def status(result: Any) -> str:
    return str(getattr(result.status, "value", result.status))


def test_happy_path_confirms_and_decrements_stock_once(shop: Shop) -> None:
    sku = shop.product(stock=5)
    order_id = shop.order(sku, 2)
    result = shop.run(order_id)
    assert status(result) == "SUCCEEDED", result.error
    assert shop.store.get(order_id).status == "CONFIRMED"
    assert names(result) == FORWARD
    assert shop.stock(sku) == 3


def test_decline_compensates(shop: Shop) -> None:
    sku = shop.product(stock=5)
    order_id = shop.order(sku, token="tok_decline")
    result = shop.run(order_id)
    order = shop.store.get(order_id)
    assert (order.status, status(result)) == ("FAILED", "FAILED")
    assert "PaymentDeclined" in (order.failure_cause or "")
    assert "ReleaseInventory" in names(result) and "RefundPayment" not in names(result)
    assert shop.stock(sku) == 5
    charge = next(op for op in result.operations if op.name == "ChargePayment")
    assert charge.attempt in (None, 1), "a business error is not retried"


def test_transient_failures_are_retried_then_succeed(shop: Shop) -> None:
    sku = shop.product(stock=5)
    order_id = shop.order(sku, token="tok_transient_2")
    result = shop.run(order_id)
    assert status(result) == "SUCCEEDED", result.error
    order = shop.store.get(order_id)
    assert order.status == "CONFIRMED"
    assert int(order.extra["payment_attempts"]) == 3, "two transient failures, each retried"
    assert shop.stock(sku) == 4


def test_a_step_whose_aws_call_went_unanswered_is_retried_not_compensated(
    shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A read timeout through every attempt of the client (a slow DynamoDB) is transient: the
    step runs again after its back-off, and the happy order is confirmed, not compensated."""
    sku = shop.product(stock=5)
    order_id = shop.order(sku)
    reserve = shop.store.reserve_inventory
    calls: list[str] = []

    def slow_once(order: str) -> dict[str, Any]:
        calls.append(order)
        if len(calls) == 1:
            raise ReadTimeoutError(endpoint_url="https://dynamodb.us-east-2.amazonaws.com/")
        return reserve(order)

    monkeypatch.setattr(shop.store, "reserve_inventory", slow_once)
    result = shop.run(order_id)
    assert status(result) == "SUCCEEDED", result.error
    assert shop.store.get(order_id).status == "CONFIRMED"
    assert len(calls) == 2 and shop.stock(sku) == 4


def test_exhausted_retries_compensate(shop: Shop) -> None:
    sku = shop.product(stock=5)
    order_id = shop.order(sku, token="tok_transient_9")
    result = shop.run(order_id)
    order = shop.store.get(order_id)
    assert (order.status, status(result)) == ("FAILED", "FAILED")
    assert "TransientError" in (order.failure_cause or "")
    assert int(order.extra["payment_attempts"]) == 4, "the first try and 3 retries, as in the state machine"
    assert shop.stock(sku) == 5


def test_race_for_the_last_unit_has_exactly_one_winner(shop: Shop) -> None:
    # DynamoDB applies each request atomically; in-process moto does not across threads (both
    # conditional decrements can read stock 1 before either writes), so requests take turns.
    client, lock = shop.store._client, threading.Lock()
    make_api_call = client._make_api_call

    def atomic(operation: str, arguments: dict[str, Any]) -> Any:
        with lock:
            return make_api_call(operation, arguments)

    client._make_api_call = atomic
    sku = shop.product(stock=1)
    orders = [shop.order(sku), shop.order(sku)]
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(shop.run, orders))
    statuses = sorted(shop.store.get(order_id).status for order_id in orders)
    assert statuses == ["CONFIRMED", "FAILED"]
    loser = next(shop.store.get(o) for o in orders if shop.store.get(o).status == "FAILED")
    assert "OutOfStock" in (loser.failure_cause or "")
    assert shop.stock(sku) == 0


@pytest.mark.parametrize(
    ("decision", "final", "stock_after"), [("approve", "CONFIRMED", 4), ("reject", "FAILED", 5)]
)
def test_large_orders_wait_for_approval(shop: Shop, decision: str, final: str, stock_after: int) -> None:
    sku = shop.product(stock=5)
    order_id = shop.order(sku, approval=True)
    with shop.runner() as runner:
        arn = runner.run_async(
            input=json.dumps({"order_id": order_id, "requires_approval": True}),
            execution_name=order_id,
            execution_timeout=60,
        )
        callback_id = runner.wait_for_callback(arn, timeout=30)
        waiting = shop.store.get(order_id)
        assert waiting.status == "AWAITING_APPROVAL"
        assert waiting.extra["task_token"] == callback_id, "the callback id is stored as the order's token"
        token = shop.store.decide_approval(order_id, approve=decision == "approve")
        with pytest.raises(Exception, match="not waiting for approval"):
            shop.store.decide_approval(order_id, approve=True)  # a decision is taken once
        if decision == "approve":
            runner.send_callback_success(token, json.dumps({"approved": True}).encode())
        else:
            runner.send_callback_failure(
                token, ErrorObject("rejected by the approver", "ApprovalRejected", None, None)
            )
        result = runner.wait_for_result(arn, timeout=60)
    order = shop.store.get(order_id)
    assert order.status == final
    assert "WaitForApproval" in names(result)
    assert shop.stock(sku) == stock_after
    if decision == "reject":
        assert "ApprovalRejected" in (order.failure_cause or "")


@dataclass
class RunnerApprover:
    """The durable engine's answers, sent to the SDK's local runner (moto has no durable API)."""

    runner: DurableFunctionTestRunner
    answers: list[str]

    def approve(self, token: str) -> None:
        self.answers.append(token)
        self.runner.send_callback_success(token, json.dumps({"approved": True}).encode())

    def reject(self, token: str, reason: str) -> None:
        self.answers.append(token)
        self.runner.send_callback_failure(token, ErrorObject(reason, "ApprovalRejected", None, None))


@pytest.mark.parametrize(
    ("decision", "final", "stock_after"), [("approve", "CONFIRMED", 4), ("reject", "FAILED", 5)]
)
def test_a_decision_before_the_saga_waits_is_applied_when_it_gets_there(
    shop: Shop, decision: str, final: str, stock_after: int
) -> None:
    sku = shop.product(stock=5)
    order_id = shop.order(sku, approval=True)
    # The approver decides while the order is still PENDING: recorded, no callback yet.
    assert shop.store.decide_approval(order_id, approve=decision == "approve", reason="too big") is None
    with shop.runner() as runner:
        approver = RunnerApprover(runner, [])
        shop.module.approver = approver
        arn = runner.run_async(
            input=json.dumps({"order_id": order_id, "requires_approval": True}),
            execution_name=order_id,
            execution_timeout=60,
        )
        result = runner.wait_for_result(arn, timeout=60)
    order = shop.store.get(order_id)
    assert (order.status, status(result)) == (final, "SUCCEEDED" if decision == "approve" else "FAILED")
    assert len(approver.answers) == 1, "the submitter answered its own callback, once"
    assert "WaitForApproval" in names(result)
    assert shop.stock(sku) == stock_after
    if decision == "reject":
        assert order.failure_cause == "ApprovalRejected: too big"
        assert "ReleaseInventory" in names(result)


def test_replay_does_not_run_checkpointed_steps_again(shop: Shop) -> None:
    """A transient charge failure ends the invocation; the next one replays from the start,
    and the reservation (already checkpointed) comes from its checkpoint, not from DynamoDB."""
    calls: dict[str, int] = {"reserve": 0, "charge": 0}
    lock = threading.Lock()
    reserve, charge = shop.store.reserve_inventory, shop.store.charge_payment

    def counting(name: str, action: Any) -> Any:
        def wrapper(order_id: str) -> Any:
            with lock:
                calls[name] += 1
            return action(order_id)

        return wrapper

    shop.store.reserve_inventory = counting("reserve", reserve)  # type: ignore[method-assign]
    shop.store.charge_payment = counting("charge", charge)  # type: ignore[method-assign]
    sku = shop.product(stock=5)
    order_id = shop.order(sku, token="tok_transient_1")
    result = shop.run(order_id)

    assert status(result) == "SUCCEEDED", result.error
    assert shop.invocations >= 2, "the retry must have ended the first invocation and replayed"
    assert calls == {"reserve": 1, "charge": 2}, "no second reservation; one charge per attempt"
    order = shop.store.get(order_id)
    assert order.status == "CONFIRMED" and order.charge_id
    assert shop.stock(sku) == 4


def test_an_invalid_input_fails_the_execution_and_writes_nothing(shop: Shop) -> None:
    before = shop.table.scan()["Items"]
    with shop.runner() as runner:
        result = runner.run(input=json.dumps({"order_id": "not-a-uuid", "requires_approval": False}))
    assert status(result) == "FAILED"
    assert "invalid saga input" in (result.error.message or "")
    assert shop.table.scan()["Items"] == before
