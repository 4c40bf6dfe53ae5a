"""Demo section: the checkout saga on Step Functions, every path, read back from execution history."""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from local_twin import metrics
from local_twin.twin import HttpResponse, LocalTwin

PRICE_CENTS = 2_500
LARGE_PRICE_CENTS = 60_000  # two of these exceed the twin's approval threshold
CLIENTS = 8
TERMINAL = {"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}


@dataclass
class Path:
    name: str
    orders: int
    payment_token: str = "tok_ok"
    decision: str | None = None  # approve / reject, for orders that wait for approval
    last_unit_race: bool = False


PATHS = [
    Path("happy", 20),
    Path("declined", 8, "tok_decline"),
    Path("transient-then-ok", 8, "tok_transient_2"),
    Path("retries-exhausted", 4, "tok_transient_9"),
    Path("last-unit-race", 8, last_unit_race=True),
    Path("approved", 4, decision="approve"),
    Path("rejected", 4, decision="reject"),
]


@dataclass
class Placed:
    path: str
    order_id: str
    sku: str
    quantity: int
    decision: str | None
    history: list[str] = field(default_factory=list)
    status: str = ""
    execution_status: str = ""
    duration_ms: float | None = None
    retry_order_ids: list[str | None] = field(default_factory=list)


def _product(twin: LocalTwin, stock: int, price: int) -> str:
    sku = f"CHK-{uuid.uuid4().hex[:8].upper()}"
    response = twin.request(
        "PUT",
        f"/products/{sku}",
        json_body={"name": "Demo item", "price_cents": price, "stock": stock, "version": 0},
    )
    assert response.status == 201, response.body
    return sku


def _plan(twin: LocalTwin) -> list[tuple[Path, str, int]]:
    """(path, sku, quantity) per order; race orders come in pairs sharing one last unit."""
    planned = []
    for path in PATHS:
        if path.last_unit_race:
            for _ in range(path.orders // 2):
                sku = _product(twin, stock=1, price=PRICE_CENTS)
                planned += [(path, sku, 1), (path, sku, 1)]
        else:
            price = LARGE_PRICE_CENTS if path.decision else PRICE_CENTS
            for _ in range(path.orders):
                planned.append((path, _product(twin, stock=5, price=price), 2))
    return planned


RETRIES_PER_ORDER = 1  # every order is POSTed again with the same Idempotency-Key, as a client retry would


def order_cart(
    twin: LocalTwin, sku: str, quantity: int = 1, payment_token: str = "tok_ok"
) -> tuple[HttpResponse, dict[str, Any], dict[str, str]]:
    """A new cart holding one line, ordered through the HTTP API with a new Idempotency-Key.
    Returns the response, and the body and headers to send again for a client retry."""
    cart_id = f"chk-{uuid.uuid4().hex[:10]}"
    twin.request("PUT", f"/carts/{cart_id}", json_body={"items": {sku: quantity}})
    body = {"cart_id": cart_id, "payment_token": payment_token}
    key = {"Idempotency-Key": uuid.uuid4().hex}
    return twin.request("POST", "/orders", json_body=body, headers=key), body, key


def _place(twin: LocalTwin, path: Path, sku: str, quantity: int) -> Placed:
    response, body, key = order_cart(twin, sku, quantity, path.payment_token)
    if response.status != 202:
        raise RuntimeError(f"order for path {path.name} refused: {response.describe()}")
    placed = Placed(path.name, response.json["order_id"], sku, quantity, path.decision)
    for _ in range(RETRIES_PER_ORDER):
        retry = twin.request("POST", "/orders", json_body=body, headers=key)
        placed.retry_order_ids.append(retry.json.get("order_id") if retry.status == 202 else None)
    return placed


def _until(condition: Callable[[], bool], what: Callable[[], str], timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"the saga did not settle in time: {what()}")
        time.sleep(0.3)


def _settle(twin: LocalTwin, order: Placed) -> Placed:
    """Decides approvals when asked, waits for the end, and reads the execution back."""
    state: dict[str, Any] = {}

    def read() -> dict[str, Any]:
        state.update(twin.request("GET", f"/orders/{order.order_id}").json)
        return state

    if order.decision:
        # An order can also fail before it ever waits (a reservation that ran out of retries).
        _until(
            lambda: read()["status"] == "AWAITING_APPROVAL" or state["execution_status"] in TERMINAL,
            lambda: str(state),
        )
        if state["status"] == "AWAITING_APPROVAL":
            twin.request("POST", f"/orders/{order.order_id}/approval", json_body={"decision": order.decision})
    _until(lambda: read()["execution_status"] in TERMINAL, lambda: str(state))
    order.status, order.execution_status, order.history = (
        state["status"],
        state["execution_status"],
        state["history"],
    )
    execution = twin.client("stepfunctions").describe_execution(executionArn=state["execution_arn"])
    order.duration_ms = (execution["stopDate"] - execution["startDate"]).total_seconds() * 1000
    return order


def _print_paths(orders: list[Placed]) -> None:
    print("\n  checkout paths (states visited, from each execution's history):")
    for path in PATHS:
        mine = [o for o in orders if o.path == path.name]
        outcomes = Counter(o.status for o in mine)
        common_history, _ = Counter(" > ".join(o.history) for o in mine).most_common(1)[0]
        outcome_text = ", ".join(f"{count} {status}" for status, count in sorted(outcomes.items()))
        print(f"    {path.name:<18} {len(mine):>3} orders  {outcome_text:<26} {common_history}")


def run(twin: LocalTwin) -> dict[str, Any]:
    started_ms = int(time.time() * 1000)
    planned = _plan(twin)
    skus = sorted({sku for _, sku, _ in planned})
    stock_before = sum(twin.product_stock(sku) for sku in skus)
    with ThreadPoolExecutor(CLIENTS) as pool:
        placed = list(pool.map(lambda plan: _place(twin, *plan), planned))
        settled = list(pool.map(lambda order: _settle(twin, order), placed))
    stock_after = sum(twin.product_stock(sku) for sku in skus)
    confirmed = [o for o in settled if o.status == "CONFIRMED"]
    _print_paths(settled)
    checkout_points = metrics.emf_points(twin.function_log("checkout", since_ms=started_ms))
    machine = twin.state_machine_arn("checkout")
    executions = twin.client("stepfunctions").list_executions(stateMachineArn=machine, maxResults=1000)[
        "executions"
    ]
    ours = {o.order_id for o in settled}
    return {
        "checkout.orders": len(settled),
        "checkout.confirmed": len(confirmed),
        "checkout.compensated": sum(
            1 for o in settled if o.status == "FAILED" and "ReleaseInventory" in o.history
        ),
        "checkout.inventory_drift": stock_before - sum(o.quantity for o in confirmed) - stock_after,
        "checkout.executions_in_terminal_state": sum(1 for o in settled if o.execution_status in TERMINAL),
        "checkout.state_transitions_per_order.p50": metrics.percentile(
            [len(o.history) for o in settled], 0.5
        ),
        "checkout.end_to_end_ms.p50": metrics.percentile(
            [o.duration_ms for o in settled if o.duration_ms is not None], 0.5
        ),
        "checkout.workflows_started": int(sum(metrics.select(checkout_points, "WorkflowStarted"))),
        "checkout.client_retries": sum(len(o.retry_order_ids) for o in settled),
        "checkout.idempotent_replays": int(sum(metrics.select(checkout_points, "IdempotentReplay"))),
        "checkout.duplicate_executions": sum(1 for e in executions if e["name"] in ours) - len(ours),
        "checkout.retries_answered_with_the_same_order": sum(
            1 for o in settled for retried in o.retry_order_ids if retried == o.order_id
        ),
    }
