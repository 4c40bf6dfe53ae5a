"""The IAM check inside a moto server (local_twin/iam.py's hook), with no stack: a role's keys from
STS, a table, and what botocore sees when the role may not."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto.moto_server.threaded_moto_server import ThreadedMotoServer

from local_twin import iam


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    host, port = moto.get_host_and_port()
    endpoint = f"http://{host}:{port}"

    def admin(service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    sessions = iam.RoleSessions(admin("sts"))
    evaluator = iam.Evaluator()
    report_file = tmp_path_factory.mktemp("iam") / "iam-usage.json"
    enforcer = iam.Enforcer(sessions, evaluator, report_file)
    iam.install(enforcer)
    yield {
        "admin": admin,
        "endpoint": endpoint,
        "sessions": sessions,
        "enforcer": enforcer,
        "report": report_file,
    }
    evaluator.close()
    moto.stop()


def test_a_role_signed_request_is_decided_by_the_roles_policy(server) -> None:
    admin = server["admin"]
    table = admin("dynamodb").create_table(
        TableName="state",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )["TableDescription"]["TableArn"]
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
    role = admin("iam").create_role(RoleName="cart-role", AssumeRolePolicyDocument=json.dumps(trust))["Role"][
        "Arn"
    ]
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "CartItems",
                "Effect": "Allow",
                "Action": ["dynamodb:PutItem", "dynamodb:GetItem"],
                "Resource": table,
                "Condition": {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["CART#*"]}},
            }
        ],
    }
    admin("iam").put_role_policy(
        RoleName="cart-role", PolicyName="least-privilege", PolicyDocument=json.dumps(policy)
    )

    keys = server["sessions"].environment(role, "shop-cart")
    assert keys["AWS_ACCESS_KEY_ID"] != "testing"
    dynamodb = boto3.client(
        "dynamodb",
        endpoint_url=server["endpoint"],
        region_name="us-east-1",
        aws_access_key_id=keys["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=keys["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=keys["AWS_SESSION_TOKEN"],
    )
    dynamodb.put_item(TableName="state", Item={"pk": {"S": "CART#1"}})
    with pytest.raises(ClientError) as denied:
        dynamodb.put_item(TableName="state", Item={"pk": {"S": "ORDER#1"}})
    error = denied.value.response["Error"]
    assert error["Code"] == "AccessDeniedException"
    assert error["Message"] == (
        "User: arn:aws:sts::123456789012:assumed-role/cart-role/shop-cart is not authorized to perform: "
        f"dynamodb:PutItem on resource: {table} because no identity-based policy allows the dynamodb:PutItem action"
    )
    assert denied.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    # The refused write wrote nothing; the admin keys are not checked.
    assert "Item" not in admin("dynamodb").get_item(TableName="state", Key={"pk": {"S": "ORDER#1"}})

    with pytest.raises(ClientError) as unmapped:
        dynamodb.scan(TableName="state")
    assert unmapped.value.response["Error"]["Code"] == "TwinUnmappedOperation"

    report = server["enforcer"].report()
    assert json.loads(server["report"].read_text()) == report  # written as calls happen
    assert report["used"] == {"cart-role": ["dynamodb:PutItem"]}
    assert report["unused"] == {"cart-role": ["dynamodb:GetItem"]}
    assert report["unmapped"] == ["dynamodb:Scan"]
    assert report["used_statements"] == {"cart-role": ["least-privilege#CartItems"]}
    assert report["unused_statements"] == {"cart-role": []}


def client_as(server: dict[str, Any], service: str, role_name: str, function: str) -> Any:
    admin = server["admin"]
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
    role = admin("iam").create_role(RoleName=role_name, AssumeRolePolicyDocument=json.dumps(trust))["Role"][
        "Arn"
    ]
    keys = server["sessions"].environment(role, function)
    return boto3.client(
        service,
        endpoint_url=server["endpoint"],
        region_name="us-east-1",
        aws_access_key_id=keys["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=keys["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=keys["AWS_SESSION_TOKEN"],
    )


def test_lambda_and_step_functions_denials_come_in_their_own_protocols(server) -> None:
    lambda_client = client_as(server, "lambda", "no-grants", "shop-checkout")
    with pytest.raises(ClientError) as invoke:
        lambda_client.invoke(FunctionName="shop-checkout-durable:live", Payload=b"{}")
    assert invoke.value.response["Error"]["Code"] == "AccessDeniedException"
    assert invoke.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert (
        "lambda:InvokeFunction on resource: arn:aws:lambda:us-east-1:123456789012:function:shop-checkout-durable:live"
        in (invoke.value.response["Error"]["Message"])
    )
    states = client_as(server, "stepfunctions", "no-grants-either", "shop-checkout")
    with pytest.raises(ClientError) as answer:
        states.send_task_success(taskToken="token", output="{}")
    assert answer.value.response["Error"]["Code"] == "AccessDeniedException"
    assert "states:SendTaskSuccess on resource: *" in answer.value.response["Error"]["Message"]
