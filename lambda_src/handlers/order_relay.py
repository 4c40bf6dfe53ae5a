"""`order-relay`: starts the saga of an order whose checkout died before starting it.

Subscribed to the state table's stream through an event source mapping filtered to inserted
orders (eventName INSERT, pk begins with ORDER#), with ReportBatchItemFailures: a record whose
saga it could not start (the engine out of reach) is reported failed, and the mapping's bounded
retries and on-failure destination take it from there. Why and when it starts a saga: see
shop.order_relay.
"""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from shop import clients, engines, observability, stream_events
from shop.order_relay import OrderRelay, Relayed, order_id_of
from shop.orders import OrderStore

logger = Logger()
tracer = Tracer(patch_modules=observability.TRACED_MODULES)
metrics = Metrics()

ENGINES = engines.from_environment(clients.client, os.environ)
ENGINES.make_client_for_new_orders()
relay = OrderRelay(
    OrderStore(clients.resource("dynamodb").Table(os.environ["STATE_TABLE_NAME"])),
    ENGINES,
    checkout_timeout_seconds=float(os.environ["CHECKOUT_TIMEOUT_SECONDS"]),
)
processor = BatchProcessor(event_type=EventType.DynamoDBStreams, raise_on_entire_batch_failure=False)


def relay_record(record: DynamoDBRecord) -> Relayed | None:
    order_id = order_id_of(record.raw_event)
    relayed = relay.relay(order_id)
    if relayed is Relayed.ABANDONED:
        # A checkout died between its two writes: how often is what an operator watches.
        observability.count("AbandonedOrderStarted", ENGINES.new_orders.replace("-", ""))
        logger.warning("started the saga of an order its checkout left", extra={"order_id": order_id})
    elif relayed is Relayed.JOINED:
        logger.info("joined the saga its checkout was starting", extra={"order_id": order_id})
    return relayed


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
@observability.flush_after_invocation
def handler(event: Any, context: Any) -> PartialItemFailureResponse:
    stream_events.validate_stream_event(event, consumer="order-relay")
    return process_partial_response(event, relay_record, processor, context)
