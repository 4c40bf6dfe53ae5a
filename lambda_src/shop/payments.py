"""A simulated payment gateway whose behaviour the order chooses, like a card network's
test tokens, so that the demo and the tests reach every saga path on purpose.

    tok_ok             charge succeeds
    tok_decline        the card is declined (a business failure: compensate, no retry)
    tok_transient_<k>  the gateway fails transiently k times, then charges (k = 1..9)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_TRANSIENT = re.compile(r"^tok_transient_([1-9])$")
TOKEN_PATTERN = r"^(tok_ok|tok_decline|tok_transient_[1-9])$"


class TransientError(Exception):
    """Worth retrying: the saga's Retry matches this errorType by name."""


class BusinessError(Exception):
    """Not worth retrying: the saga catches these and compensates."""


class PaymentDeclined(BusinessError):
    pass


@dataclass(frozen=True)
class Charge:
    charge_id: str
    amount_cents: int


def charge(payment_token: str, order_id: str, amount_cents: int, attempt: int) -> Charge:
    """Decides the outcome of attempt number `attempt` (1-based) for this order."""
    if payment_token == "tok_decline":
        raise PaymentDeclined(f"card declined for order {order_id}")
    transient = _TRANSIENT.fullmatch(payment_token)
    if transient and attempt <= int(transient.group(1)):
        raise TransientError(f"payment gateway unavailable (attempt {attempt} for order {order_id})")
    if payment_token != "tok_ok" and not transient:
        raise PaymentDeclined(f"unknown payment token for order {order_id}")
    # Deterministic per order: a retried charge is recognisably the same charge.
    return Charge(charge_id=f"ch_{order_id}", amount_cents=amount_cents)
