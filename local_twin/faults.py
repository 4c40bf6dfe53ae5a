"""The twin's fault injector: AWS failures on demand, shaped as AWS sends them.

A *rule* selects requests by service, operation and calling function (each optional), fires
with a probability, and lasts for a count of hits or a duration (or until cleared). Kinds:

* ``error``: an AWS error response in the service's own wire protocol, so that botocore parses
  and retries it exactly as it would AWS's (codes in `ERRORS`);
* ``latency``: the request waits `latency_ms` before moto serves it;
* ``brownout``: the moto server stops answering (every matching request waits until the rule
  ends), as in a regional brown-out; a client's read timeout fires as it would in AWS;
* ``lambda-crash``: the function's execution environment is killed mid-invocation, before its
  handler runs (`phase` "before") or after its side effects, before the reply (`phase` "after");
* ``lambda-timeout``: the invocation runs past the function's timeout (its work done, its reply
  never sent);
* ``lambda-throttle``: the function refuses invocations with TooManyRequestsException, as at its
  reserved concurrency or the account's; a stream's mapping then retries its batch until the
  records expire, without counting the throttles as retries
  (https://docs.aws.amazon.com/lambda/latest/dg/services-dynamodb-errors.html);
* ``stream-delay``: a stream event source mapping holds its records while the rule lasts;
* ``valkey-pause`` / ``valkey-slow`` / ``valkey-flush``: the cache stops answering, answers late,
  or loses every key and connection (a node restarted empty, or a failover to an empty replica).

The HTTP API lives on the moto server's own port, under `FAULT_PATH`, which moto does not use:

    curl -X POST $TWIN/_twin/faults -d '{"kind":"error","service":"dynamodb","code":"ThrottlingException","count":5}'
    curl $TWIN/_twin/faults            # the rules and how often each fired
    curl -X DELETE $TWIN/_twin/faults  # clear them all (or /_twin/faults/<id>)

`FaultClient` is the same from Python. Who called: the twin's Lambda environments carry the
function's name as their SDK user-agent app id (`caller_environment`), which is how a rule with
a `function` selects the DynamoDB calls that function makes.
"""

from __future__ import annotations

import json
import random
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

FAULT_PATH = "/_twin/faults"
KINDS = (
    "error",
    "latency",
    "brownout",
    "lambda-crash",
    "lambda-timeout",
    "lambda-throttle",
    "stream-delay",
    "valkey-pause",
    "valkey-slow",
    "valkey-flush",
)
SERVICES = ("dynamodb", "lambda", "states", "logs", "sqs", "sns", "iam", "sts", "fis")
INVOCATION_KINDS = ("lambda-crash", "lambda-timeout")
VALKEY_KINDS = ("valkey-pause", "valkey-slow", "valkey-flush")
UNTIL_CLEARED = None


@dataclass(frozen=True)
class ErrorShape:
    """One AWS error as its service sends it: the HTTP status, the service it belongs to and the
    message AWS writes. `protocol` is the service's wire protocol (botocore parses by it)."""

    service: str
    status: int
    message: str


# DynamoDB: JSON 1.0, the code in `__type` after the model's namespace
#   https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html
# Lambda: REST-JSON, the code in the x-amzn-ErrorType header, `Type` and `message` in the body
#   https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html (Errors)
# Step Functions: JSON 1.0; its API has no ServiceException of its own: its 5xx and throttling
# are the common errors  https://docs.aws.amazon.com/step-functions/latest/apireference/CommonErrors.html
ERRORS: dict[str, ErrorShape] = {
    "ThrottlingException": ErrorShape("dynamodb", 400, "Rate of requests exceeds the allowed throughput."),
    "ProvisionedThroughputExceededException": ErrorShape(
        "dynamodb",
        400,
        "The level of configured provisioned throughput for the table was exceeded. "
        "Consider increasing your provisioning level with the UpdateTable API.",
    ),
    "InternalServerError": ErrorShape("dynamodb", 500, "Internal server error"),
    "TransactionConflict": ErrorShape(
        "dynamodb", 400, "Transaction cancelled, please refer cancellation reasons for specific reasons"
    ),
    "ServiceException": ErrorShape(
        "lambda", 500, "An error occurred (ServiceException): Lambda is unavailable"
    ),
    "TooManyRequestsException": ErrorShape("lambda", 429, "Rate Exceeded."),
    "States.ThrottlingException": ErrorShape("states", 400, "Rate exceeded"),
    "States.ServiceUnavailable": ErrorShape("states", 503, "Service Unavailable"),
    "States.InternalFailure": ErrorShape(
        "states", 500, "The request processing has failed because of an unknown error, exception or failure."
    ),
    # Any service: a bare 500 or 503 with AWS's common error codes.
    "HTTP500": ErrorShape("*", 500, "We encountered an internal error. Please try again."),
    "HTTP503": ErrorShape("*", 503, "Service Unavailable"),
}
JSON_PROTOCOL_TARGETS = {"dynamodb": "DynamoDB_20120810", "states": "AWSStepFunctions"}
DYNAMODB_NAMESPACE = "com.amazonaws.dynamodb.v20120810#"


