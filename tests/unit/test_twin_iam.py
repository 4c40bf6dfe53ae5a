"""The twin's IAM evaluation (local_twin/iam.py): the stack's statements, as moto held them after
`terraform apply`, decided by iam-simulate for the requests the functions make."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from local_twin import iam

ACCOUNT, REGION = "123456789012", "us-east-1"
TABLE = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/shop-twin-state"
DURABLE = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:shop-twin-checkout-durable"
MACHINE = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:shop-twin-checkout"
CART_ROLE = f"arn:aws:sts::{ACCOUNT}:assumed-role/shop-twin-cart-1/shop-twin-cart"

# What terraform's modules/lambda-function made of terraform/functions.tf (read back from moto).
CART_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "CartItems",
            "Effect": "Allow",
            "Action": ["dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:DeleteItem"],
            "Resource": TABLE,
            "Condition": {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": "CART#*"}},
        },
        {"Sid": "WriteTraces", "Effect": "Allow", "Action": ["xray:PutTraceSegments"], "Resource": "*"},
    ],
}
SAGA_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "OrderItems",
            "Effect": "Allow",
            "Action": ["dynamodb:UpdateItem", "dynamodb:GetItem"],
            "Resource": TABLE,
            "Condition": {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["ORDER#*", "PRODUCT#*"]}},
        }
    ],
}
CHECKOUT_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "StartDurableCheckout",
            "Effect": "Allow",
            "Action": "lambda:InvokeFunction",
            "Resource": f"{DURABLE}:live",
        },
        {
            "Sid": "RunCheckoutSaga",
            "Effect": "Allow",
            "Action": ["states:StartExecution"],
            "Resource": MACHINE,
        },
    ],
}


@pytest.fixture(scope="module")
def evaluator() -> Iterator[iam.Evaluator]:
    running = iam.Evaluator()
    yield running
    running.close()


def decide(evaluator: iam.Evaluator, policy: dict, requests: list[iam.AuthorizationRequest]) -> list[str]:
    return [
        evaluator.evaluate(CART_ROLE, ACCOUNT, request, [("least-privilege", policy)])["result"]
        for request in requests
    ]


def partition_key(_table: str) -> str:
    return "pk"


def item_request(operation: str, params: dict) -> list[iam.AuthorizationRequest]:
    return iam.dynamodb_requests(operation, params, REGION, ACCOUNT, partition_key)


def test_a_role_may_write_only_the_items_its_leading_keys_condition_names(evaluator) -> None:
    cart = item_request(
        "PutItem", {"TableName": "shop-twin-state", "Item": {"pk": {"S": "CART#c1"}, "sk": {"S": "CART"}}}
    )
    order = item_request(
        "PutItem", {"TableName": "shop-twin-state", "Item": {"pk": {"S": "ORDER#o1"}, "sk": {"S": "ORDER"}}}
    )
    assert cart[0].context == {"dynamodb:LeadingKeys": ["CART#c1"]}
    assert decide(evaluator, CART_POLICY, cart) == ["Allowed"]
    assert decide(evaluator, CART_POLICY, order) == ["ImplicitlyDenied"]


def test_a_role_without_the_action_or_on_another_table_is_denied(evaluator) -> None:
    update = item_request("UpdateItem", {"TableName": "shop-twin-state", "Key": {"pk": {"S": "CART#c1"}}})
    other_table = item_request("GetItem", {"TableName": "someone-elses", "Key": {"pk": {"S": "CART#c1"}}})
    assert decide(evaluator, CART_POLICY, update) == ["ImplicitlyDenied"]
    assert decide(evaluator, CART_POLICY, other_table) == ["ImplicitlyDenied"]


def test_each_item_of_a_transaction_is_authorized_as_its_own_action(evaluator) -> None:
    transaction = {
        "TransactItems": [
            {"Update": {"TableName": "shop-twin-state", "Key": {"pk": {"S": "PRODUCT#p1"}}}},
            {"Update": {"TableName": "shop-twin-state", "Key": {"pk": {"S": "ORDER#o1"}}}},
        ]
    }
    requests = item_request("TransactWriteItems", transaction)
    assert [request.action for request in requests] == ["dynamodb:UpdateItem", "dynamodb:UpdateItem"]
    assert decide(evaluator, SAGA_POLICY, requests) == ["Allowed", "Allowed"]
    transaction["TransactItems"].append(
        {"Delete": {"TableName": "shop-twin-state", "Key": {"pk": {"S": "CART#c1"}}}}
    )
    assert (
        decide(evaluator, SAGA_POLICY, item_request("TransactWriteItems", transaction))[-1]
        == "ImplicitlyDenied"
    )


def test_invoking_the_durable_function_is_allowed_only_through_its_alias(evaluator) -> None:
    alias = iam.lambda_requests("Invoke", "shop-twin-checkout-durable", "live", REGION, ACCOUNT)
    inline_alias = iam.lambda_requests("Invoke", "shop-twin-checkout-durable:live", None, REGION, ACCOUNT)
    unqualified = iam.lambda_requests("Invoke", "shop-twin-checkout-durable", None, REGION, ACCOUNT)
    assert alias == inline_alias and alias[0].resource == f"{DURABLE}:live"
    assert decide(evaluator, CHECKOUT_POLICY, alias) == ["Allowed"]
    assert decide(evaluator, CHECKOUT_POLICY, unqualified) == ["ImplicitlyDenied"]


def test_a_state_machine_action_on_another_machine_is_denied(evaluator) -> None:
    own = iam.states_requests("StartExecution", {"stateMachineArn": MACHINE})
    other = iam.states_requests("StartExecution", {"stateMachineArn": MACHINE + "-other"})
    assert decide(evaluator, CHECKOUT_POLICY, own) == ["Allowed"]
    assert decide(evaluator, CHECKOUT_POLICY, other) == ["ImplicitlyDenied"]


def test_an_operation_the_twin_cannot_map_fails_loudly() -> None:
    with pytest.raises(iam.UnmappedOperation, match="dynamodb:Scan"):
        item_request("Scan", {"TableName": "shop-twin-state"})
    with pytest.raises(iam.UnmappedOperation, match="lambda:DeleteFunction"):
        iam.lambda_requests("DeleteFunction", "f", None, REGION, ACCOUNT)


def test_the_denial_is_in_aws_words() -> None:
    request = iam.AuthorizationRequest("dynamodb:PutItem", TABLE)
    assert iam.denial_message(CART_ROLE, request, "ImplicitlyDenied") == (
        f"User: {CART_ROLE} is not authorized to perform: dynamodb:PutItem on resource: {TABLE} "
        "because no identity-based policy allows the dynamodb:PutItem action"
    )


def test_the_unused_report_lists_granted_actions_no_call_used() -> None:
    grants = {"cart": iam.granted_actions([("least-privilege", CART_POLICY)])}
    used = {"cart": {"dynamodb:GetItem", "dynamodb:PutItem"}}
    assert iam.unused_report(grants, used) == {"cart": ["dynamodb:DeleteItem", "xray:PutTraceSegments"]}
    assert iam.unused_report({"r": {"logs:*"}}, {"r": {"logs:PutLogEvents"}}) == {"r": []}


def test_the_durable_execution_api_is_authorized_on_the_execution(evaluator) -> None:
    from urllib.parse import quote

    from aws_durable_execution_sdk_python_testing.token import CallbackToken

    execution = f"{DURABLE}:1/durable-execution/order-1/abc"
    checkpoint = iam.durable_api_requests(
        "POST", f"/2025-12-01/durable-executions/{quote(execution, safe='')}/checkpoint", ACCOUNT
    )
    assert checkpoint == [iam.AuthorizationRequest("lambda:CheckpointDurableExecution", execution)]
    token = CallbackToken(execution_arn=execution, operation_id="approval").to_str()
    callback = iam.durable_api_requests(
        "POST", f"/2025-12-01/durable-execution-callbacks/{quote(token, safe='')}/succeed", ACCOUNT
    )
    assert callback == [iam.AuthorizationRequest("lambda:SendDurableExecutionCallbackSuccess", execution)]

    own_executions = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": ["lambda:CheckpointDurableExecution"], "Resource": f"{DURABLE}:*"}
        ],
    }
    assert decide(evaluator, own_executions, checkpoint) == ["Allowed"]
    # The unqualified function ARN does not match an execution's ARN (the module's comment says why).
    unqualified = {**own_executions, "Statement": [{**own_executions["Statement"][0], "Resource": DURABLE}]}
    assert decide(evaluator, unqualified, checkpoint) == ["ImplicitlyDenied"]
    assert decide(evaluator, own_executions, callback) == ["ImplicitlyDenied"]
    with pytest.raises(iam.UnmappedOperation):
        iam.durable_api_requests("PATCH", "/2025-12-01/durable-executions/x", ACCOUNT)
    # A callback id Lambda never issued names no execution: nothing to authorize, and the runner
    # answers ResourceNotFoundException (it crashed the twin's dispatch, a 500 in HTML).
    for bogus in ("not-base64!", "W10=", "e30="):  # garbage, a JSON list, an object without arn
        refused = iam.durable_api_requests(
            "POST", f"/2025-12-01/durable-execution-callbacks/{quote(bogus, safe='')}/succeed", ACCOUNT
        )
        assert refused == [iam.AuthorizationRequest("lambda:SendDurableExecutionCallbackSuccess", None)]


def test_task_answers_are_allowed_only_by_a_statement_on_every_resource(evaluator) -> None:
    """SendTaskSuccess has no resource type: a grant scoped to the state machine allows nothing."""
    answer = iam.states_requests("SendTaskSuccess", {"taskToken": "t"})
    assert answer == [iam.AuthorizationRequest("states:SendTaskSuccess", "*")]
    scoped = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "states:SendTaskSuccess", "Resource": MACHINE}],
    }
    anywhere = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "states:SendTaskSuccess", "Resource": "*"}],
    }
    assert decide(evaluator, scoped, answer) == ["ImplicitlyDenied"]
    assert decide(evaluator, anywhere, answer) == ["Allowed"]


def test_unused_actions_the_twin_never_calls_carry_the_reason_and_the_rest_are_unexplained() -> None:
    assert "X-Ray daemon" in (iam.unused_reason("xray:PutTraceSegments") or "")
    assert "network interfaces" in (iam.unused_reason("ec2:AssignPrivateIpAddresses") or "")
    assert "Terraform creates it first" in (iam.unused_reason("logs:CreateLogGroup") or "")
    assert "delivers no execution logs" in (iam.unused_reason("logs:CreateLogDelivery") or "")
    # Calls the twin makes as the role: unused means the run never needed them, which needs a reason
    # from whoever reads the report, not from the twin.
    for action in (
        "elasticache:Connect",  # decided when a worker AUTHs with its token (cache_auth.py)
        "dynamodb:DeleteItem",
        "logs:PutLogEvents",
        "kms:GenerateDataKey",
        "states:SendTaskSuccess",
    ):
        assert iam.unused_reason(action) is None
