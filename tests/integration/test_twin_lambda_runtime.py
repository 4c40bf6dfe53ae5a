"""The twin's Lambda runtime contract: warm reuse, context, error shape, timeouts."""

from __future__ import annotations

import io
import json
import textwrap
import uuid
import zipfile

import pytest

pytestmark = pytest.mark.twin

PROBE = textwrap.dedent(
    """
    import os, time

    INVOCATIONS = 0  # module scope: survives while the execution environment is warm


    class PaymentGatewayDown(Exception):
        pass


    def handler(event, context):
        global INVOCATIONS
        INVOCATIONS += 1
        if event.get("raise"):
            raise PaymentGatewayDown("gateway said no")
        if event.get("sleep"):
            time.sleep(event["sleep"])
        print("a log line from the handler")
        return {
            "invocations_in_this_environment": INVOCATIONS,
            "pid": os.getpid(),
            "request_id": context.aws_request_id,
            "function_name": context.function_name,
            "arn": context.invoked_function_arn,
            "remaining_ms": context.get_remaining_time_in_millis(),
            "memory": context.memory_limit_in_mb,
            "greeting": os.environ.get("GREETING"),
        }
    """
)


@pytest.fixture(scope="module")
def probe(twin) -> str:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("probe.py", PROBE)
    name = f"probe-{uuid.uuid4().hex[:8]}"
    # Any role terraform made for the stack will do: the twin does not enforce IAM.
    role = twin.client("lambda").get_function_configuration(FunctionName=twin.function_name("cart"))["Role"]
    twin.client("lambda").create_function(
        FunctionName=name,
        Runtime="python3.13",
        Role=role,
        Handler="probe.handler",
        Code={"ZipFile": buffer.getvalue()},
        Timeout=2,
        MemorySize=256,
        Environment={"Variables": {"GREETING": "hello"}},
    )
    return name


def invoke(twin, name: str, event: dict) -> tuple[dict, str | None]:
    response = twin.client("lambda").invoke(FunctionName=name, Payload=json.dumps(event).encode())
    return json.loads(response["Payload"].read()), response.get("FunctionError")


def test_context_environment_and_warm_reuse(twin, probe: str) -> None:
    first, error = invoke(twin, probe, {})
    second, _ = invoke(twin, probe, {})
    assert error is None
    assert first["function_name"] == probe and first["arn"].endswith(f":function:{probe}")
    assert first["memory"] == 256 and first["greeting"] == "hello"
    assert 0 < first["remaining_ms"] <= 2000
    assert first["request_id"] != second["request_id"]
    assert second["pid"] == first["pid"], "a warm environment serves the next invocation"
    assert second["invocations_in_this_environment"] == first["invocations_in_this_environment"] + 1


def test_errors_come_back_in_lambdas_shape(twin, probe: str) -> None:
    payload, error = invoke(twin, probe, {"raise": True})
    assert error == "Unhandled"
    assert payload["errorType"] == "PaymentGatewayDown"
    assert payload["errorMessage"] == "gateway said no"
    assert isinstance(payload["stackTrace"], list)


def test_timeouts_are_enforced_and_the_environment_replaced(twin, probe: str) -> None:
    before, _ = invoke(twin, probe, {})
    payload, error = invoke(twin, probe, {"sleep": 5})
    assert error == "Unhandled"
    assert payload["errorType"] == "Sandbox.Timedout"
    assert "Task timed out after 2.00 seconds" in payload["errorMessage"]
    after, _ = invoke(twin, probe, {})
    assert after["pid"] != before["pid"], "a timed-out environment is not reused"


def test_invocation_output_reaches_cloudwatch_logs(twin, probe: str) -> None:
    payload, _ = invoke(twin, probe, {})
    events = twin.client("logs").filter_log_events(logGroupName=f"/aws/lambda/{probe}")["events"]
    text = "\n".join(event["message"] for event in events)
    assert f"START RequestId: {payload['request_id']}" in text
    assert "a log line from the handler" in text