class RuleError(ValueError):
    """A rule the injector cannot run; the HTTP API answers 400 with its message."""


@dataclass
class Rule:
    kind: str
    service: str | None = None
    operation: str | None = None
    function: str | None = None
    probability: float = 1.0
    count: int | None = None  # hits left; None: no limit
    duration_seconds: float | None = None  # None: until cleared
    code: str | None = None  # error kind
    latency_ms: int = 0  # latency, valkey-slow
    phase: str = "after"  # lambda-crash: before | after the handler's side effects
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    created_at: float = field(default_factory=time.time)
    fired: int = 0

    @property
    def expires_at(self) -> float | None:
        return None if self.duration_seconds is None else self.created_at + self.duration_seconds

    def active(self, now: float) -> bool:
        expires = self.expires_at
        return (self.count is None or self.count > 0) and (expires is None or now < expires)

    def selects(self, service: str | None, operation: str | None, function: str | None) -> bool:
        return all(
            wanted is None or wanted == seen
            for wanted, seen in (
                (self.service, service),
                (self.operation, operation),
                (self.function, function),
            )
        )

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "expires_at": self.expires_at}


def parse_rule(spec: Any) -> Rule:
    """A rule from its JSON form, every field checked; RuleError says what is allowed."""
    if not isinstance(spec, dict):
        raise RuleError("a rule is a JSON object")
    allowed = {"kind", "service", "operation", "function", "probability", "count", "duration_seconds"}
    allowed |= {"code", "latency_ms", "phase"}
    unknown = sorted(set(spec) - allowed)
    if unknown:
        raise RuleError(f"unknown rule fields {unknown}; allowed: {sorted(allowed)}")
    kind = spec.get("kind")
    if kind not in KINDS:
        raise RuleError(f"kind must be one of {list(KINDS)}, not {kind!r}")
    service = spec.get("service")
    if service is not None and service not in SERVICES:
        raise RuleError(f"service must be one of {list(SERVICES)} or left out, not {service!r}")
    for name in ("operation", "function"):
        value = spec.get(name)
        if value is not None and (
            not isinstance(value, str) or not re.fullmatch(r"[A-Za-z0-9_.:-]{1,140}", value)
        ):
            raise RuleError(f"{name} must be a name of 1-140 of A-Z a-z 0-9 _ . : -, or left out")
    probability = spec.get("probability", 1.0)
    if not isinstance(probability, int | float) or not 0 < probability <= 1:
        raise RuleError("probability must be a number in (0, 1]")
    count = spec.get("count")
    if count is not None and (not isinstance(count, int) or count < 1):
        raise RuleError("count must be a whole number of hits >= 1, or left out")
    duration = spec.get("duration_seconds")
    if duration is not None and (not isinstance(duration, int | float) or not 0 < duration <= 3600):
        raise RuleError("duration_seconds must be in (0, 3600], or left out (until cleared)")
    rule = Rule(
        kind=kind,
        service=service,
        operation=spec.get("operation"),
        function=spec.get("function"),
        probability=float(probability),
        count=count,
        duration_seconds=None if duration is None else float(duration),
    )
    if kind == "error":
        code = spec.get("code")
        if code not in ERRORS:
            raise RuleError(f"an error rule's code must be one of {sorted(ERRORS)}, not {code!r}")
        shape = ERRORS[code]
        if shape.service != "*":
            if service not in (None, shape.service):
                raise RuleError(f"{code} is a {shape.service} error, not a {service} one")
            rule.service = shape.service
        rule.code = code
    if kind in ("latency", "valkey-slow"):
        latency = spec.get("latency_ms")
        if not isinstance(latency, int) or not 0 < latency <= 120_000:
            raise RuleError("latency_ms must be a whole number of milliseconds in (0, 120000]")
        rule.latency_ms = latency
    if kind in (*INVOCATION_KINDS, "lambda-throttle", "stream-delay"):
        if service not in (None, "lambda"):
            raise RuleError(f"a {kind} rule is about Lambda functions; service must be lambda or left out")
        rule.service = "lambda"
    if kind == "lambda-crash":
        phase = spec.get("phase", "after")
        if phase not in ("before", "after"):
            raise RuleError("phase must be before (no side effect) or after (side effects done, reply lost)")
        rule.phase = phase
    if (
        kind in ("brownout", "lambda-throttle", "stream-delay", "valkey-pause", "valkey-slow")
        and duration is None
    ):
        raise RuleError(f"a {kind} rule needs duration_seconds: it holds everything it selects until then")
    return rule


