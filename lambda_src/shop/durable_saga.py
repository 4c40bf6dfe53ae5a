"""The checkout saga as a Lambda durable function: the state machine's steps, as code.

Each saga step is a checkpointed `context.step` over the same `OrderStore` method the Step
Functions task calls, so both engines share the order logic and its idempotency. On replay
(after a retry wait, an approval callback or a crashed invocation) a step that already
checkpointed returns its recorded result instead of running again.

The retry policy mirrors the state machine's: TransientError is retried with exponential
backoff and full jitter (1 s doubling to 8 s; 3 retries for forward steps, 6 for
compensation); a BusinessError is never retried and goes straight to compensation.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_durable_execution_sdk_python import (
    CallbackError,
    CallbackExternalError,
    DurableContext,
    StepError,
)
from aws_durable_execution_sdk_python.config import (
    Duration,
    JitterStrategy,
    StepConfig,
    WaitForCallbackConfig,
)
from aws_durable_execution_sdk_python.retries import RetryStrategyConfig, create_retry_strategy
from aws_durable_execution_sdk_python.types import StepContext

from shop.orders import Approver, OrderStore, aws_failures_are_transient
from shop.payments import TransientError

FORWARD_ATTEMPTS = 4  # the first try and the state machine's 3 retries (MaxAttempts 3)
# ReserveInventory waits out a hot product's contention (TransactionConflict) longer: the state
# machine's 6 retries, backing off to 16 s.
RESERVATION_ATTEMPTS = 7
RESERVATION_MAX_DELAY_SECONDS = 16
COMPENSATION_ATTEMPTS = 7  # compensation must finish: the state machine retries it 6 times
APPROVAL_TIMEOUT = Duration.from_hours(24)  # the state machine's WaitForApproval TimeoutSeconds


class CheckoutFailed(Exception):
    """Ends the execution as failed after compensation, as the state machine's Fail state does."""


def _retrying(attempts: int, max_delay_seconds: int = 8) -> StepConfig:
    return StepConfig(
        retry_strategy=create_retry_strategy(
            RetryStrategyConfig(
                max_attempts=attempts,
                initial_delay=Duration.from_seconds(1),
                max_delay=Duration.from_seconds(max_delay_seconds),
                backoff_rate=2.0,
                jitter_strategy=JitterStrategy.FULL,
                retryable_error_types=[TransientError],
            )
        )
    )


FORWARD = _retrying(FORWARD_ATTEMPTS)
RESERVATION = _retrying(RESERVATION_ATTEMPTS, RESERVATION_MAX_DELAY_SECONDS)
COMPENSATION = _retrying(COMPENSATION_ATTEMPTS)


def failure_cause(error: Exception) -> str:
    """`Type: message`, the form the Step Functions path records from its Catch."""
    if isinstance(error, CallbackExternalError):
        # The only party that fails the approval callback is the approver (POST .../approval);
        # the SDK keeps the message it sent but not its error type.
        return f"ApprovalRejected: {error.message}"
    if isinstance(error, StepError | CallbackError):
        name = (error.error_type or type(error).__name__).rsplit(".", 1)[-1]
        return f"{name}: {error.message}"
    return f"{type(error).__name__}: {error}"


def run(
    context: DurableContext,
    store: OrderStore,
    order_id: str,
    requires_approval: bool,
    approver: Approver,
) -> dict[str, Any]:
    def step(name: str, action: Callable[[str], dict[str, Any]], config: StepConfig) -> dict[str, Any]:
        def body(_: StepContext) -> dict[str, Any]:
            with aws_failures_are_transient():
                return action(order_id)

        return context.step(body, name=name, config=config)

    try:
        step("ValidateOrder", store.validate, FORWARD)
        step("ReserveInventory", store.reserve_inventory, RESERVATION)
        if requires_approval:

            def submit(callback_id: str, _: Any) -> None:
                # The callback id plays the task token's part: stored on the order, sent back
                # by POST /orders/{id}/approval; or, the approver having decided already,
                # answered here with the decision recorded on the order.
                store.request_approval(order_id, callback_id, approver)

            context.wait_for_callback(
                submit,
                name="WaitForApproval",
                config=WaitForCallbackConfig(timeout=APPROVAL_TIMEOUT, retry_strategy=FORWARD.retry_strategy),
            )
        step("ChargePayment", store.charge_payment, FORWARD)
        return step("ConfirmOrder", store.confirm, FORWARD)
    except (StepError, CallbackError) as error:
        cause = failure_cause(error)
    released = step("ReleaseInventory", store.release_inventory, COMPENSATION)
    if released.get("charged"):
        step("RefundPayment", store.refund, COMPENSATION)
    step("MarkFailed", lambda order: store.mark_failed(order, cause), COMPENSATION)
    raise CheckoutFailed(cause)
