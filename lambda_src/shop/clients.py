"""AWS clients with retries and timeouts that fit inside the function that makes them.

botocore's defaults are for scripts, not for a 10-second function: the legacy retry mode, up
to 10 attempts for DynamoDB with a 60 s read timeout, can outlast the invocation, so a throttled
or unreachable call ends as a Lambda timeout (the environment killed, the idempotency record left
in progress) instead of an error the handler answers. Here every client has:

* retry mode "standard" (https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html):
  throttling (ThrottlingException, ProvisionedThroughputExceededException), 5xx and transient
  network errors retried with jittered exponential backoff, and a retry quota that stops retry
  storms when a service is down;
* MAX_ATTEMPTS attempts, CONNECT_TIMEOUT and READ_TIMEOUT seconds each, so that the worst
  case (`worst_case_seconds`) stays within SHORTEST_FUNCTION_TIMEOUT, the shortest `timeout` of
  the stack's functions (terraform/functions.tf; a unit test checks it).
"""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config

SHORTEST_FUNCTION_TIMEOUT = 10.0
MAX_ATTEMPTS = 3
CONNECT_TIMEOUT = 0.5
READ_TIMEOUT = 1.5
# Standard mode's backoff before retry i is random(0, 1) x 2^i seconds, capped at 20 s.
MAX_BACKOFF_SECONDS = sum(min(2.0**attempt, 20.0) for attempt in range(MAX_ATTEMPTS - 1))

CONFIG = Config(
    retries={"mode": "standard", "total_max_attempts": MAX_ATTEMPTS},  # the first attempt included
    connect_timeout=CONNECT_TIMEOUT,
    read_timeout=READ_TIMEOUT,
)


def worst_case_seconds() -> float:
    """The longest one call can take, every attempt timing out and every backoff at its cap."""
    return MAX_ATTEMPTS * (CONNECT_TIMEOUT + READ_TIMEOUT) + MAX_BACKOFF_SECONDS


def client(service: str) -> Any:
    return boto3.client(service, config=CONFIG)


def resource(service: str) -> Any:
    return boto3.resource(service, config=CONFIG)
