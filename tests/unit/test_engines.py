"""shop.engines: each engine's reads, on moto (Step Functions) and a stubbed Lambda (durable)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3
from botocore.stub import Stubber
from moto import mock_aws
from shop.engines import Durable, StepFunctions, progress

from tests.unit.handler_harness import create_placeholder_state_machine


def test_step_functions_starts_once_per_order_and_lists_recent_executions() -> None:
    with mock_aws():
        client = boto3.client("stepfunctions")
        engine = StepFunctions(lambda: client, create_placeholder_state_machine())
        before = datetime.now(UTC) - timedelta(seconds=1)
        first = engine.start("order-1", requires_approval=False)
        assert engine.start("order-1", requires_approval=False) == first, "a second start finds the first"
        engine.start("order-2", requires_approval=True)
        assert engine.executions_since(before) == [first, first.replace("order-1", "order-2")]
        assert engine.executions_since(datetime.now(UTC) + timedelta(minutes=1)) == []
        assert sorted(engine.execution_names()) == ["order-1", "order-2"]
        assert progress(engine, first).status in {"RUNNING", "SUCCEEDED"}


def test_durable_lists_recent_executions_by_start_time() -> None:
    client = boto3.client("lambda", region_name="us-east-1")
    since = datetime(2026, 1, 1, tzinfo=UTC)
    engine = Durable(lambda: client, "checkout-durable:live")

    def execution(name: str, minutes: int) -> dict:
        return {
            "DurableExecutionArn": f"arn:aws:lambda:us-east-1:123456789012:function:checkout-durable:1/durable-execution/{name}/run",
            "DurableExecutionName": name,
            "FunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:checkout-durable:1",
            "Status": "SUCCEEDED",
            "StartTimestamp": since + timedelta(minutes=minutes),
        }

    with Stubber(client) as stubber:
        stubber.add_response(
            "list_durable_executions_by_function",
            {"DurableExecutions": [execution("later", 5), execution("before", -1), execution("sooner", 1)]},
            {"FunctionName": "checkout-durable:live"},
        )
        assert [arn.split("/")[-2] for arn in engine.executions_since(since)] == ["sooner", "later"]
