"""Cart store rules against an in-process moto DynamoDB (no server, no AWS)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from moto import mock_aws
from shop.carts import MAX_LINES, MAX_QUANTITY_PER_LINE, CartStore, cart_key, merge_line
from shop.errors import BusinessRuleViolation, NotFound, VersionConflict

from tests.unit.handler_harness import create_state_table

TTL = 3600


class Clock:
    def __init__(self, now: float = 1_800_000_000) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def table() -> Iterator[object]:
    with mock_aws():
        yield create_state_table("unit-state")


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(table: object, clock: Clock) -> CartStore:
    return CartStore(table, ttl_seconds=TTL, clock=clock)


def test_create_then_read(store: CartStore, clock: Clock) -> None:
    created = store.put("c1", {"SKU-1": 2}, None)
    assert created.version == 1
    assert created.expires_at == int(clock.now) + TTL
    assert store.get("c1") == created


def test_update_with_current_version_bumps_it(store: CartStore) -> None:
    store.put("c1", {"SKU-1": 2}, None)
    updated = store.put("c1", {"SKU-1": 5}, 1)
    assert (updated.version, updated.items) == (2, {"SKU-1": 5})


def test_stale_version_is_a_conflict_with_the_current_version(store: CartStore) -> None:
    store.put("c1", {"SKU-1": 2}, None)
    store.put("c1", {"SKU-1": 3}, 1)
    with pytest.raises(VersionConflict) as conflict:
        store.put("c1", {"SKU-1": 9}, 1)
    assert conflict.value.current_version == 2
    assert store.get("c1").items == {"SKU-1": 3}


def test_creating_over_a_live_cart_is_a_conflict(store: CartStore) -> None:
    store.put("c1", {"SKU-1": 2}, None)
    with pytest.raises(VersionConflict) as conflict:
        store.put("c1", {"SKU-9": 1}, None)
    assert conflict.value.current_version == 1


def test_expired_cart_reads_absent_before_dynamodb_deletes_it(
    store: CartStore, table: object, clock: Clock
) -> None:
    store.put("c1", {"SKU-1": 2}, None)
    clock.now += TTL
    with pytest.raises(NotFound):
        store.get("c1")
    assert "Item" in table.get_item(Key=cart_key("c1"))  # still stored: TTL deletion is lazy


def test_expired_cart_can_be_created_again_but_not_updated(store: CartStore, clock: Clock) -> None:
    store.put("c1", {"SKU-1": 2}, None)
    clock.now += TTL + 1
    with pytest.raises(NotFound):
        store.put("c1", {"SKU-1": 3}, 1)
    assert store.put("c1", {"SKU-7": 1}, None).version == 1


def test_each_write_refreshes_expiry(store: CartStore, clock: Clock) -> None:
    store.put("c1", {"SKU-1": 2}, None)
    clock.now += TTL - 10
    refreshed = store.add_item("c1", "SKU-1", 1, None)
    assert refreshed.expires_at == int(clock.now) + TTL
    clock.now += 20
    assert store.get("c1").items == {"SKU-1": 3}


def test_add_item_with_stale_version_writes_nothing(store: CartStore) -> None:
    store.put("c1", {"SKU-1": 2}, None)
    with pytest.raises(VersionConflict):
        store.add_item("c1", "SKU-1", 1, 7)
    assert store.get("c1").items == {"SKU-1": 2}


def test_add_item_creates_a_missing_cart(store: CartStore) -> None:
    assert store.add_item("new", "SKU-1", 4, None).items == {"SKU-1": 4}


def test_business_limits_are_422_and_write_nothing(store: CartStore) -> None:
    store.put("c1", {"SKU-1": MAX_QUANTITY_PER_LINE}, None)
    with pytest.raises(BusinessRuleViolation):
        store.add_item("c1", "SKU-1", 1, 1)
    with pytest.raises(BusinessRuleViolation):
        store.put("c2", {f"SKU-{n:03d}": 1 for n in range(MAX_LINES + 1)}, None)
    assert store.find("c2") is None
    assert store.get("c1").version == 1


def test_delete_respects_version_and_expiry(store: CartStore, clock: Clock) -> None:
    store.put("c1", {"SKU-1": 2}, None)
    with pytest.raises(VersionConflict):
        store.delete("c1", 5)
    store.delete("c1", 1)
    with pytest.raises(NotFound):
        store.delete("c1", None)


def test_merge_line_adds_to_existing_quantity() -> None:
    assert merge_line({"A-1": 2}, "A-1", 3) == {"A-1": 5}
    assert merge_line({}, "B-2", 1) == {"B-2": 1}


def test_unversioned_adds_back_off_between_conflicts_and_never_overwrite(table: object, clock: Clock) -> None:
    """A rival writer bumps the cart before each of our first two writes; we wait a growing,
    jittered moment before each re-read, and the third attempt lands on top of the rival's."""
    sleeps: list[float] = []
    rival = CartStore(table, ttl_seconds=TTL, clock=clock)
    store = CartStore(table, ttl_seconds=TTL, clock=clock, sleep=sleeps.append)
    rival.put("hot", {"SKU-1": 1}, None)
    original_put = CartStore.put
    interference = iter([True, True])

    def put_after_a_rival(self: CartStore, cart_id: str, items: dict, expected_version: int | None) -> object:
        if self is store and next(interference, False):
            current = rival.get(cart_id)
            original_put(rival, cart_id, {**current.items, "SKU-R": 1}, current.version)
        return original_put(self, cart_id, items, expected_version)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(CartStore, "put", put_after_a_rival)
        cart = store.add_item("hot", "SKU-1", 1, None)
    assert cart.items == {"SKU-1": 2, "SKU-R": 1} and cart.version == 4
    assert len(sleeps) == 2
    assert 0.0025 <= sleeps[0] <= 0.005 and 0.005 <= sleeps[1] <= 0.010, sleeps
