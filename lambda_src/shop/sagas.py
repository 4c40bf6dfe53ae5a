"""Starting an order's saga once, whoever starts it: checkout, or the order relay after a checkout
that died between writing the order and starting its execution.

Both engines name an execution after its order and take the same input for it (`Engine.start`),
so a second start for one order answers with the first execution; the ARN is then recorded on the
order, where reads and approvals find it. Two starters racing for one order start one saga and
record the same ARN.
"""

from __future__ import annotations

from shop.engines import Engines
from shop.orders import Order, OrderStore


def start_once(store: OrderStore, order: Order, engines: Engines) -> str:
    """The order's execution: the one recorded on it, or one started on the new orders' engine
    and recorded."""
    if order.execution_arn is not None:
        return order.execution_arn
    execution_arn = engines.for_new_orders.start(order.order_id, order.requires_approval)
    store.record_execution(order.order_id, execution_arn, engines.new_orders)
    return execution_arn


def needs_its_saga(order: Order) -> bool:
    """An order that nothing has started a saga for: PENDING (no step has run) with no execution."""
    return order.status == "PENDING" and order.execution_arn is None
