"""POST /orders re-run after its idempotency record is gone must not place a second order.

Powertools' record guards a key only while it lives: after a Lambda timeout its in-progress
lock expires and a retry runs `place_order` again. These tests remove the record (what expiry
does) between two requests with the same Idempotency-Key and count orders and executions.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto import mock_aws
from shop.carts import CartStore
from shop.orders import order_id_for
from shop.products import ProductStore

from local_twin.twin import http_api_event
from tests.unit.handler_harness import FakeContext, create_state_table, fresh_import

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

    def items(self, prefix: str) -> list[dict[str, Any]]:
        return [item for item in self.table.scan()["Items"] if item["pk"].startswith(prefix)]

    def forget_idempotency_records(self) -> None:
        for item in self.items("IDEMPOTENCY#"):
            self.table.delete_item(Key={"pk": item["pk"], "sk": item["sk"]})

    def executions(self) -> list[dict[str, Any]]:
        return boto3.client("stepfunctions").list_executions(stateMachineArn=self.machine_arn)["executions"]


@pytest.fixture
def checkout() -> Iterator[Checkout]:
    with pytest.MonkeyPatch.context() as patch, mock_aws():
        patch.setenv("STATE_TABLE_NAME", TABLE)
        machine = boto3.client("stepfunctions").create_state_machine(
            name="checkout",
            definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}),
            roleArn="arn:aws:iam::123456789012:role/checkout",
        )
        patch.setenv("ORDERS_STATE_MACHINE_ARN", machine["stateMachineArn"])
        table = create_state_table(TABLE)
        ProductStore(table).put("SKU-1", "Mug", 500, 5, 0)
        CartStore(table, ttl_seconds=3600).put("c1", {"SKU-1": 2}, None)
        yield Checkout(fresh_import("handlers.checkout").handler, table, machine["stateMachineArn"])


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
