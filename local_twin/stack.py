"""What the twin deploys: the shop, described once, mirroring terraform/.

tests/terraform/test_twin_contract.py parses the HCL and fails when this file and
the Terraform disagree on table keys, the TTL attribute, handlers, routes or the
names of function environment variables.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TableSpec:
    suffix: str
    hash_key: str
    range_key: str
    ttl_attribute: str


@dataclass(frozen=True)
class FunctionDef:
    key: str
    handler: str
    environment: tuple[str, ...]
    timeout_seconds: int = 10
    memory_mb: int = 512
    in_vpc: bool = False


@dataclass(frozen=True)
class Route:
    route_key: str
    function: str


STATE_TABLE = TableSpec(suffix="-state", hash_key="pk", range_key="sk", ttl_attribute="expires_at")

COMMON_ENVIRONMENT = (
    "POWERTOOLS_SERVICE_NAME",
    "POWERTOOLS_METRICS_NAMESPACE",
    "POWERTOOLS_LOG_LEVEL",
    "STATE_TABLE_NAME",
)

FUNCTIONS: dict[str, FunctionDef] = {
    "cart": FunctionDef(
        key="cart",
        handler="handlers.cart.handler",
        environment=(*COMMON_ENVIRONMENT, "CART_TTL_SECONDS"),
        in_vpc=True,
    ),
    "catalog": FunctionDef(
        key="catalog",
        handler="handlers.catalog.handler",
        environment=(
            *COMMON_ENVIRONMENT,
            "CACHE_ENDPOINT",
            "CACHE_TLS",
            "CACHE_CLUSTER_MODE",
            "CACHE_SECRET_ARN",
            "CACHE_TTL_SECONDS",
            "CACHE_TIMEOUT_MS",
            "CACHE_BREAKER_COOLDOWN_MS",
        ),
        in_vpc=True,
    ),
    "checkout": FunctionDef(
        key="checkout",
        handler="handlers.checkout.handler",
        environment=(*COMMON_ENVIRONMENT, "ORDERS_STATE_MACHINE_ARN", "APPROVAL_THRESHOLD_CENTS"),
        in_vpc=True,
    ),
    "order_steps": FunctionDef(
        key="order_steps",
        handler="handlers.order_steps.handler",
        environment=COMMON_ENVIRONMENT,
        timeout_seconds=20,
        in_vpc=True,
    ),
}


@dataclass(frozen=True)
class StateMachineDef:
    key: str
    template: str  # relative to the repository root; terraform/ renders the same file
    type: str
    # template variable -> function key whose ARN fills it
    function_arns: tuple[tuple[str, str], ...]


STATE_MACHINES: dict[str, StateMachineDef] = {
    "checkout": StateMachineDef(
        key="checkout",
        template="terraform/workflows/checkout.asl.json",
        type="STANDARD",
        function_arns=(("order_steps_arn", "order_steps"),),
    ),
}

ROUTES: tuple[Route, ...] = (
    Route("GET /carts/{cart_id}", "cart"),
    Route("PUT /carts/{cart_id}", "cart"),
    Route("DELETE /carts/{cart_id}", "cart"),
    Route("POST /carts/{cart_id}/items", "cart"),
    Route("GET /products/{sku}", "catalog"),
    Route("PUT /products/{sku}", "catalog"),
    Route("POST /orders", "checkout"),
    Route("GET /orders/{order_id}", "checkout"),
    Route("POST /orders/{order_id}/approval", "checkout"),
)

METRICS_NAMESPACE = "ServerlessState"
CART_TTL_SECONDS = 7 * 24 * 3600
CACHE_TTL_SECONDS = 300
CACHE_TIMEOUT_MS = 50
# Short on the twin so that the outage drill sees the breaker close again within seconds.
TWIN_BREAKER_COOLDOWN_MS = 1000
APPROVAL_THRESHOLD_CENTS = 100_000


def table_name(name_prefix: str) -> str:
    return f"{name_prefix}{STATE_TABLE.suffix}"


def function_name(name_prefix: str, key: str) -> str:
    return f"{name_prefix}-{key.replace('_', '-')}"


def state_machine_name(name_prefix: str, key: str) -> str:
    return f"{name_prefix}-{key}"