class FaultInjector:
    """The rules in force, and the decisions drawn from them. Thread-safe: moto serves threaded."""

    def __init__(self, rng: random.Random | None = None, clock: Callable[[], float] = time.time) -> None:
        self._rules: dict[str, Rule] = {}
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._rng = rng or random.Random()
        self._clock = clock

    def add(self, rule: Rule) -> Rule:
        with self._lock:
            rule.created_at = self._clock()
            self._rules[rule.id] = rule
            self._changed.notify_all()
        return rule

    def rules(self) -> list[Rule]:
        with self._lock:
            return list(self._rules.values())

    def clear(self, rule_id: str | None = None) -> int:
        with self._lock:
            if rule_id is None:
                removed = len(self._rules)
                self._rules.clear()
            else:
                removed = 1 if self._rules.pop(rule_id, None) else 0
            self._changed.notify_all()
        return removed

    def take(
        self, kinds: Iterable[str], service: str | None, operation: str | None, function: str | None
    ) -> Rule | None:
        """The first active rule of these kinds that selects the call and fires (its probability),
        counted as one hit; None when no fault applies."""
        wanted = set(kinds)
        with self._lock:
            now = self._clock()
            for rule in self._rules.values():
                if (
                    rule.kind not in wanted
                    or not rule.active(now)
                    or not rule.selects(service, operation, function)
                ):
                    continue
                if rule.probability < 1 and self._rng.random() >= rule.probability:
                    continue
                rule.fired += 1
                if rule.count is not None:
                    rule.count -= 1
                return rule
        return None

    def holding(self, kind: str, service: str | None, function: str | None) -> bool:
        """Whether an active rule of this kind selects the call (a duration fault, not counted)."""
        with self._lock:
            now = self._clock()
            return any(
                rule.kind == kind and rule.active(now) and rule.selects(service, None, function)
                for rule in self._rules.values()
            )

    def wait_out(self, rule: Rule) -> None:
        """Blocks until the rule has ended (expired or cleared): a brown-out holds its requests."""
        with self._lock:
            while rule.id in self._rules and rule.active(self._clock()):
                expires = rule.expires_at
                self._changed.wait(
                    timeout=0.2 if expires is None else max(0.0, min(0.2, expires - self._clock()))
                )


INJECTOR = FaultInjector()


# ---- requests to moto ----------------------------------------------------------------------
_CREDENTIAL_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/[^/]+/([^/]+)/aws4_request")
_LAMBDA_INVOKE = re.compile(r"^/\d{4}-\d{2}-\d{2}/functions/([^/]+)/invocations$")
_APP_ID = re.compile(r"(?:^|\s)app/([A-Za-z0-9_.:-]+)")


@dataclass(frozen=True)
class Call:
    service: str | None
    operation: str | None
    function: str | None  # the function the call is about (Lambda Invoke) or made from


def function_name_of(reference: str) -> str:
    """The function's name from what Invoke's path may hold: a name, a partial or a full ARN,
    with or without a version or alias (https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html)."""
    from urllib.parse import unquote

    reference = unquote(reference)
    if ":function:" in reference:
        return reference.split(":function:", 1)[1].split(":", 1)[0]
    return reference.split(":", 1)[0]


