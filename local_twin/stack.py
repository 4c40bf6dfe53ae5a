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
}

ROUTES: tuple[Route, ...] = (
    Route("GET /carts/{cart_id}", "cart"),
    Route("PUT /carts/{cart_id}", "cart"),
    Route("DELETE /carts/{cart_id}", "cart"),
    Route("POST /carts/{cart_id}/items", "cart"),
)

METRICS_NAMESPACE = "ServerlessState"
CART_TTL_SECONDS = 7 * 24 * 3600


def table_name(name_prefix: str) -> str:
    return f"{name_prefix}{STATE_TABLE.suffix}"


def function_name(name_prefix: str, key: str) -> str:
    return f"{name_prefix}-{key}"
