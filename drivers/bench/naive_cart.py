"""The cart's GET as it is often first written: the baseline of `speedup.reference_vs_naive_invocation`.

Never deployed, and kept out of lambda_src/ so nobody copies it. It answers what the reference
`handlers.cart` answers for GET /carts/{cart_id} (the bench checks that), but it builds its
DynamoDB resource on every invocation, as a handler that creates clients inside the function
body does, and it parses and validates the event by hand, without Powertools.
"""

from __future__ import annotations

import json
import os
import re
import time
from decimal import Decimal
from typing import Any

import boto3

CART_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


def _answer(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json", **(headers or {})},
        "body": json.dumps(body),
    }


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    table = boto3.resource("dynamodb").Table(os.environ["STATE_TABLE_NAME"])
    cart_id = (event.get("pathParameters") or {}).get("cart_id", "")
    if not CART_ID.fullmatch(cart_id):
        return _answer(400, {"error": "validation_error", "message": "invalid cart id"})
    item = table.get_item(Key={"pk": f"CART#{cart_id}", "sk": "CART"}, ConsistentRead=True).get("Item")
    if not item or int(item.get("expires_at", 0)) <= time.time():
        return _answer(
            404, {"error": "not_found", "message": f"cart {cart_id} does not exist or has expired"}
        )
    items = {sku: int(quantity) for sku, quantity in item.get("items", {}).items()}
    document = {
        "cart_id": cart_id,
        "items": dict(sorted(items.items())),
        "version": int(item["version"]),
        "updated_at": int(item.get("updated_at", 0)),
        "expires_at": int(item.get("expires_at", 0)),
    }
    return _answer(200, document, {"ETag": f'"{int(Decimal(item["version"]))}"'})
