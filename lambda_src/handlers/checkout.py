"""`checkout`: places orders idempotently and runs each as a Step Functions saga (orchestration)."""

# No `from __future__ import annotations`: Powertools reads the routes' signatures for the OpenAPI
# document through Tracer's wrappers, whose module cannot resolve annotations left as strings.

import os
from typing import Annotated, Any, Literal

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.depends import Depends
from aws_lambda_powertools.event_handler.openapi.params import Body, Header, Path
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyValidationError,
)
from botocore.exceptions import ClientError
from pydantic import BaseModel, ConfigDict, Field
from shop import clients, engines, http, observability, sagas, validation
from shop.errors import BusinessRuleViolation, ShopError
from shop.orders import DEFAULT_REJECTION, NotAwaitingApproval, OrderStore, order_id_for
from shop.payments import TOKEN_PATTERN

logger = Logger()
tracer = Tracer(patch_modules=observability.TRACED_MODULES)
metrics = Metrics()
app = http.new_resolver()

TABLE_NAME = os.environ["STATE_TABLE_NAME"]
APPROVAL_THRESHOLD_CENTS = int(os.environ.get("APPROVAL_THRESHOLD_CENTS", "100000"))
# Which engine runs new orders' sagas (Terraform's checkout_engine); an order keeps its own.
ENGINES = engines.from_environment(clients.client, os.environ)
ENGINES.make_client_for_new_orders()

store = OrderStore(clients.resource("dynamodb").Table(TABLE_NAME))


class DuplicateInProgress(ShopError):
    status = 409
    code = "duplicate_in_progress"


class PlaceOrder(BaseModel):
    model_config = ConfigDict(extra="forbid")
    cart_id: Annotated[str, Field(pattern=validation.CART_ID.pattern)]
    payment_token: Annotated[str, Field(pattern=TOKEN_PATTERN)]


class ApprovalDecision(BaseModel):
    model_config = ConfigDict(extra="forbid")
    decision: Literal["approve", "reject"]
    reason: Annotated[str, Field(max_length=500)] = ""


class PlacedOrder(BaseModel):
    order_id: str
    status: str
    total_cents: int
    requires_approval: bool
    execution_arn: str


class OrderView(BaseModel):
    """An order with the saga's progress, read from Step Functions."""

    order_id: str
    status: str
    items: dict[str, int]
    total_cents: int
    requires_approval: bool
    execution_arn: str | None
    charge_id: str | None
    failure_cause: str | None
    execution_status: str | None
    history: list[str]
    engine: str | None


class DecisionTaken(BaseModel):
    order_id: str
    decision: Literal["approve", "reject"]


OrderId = Annotated[str, Path(pattern=validation.ORDER_ID.pattern, description="the order's UUID")]


def _count_replay(response: Any, _record: Any) -> Any:
    observability.count("IdempotentReplay", "idempotency")
    return response


# One record per Idempotency-Key in the state table (its TTL attribute expires them);
# a key reused with a different body is refused rather than answered with another order.
idempotency = IdempotencyConfig(
    event_key_jmespath="idempotency_key",
    payload_validation_jmespath="[cart_id, payment_token]",
    expires_after_seconds=24 * 3600,
    response_hook=_count_replay,
)
persistence = DynamoDBPersistenceLayer(
    table_name=TABLE_NAME,
    key_attr="pk",
    sort_key_attr="sk",
    static_pk_value="IDEMPOTENCY#checkout",
    expiry_attr="expires_at",
    # A client of the default session, whose loader already holds DynamoDB's service model (the
    # order store's resource loaded it); Powertools' own would start a new session and load it
    # again at cold start. Not the resource's meta.client: that one serializes Python values
    # itself, and the persistence layer passes attribute values.
    boto3_client=clients.client("dynamodb"),
)


@idempotent_function(data_keyword_argument="request", config=idempotency, persistence_store=persistence)
def place_order(request: dict[str, Any]) -> dict[str, Any]:
    items, total, needs_approval = store.price_cart(request["cart_id"], APPROVAL_THRESHOLD_CENTS)
    order_id = order_id_for(request["idempotency_key"])
    order = store.create(items, total, request["payment_token"], needs_approval, order_id=order_id)
    execution_arn = sagas.start_once(store, order, ENGINES)
    if execution_arn != order.execution_arn:
        observability.count("WorkflowStarted", ENGINES.new_orders.replace("-", ""))
    return {
        "order_id": order.order_id,
        "status": order.status,
        "total_cents": order.total_cents,
        "requires_approval": order.requires_approval,
        "execution_arn": execution_arn,
    }


