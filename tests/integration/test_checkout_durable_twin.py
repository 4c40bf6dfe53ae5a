"""The durable engine on the twin, beyond the paths both engines share (test_checkout_saga.py):
replays in other processes, a killed execution environment, and Lambda's execution-name rules."""

from __future__ import annotations

import json
import os
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from drivers.demo.checkout import durable_history
from tests.integration.test_checkout_saga import make_cart, make_product, place, wait_for

pytestmark = pytest.mark.twin


@pytest.fixture(scope="module", autouse=True)
def durable_engine(twin) -> Iterator[None]:
    with twin.checkout_engine("durable"):
        yield


def started_steps(twin, execution_arn: str) -> list[str]:
    return [e["Name"] for e in durable_history(twin, execution_arn) if e["EventType"] == "StepStarted"]


def worker_pids(twin, function_name: str) -> set[int]:
    """The twin's execution environments for one function: worker processes whose environment
    names the function and this twin's endpoint."""
    wanted = {
        f"AWS_LAMBDA_FUNCTION_NAME={function_name}".encode(),
        f"AWS_ENDPOINT_URL={twin.endpoint_url}".encode(),
    }
    found = set()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            environment = set((proc / "environ").read_bytes().split(b"\0"))
        except OSError:
            continue
        if wanted <= environment:
            found.add(int(proc.name))
    return found


def test_replays_after_retry_waits_do_not_repeat_checkpointed_steps(twin) -> None:
    """Each retry wait ends the invocation; the next one replays the saga from the start. The
    checkpointed validation and reservation return their recorded results: each ran once."""
    sku = make_product(twin, stock=5)
    order = wait_for(twin, place(twin, make_cart(twin, {sku: 1}), "tok_transient_2").json["order_id"])
    assert order["status"] == "CONFIRMED"
    events = durable_history(twin, order["execution_arn"])
    invocations = sum(1 for e in events if e["EventType"] == "InvocationCompleted")
    assert invocations >= 3, "the first invocation and a replay after each retry wait"
    started = started_steps(twin, order["execution_arn"])
    assert started.count("ValidateOrder") == 1 and started.count("ReserveInventory") == 1
    assert started.count("ChargePayment") == 3, "two failed attempts and the one that charged, once"
    assert order["charge_id"] and twin.product_stock(sku) == 4


def test_a_killed_execution_environment_resumes_from_checkpoints(twin) -> None:
    """The saga suspends while it waits for approval. Every checkout-durable environment is
    killed meanwhile; the approval's callback starts a fresh process, which replays: the stock
    is reserved once and the order confirms."""
    sku = make_product(twin, stock=2, price=60_000)
    order_id = place(twin, make_cart(twin, {sku: 2})).json["order_id"]
    waiting = wait_for(twin, order_id, order_status="AWAITING_APPROVAL")
    assert twin.product_stock(sku) == 0, "reserved before the wait"
    name = twin.function_name("checkout_durable")
    killed = worker_pids(twin, name)
    assert killed, "the execution ran in a worker process of its own"
    for pid in killed:
        os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while worker_pids(twin, name) & killed:
        assert time.monotonic() < deadline, "killed workers still alive"
        time.sleep(0.1)

    assert (
        twin.request("POST", f"/orders/{order_id}/approval", json_body={"decision": "approve"}).status == 202
    )
    order = wait_for(twin, order_id)
    assert (order["status"], order["execution_status"]) == ("CONFIRMED", "SUCCEEDED")
    assert not worker_pids(twin, name) & killed
    started = started_steps(twin, waiting["execution_arn"])
    assert started.count("ReserveInventory") == 1 and started.count("ChargePayment") == 1
    assert twin.product_stock(sku) == 0, "reserved once: the replay did not reserve again"


def test_an_execution_name_starts_one_execution_and_refuses_another_payload(twin) -> None:
    functions = twin.client("lambda")
    qualified = f"{twin.function_name('checkout_durable')}:live"
    name = str(uuid.uuid4())
    payload = json.dumps({"order_id": name, "requires_approval": False}).encode()
    first = functions.invoke(
        FunctionName=qualified, InvocationType="Event", DurableExecutionName=name, Payload=payload
    )
    again = functions.invoke(
        FunctionName=qualified, InvocationType="Event", DurableExecutionName=name, Payload=payload
    )
    assert first["StatusCode"] == 202 and again["DurableExecutionArn"] == first["DurableExecutionArn"]
    with pytest.raises(functions.exceptions.DurableExecutionAlreadyStartedException):
        functions.invoke(
            FunctionName=qualified,
            InvocationType="Event",
            DurableExecutionName=name,
            Payload=json.dumps({"order_id": name, "requires_approval": True}).encode(),
        )


def test_a_saga_input_it_cannot_trust_fails_the_execution_and_writes_nothing(twin) -> None:
    """The function validates its event: an input that is not an order fails the execution
    before any step, so nothing is written for it."""
    functions = twin.client("lambda")
    name = str(uuid.uuid4())
    response = functions.invoke(
        FunctionName=f"{twin.function_name('checkout_durable')}:live",
        DurableExecutionName=name,
        Payload=json.dumps({"order_id": "not-an-order", "requires_approval": "maybe"}).encode(),
    )
    assert response.get("FunctionError"), "a synchronous invoke answers with the execution's failure"
    execution = functions.get_durable_execution(DurableExecutionArn=response["DurableExecutionArn"])
    assert execution["Status"] == "FAILED"
    assert "invalid saga input" in execution["Error"]["ErrorMessage"]
    assert started_steps(twin, response["DurableExecutionArn"]) == []
    assert twin.stored_item("ORDER#not-an-order", "ORDER") is None
