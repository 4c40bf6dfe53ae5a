"""API Gateway's request throttling for the twin's HTTP API, with the limits `terraform apply` set.

"API Gateway throttles requests to your API using the token bucket algorithm, where a token counts
for a request": the burst limit is the bucket's size and the rate limit refills it, per second. A
request past the limits gets 429 Too Many Requests. Limits apply at two levels, and a request must
pass both: the account's, per Region, across all its APIs; and each route's, which is the stage's
`RouteSettings` for that route where it has them, else the stage's `DefaultRouteSettings`.
https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-throttling.html

The stage is read from moto (`GetStage`), as terraform created it, and read again at most once a
second, so a changed stage is followed as AWS follows a redeployed one. There is no second list of
limits here. The account's limits are AWS's defaults for a new account, from the quotas page.

A token bucket is a few lines; the rate-limiting libraries on PyPI (`limits`, `pyrate-limiter`)
count requests in windows instead, which is not what API Gateway documents.
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger(__name__)

# "Throttle quota per account, per Region across HTTP APIs, REST APIs, WebSocket APIs, and
# WebSocket callback APIs: 10,000 requests per second (RPS) with an additional burst capacity
# provided by the token bucket algorithm, using a maximum bucket capacity of 5,000 requests", and
# 2,500 RPS with a burst of 1,250 in the Regions listed below it.
# https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html
ACCOUNT_RATE_LIMIT = 10_000.0
ACCOUNT_BURST_LIMIT = 5_000
REDUCED_ACCOUNT_RATE_LIMIT = 2_500.0
REDUCED_ACCOUNT_BURST_LIMIT = 1_250
REDUCED_QUOTA_REGIONS = frozenset(
    {
        "af-south-1",  # Africa (Cape Town)
        "eu-south-1",  # Europe (Milan)
        "ap-southeast-3",  # Asia Pacific (Jakarta)
        "me-central-1",  # Middle East (UAE)
        "ap-south-2",  # Asia Pacific (Hyderabad)
        "ap-southeast-4",  # Asia Pacific (Melbourne)
        "eu-south-2",  # Europe (Spain)
        "eu-central-2",  # Europe (Zurich)
        "il-central-1",  # Israel (Tel Aviv)
        "ca-west-1",  # Canada West (Calgary)
        "ap-southeast-5",  # Asia Pacific (Malaysia)
        "ap-southeast-7",  # Asia Pacific (Thailand)
        "mx-central-1",  # Mexico (Central)
    }
)
# How often the stage is read again: AWS applies a changed stage within seconds, not per request.
STAGE_REFRESH_SECONDS = 1.0

Clock = Callable[[], float]
ReadStage = Callable[[], "dict[str, Any] | None"]


@dataclass(frozen=True)
class Limits:
    rate: float  # tokens added per second
    burst: int  # the bucket's size


def account_limits(region: str) -> Limits:
    """The account-level throttle quota a new account has in `region`."""
    if region in REDUCED_QUOTA_REGIONS:
        return Limits(REDUCED_ACCOUNT_RATE_LIMIT, REDUCED_ACCOUNT_BURST_LIMIT)
    return Limits(ACCOUNT_RATE_LIMIT, ACCOUNT_BURST_LIMIT)


def route_limits(stage: dict[str, Any], route_key: str, account: Limits) -> Limits:
    """A route's limits as a stage gives them (GetStage's shape): its own RouteSettings, else the
    stage's DefaultRouteSettings; a limit neither sets is the account's."""
    default = stage.get("DefaultRouteSettings") or {}
    own = (stage.get("RouteSettings") or {}).get(route_key) or {}
    rate = own.get("ThrottlingRateLimit", default.get("ThrottlingRateLimit"))
    burst = own.get("ThrottlingBurstLimit", default.get("ThrottlingBurstLimit"))
    return Limits(
        account.rate if rate is None else float(rate), account.burst if burst is None else int(burst)
    )


class TokenBucket:
    """Holds up to `limits.burst` tokens, starts full, gains `limits.rate` a second; a request takes
    one. Not thread-safe: its owner holds the lock."""

    def __init__(self, limits: Limits, now: float) -> None:
        self.limits = limits
        self.tokens = float(limits.burst)
        self.updated = now

    def refill(self, now: float) -> None:
        elapsed = max(0.0, now - self.updated)
        self.tokens = min(float(self.limits.burst), self.tokens + elapsed * self.limits.rate)
        self.updated = now


class Admission(enum.Enum):
    ADMITTED = "admitted"
    THROTTLED = "throttled"  # 429 Too Many Requests
    NO_STAGE = "no stage"  # the API has no $default stage: nothing is served


class ApiThrottle:
    """The account's bucket and one bucket per route, with the limits of the stage `read_stage`
    returns (None when the stage does not exist)."""

    def __init__(
        self,
        read_stage: ReadStage,
        account: Limits,
        clock: Clock = time.monotonic,
        refresh_seconds: float = STAGE_REFRESH_SECONDS,
    ) -> None:
        self._read_stage = read_stage
        self._clock = clock
        self._refresh_seconds = refresh_seconds
        self._lock = threading.Lock()
        self._stage: dict[str, Any] | None = None
        self._read_at: float | None = None
        now = clock()
        self._account = TokenBucket(account, now)
        self._routes: dict[str, TokenBucket] = {}

    def _current_stage(self, now: float) -> dict[str, Any] | None:
        if self._read_at is not None and now - self._read_at < self._refresh_seconds:
            return self._stage
        try:
            self._stage = self._read_stage()
        except Exception:
            if self._read_at is None:
                raise  # never read: the caller answers as for a failed integration
            logger.warning("reading the API's stage failed; keeping its last limits", exc_info=True)
        self._read_at = now
        return self._stage

    def admit(self, route_key: str) -> Admission:
        with self._lock:
            now = self._clock()
            stage = self._current_stage(now)
            if stage is None:
                return Admission.NO_STAGE
            limits = route_limits(stage, route_key, self._account.limits)
            route = self._routes.get(route_key)
            if route is None or route.limits != limits:
                # AWS does not document what changed limits do to a bucket's tokens: the twin gives
                # a route whose limits changed a new bucket, full, as a new route gets.
                route = self._routes[route_key] = TokenBucket(limits, now)
            route.refill(now)
            self._account.refill(now)
            if route.tokens < 1 or self._account.tokens < 1:
                return Admission.THROTTLED
            route.tokens -= 1
            self._account.tokens -= 1
            return Admission.ADMITTED
