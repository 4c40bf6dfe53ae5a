"""Saga steps without Step Functions: each is safe when delivered twice."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

import pytest
from moto import mock_aws
from shop import payments
from shop.orders import NotAwaitingApproval, OrderStore, OutOfStock
from shop.products import ProductStore

from tests.unit.handler_harness import FakeContext, create_state_table, fresh_import


@pytest.fixture
def stores() -> Iterator[tuple[OrderStore, ProductStore]]:
    with mock_aws():
        table = create_state_table("unit-orders-state")
        yield OrderStore(table), ProductStore(table)


def new_order(
    orders: OrderStore, products: ProductStore, stock: int = 3, quantity: int = 2, token: str = "tok_ok"
):
    products.put("SKU-1", "Mug", 500, stock, 0)
    return orders.create({"SKU-1": quantity}, 500 * quantity, token, requires_approval=False)


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
    orders.request_approval(order.order_id, "token-1")
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
