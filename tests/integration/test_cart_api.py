"""The cart function deployed on the twin, driven with API Gateway v2 events."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

pytestmark = pytest.mark.twin


def new_cart_id() -> str:
    return f"t-{uuid.uuid4().hex[:12]}"


def test_create_read_update_delete(twin) -> None:
    cart_id = new_cart_id()
    created = twin.request("PUT", f"/carts/{cart_id}", json_body={"items": {"SKU-1": 2}})
    assert created.status == 201
    assert created.json["version"] == 1
    assert created.headers["ETag"] == '"1"'

    read = twin.request("GET", f"/carts/{cart_id}")
    assert read.status == 200
    assert read.json["items"] == {"SKU-1": 2}

    added = twin.request(
        "POST",
        f"/carts/{cart_id}/items",
        json_body={"sku": "SKU-2", "quantity": 3},
        headers={"If-Match": '"1"'},
    )
    assert added.status == 200
    assert added.json == {**added.json, "items": {"SKU-1": 2, "SKU-2": 3}, "version": 2}

    deleted = twin.request("DELETE", f"/carts/{cart_id}", headers={"If-Match": "2"})
    assert deleted.status == 204
    assert twin.request("GET", f"/carts/{cart_id}").status == 404


def test_stale_version_gets_409_with_current_version(twin) -> None:
    cart_id = new_cart_id()
    twin.request("PUT", f"/carts/{cart_id}", json_body={"items": {"SKU-1": 1}})
    twin.request("PUT", f"/carts/{cart_id}", json_body={"items": {"SKU-1": 2}, "version": 1})
    stale = twin.request("PUT", f"/carts/{cart_id}", json_body={"items": {"SKU-1": 9}, "version": 1})
    assert stale.status == 409
    assert stale.json["error"] == "version_conflict"
    assert stale.json["current_version"] == 2
    assert twin.request("GET", f"/carts/{cart_id}").json["items"] == {"SKU-1": 2}


@pytest.mark.parametrize(
    ("method", "suffix", "body", "headers", "status"),
    [
        ("PUT", "", "{not json", {}, 400),
        ("PUT", "", '{"items": {"SKU-1": -1}}', {}, 400),
        ("PUT", "", '{"items": {"SKU-1": "2"}}', {}, 400),
        ("PUT", "", '{"items": {"SKU-1": 1000000}}', {}, 400),
        ("PUT", "", '{"items": {"bad sku": 1}}', {}, 400),
        ("PUT", "", '{"items": {}, "surprise": 1}', {}, 400),
        ("PUT", "", "[1, 2]", {}, 400),
        ("PUT", "", "", {}, 400),
        ("PUT", "", '{"items": {"SKU-1": 1}}', {"If-Match": "yesterday"}, 400),
        ("PUT", "", '{"items": {"SKU-1": 1}, "version": 2}', {"If-Match": "3"}, 400),
        ("PUT", "", '{"items": {"SKU-1": 1}, "pad": "' + "x" * 20000 + '"}', {}, 413),
        ("POST", "/items", '{"sku": "SKU-1", "quantity": 0}', {}, 400),
        ("POST", "/items", '{"sku": "SKU-1"}', {}, 400),
        ("POST", "/items", '{"sku": "SKU-1", "quantity": 1.5}', {}, 400),
    ],
)
def test_bad_input_is_4xx_and_writes_nothing(twin, method, suffix, body, headers, status) -> None:
    cart_id = new_cart_id()
    response = twin.request(method, f"/carts/{cart_id}{suffix}", raw_body=body, headers=headers)
    assert response.status == status, response.body
    assert set(response.json) >= {"error", "message"}
    assert twin.stored_item(f"CART#{cart_id}", "CART") is None


def test_invalid_cart_id_is_400(twin) -> None:
    response = twin.request("PUT", "/carts/" + "x" * 65, json_body={"items": {"SKU-1": 1}})
    assert response.status == 400
    assert "cart id" in response.json["message"]


def test_unknown_route_is_404_from_the_handler(twin) -> None:
    from local_twin.twin import http_api_event

    event = http_api_event("PATCH", "/carts/c1", "PATCH /carts/{cart_id}", {"cart_id": "c1"}, None, {})
    payload, error = twin.invoke("cart", event)
    assert error is None
    assert payload["statusCode"] == 404


def test_non_http_event_is_400(twin) -> None:
    payload, error = twin.invoke("cart", {"detail-type": "not an http request"})
    assert error is None
    assert payload["statusCode"] == 400


def test_concurrent_writers_lose_no_update(twin) -> None:
    """8 writers each add 1 unit 6 times with optimistic locking (read version, write,
    retry on 409). The final quantity must equal the successful increments."""
    cart_id = new_cart_id()
    twin.request("PUT", f"/carts/{cart_id}", json_body={"items": {"SKU-1": 0 + 1}})
    writers, increments_each = 8, 6

    def writer(_: int) -> tuple[int, int]:
        succeeded = conflicts = 0
        for _ in range(increments_each):
            for _attempt in range(50):
                version = twin.request("GET", f"/carts/{cart_id}").json["version"]
                response = twin.request(
                    "POST",
                    f"/carts/{cart_id}/items",
                    json_body={"sku": "SKU-1", "quantity": 1},
                    headers={"If-Match": str(version)},
                )
                if response.status == 200:
                    succeeded += 1
                    break
                assert response.status == 409, response.body
                conflicts += 1
        return succeeded, conflicts

    with ThreadPoolExecutor(writers) as pool:
        results = list(pool.map(writer, range(writers)))
    successes = sum(s for s, _ in results)
    final = twin.request("GET", f"/carts/{cart_id}").json
    assert final["items"]["SKU-1"] == 1 + successes
    assert final["version"] == 1 + successes
    assert successes == writers * increments_each
    assert sum(c for _, c in results) > 0, "8 parallel writers never conflicted: the test proves nothing"


def test_unversioned_concurrent_adds_are_all_applied(twin) -> None:
    cart_id = new_cart_id()
    with ThreadPoolExecutor(8) as pool:
        statuses = list(
            pool.map(
                lambda _: (
                    twin.request(
                        "POST", f"/carts/{cart_id}/items", json_body={"sku": "SKU-1", "quantity": 1}
                    ).status
                ),
                range(16),
            )
        )
    applied = statuses.count(200)
    assert set(statuses) <= {200, 409}
    assert twin.request("GET", f"/carts/{cart_id}").json["items"]["SKU-1"] == applied
