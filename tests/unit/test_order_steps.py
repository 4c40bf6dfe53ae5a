"""Saga steps without Step Functions: each is safe when delivered twice."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from botocore.exceptions import ClientError, ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError
from botocore.stub import Stubber
from moto import mock_aws
from shop import payments
from shop.orders import NotAwaitingApproval, OrderStore, OutOfStock, aws_failures_are_transient
from shop.products import ProductStore

from tests.unit.handler_harness import FakeContext, create_state_table, fresh_import


@pytest.fixture
def stores() -> Iterator[tuple[OrderStore, ProductStore]]:
    with mock_aws():
        table = create_state_table("unit-orders-state")
        yield OrderStore(table), ProductStore(table)


def new_order(
    orders: OrderStore,
    products: ProductStore,
    stock: int = 3,
    quantity: int = 2,
    token: str = "tok_ok",
    requires_approval: bool = False,
):
    products.put("SKU-1", "Mug", 500, stock, 0)
    return orders.create({"SKU-1": quantity}, 500 * quantity, token, requires_approval=requires_approval)


@dataclass
class RecordingApprover:
    """An engine's approval answers, recorded instead of sent."""

    answers: list[tuple[str, ...]] = field(default_factory=list)

    def approve(self, token: str) -> None:
        self.answers.append(("approve", token))

    def reject(self, token: str, reason: str) -> None:
        self.answers.append(("reject", token, reason))


def test_duplicate_reservation_decrements_once(stores) -> None:
    orders, products = stores
    order = new_order(orders, products)
    assert orders.reserve_inventory(order.order_id)["already_done"] is False
    assert orders.reserve_inventory(order.order_id)["already_done"] is True
    assert products.find("SKU-1").stock == 1


def test_reservation_is_all_or_nothing(stores) -> None:
    orders, products = stores
    products.put("SKU-1", "Mug", 500, 5, 0)
    products.put("SKU-2", "Pen", 100, 0, 0)
    order = orders.create({"SKU-1": 1, "SKU-2": 1}, 600, "tok_ok", requires_approval=False)
    with pytest.raises(OutOfStock, match="SKU-2"):
        orders.reserve_inventory(order.order_id)
    assert products.find("SKU-1").stock == 5
    assert orders.get(order.order_id).status == "PENDING"


def test_duplicate_charge_charges_once_and_duplicate_release_releases_once(stores) -> None:
    orders, products = stores
    order = new_order(orders, products)
    orders.reserve_inventory(order.order_id)
    first = orders.charge_payment(order.order_id)
    again = orders.charge_payment(order.order_id)
    assert first["charge_id"] == again["charge_id"] and again["already_done"]
    assert orders.release_inventory(order.order_id) == {"released": True, "charged": True}
    assert orders.release_inventory(order.order_id) == {"released": False, "charged": True}
    assert products.find("SKU-1").stock == 3
    assert orders.refund(order.order_id) == {"refunded": True}
    assert orders.refund(order.order_id) == {"refunded": False}


def test_transient_gateway_counts_attempts_across_deliveries(stores) -> None:
    orders, products = stores
    order = new_order(orders, products, token="tok_transient_2")
    orders.reserve_inventory(order.order_id)
    for _ in range(2):
        with pytest.raises(payments.TransientError):
            orders.charge_payment(order.order_id)
    assert orders.charge_payment(order.order_id)["status"] == "PAID"


def test_release_without_reservation_is_a_no_op(stores) -> None:
    orders, products = stores
    order = new_order(orders, products)
    assert orders.release_inventory(order.order_id) == {"released": False, "charged": False}
    assert products.find("SKU-1").stock == 3


def test_confirmed_orders_are_never_marked_failed(stores) -> None:
    orders, products = stores
    order = new_order(orders, products)
    orders.reserve_inventory(order.order_id)
    orders.charge_payment(order.order_id)
    orders.confirm(order.order_id)
    assert orders.mark_failed(order.order_id, "late duplicate")["status"] == "CONFIRMED"


def test_approval_decision_is_taken_once(stores) -> None:
    orders, products = stores
    order = new_order(orders, products)
    orders.reserve_inventory(order.order_id)
    orders.request_approval(order.order_id, "token-1", RecordingApprover())
    assert orders.decide_approval(order.order_id, approve=True) == "token-1"
    with pytest.raises(NotAwaitingApproval):
        orders.decide_approval(order.order_id, approve=False)


def test_gateway_outcomes() -> None:
    assert payments.charge("tok_ok", "o1", 100, 1).charge_id == "ch_o1"
    with pytest.raises(payments.PaymentDeclined):
        payments.charge("tok_decline", "o1", 100, 1)
    with pytest.raises(payments.TransientError):
        payments.charge("tok_transient_3", "o1", 100, 3)
    assert payments.charge("tok_transient_3", "o1", 100, 4).charge_id == "ch_o1"