def place_order_request(
    body: PlaceOrder = Body(),
    idempotency_key: str = Header(
        alias="Idempotency-Key",
        pattern=validation.IDEMPOTENCY_KEY.pattern,
        description="8-128 of A-Z, a-z, 0-9, _ and -; a retry with the same key gets the same order",
    ),
) -> PlaceOrder:
    """The body and header POST /orders reads, declared for the OpenAPI document."""
    validation.idempotency_key(app.current_event.headers.get("idempotency-key"))
    return http.request_body(app, PlaceOrder)


def approval_request(body: ApprovalDecision = Body()) -> ApprovalDecision:
    return http.request_body(app, ApprovalDecision)


@app.post(
    "/orders",
    responses=http.documented(
        {202: ("The order, placed (or the same one again)", PlacedOrder)}, http.BODY_ERRORS
    ),
)
@tracer.capture_method
def post_order(request: Annotated[PlaceOrder, Depends(place_order_request)]) -> Response[PlacedOrder]:
    key = validation.idempotency_key(app.current_event.headers.get("idempotency-key"))
    try:
        placed = place_order(request={"idempotency_key": key, **request.model_dump()})
    except IdempotencyAlreadyInProgressError:
        raise DuplicateInProgress(
            "an order with this Idempotency-Key is being placed; retry shortly"
        ) from None
    except IdempotencyValidationError:
        raise BusinessRuleViolation(
            "this Idempotency-Key was used with a different cart or payment token"
        ) from None
    return http.json_response(202, placed, headers={"Location": f"/orders/{placed['order_id']}"})


# What AWS answers once it no longer keeps an execution: Step Functions keeps a closed execution's
# history for 90 days (https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html), Lambda a
# durable execution's for its RetentionPeriodInDays (API_DurableConfig.html).
FORGOTTEN_EXECUTION = {"ExecutionDoesNotExist", "ResourceNotFoundException"}
# What each engine answers a decision sent after its wait ended: the approval timed out (24 h), or
# the execution is gone. Step Functions: SendTaskSuccess/SendTaskFailure's TaskTimedOut,
# TaskDoesNotExist and InvalidToken; Lambda: SendDurableExecutionCallback*'s
# CallbackTimeoutException and ResourceNotFoundException.
WAIT_OVER = {
    "TaskTimedOut",
    "TaskDoesNotExist",
    "InvalidToken",
    "CallbackTimeoutException",
} | FORGOTTEN_EXECUTION


def _progress(execution_arn: str | None, engine: str | None) -> engines.Progress:
    """The execution's status and the states it entered, from its engine's own history."""
    if not execution_arn:
        return engines.Progress(None, [])
    return engines.progress(ENGINES.for_order(engine), execution_arn)


@app.get("/orders/<order_id>", responses=http.documented({200: ("The order and its saga", OrderView)}))
@tracer.capture_method
def get_order(order_id: OrderId) -> Response[OrderView]:
    order = store.get(validation.order_id(order_id))
    try:
        saga = _progress(order.execution_arn, order.engine)
    except ClientError as error:
        if error.response["Error"]["Code"] not in FORGOTTEN_EXECUTION:
            raise
        saga = engines.Progress(None, [])  # the order outlives its saga's record: still a 200
    if saga.status not in (None, "RUNNING"):
        order = store.get(order_id)  # the execution ended after the first read: show its last write
    return http.json_response(
        200, {**order.to_json(), "execution_status": saga.status, "history": saga.entered}
    )


@app.post(
    "/orders/<order_id>/approval",
    responses=http.documented({202: ("The decision, sent to the saga", DecisionTaken)}, http.BODY_ERRORS),
)
@tracer.capture_method
def decide(
    order_id: OrderId, request: Annotated[ApprovalDecision, Depends(approval_request)]
) -> Response[DecisionTaken]:
    validation.order_id(order_id)
    order = store.get(order_id)
    reason = request.reason or DEFAULT_REJECTION
    token = store.decide_approval(order_id, approve=request.decision == "approve", reason=reason)
    # None: the saga has not reached the approval yet; the decision is recorded on the order and
    # the saga applies it when it gets there. Otherwise the token is the engine's own: a task
    # token, or the durable callback's id.
    try:
        if token is not None and request.decision == "approve":
            ENGINES.for_order(order.engine).approve(token)
        elif token is not None:
            ENGINES.for_order(order.engine).reject(token, reason)
    except ClientError as error:
        if error.response["Error"]["Code"] not in WAIT_OVER:
            raise
        # The decision came after the saga stopped waiting: the saga decides the order (a timed-out
        # approval compensates it), and the approver hears so instead of a 500.
        raise NotAwaitingApproval(
            f"order {order_id}'s saga no longer waits for a decision: its approval timed out, or its"
            " execution is gone"
        ) from None
    return http.json_response(202, {"order_id": order_id, "decision": request.decision})


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
@observability.flush_after_invocation
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    idempotency.register_lambda_context(context)
    return http.resolve(app, event, context)
