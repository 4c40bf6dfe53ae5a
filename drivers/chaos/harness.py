"""What every chaos experiment shares: the load that runs through a fault, and the invariants.

An experiment (one file each in this folder) names its fault twice: as fault-injector rules for
the twin (local_twin/faults.py) and as the FIS experiment template that makes the same failure in
AWS (modules/fault-injection). Everything else is the same on both: the steady-state check before,
the load through the fault, and the invariants read back after it from the API's answers, the
table, the execution history and the functions' EMF metrics and logs.
"""

from __future__ import annotations

import json
import random
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

from drivers import client, metrics
from drivers.target import Target
from tools.stack import HttpResponse, every

TERMINAL = {"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED", "STOPPED"}
PRICE_CENTS = 1_500
RETRY_PAUSE_SECONDS = 0.5


class Faults(Protocol):
    """Starts and ends an experiment's fault: the twin's injector, or FIS in AWS."""

    def start(self, experiment: Experiment, target: Target) -> None: ...

    def stop(self, experiment: Experiment, target: Target) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Experiment:
    name: str
    fault: str  # what fails, in a phrase for the table
    rules: Callable[[Target], list[dict[str, Any]]]  # the twin's fault-injector rules
    fis_template: str  # modules/fault-injection's template key for the same fault in AWS
    fault_seconds: float = 8.0
    orders: int = 12
    cart_writers: int = 2
    error_budget: float = 0.5  # the share of requests that may answer 5xx while the fault lasts
    # Every order terminal this long after the fault ends: a bound for a busy machine, well above the
    # 0.2 to 5 s that make chaos measures on the twin on two cores (docs/chaos.md).
    terminal_within_seconds: float = 120.0
    short: bool = False  # in the suite's subset (make test)
    catalog_reads: bool = False  # also measure stale catalog reads against the documented bound


@dataclass
class Answer:
    at: float
    status: int


@dataclass
class Observed:
    answers: list[Answer] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def request(self, target: Target, method: str, path: str, **kwargs: Any) -> HttpResponse:
        try:
            response = target.request(method, path, **kwargs)
        except Exception:  # a timeout or a dropped connection is an error the user saw, not a crash
            response = HttpResponse(599, {}, None)
        with self.lock:
            self.answers.append(Answer(time.monotonic(), response.status))
        return response


def until_answered(
    observed: Observed, target: Target, method: str, path: str, give_up_at: float, **kwargs: Any
) -> HttpResponse:
    """A well-behaved client (drivers/client.py), every answer observed; through a fault it
    retries at a steady pace, so that the error budget is measured over the whole fault."""
    return client.until_answered(
        lambda: observed.request(target, method, path, **kwargs),
        give_up_at,
        first_pause=RETRY_PAUSE_SECONDS,
        max_pause=RETRY_PAUSE_SECONDS,
    ).response


@dataclass
class Order:
    key: str
    sku: str
    order_ids: set[str] = field(default_factory=set)
    answered: int = 0


def _product(target: Target, stock: int, observed: Observed) -> str:
    sku = f"CHAOS-{uuid.uuid4().hex[:8].upper()}"
    body = {"name": "Chaos item", "price_cents": PRICE_CENTS, "stock": stock, "version": 0}
    response = observed.request(target, "PUT", f"/products/{sku}", json_body=body)
    if response.status != 201:
        raise RuntimeError(f"steady state: could not create a product: {response.describe()}")
    return sku


def _place(target: Target, observed: Observed, sku: str, give_up_at: float) -> Order:
    order = Order(uuid.uuid4().hex, sku)
    cart_id = f"chaos-{uuid.uuid4().hex[:10]}"
    until_answered(observed, target, "PUT", f"/carts/{cart_id}", give_up_at, json_body={"items": {sku: 1}})
    body = {"cart_id": cart_id, "payment_token": "tok_ok"}
    # The first answer, then one client retry: both must name the same order.
    for _ in range(2):
        answer = until_answered(
            observed,
            target,
            "POST",
            "/orders",
            give_up_at,
            json_body=body,
            headers={"Idempotency-Key": order.key},
        )
        if answer.status == 202:
            order.order_ids.add(answer.body["order_id"])
            order.answered += 1
    return order


