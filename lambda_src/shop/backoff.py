"""Capped exponential backoff with jitter, shared by every retry loop in the shop."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Backoff:
    """Capped exponential backoff with equal jitter: attempt n waits in [d/2, d], d = min(cap, base * 2^(n-1))."""

    base_ms: float = 20
    cap_ms: float = 200

    def delay_seconds(self, attempt: int, rng: random.Random) -> float:
        ceiling = min(self.cap_ms, self.base_ms * 2 ** min(attempt - 1, 32))
        return ceiling * (0.5 + 0.5 * rng.random()) / 1000
