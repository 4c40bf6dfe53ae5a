"""`order-steps`: the checkout saga's tasks, one small idempotent step per Step Functions state.

Errors reach Step Functions by class name (`errorType`): TransientError is retried,
BusinessError subclasses (OutOfStock, PaymentDeclined, OrderInvalid) are caught and
compensated. A malformed task input is an InvalidStepInput, also compensated.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
from typing import Annotated, Any, Literal

from aws_lambda_powertools import Logger, Metrics, Tracer
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from shop import clients, engines, observability
from shop.http import describe_validation_error
from shop.orders import OrderStore, aws_failures_are_transient
from shop.payments import BusinessError
from shop.validation import ORDER_ID

logger = Logger()
tracer = Tracer(patch_modules=observability.TRACED_MODULES)
metrics = Metrics()

store = OrderStore(clients.resource("dynamodb").Table(os.environ["STATE_TABLE_NAME"]))


@functools.cache
def states() -> Any:
    """The Step Functions client, made on first use: only an approval decided before the saga
    reached it (applied by RequestApproval) calls Step Functions from here."""
    return clients.client("stepfunctions")


# SendTaskSuccess/SendTaskFailure need only the task's token, not the state machine's ARN.
approver = engines.StepFunctions(states, state_machine_arn="")

Step = Literal[
    "ValidateOrder",
    "ReserveInventory",
    "RequestApproval",
    "ChargePayment",
    "ConfirmOrder",
    "ReleaseInventory",
    "RefundPayment",
    "MarkFailed",
]


class InvalidStepInput(BusinessError):
    pass


class StepInput(BaseModel):
    model_config = ConfigDict(extra="ignore")
    step: Step
    order_id: Annotated[str, Field(pattern=ORDER_ID.pattern)]
    task_token: Annotated[str, Field(min_length=1, max_length=2048)] | None = None
    error: dict[str, Any] | None = None


def failure_cause(error: dict[str, Any] | None) -> str:
    """`Error: message` from the Catch's {"Error", "Cause"}, whose Cause is the Lambda error JSON."""
    if not error:
        return "unknown"
    name, cause = str(error.get("Error", "Error")), error.get("Cause") or ""
    with contextlib.suppress(ValueError, AttributeError):
        cause = json.loads(cause).get("errorMessage", cause)
    return f"{name}: {cause}"


def run_step(request: StepInput) -> dict[str, Any]:
    order_id = request.order_id
    if request.step == "ValidateOrder":
        return store.validate(order_id)
    if request.step == "ReserveInventory":
        return store.reserve_inventory(order_id)
    if request.step == "RequestApproval":
        if request.task_token is None:
            raise InvalidStepInput("RequestApproval needs the task token")
        return store.request_approval(order_id, request.task_token, approver)
    if request.step == "ChargePayment":
        return store.charge_payment(order_id)
    if request.step == "ConfirmOrder":
        return store.confirm(order_id)
    if request.step == "ReleaseInventory":
        return store.release_inventory(order_id)
    if request.step == "RefundPayment":
        return store.refund(order_id)
    return store.mark_failed(order_id, failure_cause(request.error))


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
@observability.flush_after_invocation
def handler(event: Any, context: Any) -> dict[str, Any]:
    try:
        request = StepInput.model_validate(event)
    except ValidationError as error:
        raise InvalidStepInput(f"invalid saga task input: {describe_validation_error(error)}") from None
    logger.append_keys(order_id=request.order_id, step=request.step)
    with aws_failures_are_transient():
        result = run_step(request)
    logger.info("step done", extra={"result": result})
    return result
