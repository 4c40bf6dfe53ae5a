"""Demo section: the checkout saga on each engine, every path, read back from execution history.

The same seven paths run twice: on Step Functions (moto's interpreter) and on the Lambda durable
function (the durable execution SDK's local runner, `local_twin/durable.py`), switched the way an
operator switches `checkout_engine`: by the checkout function's CHECKOUT_ENGINE. Both are metered
from their own history the way each is billed, and printed side by side.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from shop import engines
from shop.engines import Durable, Engine, StepFunctions

from drivers import client, metrics, pricing, saga_analysis
from drivers.target import Target
from tools.stack import HttpResponse

PRICE_CENTS = 2_500
LARGE_PRICE_CENTS = 60_000  # two of these exceed the twin's approval threshold
CLIENTS = 8
TERMINAL = engines.TERMINAL
ENGINES = {"step-functions": "checkout", "durable": "checkout.durable"}  # engine: summary prefix
# Durable operations, as metered: the start, every step attempt, wait, context and callback.
DURABLE_OPERATION_EVENTS = {
    "ExecutionStarted",
    "StepStarted",
    "WaitStarted",
    "ContextStarted",
    "CallbackStarted",
    "ChainedInvokeStarted",
}


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
    engine: str = ""
    billed_units: int = 0  # Step Functions: state transitions; durable: durable operations
    lambda_requests: int = 0  # the invocations the engine made: order-steps tasks, or replays
    bytes_written: int = 0  # durable checkpoints' payloads (billed per GB written and retained)
    resent: int = 0  # requests sent again after a 5xx, 429 or in-progress 409 (drivers/client.py)
    execution_arn: str = ""
    events: list[dict[str, Any]] = field(
        default_factory=list
    )  # the execution's history, as its engine gives it


@dataclass(frozen=True)
class Metering:
    duration_ms: float | None
    billed_units: int
    lambda_requests: int
    bytes_written: int = 0


def saga_engine(target: Target, engine: str) -> Engine:
    """The engine's interface (shop.engines) over the target's clients: what the checkout
    handler reads each order's saga with, read here the same way."""
    if engine == "durable":
        return Durable(lambda: target.client("lambda"), target.function_name("checkout_durable"))
    return StepFunctions(lambda: target.client("stepfunctions"), target.state_machine_arn("checkout"))


def _step_functions_metering(target: Target, execution_arn: str, events: list[dict[str, Any]]) -> Metering:
    execution = target.client("stepfunctions").describe_execution(executionArn=execution_arn)
    kinds = Counter(event["type"] for event in events)
    entered = sum(count for kind, count in kinds.items() if kind.endswith("StateEntered"))
    # Every task attempt is scheduled once; an attempt after the first is a retry, billed as one
    # more transition.
    retries = kinds["TaskScheduled"] - kinds["TaskStateEntered"]
    return Metering(
        (execution["stopDate"] - execution["startDate"]).total_seconds() * 1000,
        entered + retries,
        kinds["TaskScheduled"],
    )


def _payload_bytes(value: Any) -> int:
    if isinstance(value, dict):
        return sum(
            len(str(item).encode()) if key == "Payload" else _payload_bytes(item)
            for key, item in value.items()
        )
    return 0


def durable_history(target: Target, execution_arn: str, with_data: bool = False) -> list[dict[str, Any]]:
    """Every event of a durable execution's history, as GetDurableExecutionHistory pages them."""
    return saga_engine(target, "durable").history(execution_arn, with_data=with_data)


def _durable_metering(target: Target, execution_arn: str, events: list[dict[str, Any]]) -> Metering:
    execution = target.client("lambda").get_durable_execution(DurableExecutionArn=execution_arn)
    end = execution.get("EndTimestamp")
    return Metering(
        (end - execution["StartTimestamp"]).total_seconds() * 1000 if end else None,
        sum(1 for event in events if event["EventType"] in DURABLE_OPERATION_EVENTS),
        sum(1 for event in events if event["EventType"] == "InvocationCompleted"),
        sum(_payload_bytes(event) for event in events),
    )


def _product(target: Target, stock: int, price: int) -> str:
    sku = f"CHK-{uuid.uuid4().hex[:8].upper()}"
    answered = client.until_answered(
        lambda: target.request(
            "PUT",
            f"/products/{sku}",
            json_body={"name": "Demo item", "price_cents": price, "stock": stock, "version": 0},
        )
    )
    response = answered.response
    # Sent again after a 5xx whose first write had landed, the create meets its own product (409).
    created = response.status == 201 or (answered.retries > 0 and target.product_stock(sku) == stock)
    if not created:
        raise RuntimeError(f"creating product {sku}: {response.describe()}")
    return sku


