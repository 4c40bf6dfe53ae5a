"""POST /orders re-run after its idempotency record is gone must not place a second order.

Powertools' record guards a key only while it lives: after a Lambda timeout its in-progress
lock expires and a retry runs `place_order` again. These tests remove the record (what expiry
does) between two requests with the same Idempotency-Key and count orders and executions.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC
from typing import Any

import boto3
import pytest
from moto import mock_aws
from shop.carts import CartStore
from shop.orders import order_id_for
from shop.products import ProductStore

from local_twin.twin import http_api_event
from tests.unit.handler_harness import (
    FakeContext,
    create_placeholder_state_machine,
    create_state_table,
    fresh_import,
)

TABLE = "idempotency-state"


@dataclass
class Checkout:
    handler: Any
    table: Any
    machine_arn: str

    def post(self, key: str, cart_id: str = "c1", token: str = "tok_ok") -> tuple[int, dict[str, Any]]:
        body = json.dumps({"cart_id": cart_id, "payment_token": token})
        event = http_api_event("POST", "/orders", "POST /orders", {}, body, {})
        event["headers"]["idempotency-key"] = key
        response = self.handler(event, FakeContext())
        return response["statusCode"], json.loads(response["body"])

    def decide(self, order_id: str, decision: str = "approve") -> tuple[int, dict[str, Any]]:
        event = http_api_event(
            "POST",
            f"/orders/{order_id}/approval",
            "POST /orders/{order_id}/approval",
            {"order_id": order_id},
            json.dumps({"decision": decision}),
            {},
        )
        response = self.handler(event, FakeContext())
        return response["statusCode"], json.loads(response["body"])

    def items(self, prefix: str) -> list[dict[str, Any]]:
        return [item for item in self.table.scan()["Items"] if item["pk"].startswith(prefix)]

    def forget_idempotency_records(self) -> None:
        for item in self.items("IDEMPOTENCY#"):
            self.table.delete_item(Key={"pk": item["pk"], "sk": item["sk"]})

    def executions(self) -> list[dict[str, Any]]:
        return boto3.client("stepfunctions").list_executions(stateMachineArn=self.machine_arn)["executions"]


@contextmanager
def shop_with_a_cart(**environment: str) -> Iterator[tuple[Any, str]]:
    """moto with the state table, a placeholder state machine, product SKU-1 and cart c1 holding
    two of it; yields the table and the machine's ARN."""
    with pytest.MonkeyPatch.context() as patch, mock_aws():
        for name, value in {"STATE_TABLE_NAME": TABLE, **environment}.items():
            patch.setenv(name, value)
        machine_arn = create_placeholder_state_machine()
        patch.setenv("ORDERS_STATE_MACHINE_ARN", machine_arn)
        table = create_state_table(TABLE)
        ProductStore(table).put("SKU-1", "Mug", 500, 5, 0)
        CartStore(table, ttl_seconds=3600).put("c1", {"SKU-1": 2}, None)
        yield table, machine_arn


@pytest.fixture
def checkout() -> Iterator[Checkout]:
    with shop_with_a_cart() as (table, machine_arn):
        yield Checkout(fresh_import("handlers.checkout").handler, table, machine_arn)


def test_the_order_id_is_derived_from_the_key_and_is_a_valid_order_id() -> None:
    from shop import validation

    first = order_id_for("key-00000001")
    assert first == order_id_for("key-00000001")
    assert first != order_id_for("key-00000002")
    assert validation.order_id(first) == first


def test_a_rerun_after_the_record_expired_finds_the_same_order_and_execution(checkout: Checkout) -> None:
    status, first = checkout.post("retry-key-0001")
    assert status == 202, first
    assert first["order_id"] == order_id_for("retry-key-0001")

    checkout.forget_idempotency_records()
    status, second = checkout.post("retry-key-0001")

    assert status == 202, second
    assert second["order_id"] == first["order_id"]
    assert second["execution_arn"] == first["execution_arn"]
    assert len(checkout.items("ORDER#")) == 1
    assert len(checkout.executions()) == 1


def test_a_rerun_after_a_timeout_between_start_and_record_reuses_the_started_execution(
    checkout: Checkout,
) -> None:
    status, first = checkout.post("retry-key-0002")
    assert status == 202, first
    # The first attempt started the execution and timed out before writing its ARN on the order.
    checkout.table.update_item(
        Key={"pk": f"ORDER#{first['order_id']}", "sk": "ORDER"}, UpdateExpression="REMOVE execution_arn"
    )
    checkout.forget_idempotency_records()

    status, second = checkout.post("retry-key-0002")

    assert status == 202, second
    assert second["execution_arn"] == first["execution_arn"]
    assert len(checkout.executions()) == 1
    [order] = checkout.items("ORDER#")
    assert order["execution_arn"] == first["execution_arn"]


def test_different_keys_still_place_different_orders(checkout: Checkout) -> None:
    _, first = checkout.post("retry-key-0003")
    _, second = checkout.post("retry-key-0004")
    assert first["order_id"] != second["order_id"]
    assert len(checkout.items("ORDER#")) == 2
    assert len(checkout.executions()) == 2


