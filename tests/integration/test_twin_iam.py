"""The twin signs each function's calls with its own role and refuses what the role does not allow."""

from __future__ import annotations

import io
import json
import textwrap
import uuid
import zipfile
from typing import Any

import pytest

from tests.roles import create_role

pytestmark = pytest.mark.twin

PROBE = textwrap.dedent(
    """
    import os
    import boto3
    from botocore.exceptions import ClientError


    def handler(event, context):
        identity = boto3.client("sts").get_caller_identity()["Arn"]
        table = boto3.client("dynamodb")
        outcomes = {}
        for name, call in event["calls"].items():
            try:
                getattr(table, call["operation"])(TableName=os.environ["TABLE"], **call["arguments"])
                outcomes[name] = "allowed"
            except ClientError as error:
                outcomes[name] = {"code": error.response["Error"]["Code"], "message": error.response["Error"]["Message"]}
        return {"key": os.environ["AWS_ACCESS_KEY_ID"], "identity": identity, "outcomes": outcomes}
    """
)


@pytest.fixture(scope="module")
def probe(twin) -> dict[str, Any]:
    role_name = f"iam-probe-{uuid.uuid4().hex[:8]}"
    table = twin.client("dynamodb").describe_table(TableName=twin.table_name)["Table"]
    table_arn = table["TableArn"]
    statements = [
        {
            "Sid": "CartReads",
            "Effect": "Allow",
            "Action": ["dynamodb:GetItem"],
            "Resource": table_arn,
            "Condition": {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["CART#*"]}},
        },
        {
            # The table is under the stack's customer managed key: DynamoDB unwraps it as the caller.
            "Sid": "TableKey",
            "Effect": "Allow",
            "Action": ["kms:Decrypt"],
            "Resource": table["SSEDescription"]["KMSMasterKeyArn"],
            "Condition": {
                "StringEquals": {"kms:ViaService": f"dynamodb.{table_arn.split(':')[3]}.amazonaws.com"}
            },
        },
    ]
    role = create_role(twin.client("iam"), role_name, statements)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("probe.py", PROBE)
    name = f"iam-probe-{uuid.uuid4().hex[:8]}"
    layers = (
        twin.client("lambda")
        .get_function_configuration(FunctionName=twin.function_name("cart"))
        .get("Layers", [])
    )
    twin.client("lambda").create_function(
        FunctionName=name,
        Runtime="python3.13",
        Role=role,
        Handler="probe.handler",
        Code={"ZipFile": buffer.getvalue()},
        Timeout=10,
        Environment={"Variables": {"TABLE": twin.table_name}},
        **({"Layers": [layer["Arn"] for layer in layers]} if layers else {}),
    )
    yield {"name": name, "role": role_name, "table_arn": table_arn}
    twin.client("lambda").delete_function(FunctionName=name)


def key(pk: str) -> dict[str, Any]:
    return {"Key": {"pk": {"S": pk}, "sk": {"S": "CART"}}}


def test_a_function_calls_as_its_own_role_and_is_refused_what_the_role_does_not_allow(twin, probe) -> None:
    calls = {
        "own_cart": {"operation": "get_item", "arguments": key("CART#iam-1")},
        "an_order": {"operation": "get_item", "arguments": key("ORDER#iam-1")},
        "a_write": {
            "operation": "put_item",
            "arguments": {"Item": {"pk": {"S": "CART#iam-1"}, "sk": {"S": "CART"}}},
        },
    }
    response = twin.client("lambda").invoke(
        FunctionName=probe["name"], Payload=json.dumps({"calls": calls}).encode()
    )
    result = json.loads(response["Payload"].read())
    assert response.get("FunctionError") is None, result
    assert result["key"] != "testing" and result["key"].startswith("ASIA")
    principal = f"arn:aws:sts::123456789012:assumed-role/{probe['role']}/{probe['name']}"
    assert result["identity"] == principal
    outcomes = result["outcomes"]
    assert outcomes["own_cart"] == "allowed"
    assert outcomes["an_order"]["code"] == "AccessDeniedException"
    assert outcomes["an_order"]["message"] == (
        f"User: {principal} is not authorized to perform: dynamodb:GetItem on resource: {probe['table_arn']} "
        "because no identity-based policy allows the dynamodb:GetItem action"
    )
    assert outcomes["a_write"]["code"] == "AccessDeniedException"
    # The denied write wrote nothing.
    assert "Item" not in twin.client("dynamodb").get_item(TableName=twin.table_name, **key("CART#iam-1"))

    report = json.loads((twin.build_dir / "iam-usage.json").read_text())
    # The table key's kms:Decrypt is DynamoDB's, made as the caller for the allowed read.
    assert report["used"][probe["role"]] == ["dynamodb:GetItem", "kms:Decrypt"]
    assert report["unmapped"] == []


