"""The fault injector on the twin, as callers see its faults, and the short chaos subset."""

from __future__ import annotations

import json

import pytest
import requests
from botocore.exceptions import ClientError

from drivers.chaos import run_catalogue, table
from drivers.chaos.catalogue import CATALOGUE
from drivers.chaos.faults import TwinFaults

pytestmark = pytest.mark.twin


def test_the_fault_api_refuses_a_bad_rule_in_the_shop_error_shape(twin) -> None:
    answer = requests.post(f"{twin.endpoint_url}/_twin/faults", json={"kind": "meteor"}, timeout=10)
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_fault_rule"


def test_a_throttled_dynamodb_call_is_retried_by_botocore_and_then_answered(twin) -> None:
    dynamodb = twin.client("dynamodb")  # standard mode, 2 attempts
    with twin.faults.injected(
        {"kind": "error", "code": "ThrottlingException", "operation": "DescribeTable", "count": 1}
    ) as added:
        dynamodb.describe_table(TableName=twin.table_name)  # the retry succeeds
        assert twin.faults.fired(added[0]["id"]) == 1
    with (
        twin.faults.injected(
            {"kind": "error", "code": "ThrottlingException", "operation": "DescribeTable", "count": 5}
        ),
        pytest.raises(ClientError) as refused,
    ):
        dynamodb.describe_table(TableName=twin.table_name)
    assert refused.value.response["Error"]["Code"] == "ThrottlingException"


@pytest.mark.parametrize("phase", ["before", "after"])
def test_a_killed_environment_reaches_the_caller_as_lambda_reports_it(twin, phase: str) -> None:
    name = twin.function_name("catalog")
    with twin.faults.injected({"kind": "lambda-crash", "function": name, "phase": phase, "count": 1}):
        response = twin.client("lambda").invoke(FunctionName=name, Payload=b"{}")
    assert response["FunctionError"] == "Unhandled"
    payload = json.loads(response["Payload"].read())
    assert payload["errorType"] == "Runtime.ExitError"
    assert payload["errorMessage"].endswith("Error: Runtime exited with error: signal: killed")
    assert payload["errorMessage"].startswith("RequestId: ")


def test_an_invocation_past_its_timeout_is_sandbox_timedout(twin) -> None:
    name = twin.function_name("catalog")
    timeout = twin.client("lambda").get_function_configuration(FunctionName=name)["Timeout"]
    with twin.faults.injected({"kind": "lambda-timeout", "function": name, "count": 1}):
        response = twin.client("lambda").invoke(FunctionName=name, Payload=b"{}")
    payload = json.loads(response["Payload"].read())
    assert response["FunctionError"] == "Unhandled"
    assert payload["errorType"] == "Sandbox.Timedout"
    assert f"Task timed out after {timeout:.2f} seconds" in payload["errorMessage"]


def test_the_short_chaos_subset_keeps_every_invariant(twin) -> None:
    subset = [experiment for experiment in CATALOGUE if experiment.short]
    assert subset
    results = run_catalogue(twin, TwinFaults(twin.faults), subset)
    print("\n".join(table(results, subset)))
    for experiment in subset:
        assert results[f"chaos.{experiment.name}.fault_report.faults_fired"] > 0, experiment.name
    assert results["chaos.passed"], "\n".join(table(results, subset))