def _increments(
    target: Target, observed: Observed, cart_id: str, count: int, give_up_at: float
) -> tuple[int, int]:
    """Read-then-conditional-write adds of one unit; (acknowledged, ambiguous): a 5xx after the
    write was sent may or may not have written."""
    acknowledged = ambiguous = 0
    for _ in range(count):
        while time.monotonic() < give_up_at:
            current = observed.request(target, "GET", f"/carts/{cart_id}")
            if current.status != 200:
                time.sleep(RETRY_PAUSE_SECONDS)
                continue
            response = observed.request(
                target,
                "POST",
                f"/carts/{cart_id}/items",
                json_body={"sku": "CHAOS-CART", "quantity": 1},
                headers={"If-Match": str(current.body["version"])},
            )
            if response.status == 200:
                acknowledged += 1
                break
            if response.status >= 500:
                ambiguous += 1
                time.sleep(RETRY_PAUSE_SECONDS)
                break  # as the user would: a failed add is not silently repeated
            # 409: someone else wrote first; read again
    return acknowledged, ambiguous


@dataclass
class Run:
    experiment: Experiment
    fault_started: float = 0.0
    fault_ended: float = 0.0
    results: dict[str, Any] = field(default_factory=dict)


def _execution_names(target: Target) -> list[str]:
    executions = every(
        target.client("stepfunctions"),
        "list_executions",
        "executions",
        stateMachineArn=target.state_machine_arn("checkout"),
    )
    return [execution["name"] for execution in executions]


def _charges_per_order(target: Target, since_ms: int) -> dict[str, int]:
    """How many times each order was charged: order-steps' "step done" lines for ChargePayment
    whose result was a new charge (a replay answers already_done)."""
    charges: dict[str, int] = {}
    for line in target.function_log("order_steps", since_ms=since_ms):
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue
        if (
            isinstance(entry, dict)
            and entry.get("message") == "step done"
            and entry.get("step") == "ChargePayment"
        ):
            result = entry.get("result") or {}
            if result.get("already_done") is False:
                charges[entry["order_id"]] = charges.get(entry["order_id"], 0) + 1
    return charges


