"""The shop's traffic for Locust: `python -m drivers load` runs it, or run it yourself, distributed:

    locust -f drivers/load/locustfile.py --master --headless --expect-workers 4 --host https://...
    locust -f drivers/load/locustfile.py --worker --master-host <master>      # on each load machine
    locust -f drivers/load/locustfile.py --processes 4 --headless ...        # or forked on one machine

Each user runs the mix: Zipf catalog reads, contended cart increments with the version protocol
(If-Match, re-read and retry on 409), and orders over every saga path, each POSTed twice with one
Idempotency-Key as a client retry would. Against AWS (--sigv4-region) every request is SigV4-signed
for execute-api with the caller's own credentials. Every request and every acknowledged write goes
to this process's ledger (--ledger-dir, one JSON-lines file per process); `python -m drivers load`
reads the ledgers back for the report and the invariants. On several machines, copy each worker's
ledger directory to the driver's before it checks (docs/load.md).
"""

from __future__ import annotations

import json
import os
import random
import socket
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from locust import HttpUser, LoadTestShape, constant_throughput, events, task

from drivers.load import mix


@events.init_command_line_parser.add_listener
def _options(parser: Any) -> None:
    group = parser.add_argument_group("serverless-state shop mix")
    group.add_argument(
        "--run-id", env_var="LOAD_RUN_ID", default="", help="names the run's products and carts"
    )
    group.add_argument("--catalog-skus", env_var="LOAD_CATALOG_SKUS", type=int, default=200)
    group.add_argument("--zipf-exponent", env_var="LOAD_ZIPF_EXPONENT", type=float, default=1.1)
    group.add_argument("--hot-carts", env_var="LOAD_HOT_CARTS", type=int, default=4)
    group.add_argument("--cart-retries", env_var="LOAD_CART_RETRIES", type=int, default=20)
    group.add_argument(
        "--shares",
        env_var="LOAD_SHARES",
        default="catalog=0.8,cart=0.15,orders=0.05",
        help="the mix: share of each task (catalog, cart, orders)",
    )
    group.add_argument(
        "--order-paths", env_var="LOAD_ORDER_PATHS", default=mix.format_weights(mix.DEFAULT_PATH_WEIGHTS)
    )
    group.add_argument("--client-retry-share", env_var="LOAD_CLIENT_RETRY_SHARE", type=float, default=1.0)
    group.add_argument("--user-rps", env_var="LOAD_USER_RPS", type=float, default=2.0)
    group.add_argument("--load-shape", env_var="LOAD_SHAPE", default="step", choices=["step", "spike"])
    group.add_argument("--peak-users", env_var="LOAD_PEAK_USERS", type=int, default=8)
    group.add_argument("--steps", env_var="LOAD_STEPS", type=int, default=4)
    group.add_argument("--step-seconds", env_var="LOAD_STEP_SECONDS", type=float, default=15)
    group.add_argument("--hold-seconds", env_var="LOAD_HOLD_SECONDS", type=float, default=15)
    group.add_argument("--base-users", env_var="LOAD_BASE_USERS", type=int, default=2)
    group.add_argument("--spike-at", env_var="LOAD_SPIKE_AT", type=float, default=20)
    group.add_argument("--spike-seconds", env_var="LOAD_SPIKE_SECONDS", type=float, default=15)
    group.add_argument("--duration", env_var="LOAD_DURATION", type=float, default=60)
    group.add_argument("--sigv4-region", env_var="LOAD_SIGV4_REGION", default="", help="sign for execute-api")
    group.add_argument("--ledger-dir", env_var="LOAD_LEDGER_DIR", default="build/load/ledger")


class Ledger:
    """This process's record of the run: one JSON line per request or acknowledged write."""

    def __init__(self, directory: str) -> None:
        Path(directory).mkdir(parents=True, exist_ok=True)
        path = Path(directory) / f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}.jsonl"
        self._file = path.open("a", buffering=1)
        self._lock = threading.Lock()

    def write(self, record: dict[str, Any]) -> None:
        with self._lock:
            self._file.write(json.dumps(record, separators=(",", ":")) + "\n")

    def close(self) -> None:
        self._file.close()


_ledger: Ledger | None = None


def ledger(environment: Any) -> Ledger:
    global _ledger
    if _ledger is None:
        _ledger = Ledger(environment.parsed_options.ledger_dir)
    return _ledger


@events.request.add_listener
def _record(
    request_type: str, name: str, response_time: float, response: Any, exception: Any, context: Any, **_: Any
) -> None:
    strategy, _, route = name.partition(" ")
    status = getattr(response, "status_code", 0) or 0
    record = {"kind": "request", "t": round(time.time(), 3), "strategy": strategy, "route": route}
    record.update({"status": int(status), "ms": round(response_time, 2)})
    if exception is not None and not status:
        record["error"] = type(exception).__name__
    if _ledger is not None:
        _ledger.write(record)


@events.test_stop.add_listener
def _close(environment: Any, **_: Any) -> None:
    global _ledger
    if _ledger is not None:
        _ledger.close()
        _ledger = None


