"""Property: malformed requests to the cart handler get a 4xx and write nothing."""

from __future__ import annotations

import json
import os
import re
import string
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from local_twin.twin import http_api_event
from tests.unit.handler_harness import FakeContext, create_state_table, fresh_import

TABLE = "fuzz-state"


@pytest.fixture(scope="module")
def cart_handler() -> Iterator[tuple[Any, Any]]:
    os.environ["STATE_TABLE_NAME"] = TABLE
    with mock_aws():
        table = create_state_table(TABLE)
        yield fresh_import("handlers.cart").handler, table


def _not_a_json_object(text: str) -> bool:
    try:
        return not isinstance(json.loads(text), dict)
    except ValueError:
        return True


# Integers longer than int() converts (4,300 digits) once crashed the parser with a 500. They
# cannot be made as ints either, so a placeholder stands in until `dumps` writes the digits.
huge_integer = st.integers(min_value=4301, max_value=6000).map(lambda digits: f"HUGE-{digits}")


def dumps(document: Any) -> str:
    return re.sub(r'"HUGE-([0-9]+)"', lambda m: "9" * int(m.group(1)), json.dumps(document))


bad_quantity = st.one_of(
    st.integers(max_value=0),
    st.integers(min_value=1000),
    huge_integer,
    st.floats(allow_nan=False),
    st.text(max_size=5),
    st.booleans(),
    st.none(),
    st.lists(st.integers(), max_size=2),
)
bad_sku = st.one_of(
    st.text(max_size=40),
    st.from_regex(r"\A[A-Z0-9][A-Z0-9-]{2,10}\Z").map(lambda s: s + "\n"),  # once passed `re.match`
).filter(lambda s: not __import__("shop.validation").validation.SKU.fullmatch(s))
good_sku = st.from_regex(r"\A[A-Z0-9][A-Z0-9-]{2,10}\Z")
good_quantity = st.integers(min_value=1, max_value=999)

bad_items = st.one_of(
    st.dictionaries(bad_sku, good_quantity, min_size=1, max_size=3),
    st.dictionaries(good_sku, bad_quantity, min_size=1, max_size=3),
    st.lists(good_sku, max_size=3),
    st.text(max_size=10),
)
bad_put_body = st.one_of(
    st.text(max_size=200).filter(_not_a_json_object),
    bad_items.map(lambda items: dumps({"items": items})),
    st.dictionaries(st.sampled_from(["item", "version", "extra"]), st.integers(), min_size=1).map(json.dumps),
    st.builds(
        lambda v: dumps({"items": {"SKU-1": 1}, "version": v}),
        st.one_of(st.integers(max_value=-1), st.text(max_size=4), st.floats(allow_nan=False), huge_integer),
    ),
)
bad_add_body = st.one_of(
    st.text(max_size=200).filter(_not_a_json_object),
    st.builds(lambda s, q: json.dumps({"sku": s, "quantity": q}), bad_sku, good_quantity),
    st.builds(lambda s, q: dumps({"sku": s, "quantity": q}), good_sku, bad_quantity),
    st.just(json.dumps({"sku": "SKU-1"})),
)
bad_cart_id = (
    st.text(alphabet=string.printable.replace("/", ""), min_size=65, max_size=80)
    | st.text(alphabet="!@$%^*()+=~ ,;:'", min_size=1, max_size=8)
    # API Gateway hands the path over percent-decoded: `/carts/c1%0A` arrives as "c1\n", and a route
    # rule ending in `$` once captured "c1" and wrote it (issue 20).
    | st.from_regex(r"\A[A-Za-z0-9_-]{1,20}\Z").map(lambda c: c + "\n")
)
# A JSON string holding a lone surrogate (json.dumps writes it as "\\ud800"): no UTF-8 encoder can
# write it, and DynamoDB's answered with a 500 (issue 20).
with_lone_surrogate = st.tuples(st.text(max_size=10), st.characters(categories=["Cs"])).map("".join)


def with_a_name_twice(document: dict[str, Any], name: str) -> str:
    """The document's JSON with one of its names given a second time, with the same value."""
    return json.dumps(document)[:-1] + f", {json.dumps(name)}: {json.dumps(document[name])}}}"


def request_event(method: str, cart_id: str, suffix: str, body: str | None, headers: dict[str, str]) -> dict:
    path = f"/carts/{cart_id}{suffix}"
    route = f"{method} /carts/{{cart_id}}{suffix}"
    return http_api_event(method, path, route, {"cart_id": cart_id}, body, headers)


not_json_media_type = st.one_of(
    st.sampled_from(
        ["text/plain", "multipart/form-data; boundary=x", "application/x-www-form-urlencoded", ""]
    ),
    st.text(max_size=30).filter(lambda t: t.split(";")[0].strip().lower() != "application/json"),
)


def without_content_type(event: dict) -> dict:
    event["headers"].pop("content-type", None)
    return event