def test_step_handler_reads_causes_and_rejects_bad_input() -> None:
    os.environ.setdefault("STATE_TABLE_NAME", "unit-orders-state")
    with mock_aws():
        create_state_table(os.environ["STATE_TABLE_NAME"])
        steps = fresh_import("handlers.order_steps")
        cause = json.dumps({"errorType": "PaymentDeclined", "errorMessage": "card declined for order o1"})
        assert (
            steps.failure_cause({"Error": "PaymentDeclined", "Cause": cause})
            == "PaymentDeclined: card declined for order o1"
        )
        assert steps.failure_cause(None) == "unknown"
        with pytest.raises(steps.InvalidStepInput, match="step"):
            steps.handler({"step": "Nope", "order_id": "x"}, FakeContext())


def test_a_confirmed_order_is_never_compensated(stores) -> None:
    """ConfirmOrder can commit and still be reported failed (a lost reply); the Catch then
    routes to compensation, which must leave the sale alone."""
    orders, products = stores
    order = new_order(orders, products)
    orders.reserve_inventory(order.order_id)
    orders.charge_payment(order.order_id)
    orders.confirm(order.order_id)
    assert orders.release_inventory(order.order_id) == {"released": False, "charged": False}
    assert orders.refund(order.order_id) == {"refunded": False}
    assert products.find("SKU-1").stock == 1
    assert orders.get(order.order_id).status == "CONFIRMED"


# --- an approval that comes before the saga reaches WaitForApproval ---------------------------


def test_an_early_approval_is_recorded_then_applied_when_the_saga_asks(stores) -> None:
    orders, products = stores
    order = new_order(orders, products, requires_approval=True)
    approver = RecordingApprover()
    assert orders.decide_approval(order.order_id, approve=True) is None, "recorded, no token yet"
    recorded = orders.get(order.order_id)
    assert (recorded.status, recorded.extra["early_decision"]) == ("PENDING", "approve")

    orders.reserve_inventory(order.order_id)
    assert orders.request_approval(order.order_id, "token-1", approver)["status"] == "APPROVED"
    assert approver.answers == [("approve", "token-1")], "the engine is answered with the token it gave"
    applied = orders.get(order.order_id)
    assert applied.status == "APPROVED" and "task_token" not in applied.extra
    assert orders.charge_payment(order.order_id)["status"] == "PAID", "the saga goes on from APPROVED"


def test_an_early_rejection_is_sent_with_its_reason_and_the_order_can_be_compensated(stores) -> None:
    orders, products = stores
    order = new_order(orders, products, requires_approval=True)
    orders.reserve_inventory(order.order_id)
    assert orders.decide_approval(order.order_id, approve=False, reason="too big") is None
    approver = RecordingApprover()
    orders.request_approval(order.order_id, "token-1", approver)
    assert approver.answers == [("reject", "token-1", "too big")]
    assert orders.get(order.order_id).status == "REJECTED_BY_APPROVER"
    assert orders.release_inventory(order.order_id) == {"released": True, "charged": False}
    assert orders.mark_failed(order.order_id, "ApprovalRejected: too big")["status"] == "FAILED"
    assert products.find("SKU-1").stock == 3


def test_a_second_early_decision_is_refused(stores) -> None:
    orders, products = stores
    order = new_order(orders, products, requires_approval=True)
    orders.decide_approval(order.order_id, approve=True)
    with pytest.raises(NotAwaitingApproval, match="already has a decision"):
        orders.decide_approval(order.order_id, approve=False)
    assert orders.get(order.order_id).extra["early_decision"] == "approve", "the first decision stands"


def test_an_early_decision_needs_an_order_that_needs_approval_and_is_not_past_it(stores) -> None:
    orders, products = stores
    no_approval = new_order(orders, products)
    with pytest.raises(NotAwaitingApproval):
        orders.decide_approval(no_approval.order_id, approve=True)
    failed = orders.create({"SKU-1": 1}, 500, "tok_ok", requires_approval=True)
    orders.mark_failed(failed.order_id, "OutOfStock: none left")
    with pytest.raises(NotAwaitingApproval):
        orders.decide_approval(failed.order_id, approve=True)
    assert all("early_decision" not in orders.get(o.order_id).extra for o in (no_approval, failed))


def test_a_redelivered_request_after_an_applied_decision_answers_its_new_token(stores) -> None:
    """A retried RequestApproval task carries a new token; the engine waits on that one."""
    orders, products = stores
    order = new_order(orders, products, requires_approval=True)
    orders.reserve_inventory(order.order_id)
    orders.decide_approval(order.order_id, approve=True)
    approver = RecordingApprover()
    orders.request_approval(order.order_id, "token-1", approver)
    orders.request_approval(order.order_id, "token-2", approver)
    assert approver.answers == [("approve", "token-1"), ("approve", "token-2")]


