"""The twin's Lambda event filtering (FilterCriteria) for DynamoDB stream records."""

from __future__ import annotations

import json
from typing import Any

import pytest

from local_twin.streams import FilterError, compile_filters, matches, retry_delay


def record(pk: str = "PRODUCT#sku-1", event_name: str = "MODIFY", **new_image: Any) -> dict[str, Any]:
    image = {"pk": {"S": pk}, "sk": {"S": "PRODUCT"}, **new_image}
    return {
        "eventID": "e1",
        "eventName": event_name,
        "eventVersion": "1.0",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": {
            "ApproximateCreationDateTime": 1700000000.0,
            "Keys": {"pk": {"S": pk}, "sk": {"S": "PRODUCT"}},
            "NewImage": image,
            "SequenceNumber": "111",
            "SizeBytes": 26,
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        },
        "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/2026-01-01T00:00:00",
    }


def criteria(*patterns: dict[str, Any]) -> dict[str, Any]:
    return {"Filters": [{"Pattern": json.dumps(pattern)} for pattern in patterns]}


def passes(pattern: dict[str, Any], event: dict[str, Any]) -> bool:
    return matches(compile_filters(criteria(pattern)), event)


PRODUCT_KEYS = {"dynamodb": {"Keys": {"pk": {"S": [{"prefix": "PRODUCT#"}]}}}}


def test_the_invalidators_filter_keeps_product_items_only() -> None:
    assert passes(PRODUCT_KEYS, record("PRODUCT#sku-1"))
    assert not passes(PRODUCT_KEYS, record("CART#c1"))
    assert not passes(PRODUCT_KEYS, record("product#sku-1")), "prefix is case-sensitive"


def test_no_criteria_lets_everything_through() -> None:
    for empty in (None, {}, {"Filters": []}):
        assert matches(compile_filters(empty), record("CART#c1"))


def test_filters_are_ored_and_fields_are_anded() -> None:
    either = compile_filters(criteria(PRODUCT_KEYS, {"eventName": ["REMOVE"]}))
    assert matches(either, record("CART#c1", "REMOVE"))
    assert matches(either, record("PRODUCT#a", "INSERT"))
    assert not matches(either, record("CART#c1", "INSERT"))
    both = {"eventName": ["INSERT", "MODIFY"], **PRODUCT_KEYS}
    assert passes(both, record("PRODUCT#a", "MODIFY"))
    assert not passes(both, record("PRODUCT#a", "REMOVE"))
    assert not passes(both, record("CART#c1", "INSERT"))


@pytest.mark.parametrize(
    ("rule", "value", "expected"),
    [
        (["Alice"], "Alice", True),
        (["Alice"], "alice", False),
        (["Alice", "Bob"], "Bob", True),
        ([""], "", True),
        ([""], "x", False),
        ([None], None, True),
        ([None], "null", False),
        ([True], True, True),
        ([True], 1, False),
        ([1], True, False),
        ([300], 300, True),
        ([300], 300.0, False),  # numbers compare by their JSON text, as Lambda does
        (["300"], 300, False),
        ([{"prefix": "us-"}], "us-east-1", True),
        ([{"prefix": "us-"}], "eu-west-1", False),
        ([{"prefix": "us-"}], 7, False),
        ([{"prefix": {"equals-ignore-case": "US-"}}], "us-east-1", True),
        ([{"suffix": ".png"}], "a.png", True),
        ([{"suffix": ".png"}], "a.jpg", False),
        ([{"equals-ignore-case": "ALICE"}], "alice", True),
        ([{"anything-but": "Raining"}], "Sunny", True),
        ([{"anything-but": "Raining"}], "Raining", False),
        ([{"anything-but": ["Raining", "Snowing"]}], "Snowing", False),
        ([{"anything-but": [100]}], 100, False),
        ([{"anything-but": [100]}], 101, True),
        ([{"anything-but": {"prefix": "PRODUCT#"}}], "CART#1", True),
        ([{"anything-but": {"prefix": "PRODUCT#"}}], "PRODUCT#1", False),
        ([{"anything-but": {"suffix": ".tmp"}}], "a.tmp", False),
        ([{"anything-but": {"equals-ignore-case": ["x", "y"]}}], "Y", False),
        ([{"numeric": ["=", 100]}], 100, True),
        ([{"numeric": [">", 10, "<=", 20]}], 20, True),
        ([{"numeric": [">", 10, "<=", 20]}], 10, False),
        ([{"numeric": [">", 10, "<=", 20]}], 20.5, False),
        ([{"numeric": [">=", 0]}], "5", False),  # numeric matches JSON numbers only
        ([{"numeric": [">=", 0]}], True, False),
        ([{"exists": True}], "anything", True),
        ([{"exists": True}], None, True),
        (["a", {"prefix": "b"}], "bee", True),
        (["a", {"prefix": "b"}], "sea", False),
    ],
)
def test_leaf_rules(rule: list[Any], value: Any, expected: bool) -> None:
    assert passes({"field": rule}, {"field": value}) is expected


