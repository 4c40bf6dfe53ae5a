"""Cart state in DynamoDB: optimistic locking on `version`, expiry on `expires_at`.

The rules (README, "serverless-state": the External database row of the strategy table):
- every write is conditional on the version the caller read, so concurrent writers
  never lose an update: the loser gets VersionConflict with the current version;
- `expires_at` is refreshed on every write, and a cart whose `expires_at` has passed
  reads as absent even before DynamoDB's lazy TTL deletion removes it.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

from shop import observability
from shop.backoff import Backoff
from shop.errors import BusinessRuleViolation, NotFound, VersionConflict

STRATEGY = "dynamodb"
MAX_LINES = 50
MAX_QUANTITY_PER_LINE = 999
# Without a version the store retries its own read-modify-write this often before
# giving the conflict back to the caller.
UNVERSIONED_RETRIES = 8
CONFLICT_BACKOFF = Backoff(base_ms=5, cap_ms=80)


@dataclass(frozen=True)
class Cart:
    cart_id: str
    items: dict[str, int] = field(default_factory=dict)
    version: int = 0
    updated_at: int = 0
    expires_at: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "cart_id": self.cart_id,
            "items": dict(sorted(self.items.items())),
            "version": self.version,
            "updated_at": self.updated_at,
            "expires_at": self.expires_at,
        }


def cart_key(cart_id: str) -> dict[str, str]:
    return {"pk": f"CART#{cart_id}", "sk": "CART"}


def is_live(item: Mapping[str, Any] | None, now: float) -> bool:
    return bool(item) and int(item.get("expires_at", 0)) > now  # type: ignore[union-attr]


def cart_from_item(cart_id: str, item: Mapping[str, Any]) -> Cart:
    return Cart(
        cart_id=cart_id,
        items={sku: int(quantity) for sku, quantity in item.get("items", {}).items()},
        version=int(item["version"]),
        updated_at=int(item.get("updated_at", 0)),
        expires_at=int(item.get("expires_at", 0)),
    )


def check_cart_rules(items: Mapping[str, int]) -> None:
    """Business limits a well-formed request can still break (422, not 400)."""
    if len(items) > MAX_LINES:
        raise BusinessRuleViolation(f"a cart holds at most {MAX_LINES} different products")
    for sku, quantity in items.items():
        if quantity > MAX_QUANTITY_PER_LINE:
            raise BusinessRuleViolation(
                f"at most {MAX_QUANTITY_PER_LINE} of one product per cart; {sku} would have {quantity}"
            )


def merge_line(items: Mapping[str, int], sku: str, quantity: int) -> dict[str, int]:
    merged = dict(items)
    merged[sku] = merged.get(sku, 0) + quantity
    return merged


class CartStore:
    def __init__(
        self,
        table: Any,
        ttl_seconds: int,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self._table = table
        self._ttl_seconds = ttl_seconds
        self._clock = clock
        self._sleep = sleep
        self._rng = rng or random.Random()

    def _read_item(self, cart_id: str, operation: str) -> dict[str, Any] | None:
        with observability.timed(observability.READ, STRATEGY, operation):
            return self._table.get_item(Key=cart_key(cart_id), ConsistentRead=True).get("Item")

    def find(self, cart_id: str) -> Cart | None:
        item = self._read_item(cart_id, "GetCart")
        return cart_from_item(cart_id, item) if is_live(item, self._clock()) else None

    def get(self, cart_id: str) -> Cart:
        cart = self.find(cart_id)
        if cart is None:
            raise NotFound(f"cart {cart_id} does not exist or has expired")
        return cart

    def put(self, cart_id: str, items: Mapping[str, int], expected_version: int | None) -> Cart:
        """Replaces the cart's lines. `expected_version` 0 or None creates a new cart."""
        check_cart_rules(items)
        now = int(self._clock())
        new_version = (expected_version or 0) + 1
        cart = Cart(cart_id, dict(items), new_version, now, now + self._ttl_seconds)
        item = {
            **cart_key(cart_id),
            "items": cart.items,
            "version": new_version,
            "updated_at": now,
            "expires_at": cart.expires_at,
        }
        if expected_version:
            condition = "version = :expected AND expires_at > :now"
            values: dict[str, Any] = {":expected": expected_version, ":now": now}
        else:
            # An expired cart that DynamoDB has not deleted yet counts as absent.
            condition = "attribute_not_exists(pk) OR expires_at <= :now"
            values = {":now": now}
        try:
            with observability.timed(observability.WRITE, STRATEGY, "PutCart"):
                self._table.put_item(
                    Item=item,
                    ConditionExpression=condition,
                    ExpressionAttributeValues=values,
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
        except ClientError as error:
            self._raise_conflict(cart_id, error, now)
        return cart

    def add_item(self, cart_id: str, sku: str, quantity: int, expected_version: int | None) -> Cart:
        """Adds to one line. With a version it is one conditional write; without, the
        store re-reads and retries on conflicts, still never overwriting a newer cart."""
        attempts = 1 if expected_version is not None else UNVERSIONED_RETRIES
        for attempt in range(attempts):
            current = self.find(cart_id) or Cart(cart_id)
            if expected_version is not None and expected_version != current.version:
                observability.count("VersionConflict", STRATEGY)
                raise VersionConflict(
                    f"cart {cart_id} is at version {current.version}, not {expected_version}",
                    current.version,
                )
            try:
                return self.put(cart_id, merge_line(current.items, sku, quantity), current.version)
            except VersionConflict:
                if attempt == attempts - 1:
                    raise
                # Writers that lost the race wait a jittered, growing moment before reading again,
                # so a hot cart's contenders spread out instead of colliding on every retry.
                self._sleep(CONFLICT_BACKOFF.delay_seconds(attempt + 1, self._rng))
        raise AssertionError("unreachable")

    def delete(self, cart_id: str, expected_version: int | None) -> None:
        now = int(self._clock())
        condition = "expires_at > :now"
        values: dict[str, Any] = {":now": now}
        if expected_version is not None:
            condition += " AND version = :expected"
            values[":expected"] = expected_version
        try:
            with observability.timed(observability.WRITE, STRATEGY, "DeleteCart"):
                self._table.delete_item(
                    Key=cart_key(cart_id),
                    ConditionExpression=condition,
                    ExpressionAttributeValues=values,
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
        except ClientError as error:
            self._raise_conflict(cart_id, error, now)

    def _raise_conflict(self, cart_id: str, error: ClientError, now: int) -> None:
        if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
            raise error
        old = error.response.get("Item")
        if old is None:
            current = self._read_item(cart_id, "GetCart")
        else:
            current = {name: _plain(value) for name, value in old.items()}
        if not is_live(current, now):
            raise NotFound(f"cart {cart_id} does not exist or has expired") from None
        observability.count("VersionConflict", STRATEGY)
        version = int(current["version"])  # type: ignore[index]
        raise VersionConflict(f"cart {cart_id} is at version {version}", version) from None


def _plain(attribute_value: Mapping[str, Any]) -> Any:
    """Decodes the low-level attribute values that ALL_OLD returns on a failed condition."""
    ((kind, value),) = attribute_value.items()
    if kind == "N":
        return Decimal(value)
    if kind == "M":
        return {name: _plain(inner) for name, inner in value.items()}
    return value
