"""The checkout saga on the twin, on both engines, with the same assertions: Step Functions
executions and Lambda durable executions, each running the real handlers."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from drivers.demo.checkout import TERMINAL, durable_history, execution_names
from tools.stack import every

pytestmark = pytest.mark.twin
SAGA_STEPS = ["ValidateOrder", "ReserveInventory", "WaitForApproval", "ChargePayment", "ConfirmOrder"]
# Each engine's own names beyond the saga's steps: the state machine's Choice and Succeed states.
HAPPY_HISTORY = {
    "step-functions": [
        "ValidateOrder",
        "ReserveInventory",
        "NeedsApproval",
        "ChargePayment",
        "ConfirmOrder",
        "OrderConfirmed",
    ],
    "durable": ["ValidateOrder", "ReserveInventory", "ChargePayment", "ConfirmOrder"],
}


@pytest.fixture(scope="module", autouse=True, params=["step-functions", "durable"])
def engine(request, twin) -> Iterator[str]:
    """Every test in this module runs on each engine, switched as checkout_engine switches it."""
    with twin.checkout_engine(request.param):
        yield request.param


def failed_attempts(twin, engine: str, execution_arn: str, step: str) -> int:
    """How many times a step failed and the engine went on (retried or caught), from its history."""
    if engine == "durable":
        return sum(
            1
            for e in durable_history(twin, execution_arn)
            if e["EventType"] == "StepFailed" and e["Name"] == step
        )
    history = every(
        twin.client("stepfunctions"), "get_execution_history", "events", executionArn=execution_arn
    )
    return sum(1 for e in history if e["type"] == "TaskFailed")


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


def test_happy_path_confirms_and_decrements_stock_once(twin, engine: str) -> None:
    sku = make_product(twin, stock=5)
    response = place(twin, make_cart(twin, {sku: 2}))
    assert response.status == 202
    order = wait_for(twin, response.json["order_id"])
    assert (order["status"], order["execution_status"], order["engine"]) == ("CONFIRMED", "SUCCEEDED", engine)
    assert [step for step in order["history"] if step in SAGA_STEPS] == [
        "ValidateOrder",
        "ReserveInventory",
        "ChargePayment",
        "ConfirmOrder",
    ]
    assert order["history"] == HAPPY_HISTORY[engine]
    assert twin.product_stock(sku) == 3
    if engine == "step-functions":
        # The state machine is under the workflow's customer managed key: checkout started and read the
        # execution only through its ExecutionDataKey grant (kms through Step Functions, as the caller).
        report = json.loads((twin.build_dir / "iam-usage.json").read_text())
        role = twin.client("lambda").get_function_configuration(FunctionName=twin.function_name("checkout"))[
            "Role"
        ]
        assert "least-privilege#ExecutionDataKey" in report["used_statements"][role.rsplit("/", 1)[-1]]


def test_decline_compensates(twin) -> None:
    sku = make_product(twin, stock=5)
    order = wait_for(twin, place(twin, make_cart(twin, {sku: 2}), "tok_decline").json["order_id"])
    assert (order["status"], order["execution_status"]) == ("FAILED", "FAILED")
    assert "PaymentDeclined" in order["failure_cause"]
    assert "ReleaseInventory" in order["history"] and "RefundPayment" not in order["history"]
    assert twin.product_stock(sku) == 5


def test_transient_failures_are_retried_then_succeed(twin, engine: str) -> None:
    sku = make_product(twin, stock=5)
    order = wait_for(twin, place(twin, make_cart(twin, {sku: 1}), "tok_transient_2").json["order_id"])
    assert order["status"] == "CONFIRMED"
    assert failed_attempts(twin, engine, order["execution_arn"], "ChargePayment") == 2, (
        "two transient failures, each retried"
    )
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


@pytest.mark.parametrize(
    ("decision", "final", "stock_after"), [("approve", "CONFIRMED", 0), ("reject", "FAILED", 2)]
)
def test_an_approval_sent_right_after_the_order_is_applied(
    twin, decision: str, final: str, stock_after: int
) -> None:
    """The README's Try it lines pasted at once: the approval, sent with no wait, usually comes
    before the saga reaches WaitForApproval; it is recorded, and the saga applies it there."""
    sku = make_product(twin, stock=2, price=60_000)
    order_id = place(twin, make_cart(twin, {sku: 2})).json["order_id"]
    decided = twin.request("POST", f"/orders/{order_id}/approval", json_body={"decision": decision})
    assert (decided.status, decided.json) == (202, {"order_id": order_id, "decision": decision})
    order = wait_for(twin, order_id)
    assert order["status"] == final, order
    assert "WaitForApproval" in order["history"]
    assert twin.product_stock(sku) == stock_after
    if decision == "reject":
        assert "ApprovalRejected" in order["failure_cause"]


@pytest.fixture
def executions(twin, engine: str):
    return lambda: len(execution_names(twin, engine))


def test_idempotent_replay_starts_no_second_execution(twin, engine: str, executions) -> None:
    sku = make_product(twin, stock=5)
    cart = make_cart(twin, {sku: 1})
    key = "idem-" + uuid.uuid4().hex
    first = place(twin, cart, key=key)
    before = executions()
    replay = place(twin, cart, key=key)
    assert replay.status == 202 and replay.json == first.json
    assert executions() == before
    assert execution_names(twin, engine).count(first.json["order_id"]) == 1, (
        "one execution, named after the order"
    )
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
def test_bad_orders_are_4xx_and_start_nothing(twin, executions, body, headers, status) -> None:
    before = executions()
    response = twin.request(
        "POST",
        "/orders",
        json_body=body,
        headers=headers if headers is not None else {"Idempotency-Key": uuid.uuid4().hex},
    )
    assert response.status == status, response.body
    assert set(response.json) >= {"error", "message"}
    assert executions() == before


def test_empty_cart_is_422_and_starts_nothing(twin, executions) -> None:
    before = executions()
    sku = make_product(twin, stock=1)
    cart = make_cart(twin, {sku: 1})
    twin.request("PUT", f"/carts/{cart}", json_body={"items": {}, "version": 1})
    response = place(twin, cart)
    assert response.status == 422
    assert executions() == before


def test_unknown_order_and_bad_order_id(twin) -> None:
    assert twin.request("GET", f"/orders/{uuid.uuid4()}").status == 404
    assert twin.request("GET", "/orders/not-a-uuid").status == 400
    assert (
        twin.request("POST", f"/orders/{uuid.uuid4()}/approval", json_body={"decision": "maybe"}).status
        == 400
    )


def test_an_order_whose_checkout_died_before_starting_its_saga_is_finished_by_the_relay(
    twin, engine: str
) -> None:
    """What a checkout that dies between its two writes leaves, with a client that never retries:
    a PENDING order, written a while ago, and no execution. The order relay, on the table's
    stream, starts its saga on the stack's engine, once."""
    sku = make_product(twin, stock=4)
    order_id = str(uuid.uuid4())
    written_at = int(time.time()) - 60  # older than checkout's timeout: its checkout is gone
    twin.client("dynamodb").put_item(
        TableName=twin.table_name,
        Item={
            "pk": {"S": f"ORDER#{order_id}"},
            "sk": {"S": "ORDER"},
            "status": {"S": "PENDING"},
            "items": {"M": {sku: {"N": "1"}}},
            "total_cents": {"N": "1000"},
            "payment_token": {"S": "tok_ok"},
            "requires_approval": {"BOOL": False},
            "created_at": {"N": str(written_at)},
            "updated_at": {"N": str(written_at)},
        },
    )
    order = wait_for(twin, order_id, timeout=90)
    assert (order["status"], order["execution_status"], order["engine"]) == ("CONFIRMED", "SUCCEEDED", engine)
    assert execution_names(twin, engine).count(order_id) == 1
    assert twin.product_stock(sku) == 3
    relay_log = "\n".join(twin.function_log("order_relay"))
    assert "started the saga of an order its checkout left" in relay_log and order_id in relay_log


