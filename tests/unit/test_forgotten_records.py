"""GET /orders/{id} after AWS forgot the order's saga: Step Functions drops a closed execution's
history after 90 days, Lambda a durable execution's after its retention period. The order is still
the shop's, so the route still answers 200 with it (no saga status, no history), not a 500."""

from __future__ import annotations

import json
import sys
from typing import Any

import pytest
from shop.orders import order_id_for

from local_twin.twin import http_api_event
from tests.unit import test_checkout_idempotency as placed_orders
from tests.unit.handler_harness import FakeContext
from tests.unit.test_checkout_idempotency import DURABLE_ARN, Checkout, expect_start

checkout = placed_orders.checkout  # the same fixtures: moto with the table, a machine and cart c1
durable_checkout = placed_orders.durable_checkout


def get_order(checkout: Checkout, order_id: str) -> tuple[int, dict[str, Any]]:
    event = http_api_event(
        "GET", f"/orders/{order_id}", "GET /orders/{order_id}", {"order_id": order_id}, None, {}
    )
    response = checkout.handler(event, FakeContext())
    return response["statusCode"], json.loads(response["body"])


def test_an_order_whose_execution_history_is_gone_still_reads(checkout: Checkout) -> None:
    status, placed = checkout.post("forgotten-key-01")
    assert status == 202, placed
    assert get_order(checkout, placed["order_id"])[1]["execution_status"] is not None
    # What 90 days do: the execution is no longer known to Step Functions.
    gone = placed["execution_arn"].rsplit(":", 1)[0] + ":expired-execution"
    checkout.table.update_item(
        Key={"pk": f"ORDER#{placed['order_id']}", "sk": "ORDER"},
        UpdateExpression="SET execution_arn = :gone",
        ExpressionAttributeValues={":gone": gone},
    )
    status, order = get_order(checkout, placed["order_id"])
    assert status == 200, order
    assert order["order_id"] == placed["order_id"]
    assert order["execution_status"] is None and order["history"] == []


def test_a_durable_order_past_its_retention_still_reads(durable_checkout: tuple[Checkout, Any]) -> None:
    checkout, stubber = durable_checkout
    order_id = order_id_for("forgotten-key-02")
    expect_start(stubber, order_id)
    assert checkout.post("forgotten-key-02")[0] == 202
    stubber.add_client_error(
        "get_durable_execution",
        service_error_code="ResourceNotFoundException",
        service_message="Execution not found",
        http_status_code=404,
        expected_params={"DurableExecutionArn": DURABLE_ARN.format(order_id)},
    )
    status, order = get_order(checkout, order_id)
    assert status == 200, order
    assert order["execution_status"] is None and order["history"] == []


def test_an_order_the_table_no_longer_has_is_a_documented_404(checkout: Checkout) -> None:
    status, placed = checkout.post("forgotten-key-03")
    assert status == 202, placed
    checkout.table.delete_item(Key={"pk": f"ORDER#{placed['order_id']}", "sk": "ORDER"})  # what TTL does
    status, order = get_order(checkout, placed["order_id"])
    assert status == 404, order
    assert set(order) == {"error", "message"}


@pytest.mark.parametrize("code", ["TaskTimedOut", "TaskDoesNotExist", "InvalidToken"])
def test_a_decision_after_the_approval_wait_ended_is_a_documented_409(checkout: Checkout, code: str) -> None:
    """The token the order holds belongs to a wait that ended (timed out at 24 h, or its execution
    is gone): Step Functions refuses it, and the approver gets 409 not_awaiting_approval, not 500."""
    from botocore.stub import Stubber

    status, placed = checkout.post(f"late-approval-{code}")
    assert status == 202, placed
    checkout.table.update_item(
        Key={"pk": f"ORDER#{placed['order_id']}", "sk": "ORDER"},
        UpdateExpression="SET #s = :waiting, task_token = :token, requires_approval = :yes",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":waiting": "AWAITING_APPROVAL", ":token": "expired-token", ":yes": True},
    )
    module = sys.modules["handlers.checkout"]
    with Stubber(module.ENGINES.for_order("step-functions").client()) as stubber:
        stubber.add_client_error("send_task_success", service_error_code=code, http_status_code=400)
        status, answer = checkout.decide(placed["order_id"])
        stubber.assert_no_pending_responses()
    assert (status, answer["error"]) == (409, "not_awaiting_approval"), answer
