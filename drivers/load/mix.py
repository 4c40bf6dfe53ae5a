"""The shop's traffic mix and the load shapes, as plain functions (the locustfile drives them).

Everything a worker needs to name the run's products and carts follows from the run id and the
counts, so a worker on another machine makes the same names as the driver that seeded them.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

# Strategies, as the README's table names them: each route is one strategy's.
CATALOG, CART, ORDERS = "cache-aside", "optimistic-locking", "saga+idempotency"
STRATEGIES = (CATALOG, CART, ORDERS)

PRICE_CENTS = 2_500
# Two of these exceed checkout's APPROVAL_THRESHOLD_CENTS (100,000), so the saga waits for a decision.
APPROVAL_PRICE_CENTS = 60_000
BIG_STOCK = 1_000_000  # catalog and approval products never run out during a run
CART_LINES = 40  # a cart holds at most 50 lines of at most 999 each; the writes spread over 40


@dataclass(frozen=True)
class OrderPath:
    """One way through the saga: what the client sends, and what the run decides after."""

    name: str
    payment_token: str = "tok_ok"
    product: str = "catalog"  # catalog (Zipf), approval (needs a decision), flash (the hot SKU)
    quantity: int = 1
    decision: str | None = None


# Every saga path the demo runs (drivers/demo/checkout.py), under load. The last-unit race is the
# flash sale: one SKU with little stock that every flash order decrements.
ORDER_PATHS = {
    path.name: path
    for path in (
        OrderPath("happy"),
        OrderPath("declined", "tok_decline"),
        OrderPath("transient-then-ok", "tok_transient_2"),
        OrderPath("retries-exhausted", "tok_transient_9"),
        OrderPath("approved", product="approval", quantity=2, decision="approve"),
        OrderPath("rejected", product="approval", quantity=2, decision="reject"),
        OrderPath("flash-sale", product="flash"),
    )
}
DEFAULT_PATH_WEIGHTS = {
    "happy": 10,
    "declined": 2,
    "transient-then-ok": 2,
    "retries-exhausted": 1,
    "approved": 1,
    "rejected": 1,
    "flash-sale": 3,
}


def parse_weights(text: str, known: Sequence[str]) -> dict[str, float]:
    """'happy=10,declined=2' -> {'happy': 10.0, 'declined': 2.0}; every name must be known."""
    weights: dict[str, float] = {}
    for part in filter(None, (piece.strip() for piece in text.split(","))):
        name, separator, value = part.partition("=")
        if not separator or name not in known:
            raise ValueError(f"weights are name=number pairs of {sorted(known)}, not {part!r}")
        weights[name] = float(value)
        if weights[name] < 0:
            raise ValueError(f"a weight cannot be negative: {part!r}")
    if not weights or sum(weights.values()) <= 0:
        raise ValueError("at least one weight must be positive")
    return weights


def format_weights(weights: dict[str, float]) -> str:
    return ",".join(f"{name}={value:g}" for name, value in weights.items())


def product_sku(run_id: str, index: int) -> str:
    return f"LD{run_id}-{index:05d}"


def approval_sku(run_id: str) -> str:
    return f"LD{run_id}-APPROVAL"


def flash_sku(run_id: str) -> str:
    return f"LD{run_id}-FLASH"


def hot_cart_id(run_id: str, index: int) -> str:
    return f"ld{run_id.lower()}-hot-{index:03d}"


def cart_line_sku(index: int) -> str:
    return f"LINE-{index:02d}"


def zipf_sampler(count: int, exponent: float, rng: random.Random) -> Callable[[], int]:
    """Ranks 0..count-1 with P(rank k) proportional to 1/(k+1)^exponent, as the demo's catalog."""
    cumulative = list(itertools.accumulate(1 / (rank**exponent) for rank in range(1, count + 1)))
    population = list(range(count))
    return lambda: rng.choices(population, cum_weights=cumulative)[0]


def weighted_choice(weights: dict[str, float], rng: random.Random) -> str:
    names = list(weights)
    return rng.choices(names, weights=[weights[name] for name in names])[0]


@dataclass(frozen=True)
class Shape:
    """How many users run at each second of the test; users x per-user rate is the offered rate.

    step:  `steps` equal steps up to `users`, each held `step_seconds`, then the top held `hold_seconds`.
    spike: `base_users` for the whole run, `users` from `spike_at` for `spike_seconds`.
    """

    profile: str = "step"
    users: int = 8
    steps: int = 4
    step_seconds: float = 15.0
    hold_seconds: float = 15.0
    base_users: int = 2
    spike_at: float = 20.0
    spike_seconds: float = 15.0
    duration: float = 60.0  # spike: the whole run

    def __post_init__(self) -> None:
        if self.profile not in ("step", "spike"):
            raise ValueError(f"the load profile is step or spike, not {self.profile!r}")
        if self.users < 1 or self.steps < 1 or self.base_users < 1:
            raise ValueError("users, steps and base users must be at least 1")

    @property
    def total_seconds(self) -> float:
        if self.profile == "step":
            return self.steps * self.step_seconds + self.hold_seconds
        return self.duration

    def users_at(self, elapsed: float) -> int | None:
        """Users wanted `elapsed` seconds into the run; None once the run is over."""
        if elapsed >= self.total_seconds:
            return None
        if self.profile == "step":
            step = min(self.steps, int(elapsed // self.step_seconds) + 1)
            return max(1, round(self.users * step / self.steps))
        in_spike = self.spike_at <= elapsed < self.spike_at + self.spike_seconds
        return self.users if in_spike else self.base_users
