"""`catalog`: product reads cache-aside over Valkey/Redis, writes to DynamoDB (the cache strategy)."""

# No `from __future__ import annotations`: Powertools reads the routes' signatures for the OpenAPI
# document through Tracer's wrappers, whose module cannot resolve annotations left as strings.

import functools
import os
from typing import Annotated, Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.depends import Depends
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from aws_lambda_powertools.logging import correlation_paths
from pydantic import BaseModel, ConfigDict, Field
from shop import clients, http, invalidation, observability, validation
from shop.cache import CachedCatalog, CacheSettings, CircuitBreaker
from shop.cache_connection import CACHE_ERRORS, connect_from_environment
from shop.errors import NotFound
from shop.products import ProductStore

logger = Logger()
tracer = Tracer(patch_modules=observability.TRACED_MODULES)
metrics = Metrics()
app = http.new_resolver()


class PutProduct(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[validation.DisplayText, Field(min_length=1, max_length=200)]
    # A product at 0 could never be sold: checkout refuses orders with nothing to pay.
    price_cents: Annotated[int, Field(ge=1, le=10**9, strict=True)]
    stock: Annotated[int, Field(ge=0, le=10**9, strict=True)]
    version: Annotated[validation.Version, Field(strict=True)]


class ProductBody(BaseModel):
    """A product as the catalog answers it; its version is also the ETag."""

    sku: str
    name: str
    price_cents: int
    stock: int
    version: int


SkuPath = Annotated[str, Path(pattern=validation.SKU.pattern, description="3-32 of A-Z, 0-9 and -")]


# Module scope: one store, breaker and (lazily) two cache connections per execution environment:
# reads' (short timeout, behind the breaker) and invalidation's (longer timeout, no breaker).
products = ProductStore(clients.resource("dynamodb").Table(os.environ["STATE_TABLE_NAME"]))
settings = CacheSettings.from_environment()
catalog = CachedCatalog(
    products,
    connect=connect_from_environment,
    breaker=CircuitBreaker(
        threshold=int(os.environ.get("CACHE_BREAKER_THRESHOLD", "3")),
        cooldown_seconds=int(os.environ.get("CACHE_BREAKER_COOLDOWN_MS", "5000")) / 1000,
    ),
    settings=settings,
    cache_errors=CACHE_ERRORS,
)
invalidator = invalidation.Invalidator(
    connect=functools.partial(
        connect_from_environment, timeout_ms=invalidation.timeout_ms_from_environment()
    ),
    cache_errors=CACHE_ERRORS,
    generation_ttl_seconds=settings.generation_ttl_seconds,
)
sync_attempts = invalidation.sync_attempts_from_environment()

try:  # present only in Lambda's SnapStart-capable Python runtimes
    from snapshot_restore_py import register_after_restore
except ImportError:
    register_after_restore = None
if register_after_restore is not None:
    register_after_restore(catalog.reset_connection)
    register_after_restore(invalidator.reset_connection)


def put_product_request(
    body: PutProduct = Body(), if_match: str | None = http.if_match_header()
) -> PutProduct:
    """The body and header PUT reads, declared for the OpenAPI document; read with the shop's checks."""
    return http.request_body(app, PutProduct)


@app.get("/products/<sku>", responses=http.documented({200: ("The product", ProductBody)}))
@tracer.capture_method
def get_product(sku: SkuPath) -> Response[ProductBody]:
    product = catalog.get(validation.sku(sku))
    if product is None:
        raise NotFound(f"product {sku} does not exist")
    return http.versioned_response(200, product.to_json(), product.version)


@app.put(
    "/products/<sku>",
    responses=http.documented(
        {200: ("The product, updated", ProductBody), 201: ("The product, created", ProductBody)},
        http.BODY_ERRORS,
    ),
)
@tracer.capture_method
def put_product(
    sku: SkuPath, request: Annotated[PutProduct, Depends(put_product_request)]
) -> Response[ProductBody]:
    validation.sku(sku)
    version = http.expected_version(app, request.version)
    product = products.put(sku, request.name, request.price_cents, request.stock, version or 0)
    # The fast path: a read that starts after this response sees the write. If the cache cannot
    # be reached, the PUT still succeeds and the table's stream record invalidates once it can.
    if not invalidator.after_write(sku, sync_attempts):
        logger.warning(
            "cache invalidation failed; the stream invalidator deletes the entry once the cache answers",
            extra={"sku": sku},
        )
    return http.versioned_response(201 if product.version == 1 else 200, product.to_json(), product.version)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
@observability.flush_after_invocation
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return http.resolve(app, event, context)
