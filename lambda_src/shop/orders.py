"""Orders and the checkout saga's steps, each safe to run more than once.

Step Functions may deliver a task twice (a retry after a timeout that had in fact
committed, a redrive), so every step writes conditionally on the order's status or
its own marker and, finding its work already done, answers as if it had just done it.

Status: PENDING -> RESERVED [-> AWAITING_APPROVAL -> APPROVED] -> PAID -> CONFIRMED,
or -> FAILED after compensation (ReleaseInventory, then RefundPayment if charged).
An approver's decision that comes before the saga asks for it is kept on the order
(`early_decision`) and applied by the saga when it reaches the approval.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as SdkConnectionError

from shop import observability, payments
from shop.carts import CartStore
from shop.errors import BusinessRuleViolation, NotFound, ShopError
from shop.payments import BusinessError, TransientError
from shop.products import ProductStore, product_key

STRATEGY = "dynamodb"
MAX_ORDER_LINES = 50
# Fixed forever: changing it would give every Idempotency-Key already used a second order id.
ORDER_ID_NAMESPACE = uuid.UUID("5f0c3c1e-8d7a-4b8e-9a51-2a6f1d0c9e47")
# An approver's decision meets the saga's request for it in at most a few rounds: each failed
# conditional write means the other side wrote, and after its write the next read is decisive.
DECISION_ATTEMPTS = 3
DEFAULT_REJECTION = "rejected by the approver"


def order_id_for(idempotency_key: str) -> str:
    """The order id an Idempotency-Key always maps to.

    The idempotency record only guards a key while it lives; once its in-progress lock expires
    (a Lambda timeout) a retry runs the whole placement again. Deriving the id, and with it the
    execution name, from the key makes that re-run find the same order, and lets the workflow
    engine refuse a second execution of the same name.
    """
    return str(uuid.uuid5(ORDER_ID_NAMESPACE, idempotency_key))


class NotAwaitingApproval(ShopError):
    """A decision for an order that is not waiting for one (already decided, or never asked)."""

    status = 409
    code = "not_awaiting_approval"


class Approver(Protocol):
    """The part of a saga engine (shop.engines) that answers a waiting approval with its token."""

    def approve(self, token: str) -> None: ...

    def reject(self, token: str, reason: str) -> None: ...


class OutOfStock(BusinessError):
    pass


class OrderInvalid(BusinessError):
    pass


@dataclass(frozen=True)
class Order:
    order_id: str
    status: str
    items: dict[str, int]
    total_cents: int
    payment_token: str
    requires_approval: bool = False
    execution_arn: str | None = None
    charge_id: str | None = None
    failure_cause: str | None = None
    engine: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "order_id": self.order_id,
            "status": self.status,
            "items": dict(sorted(self.items.items())),
            "total_cents": self.total_cents,
            "requires_approval": self.requires_approval,
            "execution_arn": self.execution_arn,
            "charge_id": self.charge_id,
            "failure_cause": self.failure_cause,
            "engine": self.engine,
        }


def order_key(order_id: str) -> dict[str, str]:
    return {"pk": f"ORDER#{order_id}", "sk": "ORDER"}


def order_from_item(item: Mapping[str, Any]) -> Order:
    known = {
        "pk",
        "sk",
        "status",
        "items",
        "total_cents",
        "payment_token",
        "requires_approval",
        "execution_arn",
        "charge_id",
        "failure_cause",
        "engine",
    }
    return Order(
        order_id=str(item["pk"]).removeprefix("ORDER#"),
        status=str(item["status"]),
        items={sku: int(quantity) for sku, quantity in item["items"].items()},
        total_cents=int(item["total_cents"]),
        payment_token=str(item["payment_token"]),
        requires_approval=bool(item.get("requires_approval", False)),
        execution_arn=item.get("execution_arn"),
        charge_id=item.get("charge_id"),
        failure_cause=item.get("failure_cause"),
        engine=item.get("engine"),
        extra={k: v for k, v in item.items() if k not in known},
    )


def _is_condition_failure(error: ClientError) -> bool:
    code = error.response.get("Error", {}).get("Code")
    return code in ("ConditionalCheckFailedException", "TransactionCanceledException")


def _transient_on_throttling(error: ClientError) -> None:
    code = error.response.get("Error", {}).get("Code", "")
    if code in (
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "TransactionConflictException",
    ):
        raise TransientError(f"DynamoDB is busy ({code})") from error


@contextlib.contextmanager
def aws_failures_are_transient() -> Iterator[None]:
    """A saga step whose AWS call failed for a reason that passes ends in TransientError, which
    both engines retry with back-off. Two such reasons reach a step after its client has spent
    its own attempts (shop/clients.py):
    - the call went unanswered (a connect or read timeout, a dropped connection);
    - DynamoDB throttled it or failed inside (ThrottlingException, InternalServerError, ...), on
      any call of the step, the reads included: a throttled GetItem of the order used to escape
      as ClientError, which the saga's Catch takes for a business outcome.
    Left as they are, botocore's errors compensate a happy order because DynamoDB was slow or
    busy. Every step is idempotent per order, so running it again after a write that did land is
    safe. A refusal (AccessDenied, a validation error) stays what it is."""
    try:
        yield
    except (SdkConnectionError, HTTPClientError) as error:
        raise TransientError(f"an AWS call went unanswered ({type(error).__name__}: {error})") from error
    except ClientError as error:
        _transient_on_throttling(error)
        raise


# Cancellation reasons that say "try again", not "your condition failed": another transaction held
# an item, or the table was throttled (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TransactWriteItems.html).
_TRANSIENT_CANCELLATIONS = {"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"}


def _transient_on_cancellation(error: ClientError) -> None:
    """A transaction cancelled for a transient reason is retried, never read as a business outcome
    (a conflicting reservation is not out-of-stock)."""
    reasons = {reason.get("Code") for reason in error.response.get("CancellationReasons") or []}
    transient = sorted(reasons & _TRANSIENT_CANCELLATIONS)
    if transient:
        raise TransientError(f"DynamoDB cancelled the transaction ({', '.join(transient)})") from error


class OrderStore:
    def __init__(self, table: Any, clock: Callable[[], float] = time.time) -> None:
        self._table = table
        self._client = table.meta.client
        self._clock = clock
        # Checkout reads carts and products exactly as their own slices do (expiry included).
        self._carts = CartStore(table, ttl_seconds=0, clock=clock)
        self._products = ProductStore(table, clock=clock)

    # ---- orders ----------------------------------------------------------------------
    def get(self, order_id: str) -> Order:
        with observability.timed(observability.READ, STRATEGY, "GetOrder"):
            item = self._table.get_item(Key=order_key(order_id), ConsistentRead=True).get("Item")
        if not item:
            raise NotFound(f"order {order_id} does not exist")
        return order_from_item(item)

    def price_cart(self, cart_id: str, approval_threshold_cents: int) -> tuple[dict[str, int], int, bool]:
        """The cart's lines and total at today's prices; 404/422 when it cannot be ordered."""
        cart = self._carts.find(cart_id)
        if cart is None:
            raise NotFound(f"cart {cart_id} does not exist or has expired")
        items = {sku: quantity for sku, quantity in cart.items.items() if quantity > 0}
        if not items:
            raise BusinessRuleViolation(f"cart {cart_id} is empty")
        if len(items) > MAX_ORDER_LINES:
            raise BusinessRuleViolation(f"an order holds at most {MAX_ORDER_LINES} products")
        total = 0
        for sku, quantity in items.items():
            product = self._products.find(sku)
            if product is None:
                raise BusinessRuleViolation(f"product {sku} in cart {cart_id} is no longer sold")
            total += product.price_cents * quantity
        return items, total, total > approval_threshold_cents

    def create(
        self,
        items: dict[str, int],
        total_cents: int,
        payment_token: str,
        requires_approval: bool,
        order_id: str | None = None,
    ) -> Order:
        """A PENDING order; given an `order_id` that already exists, that order as stored.

        The existing order wins over the new prices: it is the one a first attempt may have
        started a saga for, and a saga must run over the lines it was started with.
        """
        order = Order(
            order_id or str(uuid.uuid4()), "PENDING", items, total_cents, payment_token, requires_approval
        )
        now = int(self._clock())
        item = {
            **order_key(order.order_id),
            "status": order.status,
            "items": items,
            "total_cents": total_cents,
            "payment_token": payment_token,
            "requires_approval": requires_approval,
            "created_at": now,
            "updated_at": now,
        }
        try:
            with observability.timed(observability.WRITE, STRATEGY, "CreateOrder"):
                self._table.put_item(Item=item, ConditionExpression="attribute_not_exists(pk)")
        except ClientError as error:
            if order_id is None or not _is_condition_failure(error):
                raise
            return self.get(order.order_id)
        return order

    def record_execution(self, order_id: str, execution_arn: str, engine: str = "step-functions") -> None:
        """The saga's execution and the engine running it: reads and approvals go to that engine."""
        self._update(
            order_id,
            "execution_arn = :arn, engine = :engine",
            {":arn": execution_arn, ":engine": engine},
            operation="RecordExecution",
        )

    def _update(
        self,
        order_id: str,
        assignments: str,
        values: dict[str, Any],
        condition: str | None = None,
        names: dict[str, str] | None = None,
        operation: str = "UpdateOrder",
        other_clauses: str = "",
    ) -> dict[str, Any] | None:
        """SETs `assignments` (and updated_at); returns the new item, or None when the condition did not hold."""
        set_clause = ", ".join(part for part in (assignments, "updated_at = :now") if part)
        arguments: dict[str, Any] = {
            "Key": order_key(order_id),
            "UpdateExpression": f"SET {set_clause} {other_clauses}".strip(),
            "ExpressionAttributeValues": {**values, ":now": int(self._clock())},
            "ReturnValues": "ALL_NEW",
        }
        if condition:
            arguments["ConditionExpression"] = condition
        if names:
            arguments["ExpressionAttributeNames"] = names
        try:
            with observability.timed(observability.WRITE, STRATEGY, operation):
                return self._table.update_item(**arguments)["Attributes"]
        except ClientError as error:
            _transient_on_throttling(error)
            if _is_condition_failure(error):
                return None
            raise

    def _stock_transaction(
        self, order: Order, sign: int, order_update: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """The order's own conditional update, then one stock update per line: all or none.
        Taking stock (sign -1) is conditional on enough being left; giving it back is not."""
        actions = [
            {"Update": {"TableName": self._table.name, "Key": order_key(order.order_id), **order_update}}
        ]
        for sku, quantity in sorted(order.items.items()):
            update: dict[str, Any] = {
                "TableName": self._table.name,
                "Key": product_key(sku),
                "UpdateExpression": f"SET stock = stock {'-' if sign < 0 else '+'} :q, version = version + :one",
                "ExpressionAttributeValues": {":q": quantity, ":one": 1},
            }
            if sign < 0:
                update["ConditionExpression"] = "attribute_exists(pk) AND stock >= :q"
            actions.append({"Update": update})
        return actions

    # ---- saga steps --------------------------------------------------------------------
    def validate(self, order_id: str) -> dict[str, Any]:
        order = self.get(order_id)
        if not order.items or order.total_cents <= 0:
            raise OrderInvalid(f"order {order_id} has no payable lines")
        return {"status": order.status}

    def reserve_inventory(self, order_id: str) -> dict[str, Any]:
        """All lines or none: stock decrements conditional on stock >= quantity, in one
        transaction with the order's PENDING -> RESERVED transition."""
        order = self.get(order_id)
        if order.status != "PENDING":
            return {"status": order.status, "already_done": True}
        order_transition = {
            "UpdateExpression": "SET #status = :reserved, reserved_at = :now, updated_at = :now",
            "ConditionExpression": "#status = :pending",
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": {
                ":reserved": "RESERVED",
                ":pending": "PENDING",
                ":now": int(self._clock()),
            },
        }
        actions = self._stock_transaction(order, -1, order_transition)
        try:
            with observability.timed(observability.WRITE, STRATEGY, "ReserveInventory"):
                self._client.transact_write_items(TransactItems=actions)
        except ClientError as error:
            _transient_on_throttling(error)
            _transient_on_cancellation(error)
            if not _is_condition_failure(error):
                raise
            reasons = error.response.get("CancellationReasons") or []
            if reasons and reasons[0].get("Code") == "ConditionalCheckFailed":
                return {"status": self.get(order_id).status, "already_done": True}  # a duplicate delivery
            short = [
                sku
                for (sku, _), reason in zip(sorted(order.items.items()), reasons[1:], strict=False)
                if reason.get("Code") == "ConditionalCheckFailed"
            ]
            raise OutOfStock(
                f"not enough stock for {', '.join(short) or 'an item'} in order {order_id}"
            ) from None
        return {"status": "RESERVED", "already_done": False}

    def request_approval(self, order_id: str, task_token: str, approver: Approver) -> dict[str, Any]:
        """Stores the engine's token on the order, for POST /orders/{id}/approval to send back.

        When the approver decided before the saga got here (decide_approval recorded it as the
        order's `early_decision`), the token is not stored: the decision is applied at once, the
        order moved to it and the engine answered with the token it just gave, through `approver`.
        The two conditional writes on the order serialize the saga and the approver, so exactly
        one of them sees the other's write, whichever comes first.
        """
        updated = self._update(
            order_id,
            "#status = :awaiting, task_token = :token",
            {":awaiting": "AWAITING_APPROVAL", ":token": task_token, ":reserved": "RESERVED"},
            condition="#status IN (:reserved, :awaiting) AND attribute_not_exists(early_decision)",
            names={"#status": "status"},
            operation="RequestApproval",
        )
        if updated is not None:
            return {"status": "AWAITING_APPROVAL"}
        order = self.get(order_id)
        decision = order.extra.get("early_decision")
        if decision not in ("approve", "reject"):
            raise OrderInvalid(f"order {order_id} cannot wait for approval in status {order.status}")
        return self._apply_early_decision(order_id, str(decision), task_token, approver)

    def _apply_early_decision(
        self, order_id: str, decision: str, task_token: str, approver: Approver
    ) -> dict[str, Any]:
        decided = "APPROVED" if decision == "approve" else "REJECTED_BY_APPROVER"
        # Already `decided`: a redelivered task (a retry gets a new token), which must be answered too.
        moved = self._update(
            order_id,
            "#status = :decided",
            {
                ":decided": decided,
                ":decision": decision,
                ":reserved": "RESERVED",
                ":awaiting": "AWAITING_APPROVAL",
            },
            condition="#status IN (:reserved, :awaiting, :decided) AND early_decision = :decision",
            names={"#status": "status"},
            operation="ApplyEarlyDecision",
        )
        if moved is None:
            raise OrderInvalid(f"order {order_id} can no longer take its recorded decision")
        if decision == "approve":
            approver.approve(task_token)
        else:
            approver.reject(task_token, str(moved.get("early_decision_reason") or DEFAULT_REJECTION))
        return {"status": decided, "early_decision": decision}

    def decide_approval(self, order_id: str, approve: bool, reason: str = "") -> str | None:
        """The approver's decision, taken once. Returns the task token to send back, or None
        when the decision was recorded for the saga to apply.

        Waiting (AWAITING_APPROVAL with a token): takes the token, and the caller answers the
        engine with it. Not waiting yet (PENDING or RESERVED, an order that needs approval):
        records the decision on the order; request_approval applies it when the saga gets there.
        The saga may store its token between the read and the write: the record's condition then
        fails and the next attempt finds the token.
        """
        decision = "approve" if approve else "reject"
        decided = "APPROVED" if approve else "REJECTED_BY_APPROVER"
        for _ in range(DECISION_ATTEMPTS):
            order = self.get(order_id)
            token = order.extra.get("task_token")
            if order.status == "AWAITING_APPROVAL" and token:
                taken = self._update(
                    order_id,
                    "#status = :decided",
                    {":decided": decided, ":awaiting": "AWAITING_APPROVAL", ":token": token},
                    other_clauses="REMOVE task_token",
                    condition="#status = :awaiting AND task_token = :token",
                    names={"#status": "status"},
                    operation="DecideApproval",
                )
                if taken is not None:
                    return str(token)
                continue  # another decision took it: the next read says so
            if "early_decision" in order.extra:
                raise NotAwaitingApproval(
                    f"order {order_id} already has a decision ({order.extra['early_decision']}),"
                    " which the saga applies when it reaches the approval"
                )
            if not order.requires_approval or order.status not in ("PENDING", "RESERVED"):
                break
            recorded = self._update(
                order_id,
                "early_decision = :decision, early_decision_reason = :reason",
                {
                    ":decision": decision,
                    ":reason": (reason or DEFAULT_REJECTION) if not approve else reason,
                    ":pending": "PENDING",
                    ":reserved": "RESERVED",
                    ":required": True,
                },
                condition="#status IN (:pending, :reserved) AND requires_approval = :required"
                " AND attribute_not_exists(early_decision)",
                names={"#status": "status"},
                operation="RecordEarlyDecision",
            )
            if recorded is not None:
                return None
        raise NotAwaitingApproval(f"order {order_id} is {order.status}, not waiting for approval")

    def charge_payment(self, order_id: str) -> dict[str, Any]:
        order = self.get(order_id)
        if order.charge_id:
            return {"status": order.status, "charge_id": order.charge_id, "already_done": True}
        attempts = self._update(
            order_id,
            "",
            {":one": 1},
            operation="CountPaymentAttempt",
            other_clauses="ADD payment_attempts :one",
        )
        attempt = int((attempts or {}).get("payment_attempts", 1))
        charge = payments.charge(order.payment_token, order_id, order.total_cents, attempt)
        updated = self._update(
            order_id,
            "#status = :paid, charge_id = :charge",
            {":paid": "PAID", ":charge": charge.charge_id, ":reserved": "RESERVED", ":approved": "APPROVED"},
            condition="attribute_not_exists(charge_id) AND #status IN (:reserved, :approved)",
            names={"#status": "status"},
            operation="ChargePayment",
        )
        if updated is None:
            current = self.get(order_id)
            if current.charge_id:
                return {"status": current.status, "charge_id": current.charge_id, "already_done": True}
            raise OrderInvalid(f"order {order_id} cannot be charged in status {current.status}")
        return {"status": "PAID", "charge_id": charge.charge_id, "already_done": False}

    def confirm(self, order_id: str) -> dict[str, Any]:
        updated = self._update(
            order_id,
            "#status = :confirmed",
            {":confirmed": "CONFIRMED", ":paid": "PAID"},
            condition="#status IN (:paid, :confirmed)",
            names={"#status": "status"},
            operation="ConfirmOrder",
        )
        if updated is None:
            raise OrderInvalid(f"order {order_id} is not paid")
        return {"status": "CONFIRMED"}

    def release_inventory(self, order_id: str) -> dict[str, Any]:
        """Gives reserved stock back exactly once; a no-op when nothing was reserved."""
        order = self.get(order_id)
        charged = bool(order.charge_id) and not order.extra.get("refunded_at")
        if order.status == "CONFIRMED" or "reserved_at" not in order.extra or "released_at" in order.extra:
            return {"released": False, "charged": charged and order.status != "CONFIRMED"}
        # A confirmed order is never compensated: if ConfirmOrder committed but its reply was
        # lost, the Catch still routes here, and the sale must stand.
        order_marker = {
            "UpdateExpression": "SET released_at = :now, updated_at = :now",
            "ConditionExpression": "attribute_exists(reserved_at) AND attribute_not_exists(released_at)"
            " AND #status <> :confirmed",
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": {":now": int(self._clock()), ":confirmed": "CONFIRMED"},
        }
        actions = self._stock_transaction(order, +1, order_marker)
        try:
            with observability.timed(observability.WRITE, STRATEGY, "ReleaseInventory"):
                self._client.transact_write_items(TransactItems=actions)
        except ClientError as error:
            _transient_on_throttling(error)
            _transient_on_cancellation(error)
            if not _is_condition_failure(error):
                raise
            return {"released": False, "charged": charged}
        return {"released": True, "charged": charged}

    def refund(self, order_id: str) -> dict[str, Any]:
        updated = self._update(
            order_id,
            "refunded_at = :now_refund",
            {":now_refund": int(self._clock()), ":confirmed": "CONFIRMED"},
            condition="attribute_exists(charge_id) AND attribute_not_exists(refunded_at) AND #status <> :confirmed",
            names={"#status": "status"},
            operation="RefundPayment",
        )
        return {"refunded": updated is not None}

    def mark_failed(self, order_id: str, cause: str) -> dict[str, Any]:
        updated = self._update(
            order_id,
            "#status = :failed, failure_cause = :cause",
            {":failed": "FAILED", ":cause": cause[:500], ":confirmed": "CONFIRMED"},
            condition="#status <> :confirmed",
            names={"#status": "status"},
            operation="MarkFailed",
        )
        return {"status": "FAILED" if updated is not None else self.get(order_id).status}
