"""The twin's durable execution service (local_twin/durable.py) without a moto server: which
requests it takes, execution names, and byte-for-byte forwarding of the durable API."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from local_twin.durable import (
    DurableExecutionAlreadyStarted,
    DurableExecutions,
    is_durable_api,
    is_handler_invocation,
)


@pytest.mark.parametrize(
    ("path", "durable"),
    [
        ("/2025-12-01/durable-executions/abc%2Fdef/checkpoint", True),
        ("/2025-12-01/durable-executions/abc%2Fdef/history", True),
        ("/2025-12-01/durable-execution-callbacks/Y2I=/succeed", True),
        ("/2025-12-01/functions/checkout-durable/durable-executions", True),
        ("/2015-03-31/functions/checkout-durable/invocations", False),
        ("/2025-12-01/functions/checkout-durable/configuration", False),
        ("/moto-api/config", False),
    ],
)
def test_only_the_durable_execution_api_is_forwarded(path: str, durable: bool) -> None:
    assert is_durable_api(path) is durable


def test_the_runners_handler_invokes_are_told_apart_from_callers_invokes() -> None:
    assert is_handler_invocation({"X-Dex-Handler-Invoke": "true"})
    assert not is_handler_invocation({"X-Amz-Durable-Execution-Name": "order-1"})


@pytest.fixture
def service() -> Iterator[DurableExecutions]:
    # Nothing listens at this endpoint: the runner's invokes fail and are retried later, which
    # these tests do not wait for.
    running = DurableExecutions("http://127.0.0.1:9", "us-east-1", invocation_concurrency=2)
    try:
        yield running
    finally:
        running.stop()


def test_a_name_starts_one_execution_and_another_payload_is_refused(service: DurableExecutions) -> None:
    first = service.start("checkout-durable", "1", "order-1", '{"order_id": "1"}')
    assert service.start("checkout-durable", "1", "order-1", '{"order_id": "1"}') == first
    with pytest.raises(DurableExecutionAlreadyStarted, match="different payload"):
        service.start("checkout-durable", "1", "order-1", '{"order_id": "2"}')
    assert service.start("checkout-durable", "1", "order-2", '{"order_id": "1"}') != first
    assert service.start("other-function", "1", "order-1", '{"order_id": "1"}') != first


def call(service: DurableExecutions, method: str, raw_uri: str, body: bytes = b"") -> tuple[str, Any]:
    answer: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        answer["status"], answer["headers"] = status, dict(headers)

    environ = {
        "REQUEST_METHOD": method,
        "RAW_URI": raw_uri,
        "PATH_INFO": raw_uri.split("?")[0].replace("%2F", "/"),
        "CONTENT_LENGTH": str(len(body)),
        "CONTENT_TYPE": "application/json",
        "wsgi.input": io.BytesIO(body),
    }
    payload = b"".join(service.forward(environ, start_response))
    assert answer["headers"]["Content-Length"] == str(len(payload))
    return answer["status"], json.loads(payload)


def test_forwarding_keeps_the_escaped_arn_and_the_runners_answer(service: DurableExecutions) -> None:
    arn = service.start("checkout-durable", "1", "order-3", "{}")
    escaped = arn.replace("/", "%2F")
    status, execution = call(service, "GET", f"/2025-12-01/durable-executions/{escaped}")
    assert status.startswith("200")
    assert (execution["DurableExecutionArn"], execution["DurableExecutionName"]) == (arn, "order-3")
    status, error = call(service, "GET", "/2025-12-01/durable-executions/no-such%2Fexecution")
    # Lambda's error shape (its name in x-amzn-ErrorType: test_the_runners_errors_reach_callers_...)
    assert (status, error["Type"]) == ("404 Not Found", "User") and error["message"]


def test_make_twin_takes_only_the_stacks_engines(capsys: pytest.CaptureFixture[str]) -> None:
    from local_twin import cli

    with pytest.raises(SystemExit) as refused:
        cli.main(["serve", "--checkout-engine", "express"])
    assert refused.value.code == 2
    assert "invalid choice: 'express'" in capsys.readouterr().err


def test_the_engine_switch_refuses_an_unknown_engine_before_touching_the_stack() -> None:
    from local_twin.twin import LocalTwin

    twin = LocalTwin(endpoint_url="http://127.0.0.1:9", build_dir=Path("unused"))
    with pytest.raises(ValueError, match="must be one of"), twin.checkout_engine("express"):
        pass
    with twin.checkout_engine(None):  # the stack's own engine: nothing to change, nothing called
        pass


def test_the_runners_errors_reach_callers_as_lambdas_rest_json_errors() -> None:
    """botocore reads a REST-JSON error's code from x-amzn-ErrorType; the runner's "Type" alone made
    every not-found a bare "404" that no caller could tell apart."""
    import json

    from local_twin.durable import lambda_error

    headers, body = lambda_error(
        404,
        [("Content-Type", "application/json")],
        json.dumps(
            {"Type": "ResourceNotFoundException", "Message": "Durable Execution does not exist"}
        ).encode(),
    )
    assert ("x-amzn-ErrorType", "ResourceNotFoundException:") in headers
    assert json.loads(body) == {"Type": "User", "message": "Durable Execution does not exist"}
    _, server_body = lambda_error(
        500, [], json.dumps({"Type": "ServiceException", "message": "boom"}).encode()
    )
    assert json.loads(server_body)["Type"] == "Service"
    # Already Lambda's shape, or not JSON: left as it is.
    shaped = [("x-amzn-ErrorType", "TooManyRequestsException:")]
    assert lambda_error(429, shaped, b"{}") == (shaped, b"{}")
    assert lambda_error(502, [], b"<html>") == ([], b"<html>")
