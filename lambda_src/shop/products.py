"""Products in the state table, the catalog's source of truth (optimistic locking)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from botocore.exceptions import ClientError

from shop import observability
from shop.errors import NotFound, VersionConflict


@dataclass(frozen=True)
class Product:
    sku: str
    name: str
    price_cents: int
    stock: int
    version: int

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> Product:
        return cls(**document)


def product_key(sku: str) -> dict[str, str]:
    return {"pk": f"PRODUCT#{sku}", "sk": "PRODUCT"}


def product_from_item(item: dict[str, Any]) -> Product:
    return Product(
        sku=str(item["pk"]).removeprefix("PRODUCT#"),
        name=str(item["name"]),
        price_cents=int(item["price_cents"]),
        stock=int(item["stock"]),
        version=int(item["version"]),
    )


class ProductStore:
    def __init__(self, table: Any, clock: Callable[[], float] = time.time) -> None:
        self._table = table
        self._clock = clock

    def find(self, sku: str, strategy: str = "dynamodb") -> Product | None:
        with observability.timed(observability.READ, strategy, "GetProduct"):
            item = self._table.get_item(Key=product_key(sku), ConsistentRead=True).get("Item")
        return product_from_item(item) if item else None

    def put(self, sku: str, name: str, price_cents: int, stock: int, expected_version: int) -> Product:
        """Creates with expected_version 0; otherwise replaces only the version read."""
        product = Product(sku, name, price_cents, stock, expected_version + 1)
        item = {**product_key(sku), **product.to_json(), "updated_at": int(self._clock())}
        item.pop("sku")
        if expected_version == 0:
            condition, values = "attribute_not_exists(pk)", None
        else:
            condition, values = "version = :expected", {":expected": expected_version}
        arguments: dict[str, Any] = {"Item": item, "ConditionExpression": condition}
        if values:
            arguments["ExpressionAttributeValues"] = values
        try:
            with observability.timed(observability.WRITE, "dynamodb", "PutProduct"):
                self._table.put_item(**arguments)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
            current = self.find(sku)
            if current is None:
                raise NotFound(f"product {sku} does not exist; create it with version 0") from None
            observability.count("VersionConflict", "dynamodb")
            raise VersionConflict(f"product {sku} is at version {current.version}", current.version) from None
        return product