def _staleness_bound_seconds(target: Target) -> float:
    """The documented bound (terraform/functions.tf: cache_staleness_bound = ceil(TTL x 1.1) + 2),
    from the TTL the catalog function was deployed with."""
    ttl = float(target.function_environment("catalog").get("CACHE_TTL_SECONDS", "60"))
    return float(int(-(-ttl * 1.1 // 1)) + 2)


def _catalog_staleness(target: Target, observed: Observed, skus: list[str], give_up_at: float) -> float:
    """Changes each product's price and reads it until the new price shows; the longest time a
    read still saw the old price, in seconds."""
    worst = 0.0
    for sku in skus:
        current = until_answered(observed, target, "GET", f"/products/{sku}", give_up_at)
        if current.status != 200:
            continue
        changed = {**current.body, "price_cents": current.body["price_cents"] + 1}
        changed.pop("sku", None)
        written = until_answered(observed, target, "PUT", f"/products/{sku}", give_up_at, json_body=changed)
        if written.status not in (200, 201):
            continue
        wrote_at = time.monotonic()
        while time.monotonic() < give_up_at:
            read = observed.request(target, "GET", f"/products/{sku}")
            if read.status == 200 and read.body["price_cents"] == changed["price_cents"]:
                break
            worst = max(worst, time.monotonic() - wrote_at)
            time.sleep(0.2)
    return worst


def _discarded_records(target: Target) -> int:
    """Messages waiting in the on-failure destinations of the stack's stream mappings: the records
    Lambda gave up on (past their age or their retries), each batch one message."""
    functions, queues = target.client("lambda"), target.client("sqs")
    waiting = 0
    for key in target.function_keys:
        mappings = functions.list_event_source_mappings(FunctionName=target.function_name(key))
        for mapping in mappings["EventSourceMappings"]:
            destination = ((mapping.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination")
            if not destination or ":sqs:" not in destination:
                continue
            _, _, _, _, account, name = destination.split(":", 5)
            url = queues.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]
            attributes = queues.get_queue_attributes(
                QueueUrl=url,
                AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
            )["Attributes"]
            waiting += int(attributes["ApproximateNumberOfMessages"])
            waiting += int(attributes["ApproximateNumberOfMessagesNotVisible"])
    return waiting


def run_experiment(experiment: Experiment, target: Target, faults: Faults) -> dict[str, Any]:
    """Steady state, the fault with the load through it, recovery; the results under its name."""
    prefix = f"chaos.{experiment.name}"
    started_ms = int(time.time() * 1000)
    observed = Observed()
    give_up_at = time.monotonic() + experiment.fault_seconds + 90
    rng = random.Random(experiment.name)
    # Steady state: the API answers and an order goes through before the fault.
    skus = [_product(target, stock=experiment.orders, observed=observed) for _ in range(3)]
    stock_before = sum(target.product_stock(sku) for sku in skus)
    baseline = _place(target, observed, skus[0], give_up_at)
    if len(baseline.order_ids) != 1:
        raise RuntimeError(f"steady state does not hold before the fault: {baseline}")
    cart_id = f"chaos-counter-{uuid.uuid4().hex[:8]}"
    # An empty cart the writers add to. (It was created with a quantity of 0, which the cart refuses
    # with 400: the writers then waited out the whole experiment on its 404, added nothing, and "0
    # lost updates" measured nothing.)
    counter = observed.request(target, "PUT", f"/carts/{cart_id}", json_body={"items": {}})
    if counter.status not in (200, 201):
        raise RuntimeError(f"steady state: could not create the counter cart: {counter.describe()}")
    discarded_before = _discarded_records(target)

    faults.start(experiment, target)
    fault_started = time.monotonic()
    with ThreadPoolExecutor(6) as pool:
        placing = [
            pool.submit(_place, target, observed, rng.choice(skus), give_up_at)
            for _ in range(experiment.orders)
        ]
        adding = [
            pool.submit(_increments, target, observed, cart_id, 4, give_up_at)
            for _ in range(experiment.cart_writers)
        ]
        stale_seconds = 0.0
        if experiment.catalog_reads:
            stale_seconds = _catalog_staleness(target, observed, skus, give_up_at)
        time.sleep(max(0.0, fault_started + experiment.fault_seconds - time.monotonic()))
        fault_report = faults.stop(experiment, target)
        fault_ended = time.monotonic()
        orders = [future.result() for future in placing] + [baseline]
        added = [future.result() for future in adding]

    # Recovery: every order reaches a terminal status; time to recover is the last one's.
    order_ids = sorted({order_id for order in orders for order_id in order.order_ids})
    statuses: dict[str, dict[str, Any]] = {}
    deadline = fault_ended + experiment.terminal_within_seconds
    while True:
        for order_id in order_ids:
            if statuses.get(order_id, {}).get("execution_status") not in TERMINAL:
                read = observed.request(target, "GET", f"/orders/{order_id}")
                if read.status == 200:
                    statuses[order_id] = read.body
        if all(statuses.get(i, {}).get("execution_status") in TERMINAL for i in order_ids):
            break
        if time.monotonic() > deadline:
            break
        time.sleep(0.5)
    recovered_at = time.monotonic()
    stock_after = sum(target.product_stock(sku) for sku in skus)
    confirmed = [i for i in order_ids if statuses.get(i, {}).get("status") == "CONFIRMED"]
    final_cart = target.stored_item(f"CART#{cart_id}", "CART")
    final_quantity = int(final_cart["items"]["M"]["CHAOS-CART"]["N"]) if final_cart else 0
    acknowledged = sum(a for a, _ in added)
    names = [name for name in _execution_names(target) if name in set(order_ids)]
    charges = _charges_per_order(target, started_ms)
    during = [a for a in observed.answers if fault_started <= a.at <= fault_ended]
    after = [a for a in observed.answers if a.at > fault_ended + 1.0]  # a second for in-flight requests
    errors_during = sum(1 for a in during if a.status >= 500)
    checkout_points = metrics.emf_points(target.function_log("checkout", since_ms=started_ms))
    results = {
        f"{prefix}.fault": experiment.fault,
        f"{prefix}.requests": len(observed.answers),
        f"{prefix}.errors_during": errors_during,
        f"{prefix}.errors_after": sum(1 for a in after if a.status >= 500),
        f"{prefix}.error_budget_during": int(experiment.error_budget * len(during)),
        f"{prefix}.orders": len(orders),
        f"{prefix}.orders_unanswered": sum(1 for o in orders if not o.order_ids),
        f"{prefix}.lost_updates": max(0, acknowledged - final_quantity),
        f"{prefix}.cart_adds_acknowledged": acknowledged,
        f"{prefix}.duplicate_orders": sum(1 for o in orders if len(o.order_ids) > 1),
        f"{prefix}.duplicate_executions": len(names) - len(set(names)),
        f"{prefix}.duplicate_charges": sum(count - 1 for count in charges.values() if count > 1),
        f"{prefix}.inventory_drift": stock_before - len(confirmed) - stock_after,  # one unit per order
        f"{prefix}.orders_not_terminal": sum(
            1 for i in order_ids if statuses.get(i, {}).get("execution_status") not in TERMINAL
        ),
        f"{prefix}.orders_failed_by_the_fault": sum(
            1 for i in order_ids if statuses.get(i, {}).get("status") == "FAILED"
        ),
        # What failed them, as the saga recorded it: the first thing to read when this is not 0.
        f"{prefix}.failure_causes": sorted(
            {
                str(statuses[i].get("failure_cause"))
                for i in order_ids
                if statuses.get(i, {}).get("status") == "FAILED"
            }
        ),
        f"{prefix}.workflows_started": int(sum(metrics.select(checkout_points, "WorkflowStarted"))),
        f"{prefix}.stream_records_discarded": _discarded_records(target) - discarded_before,
        f"{prefix}.time_to_recover_s": round(recovered_at - fault_ended, 1),
        f"{prefix}.terminal_within_s": experiment.terminal_within_seconds,
    }
    if experiment.catalog_reads:
        results[f"{prefix}.max_stale_read_s"] = round(stale_seconds, 1)
        results[f"{prefix}.staleness_bound_s"] = _staleness_bound_seconds(target)
    results.update({f"{prefix}.fault_report.{k}": v for k, v in fault_report.items()})
    results[f"{prefix}.passed"] = not broken_invariants(results, prefix)
    return results


INVARIANTS = (
    "lost_updates",
    "duplicate_orders",
    "duplicate_executions",
    "duplicate_charges",
    "inventory_drift",
    "orders_not_terminal",
    "orders_unanswered",
    "orders_failed_by_the_fault",
    "stream_records_discarded",
    "errors_after",
)


def broken_invariants(results: dict[str, Any], prefix: str) -> list[str]:
    """The invariants these results break (each must be 0, the 5xx within budget during the
    fault, stale reads within the bound)."""
    broken = [name for name in INVARIANTS if results.get(f"{prefix}.{name}", 0) != 0]
    if results.get(f"{prefix}.cart_adds_acknowledged") == 0:
        broken.append("lost_updates_unmeasured")  # no add went through: 0 lost would prove nothing
    if results[f"{prefix}.errors_during"] > results[f"{prefix}.error_budget_during"]:
        broken.append("errors_during")
    if (
        f"{prefix}.max_stale_read_s" in results
        and results[f"{prefix}.max_stale_read_s"] > results[f"{prefix}.staleness_bound_s"]
    ):
        broken.append("stale_reads")
    return broken