def _plan(target: Target) -> list[tuple[Path, str, int]]:
    """(path, sku, quantity) per order; race orders come in pairs sharing one last unit."""
    planned = []
    for path in PATHS:
        if path.last_unit_race:
            for _ in range(path.orders // 2):
                sku = _product(target, stock=1, price=PRICE_CENTS)
                planned += [(path, sku, 1), (path, sku, 1)]
        else:
            price = LARGE_PRICE_CENTS if path.decision else PRICE_CENTS
            for _ in range(path.orders):
                planned.append((path, _product(target, stock=5, price=price), 2))
    return planned


RETRIES_PER_ORDER = 1  # every order is POSTed again with the same Idempotency-Key, as a client retry would


@dataclass
class Ordered:
    response: HttpResponse  # the answer the client settled on
    body: dict[str, Any]  # what to send again for a client retry
    headers: dict[str, str]
    retries: int  # how often the first POST was sent again (a 5xx, 429 or in-progress 409)


def order_cart(target: Target, sku: str, quantity: int = 1, payment_token: str = "tok_ok") -> Ordered:
    """A new cart holding one line, ordered through the HTTP API with a new Idempotency-Key, as a
    well-behaved client does (drivers/client.py)."""
    cart_id = f"chk-{uuid.uuid4().hex[:10]}"
    client.until_answered(
        lambda: target.request("PUT", f"/carts/{cart_id}", json_body={"items": {sku: quantity}})
    )
    body = {"cart_id": cart_id, "payment_token": payment_token}
    key = {"Idempotency-Key": uuid.uuid4().hex}
    answered = client.until_answered(lambda: target.request("POST", "/orders", json_body=body, headers=key))
    return Ordered(answered.response, body, key, answered.retries)


def _place(target: Target, path: Path, sku: str, quantity: int) -> Placed:
    ordered = order_cart(target, sku, quantity, path.payment_token)
    if ordered.response.status != 202:
        raise RuntimeError(f"order for path {path.name} refused: {ordered.response.describe()}")
    placed = Placed(path.name, ordered.response.json["order_id"], sku, quantity, path.decision)
    placed.resent = ordered.retries
    for _ in range(RETRIES_PER_ORDER):
        retry = client.until_answered(
            lambda: target.request("POST", "/orders", json_body=ordered.body, headers=ordered.headers)
        )
        placed.resent += retry.retries
        answer = retry.response
        placed.retry_order_ids.append(answer.json.get("order_id") if answer.status == 202 else None)
    return placed


def _until(condition: Callable[[], bool], what: Callable[[], str], timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"the saga did not settle in time: {what()}")
        time.sleep(0.3)


def _settle(target: Target, order: Placed) -> Placed:
    """Decides approvals when asked, waits for the end, and reads the execution back."""
    state: dict[str, Any] = {}

    def read() -> dict[str, Any]:
        answered = client.until_answered(lambda: target.request("GET", f"/orders/{order.order_id}"))
        order.resent += answered.retries
        if answered.response.status != 200:
            raise RuntimeError(f"reading order {order.order_id}: {answered.response.describe()}")
        state.update(answered.response.json)
        return state

    if order.decision:
        # An order can also fail before it ever waits (a reservation that ran out of retries).
        _until(
            lambda: read()["status"] == "AWAITING_APPROVAL" or state["execution_status"] in TERMINAL,
            lambda: str(state),
        )
        if state["status"] == "AWAITING_APPROVAL":
            decided = client.until_answered(
                lambda: target.request(
                    "POST", f"/orders/{order.order_id}/approval", json_body={"decision": order.decision}
                )
            )
            order.resent += decided.retries
    _until(lambda: read()["execution_status"] in TERMINAL, lambda: str(state))
    order.status, order.execution_status, order.history, order.engine = (
        state["status"],
        state["execution_status"],
        state["history"],
        state["engine"],
    )
    order.execution_arn = state["execution_arn"]
    # The durable meter counts checkpointed payload bytes, so it reads the history with its data.
    order.events = saga_engine(target, order.engine).history(
        order.execution_arn, with_data=order.engine == "durable"
    )
    meter = _durable_metering if order.engine == "durable" else _step_functions_metering
    metering = meter(target, order.execution_arn, order.events)
    order.duration_ms = metering.duration_ms
    order.billed_units, order.lambda_requests, order.bytes_written = (
        metering.billed_units,
        metering.lambda_requests,
        metering.bytes_written,
    )
    return order


def _print_paths(engine: str, orders: list[Placed]) -> None:
    print(f"\n  checkout paths on {engine} (steps, from each execution's own history):")
    for path in PATHS:
        mine = [o for o in orders if o.path == path.name]
        outcomes = Counter(o.status for o in mine)
        common_history, _ = Counter(" > ".join(o.history) for o in mine).most_common(1)[0]
        outcome_text = ", ".join(f"{count} {status}" for status, count in sorted(outcomes.items()))
        print(f"    {path.name:<18} {len(mine):>3} orders  {outcome_text:<26} {common_history}")


def execution_names(target: Target, engine: str) -> list[str]:
    """The names of the engine's executions (an order's id names its execution on both)."""
    return saga_engine(target, engine).execution_names()


def _mean(values: list[int]) -> float:
    return sum(values) / len(values) if values else 0.0


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def analysis_keys(prefix: str, analysis: saga_analysis.Analysis) -> dict[str, Any]:
    """The per-state figures as summary keys under an engine's prefix."""
    keys: dict[str, Any] = {}
    for figures in analysis.states:
        state = f"{prefix}.states.{figures.state}"
        keys[f"{state}.executions"] = figures.executions
        for name in saga_analysis.PERCENTILES:
            keys[f"{state}.ms.{name}"] = _ms(figures.ms[name])
        keys[f"{state}.working_ms.p99"] = _ms(figures.working_ms["p99"])
        keys[f"{state}.waiting_ms.p99"] = _ms(figures.waiting_ms["p99"])
        keys[f"{state}.retries"] = figures.retries
        keys[f"{state}.failed_attempts"] = sum(figures.failures.values())
    for name, bottleneck in analysis.bottleneck.items():
        keys[f"{prefix}.bottleneck.{name}"] = bottleneck.state if bottleneck else None
        keys[f"{prefix}.bottleneck.{name}_share"] = bottleneck.share if bottleneck else None
    for name in ("p50", "p99"):
        keys[f"{prefix}.approval_wait_ms.{name}"] = _ms(analysis.approval_wait_ms[name])
    return keys


def state_table(analyses: dict[str, saga_analysis.Analysis]) -> list[str]:
    """Each engine's per-state figures, side by side: one row per state (or step), in the
    order the executions entered them; time in ms, the approver's wait left out of it."""
    engines_shown = list(analyses)
    names: list[str] = []
    for analysis in analyses.values():
        names += [figures.state for figures in analysis.states if figures.state not in names]
    cell = "{:>7} {:>8} {:>8} {:>8} {:>7}"
    header = f"    {'state':<18}" + "".join(f" | {engine:^44}" for engine in engines_shown)
    columns = f"    {'':<18}" + "".join(
        " | " + cell.format("entered", "p50", "p99", "wait p99", "retries") + "  " for _ in engines_shown
    )
    lines = [header, columns]

    def number(value: float | None) -> str:
        return "-" if value is None else f"{value:,.0f}"

    for name in names:
        row = f"    {name:<18}"
        for engine in engines_shown:
            figures = next((f for f in analyses[engine].states if f.state == name), None)
            if figures is None:
                row += " | " + cell.format("", "", "", "", "") + "  "
                continue
            failed = sum(figures.failures.values())
            row += (
                " | "
                + cell.format(
                    figures.executions,
                    number(figures.ms["p50"]),
                    number(figures.ms["p99"]),
                    number(figures.waiting_ms["p99"]),
                    figures.retries,
                )
                + ("F" if failed else " ")
                + " "
            )
        lines.append(row.rstrip())
    for label, key in (("bottleneck at p50", "p50"), ("bottleneck at p99", "p99")):
        row = f"    {label:<18}"
        for engine in engines_shown:
            found = analyses[engine].bottleneck[key]
            text = f"{found.state} ({found.share:.0%} of end to end)" if found else "-"
            row += f" | {text:<44}"
        lines.append(row.rstrip())
    row = f"    {'approver wait':<18}"
    for engine in engines_shown:
        wait = analyses[engine].approval_wait_ms
        row += f" | {'p50 ' + number(wait['p50']) + ' ms, p99 ' + number(wait['p99']) + ' ms':<44}"
    lines.append(row.rstrip())
    lines.append(
        "    wait: queued before the Lambda started + retry back-off; F: some attempts failed "
        "(by error in the summary's failed_attempts)"
    )
    return lines


def run_engine(target: Target, engine: str) -> tuple[dict[str, Any], saga_analysis.Analysis]:
    """Every path on one engine; the summary's keys under that engine's prefix, and the
    per-state analysis of its executions."""
    prefix = ENGINES[engine]
    started_ms = int(time.time() * 1000)
    planned = _plan(target)
    skus = sorted({sku for _, sku, _ in planned})
    stock_before = sum(target.product_stock(sku) for sku in skus)
    with target.checkout_engine(engine), ThreadPoolExecutor(CLIENTS) as pool:
        placed = list(pool.map(lambda plan: _place(target, *plan), planned))
        settled = list(pool.map(lambda order: _settle(target, order), placed))
    stock_after = sum(target.product_stock(sku) for sku in skus)
    confirmed = [o for o in settled if o.status == "CONFIRMED"]
    _print_paths(engine, settled)
    checkout_points = metrics.emf_points(target.function_log("checkout", since_ms=started_ms))
    ours = {o.order_id for o in settled}
    started_here = [name for name in execution_names(target, engine) if name in ours]
    units = [o.billed_units for o in settled]
    requests = [o.lambda_requests for o in settled]
    if engine == "durable":
        per_order_usd = pricing.durable_order_usd(
            _mean(units), _mean(requests), _mean([o.bytes_written for o in settled])
        )
        units_key = "durable_operations_per_order"
    else:
        per_order_usd = pricing.step_functions_order_usd(_mean(units), _mean(requests))
        units_key = "state_transitions_per_order"
    analysis = analyse(engine, settled)
    return {
        f"{prefix}.engine": engine,
        f"{prefix}.orders": len(settled),
        f"{prefix}.confirmed": len(confirmed),
        f"{prefix}.compensated": sum(
            1 for o in settled if o.status == "FAILED" and "ReleaseInventory" in o.history
        ),
        f"{prefix}.inventory_drift": stock_before - sum(o.quantity for o in confirmed) - stock_after,
        f"{prefix}.executions_in_terminal_state": sum(1 for o in settled if o.execution_status in TERMINAL),
        f"{prefix}.steps_per_order.p50": metrics.percentile([len(o.history) for o in settled], 0.5),
        f"{prefix}.{units_key}.p50": metrics.percentile(units, 0.5),
        f"{prefix}.lambda_invocations_per_order.p50": metrics.percentile(requests, 0.5),
        f"{prefix}.end_to_end_ms.p50": metrics.percentile(
            [o.duration_ms for o in settled if o.duration_ms is not None], 0.5
        ),
        f"{prefix}.cost_per_1k_orders_usd": round(1_000 * per_order_usd, 4),
        f"{prefix}.workflows_started": int(sum(metrics.select(checkout_points, "WorkflowStarted"))),
        f"{prefix}.client_retries": sum(len(o.retry_order_ids) for o in settled),
        f"{prefix}.requests_resent": sum(o.resent for o in settled),
        f"{prefix}.idempotent_replays": int(sum(metrics.select(checkout_points, "IdempotentReplay"))),
        f"{prefix}.duplicate_executions": len(started_here) - len(ours),
        f"{prefix}.retries_answered_with_the_same_order": sum(
            1 for o in settled for retried in o.retry_order_ids if retried == o.order_id
        ),
        **analysis_keys(prefix, analysis),
    }, analysis


def analyse(engine: str, orders: list[Placed]) -> saga_analysis.Analysis:
    """Where the orders' time went, per state, from their executions' histories."""
    return saga_analysis.analyse_histories(engine, [order.events for order in orders])


SIDE_BY_SIDE = [
    ("orders", "orders"),
    ("confirmed", "confirmed"),
    ("compensated", "compensated"),
    ("inventory drift (must be 0)", "inventory_drift"),
    ("end-to-end p50 (ms)", "end_to_end_ms.p50"),
    ("billed units per order, p50", ("state_transitions_per_order.p50", "durable_operations_per_order.p50")),
    ("Lambda invocations per order, p50", "lambda_invocations_per_order.p50"),
    ("cost per 1,000 orders (USD)", "cost_per_1k_orders_usd"),
]


def side_by_side(results: dict[str, Any]) -> list[str]:
    """The two engines' figures as a table, one row per measure."""
    engines = [engine for engine, prefix in ENGINES.items() if f"{prefix}.orders" in results]
    lines = [f"    {'':<36}" + "".join(f"{engine:>18}" for engine in engines)]
    for label, suffix in SIDE_BY_SIDE:
        cells = []
        for index, engine in enumerate(engines):
            key = suffix[index] if isinstance(suffix, tuple) else suffix
            value = results.get(f"{ENGINES[engine]}.{key}")
            if isinstance(value, float):
                cells.append(f"{value:>18,.4f}" if key.endswith("_usd") else f"{value:>18,.0f}")
            else:
                cells.append(f"{value!s:>18}")
        lines.append(f"    {label:<36}" + "".join(cells))
    lines.append(
        f"    billed units: Step Functions state transitions, durable operations; prices us-east-1, "
        f"read {pricing.PRICE_DATE}; Lambda duration left out (the twin's durations are not Lambda's)"
    )
    return lines


def run(target: Target) -> dict[str, Any]:
    results: dict[str, Any] = {}
    analyses: dict[str, saga_analysis.Analysis] = {}
    for engine in ENGINES:
        keys, analyses[engine] = run_engine(target, engine)
        results.update(keys)
    results["checkout.price_date"] = pricing.PRICE_DATE
    print("\n  the saga on both engines, side by side (the same paths, the same orders):")
    print("\n".join(side_by_side(results)))
    print("\n  where the time goes, per state (Step Functions) and per step (durable), in ms:")
    print("\n".join(state_table(analyses)))
    return results
