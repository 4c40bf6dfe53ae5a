"""The IAM check inside a moto server (local_twin/iam.py's hook), with no stack: a role's keys from
STS, a table, and what botocore sees when the role may not."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from local_twin import iam
from tests.moto_servers import moto_server
from tests.roles import create_role, put_policy


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    with moto_server() as (endpoint, admin):
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
    role = create_role(server["admin"]("iam"), role_name)
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


def _key(server: dict[str, Any], statements: list[dict[str, Any]]) -> str:
    policy = {"Version": "2012-10-17", "Statement": statements}
    return server["admin"]("kms").create_key(Policy=json.dumps(policy))["KeyMetadata"]["Arn"]


def _encrypted_table(server: dict[str, Any], name: str, key: str | None) -> str:
    specification: dict[str, Any] = {"Enabled": True, "SSEType": "KMS"}
    if key is not None:
        specification["KMSMasterKeyId"] = key
    return server["admin"]("dynamodb").create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        SSESpecification=specification,
    )["TableDescription"]["TableArn"]


def _grant(server: dict[str, Any], role: str, statements: list[dict[str, Any]]) -> None:
    put_policy(server["admin"]("iam"), role, "least-privilege", statements)


ACCOUNT_ADMINISTERS = {
    "Sid": "AccountAdministers",
    "Effect": "Allow",
    "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
    "Action": "kms:*",
    "Resource": "*",
}
KMS_DENIED_PREFIX = (
    "KMS key access denied error: com.amazonaws.services.kms.model.AWSKMSException: The ciphertext refers "
    "to a customer master key that does not exist"
)


def test_a_table_under_a_customer_managed_key_needs_its_key_through_dynamodb(server) -> None:
    key = _key(server, [ACCOUNT_ADMINISTERS])
    table = _encrypted_table(server, "cmk-table", key)
    dynamodb = client_as(server, "dynamodb", "cmk-writer", "shop-cmk-writer")
    _grant(server, "cmk-writer", [{"Effect": "Allow", "Action": ["dynamodb:PutItem"], "Resource": table}])

    # The table's own grant is not enough: DynamoDB unwraps the table key as the caller.
    with pytest.raises(ClientError) as denied:
        dynamodb.put_item(TableName="cmk-table", Item={"pk": {"S": "CART#1"}})
    assert denied.value.response["Error"]["Code"] == "AccessDeniedException"
    assert denied.value.response["Error"]["Message"].startswith(KMS_DENIED_PREFIX)
    assert denied.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert "Item" not in server["admin"]("dynamodb").get_item(
        TableName="cmk-table", Key={"pk": {"S": "CART#1"}}
    )

    # Allowed through DynamoDB only: the statement's kms:ViaService condition is met by the request.
    _grant(
        server,
        "cmk-writer",
        [
            {"Effect": "Allow", "Action": ["dynamodb:PutItem"], "Resource": table},
            {
                "Sid": "TableKeyThroughDynamoDB",
                "Effect": "Allow",
                "Action": "kms:Decrypt",
                "Resource": key,
                "Condition": {"StringEquals": {"kms:ViaService": "dynamodb.us-east-1.amazonaws.com"}},
            },
        ],
    )
    dynamodb.put_item(TableName="cmk-table", Item={"pk": {"S": "CART#1"}})
    assert "Item" in server["admin"]("dynamodb").get_item(TableName="cmk-table", Key={"pk": {"S": "CART#1"}})
    assert "kms:Decrypt" in server["enforcer"].report()["used"]["cmk-writer"]

    # A grant through another service does not reach DynamoDB's request.
    _grant(
        server,
        "cmk-writer",
        [
            {"Effect": "Allow", "Action": ["dynamodb:PutItem"], "Resource": table},
            {
                "Effect": "Allow",
                "Action": "kms:Decrypt",
                "Resource": key,
                "Condition": {"StringEquals": {"kms:ViaService": "sqs.us-east-1.amazonaws.com"}},
            },
        ],
    )
    with pytest.raises(ClientError) as elsewhere:
        dynamodb.put_item(TableName="cmk-table", Item={"pk": {"S": "CART#2"}})
    assert elsewhere.value.response["Error"]["Message"].startswith(KMS_DENIED_PREFIX)


def test_a_key_policy_that_does_not_delegate_to_iam_refuses_whatever_the_role_says(server) -> None:
    # Without the account-root statement the key policy alone decides, and it names nobody here.
    key = _key(
        server,
        [
            {
                "Sid": "SomeoneElse",
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::123456789012:role/someone-else"},
                "Action": "kms:*",
                "Resource": "*",
            }
        ],
    )
    table = _encrypted_table(server, "closed-key-table", key)
    dynamodb = client_as(server, "dynamodb", "closed-key-reader", "shop-closed-key-reader")
    _grant(
        server,
        "closed-key-reader",
        [
            {"Effect": "Allow", "Action": ["dynamodb:GetItem"], "Resource": table},
            {"Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": key},
        ],
    )
    with pytest.raises(ClientError) as denied:
        dynamodb.get_item(TableName="closed-key-table", Key={"pk": {"S": "CART#1"}})
    assert denied.value.response["Error"]["Message"].startswith(KMS_DENIED_PREFIX)


def test_a_table_under_the_aws_managed_key_needs_no_key_grant(server) -> None:
    table = _encrypted_table(server, "aws-managed-table", None)
    dynamodb = client_as(server, "dynamodb", "aws-managed-reader", "shop-aws-managed-reader")
    _grant(
        server, "aws-managed-reader", [{"Effect": "Allow", "Action": ["dynamodb:GetItem"], "Resource": table}]
    )
    assert "Item" not in dynamodb.get_item(TableName="aws-managed-table", Key={"pk": {"S": "CART#1"}})


def _zip() -> bytes:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", "def handler(event, context):\n    return event\n")
    return buffer.getvalue()


def _function_role(server: dict[str, Any], name: str, statements: list[dict[str, Any]]) -> str:
    return create_role(server["admin"]("iam"), name, statements)


def _create_function(server: dict[str, Any], name: str, role: str, **settings: Any) -> dict[str, Any]:
    return server["admin"]("lambda").create_function(
        FunctionName=name,
        Runtime="python3.13",
        Role=role,
        Handler="handler.handler",
        Code={"ZipFile": _zip()},
        **settings,
    )


ENI_ACTIONS = ["ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces", "ec2:DeleteNetworkInterface"]


def test_a_function_in_a_vpc_needs_a_role_that_may_manage_its_network_interfaces(server) -> None:
    ec2 = server["admin"]("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.9.1.0/24")["Subnet"]["SubnetId"]
    vpc_config = {"SubnetIds": [subnet], "SecurityGroupIds": []}

    # Two of the three: Lambda names the one it may not call.
    partial = _function_role(
        server,
        "vpc-partial",
        [{"Effect": "Allow", "Action": ENI_ACTIONS[:1] + ENI_ACTIONS[2:], "Resource": "*"}],
    )
    with pytest.raises(ClientError) as refused:
        _create_function(server, "shop-in-vpc", partial, VpcConfig=vpc_config)
    assert refused.value.response["Error"]["Code"] == "InvalidParameterValueException"
    assert refused.value.response["Error"]["Message"] == (
        "The provided execution role does not have permissions to call DescribeNetworkInterfaces on EC2"
    )
    assert "shop-in-vpc" not in [
        f["FunctionName"] for f in server["admin"]("lambda").list_functions()["Functions"]
    ]

    allowed = _function_role(
        server, "vpc-allowed", [{"Effect": "Allow", "Action": ENI_ACTIONS, "Resource": "*"}]
    )
    _create_function(server, "shop-in-vpc", allowed, VpcConfig=vpc_config)

    # Moving a function into a VPC later is checked the same way.
    _create_function(server, "shop-outside", partial)
    with pytest.raises(ClientError) as moved:
        server["admin"]("lambda").update_function_configuration(
            FunctionName="shop-outside", VpcConfig=vpc_config
        )
    assert "DescribeNetworkInterfaces on EC2" in moved.value.response["Error"]["Message"]


def test_a_dead_letter_queue_needs_a_role_that_may_send_to_it(server) -> None:
    sqs = server["admin"]("sqs")
    url = sqs.create_queue(QueueName="shop-dlq")["QueueUrl"]
    queue = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    other = _function_role(
        server,
        "dlq-elsewhere",
        [{"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": queue + "-other"}],
    )
    with pytest.raises(ClientError) as refused:
        _create_function(server, "shop-with-dlq", other, DeadLetterConfig={"TargetArn": queue})
    assert refused.value.response["Error"]["Message"] == (
        "The provided execution role does not have permissions to call SendMessage on SQS"
    )
    sender = _function_role(
        server, "dlq-sender", [{"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": queue}]
    )
    _create_function(server, "shop-with-dlq", sender, DeadLetterConfig={"TargetArn": queue})


def test_a_stream_mapping_needs_a_role_that_may_read_the_stream(server) -> None:
    stream = server["admin"]("dynamodb").create_table(
        TableName="streamed",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )["TableDescription"]["LatestStreamArn"]
    reads = ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"]
    # ListStreams scoped to the stream, as the other three are: a grant that can never match, since
    # ListStreams has no resource type and only "*" allows it.
    blind = _function_role(
        server,
        "stream-blind",
        [{"Effect": "Allow", "Action": [*reads, "dynamodb:ListStreams"], "Resource": stream}],
    )
    _create_function(server, "shop-blind-reader", blind)
    with pytest.raises(ClientError) as refused:
        server["admin"]("lambda").create_event_source_mapping(
            FunctionName="shop-blind-reader", EventSourceArn=stream, StartingPosition="LATEST"
        )
    assert refused.value.response["Error"]["Code"] == "InvalidParameterValueException"
    assert refused.value.response["Error"]["Message"] == (
        f"Cannot access stream {stream}. Please ensure the role can perform the GetRecords, GetShardIterator, "
        "DescribeStream, and ListStreams Actions on your stream in IAM."
    )
    assert (
        server["admin"]("lambda").list_event_source_mappings(FunctionName="shop-blind-reader")[
            "EventSourceMappings"
        ]
        == []
    )

    reader = _function_role(
        server,
        "stream-reader",
        [
            {"Effect": "Allow", "Action": reads, "Resource": stream},
            {"Effect": "Allow", "Action": "dynamodb:ListStreams", "Resource": "*"},
        ],
    )
    _create_function(server, "shop-reader", reader)
    server["admin"]("lambda").create_event_source_mapping(
        FunctionName="shop-reader", EventSourceArn=stream, StartingPosition="LATEST"
    )
    assert {*reads, "dynamodb:ListStreams"} <= set(server["enforcer"].report()["used"]["stream-reader"])


def test_lambda_delivers_a_functions_logs_only_as_a_role_that_may_write_them(server) -> None:
    enforcer = server["enforcer"]
    group = "/aws/lambda/shop-logger"
    streams = f"arn:aws:logs:us-east-1:123456789012:log-group:{group}:*"
    writer = _function_role(
        server,
        "log-writer",
        [{"Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"], "Resource": streams}],
    )
    assert enforcer.may_deliver_logs(writer, "shop-logger", "123456789012", "us-east-1", group, exists=True)
    # The group is gone and the role may not create it: Lambda drops the lines.
    assert not enforcer.may_deliver_logs(
        writer, "shop-logger", "123456789012", "us-east-1", group, exists=False
    )
    # Another function's group is not this role's.
    assert not enforcer.may_deliver_logs(
        writer, "shop-logger", "123456789012", "us-east-1", "/aws/lambda/shop-other", exists=True
    )
    silent = _function_role(server, "log-silent", [])
    assert not enforcer.may_deliver_logs(
        silent, "shop-logger", "123456789012", "us-east-1", group, exists=True
    )
    assert {"logs:CreateLogStream", "logs:PutLogEvents"} <= set(enforcer.report()["used"]["log-writer"])


def test_a_state_machine_under_a_customer_managed_key_needs_it_to_start_and_describe(server) -> None:
    key = _key(server, [ACCOUNT_ADMINISTERS])
    admin_states = server["admin"]("stepfunctions")
    machine_role = _function_role(server, "machine-role", [])
    machine = admin_states.create_state_machine(
        name="checkout-cmk",
        definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}),
        roleArn=machine_role,
        encryptionConfiguration={
            "type": "CUSTOMER_MANAGED_KMS_KEY",
            "kmsKeyId": key,
            "kmsDataKeyReusePeriodSeconds": 300,
        },
    )["stateMachineArn"]
    states = client_as(server, "stepfunctions", "starter", "shop-starter")
    start = {"Effect": "Allow", "Action": ["states:StartExecution"], "Resource": machine}
    _grant(server, "starter", [start])
    with pytest.raises(ClientError) as refused:
        states.start_execution(stateMachineArn=machine, name="order-1", input="{}")
    assert refused.value.response["Error"]["Code"] == "KmsAccessDeniedException"
    assert refused.value.response["Error"]["Message"] == (
        "Either your AWS KMS key policy or API caller does not have the required permissions."
    )
    assert admin_states.list_executions(stateMachineArn=machine)["executions"] == []

    # The grant the stack gives checkout: through Step Functions, for this state machine only.
    through_states = {
        "Effect": "Allow",
        "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
        "Resource": key,
        "Condition": {
            "StringEquals": {
                "kms:ViaService": "states.us-east-1.amazonaws.com",
                "kms:EncryptionContext:aws:states:stateMachineArn": machine,
            }
        },
    }
    describe = {"Effect": "Allow", "Action": ["states:DescribeExecution"], "Resource": "*"}
    _grant(server, "starter", [start, describe, through_states])
    execution = states.start_execution(stateMachineArn=machine, name="order-1", input="{}")["executionArn"]
    assert states.describe_execution(executionArn=execution)["name"] == "order-1"

    # Another state machine's context does not open this one's executions.
    elsewhere = {
        **through_states,
        "Condition": {"StringEquals": {**through_states["Condition"]["StringEquals"]}},
    }
    elsewhere["Condition"]["StringEquals"]["kms:EncryptionContext:aws:states:stateMachineArn"] = (
        machine + "-other"
    )
    _grant(server, "starter", [start, describe, elsewhere])
    with pytest.raises(ClientError) as unreadable:
        states.describe_execution(executionArn=execution)
    assert unreadable.value.response["Error"]["Code"] == "KmsAccessDeniedException"


def test_the_report_outlives_a_deleted_role_and_a_missing_role_is_lambdas_to_refuse(server) -> None:
    # A stack destroyed after its functions were checked: its roles are gone, the report goes on.
    stream_role = _function_role(
        server, "short-lived", [{"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*"}]
    )
    sqs = server["admin"]("sqs")
    url = sqs.create_queue(QueueName="short-lived-dlq")["QueueUrl"]
    queue = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    _create_function(server, "shop-short-lived", stream_role, DeadLetterConfig={"TargetArn": queue})
    assert "short-lived" in server["enforcer"].report()["used"]
    server["admin"]("lambda").delete_function(FunctionName="shop-short-lived")
    server["admin"]("iam").delete_role_policy(RoleName="short-lived", PolicyName="least-privilege")
    server["admin"]("iam").delete_role(RoleName="short-lived")
    assert "short-lived" not in server["enforcer"].report()["used"]

    # A role that does not exist is not the twin's to judge: Lambda answers that one itself.
    with pytest.raises(ClientError) as missing:
        _create_function(server, "shop-no-role", stream_role, DeadLetterConfig={"TargetArn": queue})
    assert missing.value.response["Error"]["Code"] == "InvalidParameterValueException"
    assert (
        missing.value.response["Error"]["Message"]
        == "The role defined for the function cannot be assumed by Lambda."
    )


def test_a_log_group_key_must_let_cloudwatch_logs_use_it_for_that_group(server) -> None:
    logs = server["admin"]("logs")
    group_arn = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/shop-encrypted"
    closed = _key(server, [ACCOUNT_ADMINISTERS])  # AWS's default key policy: no service may use it
    with pytest.raises(ClientError) as refused:
        logs.create_log_group(logGroupName="/aws/lambda/shop-encrypted", kmsKeyId=closed)
    assert refused.value.response["Error"]["Code"] == "AccessDeniedException"
    assert refused.value.response["Error"]["Message"] == (
        f"The specified KMS key does not exist or is not allowed to be used with Arn '{group_arn}'"
    )
    assert logs.describe_log_groups(logGroupNamePrefix="/aws/lambda/shop-encrypted")["logGroups"] == []

    logs_may = {
        "Sid": "CloudWatchLogsEncryptsThisFunctionsLogs",
        "Effect": "Allow",
        "Principal": {"Service": "logs.us-east-1.amazonaws.com"},
        "Action": ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
        "Resource": "*",
        "Condition": {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": group_arn}},
    }
    # A key for another group's logs is refused for this one (the condition is the group's ARN).
    elsewhere = _key(
        server,
        [
            ACCOUNT_ADMINISTERS,
            {
                **logs_may,
                "Condition": {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": group_arn + "-other"}},
            },
        ],
    )
    with pytest.raises(ClientError):
        logs.create_log_group(logGroupName="/aws/lambda/shop-encrypted", kmsKeyId=elsewhere)
    opened = _key(server, [ACCOUNT_ADMINISTERS, logs_may])
    logs.create_log_group(logGroupName="/aws/lambda/shop-encrypted", kmsKeyId=opened)
    assert (
        logs.describe_log_groups(logGroupNamePrefix="/aws/lambda/shop-encrypted")["logGroups"][0]["kmsKeyId"]
        == opened
    )
