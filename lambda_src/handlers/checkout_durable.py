"""`checkout-durable`: the checkout saga as a Lambda durable function (checkout_engine = durable).

Started by `checkout` with the order's id as the execution name, so one order has at most one
execution. The saga itself is `shop.durable_saga`; this module only checks the input.
"""

from __future__ import annotations

import functools
import os
from typing import Annotated, Any

from aws_durable_execution_sdk_python import DurableContext, durable_execution
from aws_lambda_powertools import Logger, Metrics, Tracer
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from shop import clients, durable_saga, engines, observability
from shop.http import describe_validation_error
from shop.orders import OrderStore
from shop.payments import BusinessError
from shop.validation import ORDER_ID

logger = Logger()
tracer = Tracer(patch_modules=observability.TRACED_MODULES)
metrics = Metrics()
store = OrderStore(clients.resource("dynamodb").Table(os.environ["STATE_TABLE_NAME"]))
# Answers the approval callback when the approver decided before the saga reached it; callbacks
# are named by their id alone, so the engine needs no function name. The client is made on first use.
approver = engines.Durable(functools.cache(lambda: clients.client("lambda")), function_name="")


class InvalidSagaInput(BusinessError):
    pass


class SagaInput(BaseModel):
    model_config = ConfigDict(extra="forbid")
    order_id: Annotated[str, Field(pattern=ORDER_ID.pattern)]
    requires_approval: bool


# Powertools wraps the Lambda-facing function that durable_execution returns: each invocation
# (the first, and every replay) logs, traces and flushes its metrics like any other handler.
@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
@observability.flush_after_invocation
@durable_execution
def handler(event: Any, context: DurableContext) -> dict[str, Any]:
    try:
        request = SagaInput.model_validate(event)
    except ValidationError as error:
        # Nothing is written: the saga never starts on an input it cannot trust.
        raise InvalidSagaInput(f"invalid saga input: {describe_validation_error(error)}") from None
    return durable_saga.run(context, store, request.order_id, request.requires_approval, approver)
