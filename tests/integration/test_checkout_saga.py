"""The checkout saga on the twin: Step Functions executions running the real handlers."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

pytestmark = pytest.mark.twin
TERMINAL = {"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}


def new_sku() -> str:
    return f"S-{uuid.uuid4().hex[:10].upper()}"


def make_product(twin, stock: int, price: int = 1000) -> str:
    sku = new_sku()
    response = twin.request(
        "PUT",
        f"/products/{sku}",
        json_body={"name": "Item", "price_cents": price, "stock": stock, "version": 0},
    )
    assert response.status == 201
    return sku


def make_cart(twin, items: dict[str, int]) -> str:
    cart_id = f"c-{uuid.uuid4().hex[:10]}"
    assert twin.request("PUT", f"/carts/{cart_id}", json_body={"items": items}).status == 201
    return cart_id


def place(twin, cart_id: str, token: str = "tok_ok", key: str | None = None):
    return twin.request(
        "POST",
        "/orders",
        json_body={"cart_id": cart_id, "payment_token": token},
        headers={"Idempotency-Key": key or uuid.uuid4().hex},
    )


def wait_for(twin, order_id: str, order_status: str | None = None, timeout: float = 60) -> dict:
    """Until the execution ends, or until the order reaches `order_status`."""
    deadline = time.monotonic() + timeout
    while True:
        order = twin.request("GET", f"/orders/{order_id}").json
        if order["status"] == order_status or (
            order_status is None and order["execution_status"] in TERMINAL
        ):
            return order
        assert time.monotonic() < deadline, f"order {order_id} stuck: {order}"
        time.sleep(0.3)


def test_happy_path_confirms_and_decrements_stock_once(twin) -> None:
    sku = make_product(twin, stock=5)
    response = place(twin, make_cart(twin, {sku: 2}))
    assert response.status == 202
    order = wait_for(twin, response.json["order_id"])
    assert (order["status"], order["execution_status"]) == ("CONFIRMED", "SUCCEEDED")
    assert order["history"] == [
        "ValidateOrder",
        "ReserveInventory",
        "NeedsApproval",
        "ChargePayment",
        "ConfirmOrder",
        "OrderConfirmed",
    ]
    assert twin.product_stock(sku) == 3


def test_decline_compensates(twin) -> None:
    sku = make_product(twin, stock=5)
    order = wait_for(twin, place(twin, make_cart(twin, {sku: 2}), "tok_decline").json["order_id"])
    assert (order["status"], order["execution_status"]) == ("FAILED", "FAILED")
    assert "PaymentDeclined" in order["failure_cause"]
    assert "ReleaseInventory" in order["history"] and "RefundPayment" not in order["history"]
    assert twin.product_stock(sku) == 5


def test_transient_failures_are_retried_then_succeed(twin) -> None:
    sku = make_product(twin, stock=5)
    order = wait_for(twin, place(twin, make_cart(twin, {sku: 1}), "tok_transient_2").json["order_id"])
    assert order["status"] == "CONFIRMED"
    history = twin.client("stepfunctions").get_execution_history(
        executionArn=order["execution_arn"], maxResults=500
    )
    failed_attempts = [e for e in history["events"] if e["type"] == "TaskFailed"]
    assert len(failed_attempts) == 2, "two transient failures, each retried"
    assert twin.product_stock(sku) == 4


def test_exhausted_retries_compensate(twin) -> None:
    sku = make_product(twin, stock=5)
    order = wait_for(twin, place(twin, make_cart(twin, {sku: 1}), "tok_transient_9").json["order_id"])
    assert order["status"] == "FAILED"
    assert "TransientError" in order["failure_cause"]
    assert twin.product_stock(sku) == 5


def test_race_for_the_last_unit_has_exactly_one_winner(twin) -> None:
    sku = make_product(twin, stock=1)
    carts = [make_cart(twin, {sku: 1}) for _ in range(2)]
    with ThreadPoolExecutor(2) as pool:
        placed = list(pool.map(lambda cart: place(twin, cart).json["order_id"], carts))
    orders = [wait_for(twin, order_id) for order_id in placed]
    assert sorted(o["status"] for o in orders) == ["CONFIRMED", "FAILED"]
    loser = next(o for o in orders if o["status"] == "FAILED")
    assert "OutOfStock" in loser["failure_cause"]
    assert twin.product_stock(sku) == 0


@pytest.mark.parametrize(
    ("decision", "final", "stock_after"), [("approve", "CONFIRMED", 0), ("reject", "FAILED", 2)]
)
def test_large_orders_wait_for_approval(twin, decision: str, final: str, stock_after: int) -> None:
    sku = make_product(twin, stock=2, price=60_000)  # 2 x 600.00 is over the 1,000.00 threshold
    response = place(twin, make_cart(twin, {sku: 2}))
    assert response.json["requires_approval"] is True
    order_id = response.json["order_id"]
    waiting = wait_for(twin, order_id, order_status="AWAITING_APPROVAL")
    assert waiting["execution_status"] == "RUNNING"
    decided = twin.request("POST", f"/orders/{order_id}/approval", json_body={"decision": decision})
    assert decided.status == 202
    again = twin.request("POST", f"/orders/{order_id}/approval", json_body={"decision": decision})
    assert again.status == 409, "a decision is taken once"
    order = wait_for(twin, order_id)
    assert order["status"] == final
    assert "WaitForApproval" in order["history"]
    assert twin.product_stock(sku) == stock_after


def executions(twin) -> int:
    machine = twin.state_machine_arn("checkout")
    return len(
        twin.client("stepfunctions").list_executions(stateMachineArn=machine, maxResults=1000)["executions"]
    )


def test_idempotent_replay_starts_no_second_execution(twin) -> None:
    sku = make_product(twin, stock=5)
    cart = make_cart(twin, {sku: 1})
    key = "idem-" + uuid.uuid4().hex
    first = place(twin, cart, key=key)
    before = executions(twin)
    replay = place(twin, cart, key=key)
    assert replay.status == 202 and replay.json == first.json
    assert executions(twin) == before
    reused = twin.request(
        "POST",
        "/orders",
        json_body={"cart_id": make_cart(twin, {sku: 1}), "payment_token": "tok_ok"},
        headers={"Idempotency-Key": key},
    )
    assert reused.status == 422, "a key reused with another body is refused"
    wait_for(twin, first.json["order_id"])


@pytest.mark.parametrize(
    ("body", "headers", "status"),
    [
        ({"cart_id": "c1", "payment_token": "tok_ok"}, {}, 400),  # no Idempotency-Key
        ({"cart_id": "c1", "payment_token": "tok_ok"}, {"Idempotency-Key": "short"}, 400),
        ({"cart_id": "c1", "payment_token": "tok_free_money"}, None, 400),
        ({"cart_id": "c 1", "payment_token": "tok_ok"}, None, 400),
        ({"cart_id": "c1"}, None, 400),
        ({"cart_id": "c1", "payment_token": "tok_ok", "discount": 100}, None, 400),
        ({"cart_id": "no-such-cart", "payment_token": "tok_ok"}, None, 404),
    ],
)
def test_bad_orders_are_4xx_and_start_nothing(twin, body, headers, status) -> None:
    before = executions(twin)
    response = twin.request(
        "POST",
        "/orders",
        json_body=body,
        headers=headers if headers is not None else {"Idempotency-Key": uuid.uuid4().hex},
    )
    assert response.status == status, response.body
    assert set(response.json) >= {"error", "message"}
    assert executions(twin) == before


def test_empty_cart_is_422_and_starts_nothing(twin) -> None:
    before = executions(twin)
    sku = make_product(twin, stock=1)
    cart = make_cart(twin, {sku: 1})
    twin.request("PUT", f"/carts/{cart}", json_body={"items": {}, "version": 1})
    response = place(twin, cart)
    assert response.status == 422
    assert executions(twin) == before


def test_unknown_order_and_bad_order_id(twin) -> None:
    assert twin.request("GET", f"/orders/{uuid.uuid4()}").status == 404
    assert twin.request("GET", "/orders/not-a-uuid").status == 400
    assert (
        twin.request("POST", f"/orders/{uuid.uuid4()}/approval", json_body={"decision": "maybe"}).status
        == 400
    )
