"""The order relay: every order the table holds gets its saga, even when its checkout died.

Checkout writes the order (PENDING) and then starts its saga: two writes to two services, and an
environment that dies between them (a crash, a timeout, Step Functions or Lambda out of reach)
leaves an order that nothing ever runs, unless its client retries with the same Idempotency-Key.
The relay is the outbox pattern on the state table's stream: an event source mapping filtered to
inserted orders delivers each one, and the relay starts the saga of any order still PENDING with
no execution.

It does not wait for the checkout to finish or die: the start is `shop.sagas.start_once`, named
after the order with the order's own input, and both engines answer a second start of one name
and input with the first execution (Step Functions: "StartExecution is idempotent for Standard
workflows", https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartExecution.html;
durable executions: a second invoke with the same DurableExecutionName and payload). A relay that
meets a live checkout therefore joins its saga instead of starting a second one, and both record
the same execution. Waiting out checkout's timeout instead would keep a relay environment asleep
for every order: a Lambda bill for nothing.

What it reports: an order older than checkout's timeout was left by a checkout that is gone (Lambda
stops a checkout at its timeout); a younger one may have met a live checkout.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable
from typing import Any

from shop import sagas
from shop.engines import Engines
from shop.errors import NotFound
from shop.orders import OrderStore, order_key

ORDER_PREFIX = "ORDER#"


class PoisonRecord(ValueError):
    """A stream record that names no order: reported failed, left to the mapping's retries and DLQ."""


class Relayed(enum.Enum):
    ABANDONED = "abandoned"  # older than checkout's timeout: its checkout died before the start
    JOINED = "joined"  # its checkout may have been starting it at the same moment


def order_id_of(record: dict[str, Any]) -> str:
    """The order id in a stream record's keys (the view is KEYS_ONLY): the keys `order_key` makes."""
    keys = (record.get("dynamodb") or {}).get("Keys") or {}
    pk = (keys.get("pk") or {}).get("S")
    order_id = pk.removeprefix(ORDER_PREFIX) if isinstance(pk, str) and pk.startswith(ORDER_PREFIX) else None
    if order_id is None or keys != {name: {"S": value} for name, value in order_key(order_id).items()}:
        raise PoisonRecord(f"not an order's keys: {keys!r}")
    return order_id


class OrderRelay:
    def __init__(
        self,
        store: OrderStore,
        engines: Engines,
        checkout_timeout_seconds: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._engines = engines
        self._checkout_timeout = checkout_timeout_seconds
        self._clock = clock

    def relay(self, order_id: str) -> Relayed | None:
        """Starts the order's saga if nothing has; None when the order has one (or is gone)."""
        try:
            order = self._store.get(order_id)
        except NotFound:
            return None  # deleted since: nothing to run
        if not sagas.needs_its_saga(order):
            return None
        sagas.start_once(self._store, order, self._engines)
        age = self._clock() - float(order.extra.get("created_at", 0))
        return Relayed.ABANDONED if age > self._checkout_timeout else Relayed.JOINED
