"""Runs a handler in-process against moto (no server) with a Lambda-like context."""

from __future__ import annotations

import importlib
import json
import sys
from dataclasses import dataclass
from typing import Any

import boto3


@dataclass
class FakeContext:
    function_name: str = "unit"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:unit"
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


def create_state_table(name: str) -> Any:
    resource = boto3.resource("dynamodb", region_name="us-east-1")
    return resource.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
    )


def create_placeholder_state_machine() -> str:
    """A state machine that succeeds at once, for handlers that start executions; returns its ARN."""
    return boto3.client("stepfunctions").create_state_machine(
        name="checkout",
        definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}),
        roleArn="arn:aws:iam::123456789012:role/checkout",
    )["stateMachineArn"]


def fresh_import(module: str) -> Any:
    """Handlers build clients at import time, as in Lambda; import inside the mock."""
    sys.modules.pop(module, None)
    return importlib.import_module(module)
