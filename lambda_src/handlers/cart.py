"""`cart`: carts in DynamoDB with optimistic locking and TTL (the external-database strategy)."""

# No `from __future__ import annotations`: Powertools reads the routes' signatures for the OpenAPI
# document through Tracer's wrappers, whose module cannot resolve annotations left as strings.

import os
from typing import Annotated, Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.depends import Depends
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from aws_lambda_powertools.logging import correlation_paths
from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema
from shop import clients, http, observability, validation
from shop.carts import MAX_QUANTITY_PER_LINE, CartStore

logger = Logger()
tracer = Tracer(patch_modules=observability.TRACED_MODULES)
metrics = Metrics()
app = http.new_resolver()

Quantity = Annotated[int, Field(ge=1, le=MAX_QUANTITY_PER_LINE, strict=True)]
# validation.Sku checks in Python, which leaves no rule in the JSON schema; this states the same
# rule in the OpenAPI document, so clients (and schemathesis) see which SKUs are accepted.
Sku = Annotated[validation.Sku, WithJsonSchema({"type": "string", "pattern": validation.SKU.pattern})]
CartId = Annotated[
    str, Path(pattern=validation.CART_ID.pattern, description="1-64 of A-Z, a-z, 0-9, _ and -")
]


class PutCart(BaseModel):
    model_config = ConfigDict(extra="forbid")
    items: Annotated[dict[Sku, Quantity], Field(max_length=200)]
    version: Annotated[validation.Version, Field(strict=True)] | None = None


class AddItem(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sku: Sku
    quantity: Quantity
    version: Annotated[validation.Version, Field(strict=True)] | None = None


class CartBody(BaseModel):
    """A cart as every cart route answers it; its version is also the ETag."""

    cart_id: str
    items: dict[str, int]
    version: int
    updated_at: int
    expires_at: int


# Module scope: made once per execution environment and reused while it is warm.
store = CartStore(
    clients.resource("dynamodb").Table(os.environ["STATE_TABLE_NAME"]),
    ttl_seconds=int(os.environ.get("CART_TTL_SECONDS", "604800")),
)


def _cart_response(cart: Any, status: int = 200) -> Response[CartBody]:
    return http.versioned_response(status, cart.to_json(), cart.version)


# The bodies and headers the routes read, declared for the OpenAPI document; the values come from
# http.request_body and http.expected_version, which apply the shop's checks (415, 413, 400).
def put_cart_request(body: PutCart = Body(), if_match: str | None = http.if_match_header()) -> PutCart:
    return http.request_body(app, PutCart)


def add_item_request(body: AddItem = Body(), if_match: str | None = http.if_match_header()) -> AddItem:
    return http.request_body(app, AddItem)


def delete_cart_request(if_match: str | None = http.if_match_header()) -> None:
    return None


@app.get("/carts/<cart_id>", responses=http.documented({200: ("The cart", CartBody)}))
@tracer.capture_method
def get_cart(cart_id: CartId) -> Response[CartBody]:
    return _cart_response(store.get(validation.cart_id(cart_id)))


@app.put(
    "/carts/<cart_id>",
    responses=http.documented(
        {200: ("The cart, replaced", CartBody), 201: ("The cart, created", CartBody)}, http.BODY_ERRORS
    ),
)
@tracer.capture_method
def put_cart(cart_id: CartId, request: Annotated[PutCart, Depends(put_cart_request)]) -> Response[CartBody]:
    validation.cart_id(cart_id)
    version = http.expected_version(app, request.version)
    cart = store.put(cart_id, request.items, version)
    return _cart_response(cart, 201 if cart.version == 1 else 200)


@app.post(
    "/carts/<cart_id>/items",
    responses=http.documented({200: ("The cart with the item added", CartBody)}, http.BODY_ERRORS),
)
@tracer.capture_method
def add_item(cart_id: CartId, request: Annotated[AddItem, Depends(add_item_request)]) -> Response[CartBody]:
    validation.cart_id(cart_id)
    version = http.expected_version(app, request.version)
    return _cart_response(store.add_item(cart_id, request.sku, request.quantity, version))


@app.delete("/carts/<cart_id>", responses=http.documented({204: ("The cart is gone", None)}, (400, 404, 409)))
@tracer.capture_method
def delete_cart(cart_id: CartId, _: Annotated[None, Depends(delete_cart_request)]) -> Response[None]:
    validation.cart_id(cart_id)
    store.delete(cart_id, http.expected_version(app, None))
    return Response(status_code=204)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
@observability.flush_after_invocation
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return http.resolve(app, event, context)