def describe_call(environ: dict[str, Any]) -> Call:
    """Which service, operation and function a request to moto is, from what AWS also reads:
    the SigV4 credential scope, the JSON protocol's X-Amz-Target, the Lambda REST path."""
    scope = _CREDENTIAL_SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
    service = scope.group(1) if scope else None
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    operation = target.rpartition(".")[2] or None
    function = None
    invoked = _LAMBDA_INVOKE.match(environ.get("PATH_INFO", ""))
    if invoked:
        operation, function = "Invoke", function_name_of(invoked.group(1))
    else:
        caller = _APP_ID.search(environ.get("HTTP_USER_AGENT", ""))
        function = caller.group(1) if caller else None
    return Call(service, operation, function)


def error_response(code: str, call: Call, request_body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
    """The status, headers and body that the service would send for this error."""
    shape = ERRORS[code]
    status, message = shape.status, shape.message
    service = call.service if shape.service == "*" else shape.service
    name = code.removeprefix("States.")
    if code in ("HTTP500", "HTTP503"):
        name = "InternalFailure" if status == 500 else "ServiceUnavailable"
    request_id = str(uuid.uuid4())
    headers = [("x-amzn-RequestId", request_id)]
    if service == "lambda":
        # REST-JSON: botocore reads the code from x-amzn-ErrorType.
        body: dict[str, Any] = {"Type": "Service" if status >= 500 else "User", "message": message}
        if code == "TooManyRequestsException":
            body["Reason"] = "ConcurrentInvocationLimitExceeded"
            headers.append(("Retry-After", "1"))
        headers += [("x-amzn-ErrorType", f"{name}:"), ("Content-Type", "application/json")]
        return status, headers, json.dumps(body).encode()
    headers.append(("Content-Type", "application/x-amz-json-1.0"))
    if code == "TransactionConflict":
        # One reason per action of the request, in order: a conflict on the first, None on the rest.
        try:
            actions = len(json.loads(request_body or b"{}").get("TransactItems", [])) or 1
        except ValueError:
            actions = 1
        reasons = [{"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"}]
        reasons += [{"Code": "None"}] * (actions - 1)
        codes = ", ".join(reason["Code"] for reason in reasons)
        body = {
            "__type": f"{DYNAMODB_NAMESPACE}TransactionCanceledException",
            "message": f"{message} [{codes}]",
            "CancellationReasons": reasons,
        }
        return status, headers, json.dumps(body).encode()
    prefix = DYNAMODB_NAMESPACE if service == "dynamodb" else ""
    return status, headers, json.dumps({"__type": f"{prefix}{name}", "message": message}).encode()


def _read_body(environ: dict[str, Any]) -> bytes:
    """The request body, put back so that moto can read it again."""
    import io

    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(body)
    return body


def _answer(start_response: Any, status: int, headers: list[tuple[str, str]], body: bytes) -> list[bytes]:
    from http import HTTPStatus

    start_response(f"{status} {HTTPStatus(status).phrase}", [*headers, ("Content-Length", str(len(body)))])
    return [body]


def handle_api(
    environ: dict[str, Any], start_response: Any, injector: FaultInjector, valkey: Any
) -> list[bytes]:
    """GET (list), POST (add), DELETE (clear all, or one by id) under FAULT_PATH."""
    method = environ.get("REQUEST_METHOD", "GET")
    rest = environ.get("PATH_INFO", "")[len(FAULT_PATH) :].strip("/")
    json_headers = [("Content-Type", "application/json")]

    def reply(status: int, payload: Any) -> list[bytes]:
        return _answer(start_response, status, json_headers, json.dumps(payload).encode())

    if method == "GET" and not rest:
        return reply(200, {"rules": [rule.to_json() for rule in injector.rules()]})
    if method == "POST" and not rest:
        try:
            rule = parse_rule(json.loads(_read_body(environ) or b"null"))
        except (ValueError, RuleError) as refused:
            return reply(400, {"error": "invalid_fault_rule", "message": str(refused)})
        injector.add(rule)
        if rule.kind in VALKEY_KINDS:
            if valkey is None:
                injector.clear(rule.id)
                return reply(409, {"error": "no_cache", "message": "this twin runs without Valkey"})
            try:
                valkey.apply(rule, injector)
            except Exception as unreachable:  # redis.exceptions.RedisError, OSError
                injector.clear(rule.id)
                return reply(409, {"error": "cache_unreachable", "message": str(unreachable)})
        return reply(201, rule.to_json())
    if method == "DELETE":
        removed = injector.clear(rest or None)
        if rest and not removed:
            return reply(404, {"error": "not_found", "message": f"no fault rule {rest}"})
        return reply(200, {"removed": removed})
    return reply(405, {"error": "method_not_allowed", "message": f"{method} {FAULT_PATH}/{rest}".rstrip("/")})


def install(injector: FaultInjector = INJECTOR, cache_endpoint: str | None = None) -> None:
    """The fault API and the request faults in front of moto: one WSGI wrapper around moto's
    dispatcher (outermost, so it also sees the durable execution API)."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    valkey = ValkeyFaults(cache_endpoint) if cache_endpoint else None
    original = DomainDispatcherApplication.__call__

    def dispatch(self: Any, environ: dict[str, Any], start_response: Any) -> Any:
        path = environ.get("PATH_INFO", "")
        if path == FAULT_PATH or path.startswith(FAULT_PATH + "/"):
            return handle_api(environ, start_response, injector, valkey)
        if path.startswith("/moto-api"):
            return original(self, environ, start_response)
        call = describe_call(environ)
        held = injector.take(("brownout",), call.service, call.operation, call.function)
        if held is not None:
            # The request is never served: a caller that waited this long gets the 503 a
            # recovering endpoint answers (one that gave up saw its read timeout already).
            injector.wait_out(held)
            return _answer(start_response, *error_response("HTTP503", call, b""))
        slow = injector.take(("latency",), call.service, call.operation, call.function)
        if slow is not None:
            time.sleep(slow.latency_ms / 1000)
        failing = injector.take(("error",), call.service, call.operation, call.function)
        if failing is not None and failing.code is not None:
            body = _read_body(environ)
            if failing.code != "TransactionConflict" or call.operation in (
                "TransactWriteItems",
                "TransactGetItems",
            ):
                return _answer(start_response, *error_response(failing.code, call, body))
        return original(self, environ, start_response)

    DomainDispatcherApplication.__call__ = dispatch


# ---- Lambda invocations (called by lambda_pool) ------------------------------------------------
def caller_environment(function_name: str) -> dict[str, str]:
    """Environment variables that name the function in its SDK calls' user agent (`app/NAME`), so
    that a rule can select the calls a function makes. botocore reads AWS_SDK_UA_APP_ID."""
    return {"AWS_SDK_UA_APP_ID": function_name}


def invoke(
    spec: Any, environment: Any, event: Any, request_id: str, injector: FaultInjector = INJECTOR
) -> Any:
    """Runs one invocation in `environment`, through a crash or timeout rule if one applies.

    What the caller gets is what Lambda reports (https://docs.aws.amazon.com/lambda/latest/dg/troubleshooting-invocation.html):
    a killed runtime is a function error (FunctionError "Unhandled") with errorType
    Runtime.ExitError and "RequestId: ... Error: Runtime exited with error: signal: killed";
    an invocation past its timeout is Sandbox.Timedout, "Task timed out after N.00 seconds".
    Step Functions' Retry and Catch see those errorTypes as the error names
    (https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html).
    """
    from local_twin.lambda_pool import InvocationResult

    rule = injector.take(INVOCATION_KINDS, "lambda", "Invoke", spec.name)
    if rule is None:
        return environment.invoke(event, request_id)
    started = time.monotonic()
    log = ""
    cold = bool(getattr(environment, "fresh", False))
    if rule.kind == "lambda-timeout" or rule.phase == "after":
        done = environment.invoke(event, request_id)  # the handler's side effects happen
        log, cold = done.log, done.cold_start
    if rule.kind == "lambda-timeout":
        # The invocation keeps the environment until its timeout, then Lambda stops it.
        time.sleep(max(0.0, spec.timeout_seconds - (time.monotonic() - started)))
        environment.kill()
        message = f"Task timed out after {spec.timeout_seconds:.2f} seconds"
        payload = {
            "errorType": "Sandbox.Timedout",
            "errorMessage": f"RequestId: {request_id} Error: {message}",
        }
        return InvocationResult(
            payload, True, log + message + "\n", request_id, cold, spec.timeout_seconds * 1000
        )
    environment.kill()
    message = "Runtime exited with error: signal: killed"
    payload = {"errorType": "Runtime.ExitError", "errorMessage": f"RequestId: {request_id} Error: {message}"}
    elapsed_ms = (time.monotonic() - started) * 1000
    return InvocationResult(
        payload,
        True,
        log + f"RequestId: {request_id} Error: {message}\nRuntime.ExitError\n",
        request_id,
        cold,
        elapsed_ms,
    )


def throttled(function_name: str, injector: FaultInjector = INJECTOR) -> bool:
    """Whether a lambda-throttle rule refuses this invocation (counted as one hit)."""
    return injector.take(("lambda-throttle",), "lambda", "Invoke", function_name) is not None


# ---- stream delivery (called by streams) ------------------------------------------------------
def stream_held(function_name: str, injector: FaultInjector = INJECTOR) -> bool:
    """Whether a stream-delay rule holds the records of mappings that invoke this function."""
    return injector.holding("stream-delay", "lambda", function_name)


# ---- Valkey -----------------------------------------------------------------------------------
class ValkeyFaults:
    """The cache's failures, made with the server's own commands on the twin's redis-server:

    * pause: CLIENT PAUSE ALL: connections open, no answers (a node that stops responding,
      an AZ power interruption before failover; FIS aws:elasticache:replicationgroup-interrupt-az-power);
    * slow: CLIENT PAUSE in short bursts, each command waits up to latency_ms;
    * flush: FLUSHALL and every client connection killed: a node restarted empty, or a failover to
      a replica that had not caught up (the cache-aside strategy must rebuild from DynamoDB).
    """

    def __init__(self, endpoint: str) -> None:
        host, _, port = endpoint.rpartition(":")
        self._address = (host or "127.0.0.1", int(port))

    def _client(self) -> Any:
        import redis

        return redis.Redis(host=self._address[0], port=self._address[1], socket_timeout=5)

    def apply(self, rule: Rule, injector: FaultInjector) -> None:
        if rule.kind == "valkey-flush":
            client = self._client()
            client.flushall()
            client.client_kill_filter(_type="normal", skipme=True)
            rule.fired += 1
            injector.clear(rule.id)
            return
        if rule.kind == "valkey-pause":
            assert rule.duration_seconds is not None
            self._client().client_pause(int(rule.duration_seconds * 1000), all=True)
            rule.fired += 1
            return
        threading.Thread(target=self._slow, args=(rule, injector), daemon=True).start()

    def _slow(self, rule: Rule, injector: FaultInjector) -> None:
        client = self._client()
        while any(r.id == rule.id for r in injector.rules()) and rule.active(time.time()):
            client.client_pause(rule.latency_ms, all=True)
            rule.fired += 1
            time.sleep(rule.latency_ms / 1000 * 2)
        client.client_unpause()


# ---- the Python client --------------------------------------------------------------------------
class FaultClient:
    """The fault API of a running twin, from Python (tests, `make chaos`)."""

    def __init__(self, endpoint_url: str, timeout: float = 10.0) -> None:
        self._url = endpoint_url.rstrip("/") + FAULT_PATH
        self._timeout = timeout

    def add(self, **rule: Any) -> dict[str, Any]:
        import requests

        response = requests.post(self._url, json=rule, timeout=self._timeout)
        if response.status_code != 201:
            raise RuleError(f"{response.status_code}: {response.text}")
        return dict(response.json())

    def rules(self) -> list[dict[str, Any]]:
        import requests

        response = requests.get(self._url, timeout=self._timeout)
        response.raise_for_status()
        return list(response.json()["rules"])

    def clear(self, rule_id: str | None = None) -> int:
        """Clears one rule, or all; a rule that is already gone (it expired, or ended itself as a
        valkey-flush does once it has flushed) clears nothing, and is no error."""
        import requests

        url = f"{self._url}/{rule_id}" if rule_id else self._url
        response = requests.delete(url, timeout=self._timeout)
        if rule_id and response.status_code == 404:
            return 0
        response.raise_for_status()
        return int(response.json()["removed"])

    @contextmanager
    def injected(self, *rules: dict[str, Any]) -> Iterator[list[dict[str, Any]]]:
        """These rules in force for the block; cleared after it whatever happens."""
        added: list[dict[str, Any]] = []
        try:
            for rule in rules:
                added.append(self.add(**rule))
            yield added
        finally:
            for rule in added:
                self.clear(rule["id"])

    def fired(self, rule_id: str) -> int:
        return next((int(rule["fired"]) for rule in self.rules() if rule["id"] == rule_id), 0)