def test_an_approval_before_the_saga_waits_is_recorded_and_answered_202_once() -> None:
    """POST .../approval right after POST /orders: the saga (here a placeholder machine that never
    runs) has not stored a token; the decision is kept on the order, and the engine is not called."""
    from botocore.stub import Stubber

    with shop_with_a_cart(APPROVAL_THRESHOLD_CENTS="500") as (table, machine_arn):
        module = fresh_import("handlers.checkout")
        checkout = Checkout(module.handler, table, machine_arn)
        status, placed = checkout.post("early-approval-01")
        assert status == 202 and placed["requires_approval"], placed
        order_id = placed["order_id"]

        def approve() -> tuple[int, dict[str, Any]]:
            return checkout.decide(order_id)

        states = module.ENGINES.for_order("step-functions").client()
        with Stubber(states) as stubber:  # no responses: any engine call fails the test
            assert approve() == (202, {"order_id": order_id, "decision": "approve"})
            second_status, second = approve()
            stubber.assert_no_pending_responses()
        assert (second_status, second["error"]) == (409, "not_awaiting_approval")
        [order] = checkout.items("ORDER#")
        assert (order["status"], order["early_decision"]) == ("PENDING", "approve")


# --- the durable engine: Lambda's durable-execution API, which moto lacks, stubbed ---------

DURABLE_ARN = "arn:aws:lambda:us-east-1:123456789012:function:checkout-durable:1/durable-execution/{}/run-1"


@pytest.fixture
def durable_checkout() -> Iterator[tuple[Checkout, Any]]:
    from botocore.stub import Stubber

    with shop_with_a_cart(CHECKOUT_ENGINE="durable", CHECKOUT_DURABLE_FUNCTION="checkout-durable:live") as (
        table,
        machine_arn,
    ):
        module = fresh_import("handlers.checkout")
        with Stubber(module.ENGINES.for_order("durable").client()) as stubber:
            yield Checkout(module.handler, table, machine_arn), stubber
            stubber.assert_no_pending_responses()


def expect_start(stubber: Any, order_id: str) -> None:
    stubber.add_response(
        "invoke",
        {"StatusCode": 202, "DurableExecutionArn": DURABLE_ARN.format(order_id)},
        {
            "FunctionName": "checkout-durable:live",
            "InvocationType": "Event",
            "DurableExecutionName": order_id,
            "Payload": json.dumps({"order_id": order_id, "requires_approval": False}).encode(),
        },
    )


def test_the_durable_engine_starts_one_execution_named_after_the_order(
    durable_checkout: tuple[Checkout, Any],
) -> None:
    checkout, stubber = durable_checkout
    order_id = order_id_for("durable-key-01")
    expect_start(stubber, order_id)

    status, first = checkout.post("durable-key-01")
    assert status == 202, first
    assert first["execution_arn"] == DURABLE_ARN.format(order_id)
    # A duplicate POST is answered from the idempotency record, and a re-run after the record
    # expired finds the order's execution: neither invokes again (the stub allows one invoke).
    assert checkout.post("durable-key-01") == (202, first)
    checkout.forget_idempotency_records()
    assert checkout.post("durable-key-01")[1]["execution_arn"] == first["execution_arn"]

    [order] = checkout.items("ORDER#")
    assert order["engine"] == "durable"
    assert checkout.executions() == [], "the state machine runs nothing for a durable order"


def test_get_order_reads_the_durable_history_and_approval_answers_the_callback(
    durable_checkout: tuple[Checkout, Any],
) -> None:
    checkout, stubber = durable_checkout
    order_id = order_id_for("durable-key-02")
    arn = DURABLE_ARN.format(order_id)
    expect_start(stubber, order_id)
    assert checkout.post("durable-key-02")[0] == 202
    checkout.table.update_item(
        Key={"pk": f"ORDER#{order_id}", "sk": "ORDER"},
        UpdateExpression="SET #s = :awaiting, task_token = :token",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":awaiting": "AWAITING_APPROVAL", ":token": "Y2FsbGJhY2s="},
    )
    stubber.add_response("get_durable_execution", _execution(arn, "RUNNING"), {"DurableExecutionArn": arn})
    stubber.add_response(
        "get_durable_execution_history",
        {
            "Events": [
                _event(1, "StepStarted", "ValidateOrder"),
                _event(2, "StepStarted", "ReserveInventory"),
                _event(3, "StepStarted", "ReserveInventory"),
                _event(4, "ContextStarted", "WaitForApproval"),
                {**_event(5, "StepStarted", "WaitForApproval submitter"), "ParentId": "op-4"},
            ]
        },
        {"DurableExecutionArn": arn, "IncludeExecutionData": False},
    )
    stubber.add_response(
        "send_durable_execution_callback_failure",
        {},
        {"CallbackId": "Y2FsbGJhY2s=", "Error": {"ErrorType": "ApprovalRejected", "ErrorMessage": "too big"}},
    )

    event = http_api_event(
        "GET", f"/orders/{order_id}", "GET /orders/{order_id}", {"order_id": order_id}, None, {}
    )
    view = json.loads(checkout.handler(event, FakeContext())["body"])
    assert (view["engine"], view["execution_status"]) == ("durable", "RUNNING")
    assert view["history"] == ["ValidateOrder", "ReserveInventory", "WaitForApproval"]

    body = json.dumps({"decision": "reject", "reason": "too big"})
    event = http_api_event(
        "POST",
        f"/orders/{order_id}/approval",
        "POST /orders/{order_id}/approval",
        {"order_id": order_id},
        body,
        {},
    )
    assert checkout.handler(event, FakeContext())["statusCode"] == 202


def _execution(arn: str, status: str) -> dict[str, Any]:
    from datetime import datetime

    return {
        "DurableExecutionArn": arn,
        "DurableExecutionName": arn.split("/")[-2],
        "FunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:checkout-durable:1",
        "Status": status,
        "StartTimestamp": datetime.now(UTC),
    }


def _event(number: int, kind: str, name: str) -> dict[str, Any]:
    from datetime import datetime

    return {
        "EventType": kind,
        "EventId": number,
        "Id": f"op-{number}",
        "Name": name,
        "EventTimestamp": datetime.now(UTC),
    }
