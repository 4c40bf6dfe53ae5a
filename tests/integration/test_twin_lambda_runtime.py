"""The twin's Lambda runtime contract: warm reuse, context, error shape, timeouts."""

from __future__ import annotations

import io
import json
import shutil
import sys
import textwrap
import uuid
import zipfile

import pytest
from botocore.exceptions import ClientError

from tests.roles import create_role

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
    role = logging_role(twin)
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


def logging_role(twin) -> str:
    """A role that may write its functions' logs, which Lambda does as the role: a stack role would
    only reach its own function's log group, and the twin drops the lines of a role that may not."""
    logs = {
        "Effect": "Allow",
        "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
        "Resource": "*",
    }
    return create_role(twin.client("iam"), f"runtime-probe-{uuid.uuid4().hex[:8]}", [logs], policy="logs")


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


def test_reserved_concurrency_zero_throttles_even_a_warm_function(twin, probe: str) -> None:
    """AWS's way to stop a function: reserved concurrency 0 refuses every invocation with
    TooManyRequestsException, warm environments included (moto stores the 0; the twin read it as
    no reservation at all)."""
    invoke(twin, probe, {})  # warm
    functions = twin.client("lambda")
    functions.put_function_concurrency(FunctionName=probe, ReservedConcurrentExecutions=0)
    try:
        with pytest.raises(ClientError) as refused:
            invoke(twin, probe, {})
        assert refused.value.response["Error"]["Code"] == "TooManyRequestsException"
    finally:
        functions.delete_function_concurrency(FunctionName=probe)
    assert invoke(twin, probe, {})[1] is None


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


# ---- what a worker may import: Lambda's python3.13 runtime, not the suite's venv ----------------
RUNTIME_PROBE = textwrap.dedent(
    """
    import sys


    def handler(event, context):
        found = {}
        for name in event["modules"]:
            try:
                module = __import__(name)
                found[name] = getattr(module, "__file__", None)
            except ImportError:
                found[name] = None
        return {"version": list(sys.version_info[:2]), "path": sys.path, "found": found}
    """
)


def zipped(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def create_function(twin, handler: str, files: dict[str, str], layers: list[str] | None = None) -> str:
    name = f"runtime-{uuid.uuid4().hex[:8]}"
    role = twin.client("lambda").get_function_configuration(FunctionName=twin.function_name("cart"))["Role"]
    twin.client("lambda").create_function(
        FunctionName=name,
        Runtime="python3.13",
        Role=role,
        Handler=handler,
        Code={"ZipFile": zipped(files)},
        Timeout=30,
        Layers=layers or [],
    )
    return name


def stack_layers(twin) -> list[str]:
    """The layers Terraform attached to the cart function: the dependencies layer, as applied."""
    configuration = twin.client("lambda").get_function_configuration(FunctionName=twin.function_name("cart"))
    return [layer["Arn"] for layer in configuration.get("Layers", [])]


def test_the_stack_functions_get_the_dependencies_layer_from_the_apply(twin) -> None:
    layers = stack_layers(twin)
    assert len(layers) == 1 and ":layer:" in layers[0], layers
    name = create_function(twin, "probe.handler", {"probe.py": RUNTIME_PROBE}, layers)
    payload, error = invoke(twin, name, {"modules": ["aws_lambda_powertools", "pydantic", "redis", "boto3"]})
    assert error is None, payload
    assert all(payload["found"].values()), payload["found"]


def test_a_worker_runs_lambdas_python_with_only_the_runtimes_path(twin) -> None:
    from local_twin.lambda_runtime import worker_python

    name = create_function(twin, "probe.handler", {"probe.py": RUNTIME_PROBE})
    payload, error = invoke(
        twin, name, {"modules": ["boto3", "botocore", "aws_durable_execution_sdk_python"]}
    )
    assert error is None, payload
    assert tuple(payload["version"]) == worker_python().version
    if shutil.which("python3.13"):  # this machine has Lambda's CPython: the worker must be on it
        assert tuple(payload["version"]) == (3, 13)
    # The runtime's packages are importable, from the twin's runtime folder; the venv is nowhere.
    assert all(payload["found"].values()), payload["found"]
    assert all("/lambda-runtime/runtime-" in path for path in payload["found"].values())
    assert not [entry for entry in payload["path"] if entry.startswith(sys.prefix)], payload["path"]
    assert not [entry for entry in payload["path"] if "site-packages" in entry and "lambda-" not in entry]


def test_a_package_only_the_venv_has_fails_at_init_as_in_lambda(twin) -> None:
    """hypothesis is installed in the suite's venv, but neither in the layer nor in the runtime."""
    name = create_function(
        twin,
        "app.handler",
        {"app.py": "import hypothesis\n\n\ndef handler(event, context):\n    return 'unreachable'\n"},
        stack_layers(twin),
    )
    payload, error = invoke(twin, name, {})
    assert error == "Unhandled"
    # awslambdaric's bootstrap._get_handler: the python3.13 runtime's words for a missing module.
    assert payload["errorType"] == "Runtime.ImportModuleError"
    assert payload["errorMessage"] == "Unable to import module 'app': No module named 'hypothesis'"


def test_without_the_layer_the_layers_packages_are_missing(twin) -> None:
    name = create_function(
        twin, "app.handler", {"app.py": "import aws_lambda_powertools\n\ndef handler(e, c):\n    return 1\n"}
    )
    payload, error = invoke(twin, name, {})
    assert error == "Unhandled"
    assert payload["errorMessage"] == "Unable to import module 'app': No module named 'aws_lambda_powertools'"


def test_a_layer_published_to_the_twin_is_on_the_path_in_lambdas_folders(twin) -> None:
    published = twin.client("lambda").publish_layer_version(
        LayerName=f"extra-{uuid.uuid4().hex[:6]}",
        Content={
            "ZipFile": zipped(
                {
                    "python/extra_top.py": "WHERE = 'python'\n",
                    "python/lib/python3.13/site-packages/extra_site.py": "WHERE = 'site-packages'\n",
                }
            )
        },
        CompatibleRuntimes=["python3.13"],
    )
    name = create_function(twin, "probe.handler", {"probe.py": RUNTIME_PROBE}, [published["LayerVersionArn"]])
    payload, error = invoke(twin, name, {"modules": ["extra_top", "extra_site"]})
    assert error is None, payload
    assert payload["found"]["extra_top"].endswith("/python/extra_top.py")
    if tuple(payload["version"]) == (3, 13):
        assert payload["found"]["extra_site"].endswith("/python/lib/python3.13/site-packages/extra_site.py")
    # Lambda's order: the task root, then the layers' site-packages, then /opt/python, then the runtime.
    task_root, layer_site, opt_python, runtime = payload["path"][:4]
    assert f"/{name}-" in task_root, "the unpacked function zip comes first"
    assert layer_site.endswith("site-packages") and opt_python.endswith("/python")
    assert layer_site.startswith(opt_python) and "/lambda-runtime/runtime-" in runtime


def test_handler_errors_at_init_are_the_runtimes(twin) -> None:
    missing = create_function(twin, "app.nowhere", {"app.py": "def handler(e, c):\n    return 1\n"})
    payload, _ = invoke(twin, missing, {})
    assert payload["errorType"] == "Runtime.HandlerNotFound"
    assert payload["errorMessage"] == "Handler 'nowhere' missing on module 'app'"
    broken = create_function(twin, "app.handler", {"app.py": "raise KeyError('TABLE_NAME')\n"})
    payload, _ = invoke(twin, broken, {})
    assert payload["errorType"] == "KeyError", "an exception of the module's own init keeps its type"