class ShopUser(HttpUser):
    """One shopper: reads the catalog, adds to a hot cart, places orders."""

    def wait_time(self) -> float:
        # constant_throughput's function takes the user; its rate comes from --user-rps.
        return self._pacing(self)

    def on_start(self) -> None:
        options = self.environment.parsed_options
        self.options = options
        self._pacing = constant_throughput(options.user_rps)
        self.rng = random.Random()
        self.ledger = ledger(self.environment)
        shares = mix.parse_weights(options.shares, ("catalog", "cart", "orders"))
        self.shares = shares
        self.paths = mix.parse_weights(options.order_paths, list(mix.ORDER_PATHS))
        self.next_rank = mix.zipf_sampler(options.catalog_skus, options.zipf_exponent, self.rng)
        if options.sigv4_region:
            from drivers.load.signing import ExecuteApiAuth

            self.client.auth = ExecuteApiAuth.from_default_session(options.sigv4_region)

    @task
    def shop(self) -> None:
        {"catalog": self.read_product, "cart": self.add_to_hot_cart, "orders": self.place_order}[
            mix.weighted_choice(self.shares, self.rng)
        ]()

    def read_product(self) -> None:
        sku = mix.product_sku(self.options.run_id, self.next_rank())
        with self.client.get(
            f"/products/{sku}", name=f"{mix.CATALOG} GET /products/{{sku}}", catch_response=True
        ) as response:
            if response.status_code != 200:
                response.failure(f"status {response.status_code}")

    def add_to_hot_cart(self) -> None:
        """Read the version, write conditionally on it; a 409 means another writer won: re-read."""
        cart_id = mix.hot_cart_id(self.options.run_id, self.rng.randrange(self.options.hot_carts))
        line = mix.cart_line_sku(self.rng.randrange(mix.CART_LINES))
        for attempt in range(self.options.cart_retries + 1):
            with self.client.get(
                f"/carts/{cart_id}", name=f"{mix.CART} GET /carts/{{cart_id}}", catch_response=True
            ) as read:
                if read.status_code != 200:
                    read.failure(f"status {read.status_code}")
                    return
                version = read.json()["version"]
            with self.client.post(
                f"/carts/{cart_id}/items",
                json={"sku": line, "quantity": 1},
                headers={"If-Match": str(version)},
                name=f"{mix.CART} POST /carts/{{cart_id}}/items",
                catch_response=True,
            ) as written:
                if written.status_code == 200:
                    self.ledger.write(
                        {"kind": "increment", "cart": cart_id, "line": line, "attempt": attempt}
                    )
                    return
                if written.status_code == 409:
                    written.success()  # the version protocol at work, not an error: retry
                    continue
                written.failure(f"status {written.status_code}")
                return
        self.ledger.write({"kind": "gave-up", "cart": cart_id})

    def _order_sku(self, path: mix.OrderPath) -> str:
        if path.product == "approval":
            return mix.approval_sku(self.options.run_id)
        if path.product == "flash":
            return mix.flash_sku(self.options.run_id)
        return mix.product_sku(self.options.run_id, self.next_rank())

    def place_order(self) -> None:
        path = mix.ORDER_PATHS[mix.weighted_choice(self.paths, self.rng)]
        sku = self._order_sku(path)
        cart_id = f"ld{self.options.run_id.lower()}-{uuid.uuid4().hex[:12]}"
        with self.client.put(
            f"/carts/{cart_id}",
            json={"items": {sku: path.quantity}},
            name=f"{mix.ORDERS} PUT /carts/{{cart_id}}",
            catch_response=True,
        ) as cart:
            if cart.status_code not in (200, 201):
                cart.failure(f"status {cart.status_code}")
                return
        body = {"cart_id": cart_id, "payment_token": path.payment_token}
        key = uuid.uuid4().hex
        order_ids = []
        sends = 2 if self.rng.random() < self.options.client_retry_share else 1
        for send in range(sends):
            with self.client.post(
                "/orders",
                json=body,
                headers={"Idempotency-Key": key},
                name=f"{mix.ORDERS} POST /orders" + (" (client retry)" if send else ""),
                catch_response=True,
            ) as placed:
                if placed.status_code != 202:
                    placed.failure(f"status {placed.status_code}")
                    order_ids.append(None)
                    continue
                order_ids.append(placed.json()["order_id"])
        self.ledger.write(
            {
                "kind": "order",
                "key": key,
                "order_ids": order_ids,
                "path": path.name,
                "sku": sku,
                "quantity": path.quantity,
                "decision": path.decision,
            }
        )


class ShopShape(LoadTestShape):
    """The step ramp or the spike (--profile), from mix.Shape."""

    def tick(self) -> tuple[int, float] | None:
        options = self.runner.environment.parsed_options
        shape = mix.Shape(
            profile=options.load_shape,
            users=options.peak_users,
            steps=options.steps,
            step_seconds=options.step_seconds,
            hold_seconds=options.hold_seconds,
            base_users=options.base_users,
            spike_at=options.spike_at,
            spike_seconds=options.spike_seconds,
            duration=options.duration,
        )
        users = shape.users_at(self.get_run_time())
        if users is None:
            return None
        # Spawn fast enough to reach each step within a second, as a real ramp's users arrive.
        return users, float(max(users, 1))
