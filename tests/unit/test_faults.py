"""The fault injector's rules and AWS-shaped answers, without a server: botocore's own parser
and retry classifier read each error response as they would AWS's."""

from __future__ import annotations

import json
import random

import botocore.session
import pytest
from botocore.awsrequest import HeadersDict
from botocore.parsers import create_parser
from botocore.retries import standard

from local_twin import faults


def parse(service: str, operation: str, code: str, request_body: bytes = b"{}") -> dict:
    call = faults.Call(service, operation, None)
    status, headers, body = faults.error_response(code, call, request_body)
    model = botocore.session.get_session().get_service_model(
        service if service != "states" else "stepfunctions"
    )
    parser = create_parser(model.metadata["protocol"])
    response = {"status_code": status, "headers": HeadersDict(headers), "body": body}
    parsed = parser.parse(response, model.operation_model(operation).output_shape)
    # What botocore's endpoint adds: the error shape's own members (CancellationReasons, Reason).
    error_shape = model.shape_for_error_code(parsed["Error"]["Code"])
    if error_shape is not None:
        parsed.update(parser.parse(response, error_shape))
    return {"status": status, **parsed}


@pytest.mark.parametrize(
    ("code", "status", "retried_by_standard_mode"),
    [
        ("ThrottlingException", 400, True),
        ("ProvisionedThroughputExceededException", 400, True),
        ("InternalServerError", 500, True),
        ("HTTP503", 503, True),
    ],
)
def test_dynamodb_errors_parse_as_aws_sends_them(
    code: str, status: int, retried_by_standard_mode: bool
) -> None:
    parsed = parse("dynamodb", "PutItem", code)
    expected = {"HTTP503": "ServiceUnavailable"}.get(code, code)
    assert parsed["Error"]["Code"] == expected
    assert parsed["ResponseMetadata"]["HTTPStatusCode"] == status
    context = standard.RetryContext(
        attempt_number=1,
        operation_model=None,
        parsed_response=parsed,
        http_response=type("R", (), {"status_code": status})(),
    )
    checker = standard.StandardRetryConditions()
    assert checker.is_retryable(context) is retried_by_standard_mode


def test_transaction_conflict_has_one_reason_per_action() -> None:
    body = json.dumps({"TransactItems": [{"Update": {}}, {"Update": {}}, {"Update": {}}]}).encode()
    parsed = parse("dynamodb", "TransactWriteItems", "TransactionConflict", body)
    assert parsed["Error"]["Code"] == "TransactionCanceledException"
    assert [reason["Code"] for reason in parsed["CancellationReasons"]] == [
        "TransactionConflict",
        "None",
        "None",
    ]


@pytest.mark.parametrize(("code", "status"), [("ServiceException", 500), ("TooManyRequestsException", 429)])
def test_lambda_errors_are_rest_json_with_the_error_type_header(code: str, status: int) -> None:
    parsed = parse("lambda", "Invoke", code)
    assert parsed["Error"]["Code"] == code
    assert parsed["ResponseMetadata"]["HTTPStatusCode"] == status


def test_step_functions_throttling_is_its_common_error() -> None:
    parsed = parse("states", "StartExecution", "States.ThrottlingException")
    assert parsed["Error"]["Code"] == "ThrottlingException"


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ({"kind": "nope"}, "kind must be one of"),
        ({"kind": "error", "code": "Bogus"}, "code must be one of"),
        ({"kind": "error", "code": "ThrottlingException", "service": "lambda"}, "is a dynamodb error"),
        ({"kind": "latency"}, "latency_ms"),
        ({"kind": "brownout"}, "needs duration_seconds"),
        ({"kind": "lambda-crash", "phase": "during"}, "phase must be"),
        ({"kind": "error", "code": "HTTP500", "probability": 0}, "probability"),
        ({"kind": "error", "code": "HTTP500", "count": 0}, "count"),
        ({"kind": "error", "code": "HTTP500", "colour": "red"}, "unknown rule fields"),
        ({"kind": "lambda-timeout", "service": "dynamodb"}, "service must be lambda"),
        ({"kind": "lambda-throttle"}, "needs duration_seconds"),
    ],
)
def test_bad_rules_are_refused_with_what_is_allowed(spec: dict, says: str) -> None:
    with pytest.raises(faults.RuleError, match=says):
        faults.parse_rule(spec)


def test_a_counted_rule_fires_its_count_then_stops() -> None:
    injector = faults.FaultInjector()
    injector.add(
        faults.parse_rule(
            {"kind": "error", "code": "ThrottlingException", "operation": "PutItem", "count": 2}
        )
    )
    hits = [injector.take(["error"], "dynamodb", "PutItem", None) for _ in range(4)]
    assert [hit is not None for hit in hits] == [True, True, False, False]
    assert injector.take(["error"], "dynamodb", "GetItem", None) is None  # another operation


