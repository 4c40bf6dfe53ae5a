"""Identifier formats shared by the handlers' request models.

Each pattern is matched whole (`re.fullmatch`; with `re.match`, `$` lets a trailing newline
through) and uses explicit ASCII classes (`[0-9]`, never `\\d`, which accepts "٣"). The `^`/`$`
anchors stay so that pydantic `pattern` fields, which search, also match whole.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated

from pydantic import AfterValidator, Field

from shop.errors import InvalidInput

CART_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
SKU = re.compile(r"^[A-Z0-9][A-Z0-9-]{2,31}$")
ORDER_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9_-]{8,128}$")


def _sku(value: str) -> str:
    if not SKU.fullmatch(value):
        raise ValueError("a SKU is 3-32 characters of A-Z, 0-9 and '-', starting with a letter or digit")
    return value


Sku = Annotated[str, AfterValidator(_sku)]

# Explicit embeddings and overrides (LRE, RLE, PDF, LRO, RLO) and isolates (LRI, RLI, FSI, PDI):
# they make text display in another order than it is stored ("\u202egum" shows as "mug").
BIDI_CONTROLS = frozenset(map(chr, [*range(0x202A, 0x202F), *range(0x2066, 0x206A)]))


def _display_text(value: str) -> str:
    for position, character in enumerate(value):
        if unicodedata.category(character) == "Cc":
            kind = "a control character"
        elif character in BIDI_CONTROLS:
            kind = "a bidirectional override character"
        else:
            continue
        raise ValueError(
            f"must not contain {kind} (U+{ord(character):04X} at position {position}); "
            "control characters (tab, newline, NUL, ESC, ...) and U+202A-U+202E, U+2066-U+2069 are refused"
        )
    return value


DisplayText = Annotated[str, AfterValidator(_display_text)]
Version = Annotated[int, Field(ge=0, le=10**12)]


def require(pattern: re.Pattern[str], value: str, what: str, rule: str) -> str:
    if not pattern.fullmatch(value):
        raise InvalidInput(f"{what} {value[:80]!r} is invalid: {rule}")
    return value


def cart_id(value: str) -> str:
    return require(CART_ID, value, "cart id", "1-64 characters of A-Z, a-z, 0-9, '_' and '-'")


def sku(value: str) -> str:
    return require(SKU, value, "SKU", "3-32 characters of A-Z, 0-9 and '-', starting with a letter or digit")


def order_id(value: str) -> str:
    return require(ORDER_ID, value, "order id", "a lowercase UUID")


IDEMPOTENCY_KEY_RULE = "8-128 characters of A-Z, a-z, 0-9, '_' and '-'"


def idempotency_key(value: str | None) -> str:
    if value is None:
        raise InvalidInput(f"the Idempotency-Key header is required: {IDEMPOTENCY_KEY_RULE}")
    return require(IDEMPOTENCY_KEY, value, "Idempotency-Key", IDEMPOTENCY_KEY_RULE)