def test_a_decision_after_the_saga_stopped_waiting_is_409_not_500(twin, engine: str) -> None:
    """An order AWAITING_APPROVAL whose token belongs to a wait that is over (timed out, or its
    execution forgotten): each engine refuses the token, and the approver gets the documented 409."""
    sku = make_product(twin, stock=2)
    placed = place(twin, make_cart(twin, {sku: 1}))
    assert placed.status == 202
    order_id = placed.json["order_id"]
    wait_for(twin, order_id)
    twin.client("dynamodb").update_item(
        TableName=twin.table_name,
        Key={"pk": {"S": f"ORDER#{order_id}"}, "sk": {"S": "ORDER"}},
        UpdateExpression="SET #s = :waiting, task_token = :token, requires_approval = :yes",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={
            ":waiting": {"S": "AWAITING_APPROVAL"},
            ":token": {"S": "AAAAKgAAAAIAAAAAAAAAAQ" + uuid.uuid4().hex},
            ":yes": {"BOOL": True},
        },
    )
    answer = twin.request("POST", f"/orders/{order_id}/approval", json_body={"decision": "approve"})
    assert (answer.status, answer.json["error"]) == (409, "not_awaiting_approval"), answer.json


def test_an_order_whose_execution_aws_forgot_still_reads(twin, engine: str) -> None:
    """Step Functions forgets a closed execution after 90 days, Lambda a durable execution after its
    retention: GET /orders/{id} still answers 200 with the order, without a saga status."""
    sku = make_product(twin, stock=2)
    placed = place(twin, make_cart(twin, {sku: 1}))
    order_id = placed.json["order_id"]
    wait_for(twin, order_id)
    execution_arn = placed.json["execution_arn"]
    # Both engines' ARNs end in a UUID (Step Functions': the order id, the execution's name): another
    # one names an execution the engine does not know.
    forgotten = execution_arn[:-36] + str(uuid.uuid4())
    twin.client("dynamodb").update_item(
        TableName=twin.table_name,
        Key={"pk": {"S": f"ORDER#{order_id}"}, "sk": {"S": "ORDER"}},
        UpdateExpression="SET execution_arn = :gone",
        ExpressionAttributeValues={":gone": {"S": forgotten}},
    )
    read = twin.request("GET", f"/orders/{order_id}")
    assert read.status == 200, read.json
    assert (read.json["status"], read.json["execution_status"], read.json["history"]) == (
        "CONFIRMED",
        None,
        [],
    )