def test_missing_fields_match_only_exists_false() -> None:
    for rule in (
        ["x"],
        [None],
        [""],
        [{"prefix": ""}],
        [{"anything-but": "x"}],
        [{"exists": True}],
        [{"numeric": [">", 0]}],
    ):
        assert not passes({"field": rule}, {"other": "x"}), rule
    assert passes({"field": [{"exists": False}]}, {"other": "x"})
    assert not passes({"field": [{"exists": False}]}, {"field": "x"})
    # a missing parent is a missing field too
    assert passes({"dynamodb": {"OldImage": {"pk": [{"exists": False}]}}}, record())
    assert not passes({"dynamodb": {"OldImage": {"pk": {"S": ["x"]}}}}, record())


def test_nested_attributes_of_a_new_image() -> None:
    on_sale = {"dynamodb": {"NewImage": {"on_sale": {"BOOL": [True]}, "price": {"N": [{"prefix": "1"}]}}}}
    assert passes(on_sale, record(on_sale={"BOOL": True}, price={"N": "199"}))
    assert not passes(on_sale, record(on_sale={"BOOL": False}, price={"N": "199"}))
    assert not passes(on_sale, record(price={"N": "199"}))


def test_list_values_match_if_any_element_does() -> None:
    assert passes({"tags": ["red"]}, {"tags": ["blue", "red"]})
    assert not passes({"tags": ["red"]}, {"tags": ["blue"]})
    assert passes({"items": {"sku": ["a"]}}, {"items": [{"sku": "b"}, {"sku": "a"}]})
    assert not passes({"items": {"sku": ["c"]}}, {"items": [{"sku": "b"}, {"sku": "a"}]})


def test_a_rule_for_an_object_does_not_match_a_scalar() -> None:
    assert not passes({"dynamodb": {"Keys": ["x"]}}, record())
    assert not passes({"eventName": {"S": ["MODIFY"]}}, record())


@pytest.mark.parametrize(
    "pattern",
    [
        "not json",
        "[]",
        "{}",
        '"PRODUCT#"',
        '{"pk": "PRODUCT#"}',
        '{"pk": []}',
        '{"pk": [["a"]]}',
        '{"pk": {}}',
        '{"pk": [{"wildcard": "P*"}]}',
        '{"pk": [{"prefix": 1}]}',
        '{"pk": [{"prefix": "a", "suffix": "b"}]}',
        '{"pk": [{"exists": "yes"}]}',
        '{"pk": [{"numeric": [">", "1"]}]}',
        '{"pk": [{"numeric": ["!=", 1]}]}',
        '{"pk": [{"numeric": [">", 1, "<"]}]}',
        '{"pk": [{"anything-but": []}]}',
        '{"pk": [{"anything-but": {"wildcard": "x"}}]}',
        '{"pk": [{"equals-ignore-case": ["a"]}]}',
    ],
)
def test_invalid_patterns_are_rejected(pattern: str) -> None:
    with pytest.raises(FilterError):
        compile_filters({"Filters": [{"Pattern": pattern}]})


def test_retry_backoff_is_short_but_not_zero() -> None:
    delays = [retry_delay(attempt) for attempt in range(1, 8)]
    assert delays[:4] == [0.1, 0.2, 0.4, 0.8]
    assert all(0 < delay <= 1.0 for delay in delays)
    assert delays == sorted(delays)