def test_a_function_rule_selects_only_that_function() -> None:
    injector = faults.FaultInjector()
    injector.add(faults.parse_rule({"kind": "lambda-crash", "function": "shop-order-steps"}))
    assert injector.take(faults.INVOCATION_KINDS, "lambda", "Invoke", "shop-checkout") is None
    assert injector.take(faults.INVOCATION_KINDS, "lambda", "Invoke", "shop-order-steps") is not None


def test_a_throttled_function_is_refused_by_the_pool_before_any_environment(tmp_path) -> None:
    """lambda-throttle: the pool answers TooManyRequests, as Lambda at a concurrency limit, and
    starts no environment; other functions run."""
    from local_twin.lambda_pool import FunctionSpec, LambdaPool, TooManyRequests

    injector = faults.INJECTOR
    rule = injector.add(
        faults.parse_rule({"kind": "lambda-throttle", "function": "shop-invalidator", "duration_seconds": 60})
    )
    pool = LambdaPool({}, tmp_path)
    try:
        spec = FunctionSpec(
            name="shop-invalidator",
            arn="arn",
            handler="h.h",
            timeout_seconds=1,
            memory_mb=128,
            environment={},
            code=b"",
        )
        with pytest.raises(TooManyRequests):
            pool.invoke(spec, {})
        assert rule.fired == 1 and not any(tmp_path.iterdir())
        assert not faults.throttled("shop-checkout")
    finally:
        injector.clear(rule.id)
        pool.shutdown()


def test_probability_fires_about_that_often() -> None:
    injector = faults.FaultInjector(rng=random.Random(7))
    injector.add(faults.parse_rule({"kind": "latency", "latency_ms": 5, "probability": 0.25}))
    fired = sum(injector.take(["latency"], "dynamodb", "GetItem", None) is not None for _ in range(2000))
    assert 400 < fired < 600


def test_a_duration_rule_ends_by_itself() -> None:
    now = [1000.0]
    injector = faults.FaultInjector(clock=lambda: now[0])
    injector.add(faults.parse_rule({"kind": "stream-delay", "duration_seconds": 5}))
    assert injector.holding("stream-delay", "lambda", "any")
    now[0] += 6
    assert not injector.holding("stream-delay", "lambda", "any")


def test_calls_are_told_apart_as_aws_reads_them() -> None:
    dynamodb = faults.describe_call(
        {
            "HTTP_AUTHORIZATION": "AWS4-HMAC-SHA256 Credential=testing/20250101/us-east-1/dynamodb/aws4_request, ...",
            "HTTP_X_AMZ_TARGET": "DynamoDB_20120810.TransactWriteItems",
            "HTTP_USER_AGENT": "Boto3/1.44 md/Botocore#1.44 app/shop-twin-order-steps cfg/retry-mode#standard",
            "PATH_INFO": "/",
        }
    )
    assert dynamodb == faults.Call("dynamodb", "TransactWriteItems", "shop-twin-order-steps")
    invoke = faults.describe_call(
        {
            "HTTP_AUTHORIZATION": "AWS4-HMAC-SHA256 Credential=testing/20250101/us-east-1/lambda/aws4_request",
            "PATH_INFO": "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Ashop-x%3Alive/invocations",
        }
    )
    assert invoke == faults.Call("lambda", "Invoke", "shop-x")


class _Flushing:
    """ValkeyFaults' contract for a flush without a cache: it acts at once, counts, and ends."""

    def apply(self, rule: faults.Rule, injector: faults.FaultInjector) -> None:
        rule.fired += 1
        injector.clear(rule.id)


def test_an_experiment_with_a_one_shot_flush_stops_cleanly_and_counts_it() -> None:
    """make chaos's stream-lag-cache-flush ended with a 404 from clearing its valkey-flush rule,
    which had already ended itself: clearing a rule that is gone clears nothing, and the flush
    counts as fired."""
    import threading
    from wsgiref.simple_server import WSGIRequestHandler, make_server

    from drivers.chaos.faults import TwinFaults

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    injector = faults.FaultInjector()
    server = make_server(
        "127.0.0.1",
        0,
        lambda environ, start: faults.handle_api(environ, start, injector, _Flushing()),
        handler_class=Quiet,
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        client = faults.FaultClient(f"http://127.0.0.1:{server.server_port}")
        experiment = type(
            "E",
            (),
            {
                "rules": staticmethod(
                    lambda _target: [
                        {"kind": "valkey-flush"},
                        {
                            "kind": "stream-delay",
                            "function": "shop-cache-invalidator",
                            "duration_seconds": 60,
                        },
                    ]
                )
            },
        )()
        twin_faults = TwinFaults(client)
        twin_faults.start(experiment, None)
        assert [rule["kind"] for rule in client.rules()] == ["stream-delay"]  # the flush is done
        assert twin_faults.stop(experiment, None) == {"source": "twin", "faults_fired": 1}
        assert client.rules() == []
        assert client.clear("not-a-rule") == 0
    finally:
        server.shutdown()
        server.server_close()
