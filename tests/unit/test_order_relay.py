"""The order relay (shop.order_relay, handlers/order_relay.py): an order whose checkout died
between writing it and starting its saga gets its saga, once; a relay that meets a live checkout
joins the saga that checkout starts instead of starting a second one."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from shop import engines
from shop.order_relay import OrderRelay, PoisonRecord, Relayed, order_id_of
from shop.orders import OrderStore

from tests.unit.handler_harness import (
    FakeContext,
    create_placeholder_state_machine,
    create_state_table,
    fresh_import,
)

TABLE = "relay-state"
CHECKOUT_TIMEOUT = 10.0


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def shop(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    with mock_aws():
        machine_arn = create_placeholder_state_machine()
        for name, value in {
            "STATE_TABLE_NAME": TABLE,
            "ORDERS_STATE_MACHINE_ARN": machine_arn,
            "CHECKOUT_ENGINE": "step-functions",
            "CHECKOUT_TIMEOUT_SECONDS": "0",
        }.items():
            monkeypatch.setenv(name, value)
        table = create_state_table(TABLE)
        yield {"table": table, "machine_arn": machine_arn}


def executions(machine_arn: str) -> list[str]:
    listed = boto3.client("stepfunctions").list_executions(stateMachineArn=machine_arn)["executions"]
    return [execution["name"] for execution in listed]


def left_by_a_dead_checkout(store: OrderStore, order_id: str) -> None:
    """What a checkout that died after its first write leaves: a PENDING order, no execution."""
    store.create({"SKU-1": 1}, 500, "tok_ok", False, order_id=order_id)


def relay_for(shop: dict[str, Any], clock: Clock) -> tuple[OrderRelay, OrderStore]:
    store = OrderStore(shop["table"], clock=clock)
    configured = engines.from_environment(boto3.client, {"ORDERS_STATE_MACHINE_ARN": shop["machine_arn"]})
    return OrderRelay(store, configured, CHECKOUT_TIMEOUT, clock=clock), store


def stream_record(order_id: str, sequence: str = "1") -> dict[str, Any]:
    return {
        "eventID": sequence,
        "eventName": "INSERT",
        "eventSource": "aws:dynamodb",
        "dynamodb": {
            "Keys": {"pk": {"S": f"ORDER#{order_id}"}, "sk": {"S": "ORDER"}},
            "SequenceNumber": sequence,
            "StreamViewType": "KEYS_ONLY",
        },
    }


def test_an_order_left_by_a_dead_checkout_gets_its_saga_once(shop: dict[str, Any]) -> None:
    clock = Clock(1_000_000.0)
    relay, store = relay_for(shop, clock)
    left_by_a_dead_checkout(store, "order-1")
    clock.now += CHECKOUT_TIMEOUT + 5  # the record is read after the checkout's timeout
    assert relay.relay("order-1") is Relayed.ABANDONED
    assert executions(shop["machine_arn"]) == ["order-1"]
    assert store.get("order-1").execution_arn.endswith(":order-1")
    # Delivered again (Lambda's at-least-once): the order has its execution, nothing more starts.
    assert relay.relay("order-1") is None
    assert executions(shop["machine_arn"]) == ["order-1"]


def test_a_relay_that_meets_a_live_checkout_joins_its_saga(shop: dict[str, Any]) -> None:
    """The relay reads the order before its checkout recorded the execution it is starting: both
    start it, by the order's name and input, and one execution runs, recorded by both."""
    clock = Clock(1_000_000.0)
    relay, store = relay_for(shop, clock)
    left_by_a_dead_checkout(store, "order-2")
    assert relay.relay("order-2") is Relayed.JOINED
    configured = engines.from_environment(boto3.client, {"ORDERS_STATE_MACHINE_ARN": shop["machine_arn"]})
    checkout_started = configured.for_new_orders.start("order-2", False)
    store.record_execution("order-2", checkout_started)
    assert executions(shop["machine_arn"]) == ["order-2"]
    assert store.get("order-2").execution_arn == checkout_started


def test_a_checkout_that_started_the_saga_and_died_before_recording_it_gets_the_same_execution(
    shop: dict[str, Any],
) -> None:
    clock = Clock(1_000_000.0)
    relay, store = relay_for(shop, clock)
    left_by_a_dead_checkout(store, "order-3")
    configured = engines.from_environment(boto3.client, {"ORDERS_STATE_MACHINE_ARN": shop["machine_arn"]})
    started = configured.for_new_orders.start("order-3", False)
    clock.now += CHECKOUT_TIMEOUT + 5
    assert relay.relay("order-3") is Relayed.ABANDONED
    assert executions(shop["machine_arn"]) == ["order-3"]
    assert store.get("order-3").execution_arn == started


def test_an_order_deleted_since_or_already_moving_is_left_alone(shop: dict[str, Any]) -> None:
    clock = Clock(1_000_000.0)
    relay, store = relay_for(shop, clock)
    assert relay.relay("never-written") is None
    left_by_a_dead_checkout(store, "order-5")
    shop["table"].update_item(
        Key={"pk": "ORDER#order-5", "sk": "ORDER"},
        UpdateExpression="SET #s = :s",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":s": "RESERVED"},
    )
    clock.now += CHECKOUT_TIMEOUT + 5
    assert relay.relay("order-5") is None
    assert executions(shop["machine_arn"]) == []


def test_order_ids_come_from_an_orders_keys_only() -> None:
    assert order_id_of(stream_record("abc")) == "abc"
    for keys in ({"pk": {"S": "PRODUCT#X"}, "sk": {"S": "PRODUCT"}}, {"pk": {"S": "ORDER#x"}}, {}):
        with pytest.raises(PoisonRecord):
            order_id_of({"dynamodb": {"Keys": keys}})


def test_the_handler_starts_left_orders_and_reports_a_poison_record_alone(shop: dict[str, Any]) -> None:
    handler = fresh_import("handlers.order_relay").handler
    store = OrderStore(shop["table"])
    left_by_a_dead_checkout(store, "order-6")
    poison = stream_record("x", "2")
    poison["dynamodb"]["Keys"] = {"pk": {"S": "CART#c1"}, "sk": {"S": "CART"}}
    response = handler({"Records": [stream_record("order-6", "1"), poison]}, FakeContext())
    assert response == {"batchItemFailures": [{"itemIdentifier": "2"}]}
    assert executions(shop["machine_arn"]) == ["order-6"]


def test_the_handler_refuses_what_is_not_a_stream_event(shop: dict[str, Any]) -> None:
    handler = fresh_import("handlers.order_relay").handler
    with pytest.raises(ValueError, match="order-relay handles DynamoDB Streams events"):
        handler({"Records": [{"eventSource": "aws:sqs"}]}, FakeContext())
