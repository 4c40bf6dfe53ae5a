"""`cart`: carts in DynamoDB with optimistic locking and TTL (the external-database strategy)."""

from __future__ import annotations

import os
from typing import Annotated, Any

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from pydantic import BaseModel, ConfigDict, Field
from shop import http, validation
from shop.carts import MAX_QUANTITY_PER_LINE, CartStore

logger = Logger()
tracer = Tracer()
metrics = Metrics()
app = http.new_resolver()

Quantity = Annotated[int, Field(ge=1, le=MAX_QUANTITY_PER_LINE, strict=True)]


class PutCart(BaseModel):
    model_config = ConfigDict(extra="forbid")
    items: Annotated[dict[validation.Sku, Quantity], Field(max_length=200)]
    version: Annotated[validation.Version, Field(strict=True)] | None = None


class AddItem(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sku: validation.Sku
    quantity: Quantity
    version: Annotated[validation.Version, Field(strict=True)] | None = None


# Module scope: made once per execution environment and reused while it is warm.
store = CartStore(
    boto3.resource("dynamodb").Table(os.environ["STATE_TABLE_NAME"]),
    ttl_seconds=int(os.environ.get("CART_TTL_SECONDS", "604800")),
)


def _cart_response(cart: Any, status: int = 200) -> Response:
    return http.versioned_response(status, cart.to_json(), cart.version)


@app.get("/carts/<cart_id>")
@tracer.capture_method
def get_cart(cart_id: str) -> Response:
    return _cart_response(store.get(validation.cart_id(cart_id)))


@app.put("/carts/<cart_id>")
@tracer.capture_method
def put_cart(cart_id: str) -> Response:
    validation.cart_id(cart_id)
    request = http.request_body(app, PutCart)
    version = http.expected_version(app, request.version)
    cart = store.put(cart_id, request.items, version)
    return _cart_response(cart, 201 if cart.version == 1 else 200)


@app.post("/carts/<cart_id>/items")
@tracer.capture_method
def add_item(cart_id: str) -> Response:
    validation.cart_id(cart_id)
    request = http.request_body(app, AddItem)
    version = http.expected_version(app, request.version)
    return _cart_response(store.add_item(cart_id, request.sku, request.quantity, version))


@app.delete("/carts/<cart_id>")
@tracer.capture_method
def delete_cart(cart_id: str) -> Response:
    validation.cart_id(cart_id)
    store.delete(cart_id, http.expected_version(app, None))
    return Response(status_code=204)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return http.resolve(app, event, context)
