"""What the run seeds before the load, and the invariants it checks after, from the table itself.

Lost updates: every increment the cart API acknowledged (200 on a conditional write) is in the
stored cart. Duplicate orders: a client retry with the same Idempotency-Key is answered with the
same order, never a second one. Inventory drift: once every saga has ended, each product's stock
is what it was less what confirmed orders took; and the flash-sale SKU never sells more than it had.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from drivers.demo.checkout import TERMINAL, analysis_keys, saga_engine, state_table
from drivers.load import mix
from drivers.load.ledger import Ledger
from drivers.saga_analysis import analyse_histories
from drivers.target import Target

SEED_CLIENTS = 8


@dataclass(frozen=True)
class Seeded:
    run_id: str
    catalog_skus: int
    hot_carts: int
    flash_stock: int

    @property
    def skus(self) -> list[str]:
        return [
            *(mix.product_sku(self.run_id, index) for index in range(self.catalog_skus)),
            mix.approval_sku(self.run_id),
            mix.flash_sku(self.run_id),
        ]

    @property
    def carts(self) -> list[str]:
        return [mix.hot_cart_id(self.run_id, index) for index in range(self.hot_carts)]


def _put_product(target: Target, sku: str, price: int, stock: int) -> None:
    response = target.request(
        "PUT",
        f"/products/{sku}",
        json_body={"name": f"Load {sku}", "price_cents": price, "stock": stock, "version": 0},
    )
    if response.status != 201:
        raise RuntimeError(f"seeding {sku} failed: {response.describe()}")


def _put_cart(target: Target, cart_id: str) -> None:
    response = target.request("PUT", f"/carts/{cart_id}", json_body={"items": {mix.cart_line_sku(0): 1}})
    if response.status not in (200, 201):
        raise RuntimeError(f"seeding cart {cart_id} failed: {response.describe()}")


def seed(target: Target, seeded: Seeded) -> None:
    """The run's products and hot carts, through the shop's own API (so the cache sees them)."""
    with ThreadPoolExecutor(SEED_CLIENTS) as pool:
        jobs = [
            *(
                pool.submit(
                    _put_product, target, mix.product_sku(seeded.run_id, i), mix.PRICE_CENTS, mix.BIG_STOCK
                )
                for i in range(seeded.catalog_skus)
            ),
            pool.submit(
                _put_product, target, mix.approval_sku(seeded.run_id), mix.APPROVAL_PRICE_CENTS, mix.BIG_STOCK
            ),
            pool.submit(
                _put_product, target, mix.flash_sku(seeded.run_id), mix.PRICE_CENTS, seeded.flash_stock
            ),
            *(pool.submit(_put_cart, target, cart) for cart in seeded.carts),
        ]
        for job in jobs:
            job.result()


def stock(target: Target, skus: list[str]) -> dict[str, int]:
    with ThreadPoolExecutor(SEED_CLIENTS) as pool:
        return dict(zip(skus, pool.map(target.product_stock, skus), strict=True))


def cart_total(target: Target, cart_id: str) -> int:
    item = target.stored_item(f"CART#{cart_id}", "CART")
    if item is None:
        return 0
    return sum(int(quantity["N"]) for quantity in item["items"]["M"].values())


def _until(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.5)
    return True


def settle(target: Target, order: dict[str, Any], timeout: float = 300) -> dict[str, Any]:
    """Decides the order's approval when it waits for one, and waits for its saga to end."""
    order_id = next((order_id for order_id in order["order_ids"] if order_id), None)
    if order_id is None:
        return {**order, "status": "NOT_PLACED", "execution_status": None}
    state: dict[str, Any] = {}

    def read() -> dict[str, Any]:
        response = target.request("GET", f"/orders/{order_id}")
        if response.status == 200:
            state.update(response.json)
        return state

    decided = False

    def ended() -> bool:
        nonlocal decided
        read()
        if order.get("decision") and not decided and state.get("status") == "AWAITING_APPROVAL":
            target.request("POST", f"/orders/{order_id}/approval", json_body={"decision": order["decision"]})
            decided = True
        return state.get("execution_status") in TERMINAL

    settled = _until(ended, timeout)
    return {
        **order,
        "order_id": order_id,
        "status": state.get("status"),
        "execution_status": state.get("execution_status") if settled else "UNSETTLED",
        "execution_arn": state.get("execution_arn"),
        "engine": state.get("engine"),
    }


def saga_states(target: Target, orders: list[dict[str, Any]]) -> dict[str, Any]:
    """The demo's per-state analysis (drivers/saga_analysis.py) over the run's ended sagas, read
    from each execution's own history: the demo's table (under `_states_table`, for the report), and
    `load.checkout[.durable]` keys (`...states.<State>.ms.p99`, `...bottleneck.p99`)."""
    arns_by_engine: dict[str, list[str]] = {}
    for order in orders:
        if order["execution_status"] in TERMINAL and order["execution_arn"]:
            # Orders placed before there was a choice of engine ran on Step Functions.
            engine = order["engine"] or "step-functions"
            arns_by_engine.setdefault(engine, []).append(order["execution_arn"])
    keys: dict[str, Any] = {}
    analyses = {}
    for engine, arns in sorted(arns_by_engine.items()):
        with ThreadPoolExecutor(SEED_CLIENTS) as pool:
            histories = list(pool.map(saga_engine(target, engine).history, arns))
        analyses[engine] = analyse_histories(engine, histories)
        prefix = "load.checkout.durable" if engine == "durable" else "load.checkout"
        keys.update(analysis_keys(prefix, analyses[engine]))
    keys["_states_table"] = state_table(analyses) if analyses else []
    return keys


def check(target: Target, seeded: Seeded, ledger: Ledger, before: dict[str, int]) -> dict[str, Any]:
    with ThreadPoolExecutor(SEED_CLIENTS) as pool:
        orders = list(pool.map(lambda order: settle(target, order), ledger.orders))
    after = stock(target, seeded.skus)
    confirmed: Counter[str] = Counter()
    for order in orders:
        if order["status"] == "CONFIRMED":
            confirmed[order["sku"]] += order["quantity"]
    drift = sum(before[sku] - confirmed[sku] - after[sku] for sku in seeded.skus)

    acknowledged = Counter(record["cart"] for record in ledger.increments)
    # Each hot cart was seeded with one unit.
    lost_updates = sum(acknowledged[cart] - (cart_total(target, cart) - 1) for cart in seeded.carts)

    duplicates = sum(1 for order in ledger.orders if len({oid for oid in order["order_ids"] if oid}) > 1)
    flash = mix.flash_sku(seeded.run_id)
    outcomes = Counter(f"{order['path']}.{order['status'] or 'unknown'}" for order in orders)
    results: dict[str, Any] = {
        "invariants.lost_updates": lost_updates,
        "invariants.duplicate_orders": duplicates,
        "invariants.inventory_drift": drift,
        "invariants.flash_oversold": max(0, confirmed[flash] - seeded.flash_stock),
        "invariants.unsettled_orders": sum(1 for order in orders if order["execution_status"] == "UNSETTLED"),
        "load.orders.client_retries_same_order": sum(
            1
            for order in ledger.orders
            if len(order["order_ids"]) > 1
            and order["order_ids"][0]
            and order["order_ids"][1] == order["order_ids"][0]
        ),
        "load.orders.confirmed": sum(confirmed.values()),
        "load.flash.stock": seeded.flash_stock,
        "load.flash.confirmed_units": confirmed[flash],
    }
    results.update({f"load.orders.outcome.{key}": count for key, count in sorted(outcomes.items())})
    results.update(saga_states(target, orders))
    return results