def test_the_shops_functions_run_as_their_roles_with_nothing_unmapped(twin) -> None:
    put = twin.request("PUT", "/carts/iam-cart", json_body={"items": {"SKU-1": 1}})
    assert put.status < 500, put.describe()
    assert twin.request("GET", "/carts/iam-cart").status == 200
    report = json.loads((twin.build_dir / "iam-usage.json").read_text())
    cart_role = twin.client("lambda").get_function_configuration(FunctionName=twin.function_name("cart"))[
        "Role"
    ]
    used = report["used"][cart_role.rsplit("/", 1)[-1]]
    assert "dynamodb:GetItem" in used
    assert report["unmapped"] == []


def _state_machine_role(twin, name: str, statements: list[dict[str, Any]]) -> str:
    return create_role(twin.client("iam"), name, statements, service="states.amazonaws.com", policy="tasks")


def _run_to_the_end(twin, role: str, function: str) -> tuple[str, list[dict[str, Any]]]:
    import time

    states = twin.client("stepfunctions")
    definition = {
        "StartAt": "Call",
        "States": {
            "Call": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": function, "Payload": {"calls": {}}},
                "End": True,
            }
        },
    }
    machine = states.create_state_machine(
        name=f"iam-invoke-{uuid.uuid4().hex[:8]}", definition=json.dumps(definition), roleArn=role
    )["stateMachineArn"]
    execution = states.start_execution(stateMachineArn=machine)["executionArn"]
    deadline = time.monotonic() + 60
    while (status := states.describe_execution(executionArn=execution)["status"]) == "RUNNING":
        assert time.monotonic() < deadline, "the execution did not end"
        time.sleep(0.5)
    return status, states.get_execution_history(executionArn=execution)["events"]


def test_step_functions_invokes_a_task_as_the_state_machines_role(twin, probe) -> None:
    function_arn = twin.client("lambda").get_function_configuration(FunctionName=probe["name"])["FunctionArn"]
    status, events = _run_to_the_end(
        twin, _state_machine_role(twin, f"sfn-mute-{uuid.uuid4().hex[:6]}", []), function_arn
    )
    assert status == "FAILED"
    failure = next(event for event in events if event["type"] == "TaskFailed")["taskFailedEventDetails"]
    assert "is not authorized to perform: lambda:InvokeFunction" in failure["cause"], failure

    invoker = _state_machine_role(
        twin,
        f"sfn-invoker-{uuid.uuid4().hex[:6]}",
        [
            {
                "Effect": "Allow",
                "Action": "lambda:InvokeFunction",
                "Resource": [function_arn, f"{function_arn}:*"],
            }
        ],
    )
    status, _ = _run_to_the_end(twin, invoker, function_arn)
    assert status == "SUCCEEDED"


def test_api_gateway_invokes_only_what_the_functions_resource_policy_allows_for_this_api(twin) -> None:
    lambda_ = twin.client("lambda")
    cart = twin.function_name("cart")
    policy = json.loads(lambda_.get_policy(FunctionName=cart)["Policy"])
    (statement,) = [
        s for s in policy["Statement"] if s["Principal"] == {"Service": "apigateway.amazonaws.com"}
    ]
    source_arn = statement["Condition"]["ArnLike"]["AWS:SourceArn"]
    assert twin.request("GET", "/carts/permitted-1").status in (200, 404)

    def permit(arn: str) -> None:
        lambda_.add_permission(
            FunctionName=cart,
            StatementId=statement["Sid"],
            Action="lambda:InvokeFunction",
            Principal="apigateway.amazonaws.com",
            SourceArn=arn,
        )

    lambda_.remove_permission(FunctionName=cart, StatementId=statement["Sid"])
    try:
        # No permission: API Gateway cannot invoke the function, and an HTTP API answers 500.
        refused = twin.request("GET", "/carts/permitted-1")
        assert (refused.status, refused.json) == (500, {"message": "Internal Server Error"})
        # A permission for another API's ARN does not let this one in.
        other_api = source_arn.replace(source_arn.split(":")[5].split("/")[0], "otherapi1")
        permit(other_api)
        refused = twin.request("GET", "/carts/permitted-1")
        assert refused.status == 500
        lambda_.remove_permission(FunctionName=cart, StatementId=statement["Sid"])
    finally:
        permit(source_arn)
    assert twin.request("GET", "/carts/permitted-1").status in (200, 404)
