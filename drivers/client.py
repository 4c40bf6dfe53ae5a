"""How the drivers call the shop's API: as a well-behaved client of an idempotent API does.

A 5xx, a 429 or a 409 `duplicate_in_progress` is sent again, with the same body and the same
Idempotency-Key, after a pause that doubles up to a cap, until the API answers otherwise or the
client gives up:

- 5xx: API Gateway answers 500 when Lambda could not run the function to the end (a timeout, a
  crash, a throttle) and 503/504 when it did not answer in time; the request may or may not have
  had its effect, and the key is what makes sending it again safe
  (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-troubleshooting-lambda.html);
- 429: the stage's throttle refused it before the function ran;
- 409 `duplicate_in_progress`: the key's first request still holds its idempotency record. That is
  also what a request meets whose own first attempt at the record's conditional write was applied
  but not acknowledged (the SDK sent it again after a read timeout), or whose first invocation
  timed out: the record is released when its in-progress expiry, the invocation's remaining time,
  passes (Powertools' `register_lambda_context`), so the pause grows past a function's timeout.
  https://docs.powertools.aws.dev/lambda/python/latest/utilities/idempotency/
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from tools.stack import HttpResponse

FIRST_PAUSE_SECONDS = 0.5
MAX_PAUSE_SECONDS = 4.0
GIVE_UP_AFTER_SECONDS = 60.0  # longer than the shop's longest API function timeout


def needs_retry(response: HttpResponse) -> bool:
    """Whether a well-behaved client sends this request again."""
    if response.status >= 500 or response.status == 429:
        return True
    body = response.body if isinstance(response.body, dict) else {}
    return response.status == 409 and body.get("error") == "duplicate_in_progress"


@dataclass
class Answered:
    response: HttpResponse
    retries: int  # how many times it was sent again


def until_answered(
    send: Callable[[], HttpResponse],
    give_up_at: float | None = None,
    first_pause: float = FIRST_PAUSE_SECONDS,
    max_pause: float = MAX_PAUSE_SECONDS,
) -> Answered:
    """Sends until the answer needs no retry, or until `give_up_at` (monotonic; by default
    GIVE_UP_AFTER_SECONDS from now), and returns the last answer."""
    deadline = time.monotonic() + GIVE_UP_AFTER_SECONDS if give_up_at is None else give_up_at
    pause, retries = first_pause, 0
    while True:
        response = send()
        if not needs_retry(response) or time.monotonic() + pause > deadline:
            return Answered(response, retries)
        time.sleep(pause)
        pause, retries = min(pause * 2, max_pause), retries + 1
