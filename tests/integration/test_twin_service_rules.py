"""Each rule of local_twin/service_rules.py, fed the case AWS refuses, on a twin server of its own.

The server runs with a small account concurrency quota (TWIN_LAMBDA_CONCURRENCY_QUOTA=150), as a
test of a new account with a reduced quota would set it.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from local_twin.service_rules import CONCURRENCY_QUOTA_VARIABLE, UNRESERVED_BELOW_MINIMUM
from tests.apply.support import start_twin_server
from tools.stack import client_factory
from tools.tfrun import TWIN_REGION

pytestmark = pytest.mark.twin

REGION = TWIN_REGION  # the region the twin server serves
QUOTA = 150
TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    previous = os.environ.get(CONCURRENCY_QUOTA_VARIABLE)
    os.environ[CONCURRENCY_QUOTA_VARIABLE] = str(QUOTA)
    try:
        server, url = start_twin_server(tmp_path_factory.mktemp("twin-service-rules"))
    finally:
        if previous is None:
            os.environ.pop(CONCURRENCY_QUOTA_VARIABLE)
        else:
            os.environ[CONCURRENCY_QUOTA_VARIABLE] = previous
    try:
        yield url
    finally:
        server.stop()


@pytest.fixture(scope="module")
def aws(endpoint: str) -> Any:
    return client_factory(endpoint, REGION, Config(retries={"max_attempts": 1}))


@pytest.fixture(scope="module")
def role_arn(aws: Any) -> str:
    role = aws("iam").create_role(RoleName="service-rules", AssumeRolePolicyDocument=json.dumps(TRUST))
    return role["Role"]["Arn"]


def code() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return 1\n")
    return buffer.getvalue()


def create(aws: Any, role_arn: str, name: str, **settings: Any) -> dict[str, Any]:
    return aws("lambda").create_function(
        FunctionName=name,
        Runtime=settings.pop("Runtime", "python3.13"),
        Role=role_arn,
        Handler="app.handler",
        Code={"ZipFile": code()},
        **settings,
    )


def refusal(raised: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    error = raised.value.response["Error"]
    return error["Code"], error["Message"]


# ---- reserved concurrency against the account's quota ------------------------------------------
def test_reserved_concurrency_keeps_100_unreserved(aws: Any, role_arn: str) -> None:
    create(aws, role_arn, "reserved-a")
    create(aws, role_arn, "reserved-b")
    settings = aws("lambda").get_account_settings()["AccountLimit"]
    assert settings["ConcurrentExecutions"] == QUOTA
    assert settings["UnreservedConcurrentExecutions"] == QUOTA
    aws("lambda").put_function_concurrency(FunctionName="reserved-a", ReservedConcurrentExecutions=30)
    assert (
        aws("lambda").get_account_settings()["AccountLimit"]["UnreservedConcurrentExecutions"] == QUOTA - 30
    )
    with pytest.raises(ClientError) as raised:  # 150 - 30 - 21 = 99 unreserved: one short
        aws("lambda").put_function_concurrency(FunctionName="reserved-b", ReservedConcurrentExecutions=21)
    assert refusal(raised) == ("InvalidParameterValueException", UNRESERVED_BELOW_MINIMUM)
    assert "Concurrency" not in aws("lambda").get_function(FunctionName="reserved-b")
    aws("lambda").put_function_concurrency(FunctionName="reserved-b", ReservedConcurrentExecutions=20)
    # A function's own reservation is replaced, not added: a-30 -> a-50 leaves 150-50-20 = 80.
    with pytest.raises(ClientError) as raised:
        aws("lambda").put_function_concurrency(FunctionName="reserved-a", ReservedConcurrentExecutions=50)
    assert refusal(raised)[0] == "InvalidParameterValueException"
    aws("lambda").put_function_concurrency(FunctionName="reserved-a", ReservedConcurrentExecutions=10)
    assert aws("lambda").get_account_settings()["AccountLimit"]["UnreservedConcurrentExecutions"] == 120


# ---- SnapStart's constraints ---------------------------------------------------------------
def test_snapstart_needs_python_312_or_later(aws: Any, role_arn: str) -> None:
    with pytest.raises(ClientError) as raised:
        create(aws, role_arn, "snap-311", Runtime="python3.11", SnapStart={"ApplyOn": "PublishedVersions"})
    assert refusal(raised) == (
        "InvalidParameterValueException",
        "python3.11 is not supported for SnapStart enabled functions.",
    )
    created = create(aws, role_arn, "snap-313", SnapStart={"ApplyOn": "PublishedVersions"})
    assert created["SnapStart"]["ApplyOn"] == "PublishedVersions"


def test_snapstart_refuses_ephemeral_storage_over_512_mb(aws: Any, role_arn: str) -> None:
    with pytest.raises(ClientError) as raised:
        create(
            aws,
            role_arn,
            "snap-storage",
            SnapStart={"ApplyOn": "PublishedVersions"},
            EphemeralStorage={"Size": 1024},
        )
    assert refusal(raised)[0] == "InvalidParameterValueException"
    create(aws, role_arn, "snap-later")
    aws("lambda").update_function_configuration(FunctionName="snap-later", EphemeralStorage={"Size": 1024})
    with pytest.raises(ClientError) as raised:  # turning SnapStart on later is checked against the function
        aws("lambda").update_function_configuration(
            FunctionName="snap-later", SnapStart={"ApplyOn": "PublishedVersions"}
        )
    assert refusal(raised)[0] == "InvalidParameterValueException"


# ---- DurableConfig's ranges ----------------------------------------------------------------
def test_durable_config_out_of_range_is_refused(aws: Any, role_arn: str) -> None:
    with pytest.raises(ClientError) as raised:
        create(
            aws, role_arn, "durable-91", DurableConfig={"ExecutionTimeout": 3600, "RetentionPeriodInDays": 91}
        )
    code_, message = refusal(raised)
    assert code_ == "ValidationException"
    assert "durableConfig.retentionPeriodInDays" in message and "less than or equal to 90" in message
    with pytest.raises(ClientError) as raised:
        create(aws, role_arn, "durable-long", DurableConfig={"ExecutionTimeout": 31_622_401})
    assert "less than or equal to 31622400" in refusal(raised)[1]


# ---- ElastiCache RBAC and IAM authentication ------------------------------------------------
def test_an_iam_user_needs_its_id_as_its_name(aws: Any) -> None:
    with pytest.raises(ClientError) as raised:
        aws("elasticache").create_user(
            UserId="app-user",
            UserName="app",
            Engine="valkey",
            AccessString="on ~* +@all",
            AuthenticationMode={"Type": "iam"},
        )
    assert refusal(raised)[0] == "InvalidParameterCombination"
    created = aws("elasticache").create_user(
        UserId="app",
        UserName="app",
        Engine="valkey",
        AccessString="on ~* +@all",
        AuthenticationMode={"Type": "iam"},
    )
    assert created["Authentication"]["Type"] == "iam"


def test_a_replication_group_with_user_groups_needs_encryption_in_transit(aws: Any) -> None:
    with pytest.raises(ClientError) as raised:
        aws("elasticache").create_replication_group(
            ReplicationGroupId="rbac-plain",
            ReplicationGroupDescription="RBAC without TLS",
            Engine="valkey",
            CacheNodeType="cache.t4g.micro",
            NumCacheClusters=1,
            UserGroupIds=["any-group"],
            TransitEncryptionEnabled=False,
        )
    assert refusal(raised)[0] == "InvalidParameterCombination"
    with pytest.raises(ClientError):
        aws("elasticache").describe_replication_groups(ReplicationGroupId="rbac-plain")  # nothing was created


def test_iam_authenticated_users_need_an_engine_that_has_iam_authentication(aws: Any) -> None:
    elasticache = aws("elasticache")
    elasticache.create_user(
        UserId="app-iam",
        UserName="app-iam",
        Engine="valkey",
        AccessString="on ~* +@all",
        AuthenticationMode={"Type": "iam"},
    )
    elasticache.create_user_group(UserGroupId="iam-users", Engine="valkey", UserIds=["default", "app-iam"])
    settings = {
        "ReplicationGroupDescription": "IAM authentication",
        "Engine": "valkey",
        "CacheNodeType": "cache.t4g.micro",
        "NumCacheClusters": 1,
        "UserGroupIds": ["iam-users"],
        "TransitEncryptionEnabled": True,
    }
    with pytest.raises(ClientError) as raised:
        elasticache.create_replication_group(ReplicationGroupId="iam-old", EngineVersion="7.1", **settings)
    code, message = refusal(raised)
    assert code == "InvalidParameterCombination"
    assert "app-iam" in message and "valkey 7.1" in message
    with pytest.raises(ClientError):
        elasticache.describe_replication_groups(ReplicationGroupId="iam-old")  # nothing was created
    created = elasticache.create_replication_group(
        ReplicationGroupId="iam-new", EngineVersion="7.2", **settings
    )
    assert created["ReplicationGroup"]["ReplicationGroupId"] == "iam-new"


def test_a_retried_create_whose_answer_was_lost_gets_its_answer_and_a_new_create_is_refused(
    aws: Any, role_arn: str
) -> None:
    """local_twin/lost_answers.py on the running server: the SDK's second attempt of one call
    (same amz-sdk-invocation-id) gets the 201 its first attempt got; a second call gets AWS's 409."""
    client = aws("lambda")
    attempts = iter((1, 2))

    def as_one_call_sent_twice(request: Any, **_: Any) -> None:
        request.headers["amz-sdk-invocation-id"] = "one-call"
        request.headers["amz-sdk-request"] = f"attempt={next(attempts)}; max=3"

    client.meta.events.register("before-send.lambda.CreateFunction", as_one_call_sent_twice)
    try:
        first = create(client_of(client), role_arn, "answer-lost")
        retried = create(client_of(client), role_arn, "answer-lost")
    finally:
        client.meta.events.unregister("before-send.lambda.CreateFunction", as_one_call_sent_twice)
    assert retried["FunctionArn"] == first["FunctionArn"]
    assert retried["ResponseMetadata"]["RequestId"] == first["ResponseMetadata"]["RequestId"]
    with pytest.raises(ClientError) as raised:
        create(aws, role_arn, "answer-lost")
    assert refusal(raised)[0] == "ResourceConflictException"


def client_of(client: Any) -> Any:
    return lambda service: client
