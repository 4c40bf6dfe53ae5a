"""Public list prices (us-east-1) for the workflow engines, and what an order costs on each.

Step Functions: aws.amazon.com/step-functions/pricing, read on PRICE_DATE. Standard bills state
transitions, each retry one more; Express bills requests and GB-seconds (duration rounded up to
100 ms, memory in 64 MB steps).

Lambda durable functions: the us-east-1 worked example on aws.amazon.com/lambda/pricing, read on
PRICE_DATE from a stored copy of the page (its rate table loads in the browser). Durable
operations are metered as the Lambda guide's "How durable operations are metered" says: the
execution's start 1, a step 1 per attempt, a wait 1, wait_for_callback 3 (context, callback,
submitter step); the data each operation writes and its retention are billed too. Every
invocation, replays included, is an ordinary Lambda request.
"""

from __future__ import annotations

PRICE_DATE = "2026-11-28"

STANDARD_USD_PER_TRANSITION = 0.025 / 1_000
EXPRESS_USD_PER_REQUEST = 1.00 / 1_000_000
EXPRESS_USD_PER_GB_SECOND = 0.00001667
EXPRESS_MEMORY_GB = 64 / 1024  # Express bills memory in 64 MB steps; the saga's state is small

DURABLE_USD_PER_OPERATION = 8.00 / 1_000_000
DURABLE_USD_PER_GB_WRITTEN = 0.25
DURABLE_USD_PER_GB_MONTH_RETAINED = 0.15
DURABLE_RETENTION_DAYS = 14  # the stack's durable_checkout.retention_period default

LAMBDA_USD_PER_REQUEST = 0.20 / 1_000_000

GB = 1024**3


def step_functions_order_usd(transitions: float, lambda_requests: float) -> float:
    """A Standard execution's transitions and the task invocations it makes (order-steps)."""
    return transitions * STANDARD_USD_PER_TRANSITION + lambda_requests * LAMBDA_USD_PER_REQUEST


def durable_order_usd(operations: float, lambda_requests: float, bytes_written: float) -> float:
    """A durable execution's operations, its invocations (the first and every replay), and the
    checkpoint data it writes, kept for the retention period."""
    gigabytes = bytes_written / GB
    return (
        operations * DURABLE_USD_PER_OPERATION
        + lambda_requests * LAMBDA_USD_PER_REQUEST
        + gigabytes * DURABLE_USD_PER_GB_WRITTEN
        + gigabytes * DURABLE_USD_PER_GB_MONTH_RETAINED * DURABLE_RETENTION_DAYS / 30
    )


# make load's cost per million requests and the idle cost per environment (drivers/idle_cost.py).
# us-east-1 list prices read on PRICE_DATE from each service's pricing page; the environments run
# in eu-west-1, where most of these rates are a few percent higher: read the page for your region.
# Lambda (aws.amazon.com/lambda/pricing): arm64 duration per GB-second, first tier.
LAMBDA_ARM_USD_PER_GB_SECOND = 0.0000133334
# API Gateway (aws.amazon.com/api-gateway/pricing): HTTP APIs, first 300 million a month.
HTTP_API_USD_PER_REQUEST = 1.00 / 1_000_000
# DynamoDB on-demand (aws.amazon.com/dynamodb/pricing/on-demand): per write and read request unit.
DYNAMODB_USD_PER_WRITE_UNIT = 0.625 / 1_000_000
DYNAMODB_USD_PER_READ_UNIT = 0.125 / 1_000_000