malformed_events = st.one_of(
    st.builds(lambda b: request_event("PUT", "c1", "", b, {}), bad_put_body),
    st.builds(
        lambda k: request_event("PUT", "c1", "", json.dumps({"items": {k: 1}}), {}), with_lone_surrogate
    ),
    st.builds(
        lambda s: request_event("POST", "c1", "/items", json.dumps({"sku": s, "quantity": 1}), {}),
        with_lone_surrogate,
    ),
    st.builds(
        lambda n: request_event("PUT", "c1", "", with_a_name_twice({"items": {}, "version": 1}, n), {}),
        st.sampled_from(["items", "version"]),
    ),
    # A well-formed body not declared as JSON: 415, and nothing written.
    st.builds(
        lambda t: request_event("PUT", "c1", "", '{"items": {"SKU-1": 1}}', {"Content-Type": t}),
        not_json_media_type,
    ),
    st.builds(
        lambda t: request_event(
            "POST", "c1", "/items", '{"sku": "SKU-1", "quantity": 1}', {"Content-Type": t}
        ),
        not_json_media_type,
    ),
    st.just(without_content_type(request_event("PUT", "c1", "", '{"items": {"SKU-1": 1}}', {}))),
    st.builds(lambda b: request_event("POST", "c1", "/items", b, {}), bad_add_body),
    st.builds(lambda c: request_event("PUT", c, "", '{"items": {"SKU-1": 1}}', {}), bad_cart_id),
    st.builds(
        lambda h: request_event("PUT", "c1", "", '{"items": {"SKU-1": 1}}', {"If-Match": h}),
        st.text(max_size=10).filter(lambda h: not re.fullmatch(r'[ \t]*(?:W/)?"?[0-9]{1,12}"?[ \t]*', h)),
    ),
    st.builds(lambda m: request_event(m, "c1", "", None, {}), st.sampled_from(["PATCH", "HEAD", "OPTIONS"])),
    st.dictionaries(st.text(max_size=8), st.integers() | st.text(max_size=8), max_size=4),
    st.builds(
        lambda e, k: {key: value for key, value in e.items() if key != k},
        st.just(request_event("PUT", "c1", "", '{"items": {"SKU-1": 1}}', {})),
        st.sampled_from(["version", "rawPath", "requestContext", "headers", "routeKey"]),
    ),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(event=malformed_events)
def test_malformed_requests_get_4xx_and_write_nothing(cart_handler, event) -> None:
    handler, table = cart_handler
    response = handler(event, FakeContext())
    assert 400 <= response["statusCode"] < 500, response
    body = json.loads(response["body"])
    assert body["error"] and body["message"]
    assert table.scan(Select="COUNT")["Count"] == 0


@pytest.fixture(scope="module")
def catalog_handler() -> Iterator[tuple[Any, Any]]:
    os.environ["STATE_TABLE_NAME"] = "fuzz-catalog-state"
    os.environ["CACHE_ENDPOINT"] = "127.0.0.1:1"  # never reached: rejected requests touch no cache
    with mock_aws():
        table = create_state_table("fuzz-catalog-state")
        yield fresh_import("handlers.catalog").handler, table


good_product = {"name": "Mug", "price_cents": 100, "stock": 1, "version": 0}
bad_price = st.one_of(
    st.integers(max_value=0),  # a product at 0 could never be sold
    huge_integer,
    st.integers(min_value=10**9 + 1),
    st.floats(allow_nan=False),
    st.text(max_size=5),
    st.booleans(),
    st.none(),
)
bad_product_body = st.one_of(
    st.text(max_size=100).filter(_not_a_json_object),
    st.sampled_from(sorted(good_product)).map(
        lambda k: json.dumps({n: v for n, v in good_product.items() if n != k})
    ),
    st.builds(lambda v: dumps({**good_product, "price_cents": v}), bad_price),
    st.builds(
        lambda v: dumps({**good_product, "version": v}),
        st.one_of(st.integers(max_value=-1), st.text(max_size=3), st.floats(allow_nan=False), huge_integer),
    ),
    st.builds(
        lambda n: json.dumps({**good_product, "name": n}),
        st.text(max_size=20).map(lambda n: n + "\x1b[31m")
        | st.text(max_size=20).map(lambda n: "\u202e" + n)
        | st.text(alphabet=st.characters(categories=["Cc"]), min_size=1, max_size=5)
        | with_lone_surrogate,
    ),
    st.sampled_from(sorted(good_product)).map(lambda n: with_a_name_twice(good_product, n)),
    st.builds(
        lambda k: json.dumps({**good_product, k: 1}),
        st.text(min_size=1, max_size=8).filter(lambda k: k not in good_product),
    ),
)
malformed_catalog_events = st.one_of(
    st.builds(
        lambda b: http_api_event("PUT", "/products/SKU-1", "PUT /products/{sku}", {"sku": "SKU-1"}, b, {}),
        bad_product_body,
    ),
    st.builds(
        lambda s: http_api_event(
            "PUT", f"/products/{quote(s)}", "PUT /products/{sku}", {"sku": s}, json.dumps(good_product), {}
        ),
        bad_sku.filter(lambda s: "/" not in s and s),
    ),
    st.builds(
        lambda s: http_api_event("GET", f"/products/{quote(s)}", "GET /products/{sku}", {"sku": s}, None, {}),
        bad_sku.filter(lambda s: "/" not in s and s),
    ),
    # The path as API Gateway hands it over: percent-decoded, so a newline arrives as one.
    st.builds(
        lambda m, s: http_api_event(
            m, f"/products/{s}\n", f"{m} /products/{{sku}}", {"sku": f"{s}\n"}, json.dumps(good_product), {}
        ),
        st.sampled_from(["GET", "PUT"]),
        good_sku,
    ),
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(event=malformed_catalog_events)
def test_malformed_catalog_requests_get_4xx_and_write_nothing(catalog_handler, event) -> None:
    handler, table = catalog_handler
    response = handler(event, FakeContext())
    assert 400 <= response["statusCode"] < 500, response
    assert json.loads(response["body"])["error"]
    assert table.scan(Select="COUNT")["Count"] == 0