def test_a_decision_that_loses_the_race_to_the_saga_takes_the_token(stores) -> None:
    """The order is RESERVED when the decision reads it; the saga stores its token before the
    decision writes: the record's condition fails, and the next attempt takes the token."""
    orders, products = stores
    order = new_order(orders, products, requires_approval=True)
    orders.reserve_inventory(order.order_id)
    read = orders.get
    reads: list[str] = []

    def read_then_the_saga_asks(order_id: str):
        current = read(order_id)
        reads.append(current.status)
        if len(reads) == 1:
            orders.request_approval(order_id, "token-1", RecordingApprover())
        return current

    orders.get = read_then_the_saga_asks  # type: ignore[method-assign]
    assert orders.decide_approval(order.order_id, approve=True) == "token-1"
    assert reads == ["RESERVED", "AWAITING_APPROVAL"]
    orders.get = read  # type: ignore[method-assign]
    decided = orders.get(order.order_id)
    assert decided.status == "APPROVED" and "early_decision" not in decided.extra


def test_the_request_approval_step_answers_step_functions_for_an_early_decision() -> None:

    os.environ.setdefault("STATE_TABLE_NAME", "unit-orders-state")
    with mock_aws():
        create_state_table(os.environ["STATE_TABLE_NAME"])
        steps = fresh_import("handlers.order_steps")
        ProductStore(steps.store._table).put("SKU-1", "Mug", 500, 3, 0)
        order = steps.store.create({"SKU-1": 1}, 500, "tok_ok", requires_approval=True)
        steps.store.reserve_inventory(order.order_id)
        steps.store.decide_approval(order.order_id, approve=True)
        with Stubber(steps.states()) as stubber:
            stubber.add_response(
                "send_task_success", {}, {"taskToken": "token-1", "output": json.dumps({"approved": True})}
            )
            event = {"step": "RequestApproval", "order_id": order.order_id, "task_token": "token-1"}
            assert steps.handler(event, FakeContext())["status"] == "APPROVED"
            stubber.assert_no_pending_responses()


@pytest.mark.parametrize(
    "unanswered",
    [
        ReadTimeoutError(endpoint_url="https://dynamodb.us-east-2.amazonaws.com/"),
        ConnectTimeoutError(endpoint_url="https://dynamodb.us-east-2.amazonaws.com/"),
        EndpointConnectionError(endpoint_url="https://dynamodb.us-east-2.amazonaws.com/"),
    ],
)
def test_a_step_whose_aws_call_went_unanswered_fails_as_transient(
    unanswered: Exception, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The state machine retries TransientError by name; botocore's own error name would be
    caught as a business failure and compensate a happy order."""
    os.environ.setdefault("STATE_TABLE_NAME", "unit-orders-state")
    with mock_aws():
        create_state_table(os.environ["STATE_TABLE_NAME"])
        steps = fresh_import("handlers.order_steps")

        def unanswered_call(order_id: str) -> dict[str, Any]:
            raise unanswered

        monkeypatch.setattr(steps.store, "reserve_inventory", unanswered_call)
        order_id = "5f0c7c2e-4d1b-5a8e-9f3a-2b6c1d0e9a87"
        with pytest.raises(payments.TransientError, match="went unanswered") as raised:
            steps.handler({"step": "ReserveInventory", "order_id": order_id}, FakeContext())
        assert raised.value.__cause__ is unanswered


@pytest.mark.parametrize(
    "code", ["ThrottlingException", "ProvisionedThroughputExceededException", "InternalServerError"]
)
def test_a_step_whose_read_dynamodb_throttled_fails_as_transient(code: str) -> None:
    """Each step reads its order first; a read throttled through every attempt of the client must
    be retried by the engine, not caught as a business failure (make chaos, dynamodb-throttling)."""
    os.environ.setdefault("STATE_TABLE_NAME", "unit-orders-state")
    with mock_aws():
        create_state_table(os.environ["STATE_TABLE_NAME"])
        steps = fresh_import("handlers.order_steps")
        ProductStore(steps.store._table).put("SKU-1", "Mug", 500, 3, 0)
        order = steps.store.create({"SKU-1": 1}, 500, "tok_ok", requires_approval=False)
        client = steps.store._table.meta.client
        with Stubber(client) as stubber:
            stubber.add_client_error("get_item", service_error_code=code, http_status_code=400)
            with pytest.raises(payments.TransientError, match=code) as raised:
                steps.handler({"step": "ValidateOrder", "order_id": order.order_id}, FakeContext())
        assert isinstance(raised.value.__cause__, ClientError)


def test_an_aws_refusal_is_not_made_transient() -> None:
    refused = ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "PutItem")
    with pytest.raises(ClientError), aws_failures_are_transient():
        raise refused
