"""`cache-invalidator`: the catalog cache's durable invalidation, from the state table's stream.

Subscribed through an event source mapping filtered to product items (pk begins with
PRODUCT#), with ReportBatchItemFailures: every record whose product it invalidated is done;
a record it cannot parse (a poison record) or could not invalidate before its deadline is
reported in `batchItemFailures`, and the mapping's bisect, bounded retries and on-failure
destination take it from there. The records after a failed one are still processed (and
processed again when Lambda redelivers from the failed one: invalidation is idempotent).

The keys are all it needs (stream view KEYS_ONLY is enough); it never reads the table.
Guarantees and their bounds: see shop.invalidation.
"""

from __future__ import annotations

import functools
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from shop import invalidation, observability, stream_events
from shop.cache import CacheSettings
from shop.cache_connection import CACHE_ERRORS, connect_from_environment

logger = Logger()
tracer = Tracer(patch_modules=observability.TRACED_MODULES)
metrics = Metrics()

settings = CacheSettings.from_environment()
margin_ms = invalidation.margin_ms_from_environment()
# Module scope: one client per execution environment, made on first use, kept while warm.
invalidator = invalidation.Invalidator(
    connect=functools.partial(
        connect_from_environment, timeout_ms=invalidation.timeout_ms_from_environment()
    ),
    cache_errors=CACHE_ERRORS,
    generation_ttl_seconds=settings.generation_ttl_seconds,
)
stream = invalidation.StreamInvalidator(invalidator)
# A batch that failed entirely (the cache stayed down past the deadline) is reported record
# by record too, not raised: Lambda then retries from the first one, counted against the
# mapping's maximum_retry_attempts, the budget the bounded-staleness argument relies on.
processor = BatchProcessor(event_type=EventType.DynamoDBStreams, raise_on_entire_batch_failure=False)

try:  # present only in Lambda's SnapStart-capable Python runtimes
    from snapshot_restore_py import register_after_restore
except ImportError:
    register_after_restore = None
if register_after_restore is not None:
    register_after_restore(invalidator.reset_connection)


def invalidate(record: DynamoDBRecord, deadline: float, invalidated: list[str]) -> str:
    try:
        sku = stream.invalidate_record(record.raw_event, deadline)
        invalidated.append(sku)
        return sku
    except invalidation.PoisonRecord as error:
        logger.error("poison stream record: reported as failed", extra={"reason": str(error)})
        raise
    except invalidation.CacheUnavailable as error:
        logger.warning(
            "cache unavailable until the deadline: reported as failed", extra={"reason": str(error)}
        )
        raise


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
@observability.flush_after_invocation
def handler(event: Any, context: Any) -> PartialItemFailureResponse:
    records = stream_events.validate_stream_event(event)
    # One deadline for the whole batch: once it has passed, the remaining records fail at once
    # (Lambda redelivers from the first failed one) instead of each waiting out a timeout.
    deadline = invalidation.deadline_from(context.get_remaining_time_in_millis(), margin_ms)
    invalidated: list[str] = []
    response = process_partial_response(
        event, functools.partial(invalidate, deadline=deadline, invalidated=invalidated), processor, context
    )
    failed = len(response.get("batchItemFailures", []))
    # The SKUs say which products' stale values this batch removed: what an operator asks
    # first when a price looked old.
    logger.info(
        "stream batch done",
        extra={"records": len(records), "failed": failed, "invalidated_skus": sorted(set(invalidated))},
    )
    return response
