"""Apply a module for real and check the result through the AWS API (pytest-terraform).

Opt-in: set SERVERLESS_STATE_APPLY=1 with AWS credentials for a sandbox account (or an
AWS_ENDPOINT_URL that emulates one) and a terraform >= 1.10 on PATH. It costs a few
cents and destroys what it creates.
"""

from __future__ import annotations

import os
import shutil

import boto3
import pytest

APPLY_ENABLED = os.environ.get("SERVERLESS_STATE_APPLY") == "1"
HAS_CREDENTIALS = boto3.session.Session().get_credentials() is not None
SKIP_REASON = (
    "apply tests are opt-in: set SERVERLESS_STATE_APPLY=1 with sandbox AWS credentials and terraform >= 1.10"
    if not APPLY_ENABLED
    else "no AWS credentials or no terraform on PATH"
)

pytestmark = [
    pytest.mark.apply,
    pytest.mark.skipif(
        not (APPLY_ENABLED and HAS_CREDENTIALS and shutil.which("terraform")), reason=SKIP_REASON
    ),
]

if APPLY_ENABLED:
    from pytest_terraform import terraform

    @terraform("state_table_basic", scope="session", teardown=terraform.TEARDOWN_ON)
    def test_state_table_is_protected(state_table_basic) -> None:
        name = state_table_basic.outputs["table_name"]["value"]
        dynamodb = boto3.client("dynamodb")
        table = dynamodb.describe_table(TableName=name)["Table"]
        assert table["SSEDescription"]["SSEType"] == "KMS"
        ttl = dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
        assert ttl["AttributeName"] == "expires_at"
        backups = dynamodb.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]
        assert backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"
else:

    def test_apply_suite_is_opt_in() -> None:
        raise AssertionError("unreachable: the module-level skip applies")
