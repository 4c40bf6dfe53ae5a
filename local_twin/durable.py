"""Lambda durable executions on the twin, run by the durable execution SDK's own local runner.

moto has no durable executions. The SDK's testing package ships the service side: a runner
that keeps each execution's checkpoints and history, schedules its replays, waits and
retries, and answers the Lambda durable execution API (checkpoint, state, history,
callbacks) in the wire format boto3 speaks. The twin runs that runner in its server process
and puts it behind the twin's one Lambda endpoint, as Lambda does:

- An Invoke that names a durable execution (`DurableExecutionName`) starts one on the
  runner, which then invokes the function's handler through the same endpoint; those
  invokes carry the runner's marker header and run in the twin's worker processes.
- The durable execution API paths (`/2025-12-01/durable-execution...`) are forwarded to
  the runner unchanged, so the handler's checkpoints and the caller's history reads and
  callbacks reach it through the endpoint every function already has.

A second start with the same name answers with the first execution when the payload is
the same, and DurableExecutionAlreadyStartedException when it differs (Lambda's rule for a
running execution; the twin applies it to closed ones too, since it never expires them).
"""

from __future__ import annotations

import http.client
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from aws_durable_execution_sdk_python_testing.invoker import INVOCATION_MARKER_HEADER
from aws_durable_execution_sdk_python_testing.runner import WebRunner, WebRunnerConfig
from aws_durable_execution_sdk_python_testing.threads import DaemonThreadPool
from aws_durable_execution_sdk_python_testing.web.server import WebServiceConfig

LOOPBACK = "127.0.0.1"
API_PREFIX = "/2025-12-01/"
# The stack's durable_checkout defaults. Provider 5.100 cannot send DurableConfig (the compat
# copy drops the block), so the twin cannot read a function's own settings back.
EXECUTION_TIMEOUT_SECONDS = 172_800
RETENTION_PERIOD_DAYS = 14
ACCOUNT_ID = "123456789012"
TERMINAL = {"SUCCEEDED", "FAILED", "TIMED_OUT", "STOPPED"}


class DurableExecutionAlreadyStarted(Exception):
    """The name is taken by an execution that started with another payload."""


def lambda_error(
    status: int, headers: list[tuple[str, str]], body: bytes
) -> tuple[list[tuple[str, str]], bytes]:
    """The runner's error answer as Lambda's REST-JSON error: the error's name in x-amzn-ErrorType,
    the body {"Type": "User" | "Service", "message": ...}. The runner puts the name in the body's
    "Type", which botocore does not read, so a caller saw the bare status ("404") as the code and
    could not tell ResourceNotFoundException from any other 404."""
    if any(name.lower() == "x-amzn-errortype" for name, _ in headers):
        return headers, body
    try:
        error = json.loads(body or b"{}")
    except ValueError:
        error = {}
    name = error.get("Type") if isinstance(error, dict) else None
    if not isinstance(name, str) or name in ("User", "Service"):
        return headers, body
    message = error.get("message") or error.get("Message") or ""
    shaped = json.dumps({"Type": "Service" if status >= 500 else "User", "message": message}).encode()
    kept = [(key, value) for key, value in headers if key.lower() != "content-type"]
    return [*kept, ("x-amzn-ErrorType", f"{name}:"), ("Content-Type", "application/json")], shaped


def is_durable_api(path: str) -> bool:
    """Whether a request path belongs to the durable execution API (Lambda's 2025-12-01 paths)."""
    if not path.startswith(API_PREFIX):
        return False
    rest = path[len(API_PREFIX) :]
    return rest.startswith("durable-execution") or (
        rest.startswith("functions/") and rest.endswith("/durable-executions")
    )


def is_handler_invocation(headers: Any) -> bool:
    """The runner marks the invokes that run a durable function's handler for one replay."""
    return str(headers.get(INVOCATION_MARKER_HEADER, "")).lower() == "true"


@dataclass(frozen=True)
class _Started:
    arn: str
    payload: str


class DurableExecutions:
    """The runner, bound to a free loopback port, driving handlers through `lambda_endpoint`."""

    def __init__(
        self,
        lambda_endpoint: str,
        region: str,
        invocation_concurrency: int,
        invocation_timeout_seconds: int = 900,
    ) -> None:
        # The runner signs its invokes with the default credential chain; the twin takes any key.
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            os.environ.setdefault(name, "testing")
        self._runner = WebRunner(
            WebRunnerConfig(
                web_service=WebServiceConfig(host=LOOPBACK, port=0, log_level=logging.WARNING),
                lambda_endpoint=lambda_endpoint,
                local_runner_region=region,
                invocation_timeout_seconds=invocation_timeout_seconds,
            )
        )
        self._runner.start()
        # The runner invokes handlers on a pool the size of a ThreadPoolExecutor's default
        # (cpu_count + 4: six on two cores), which would queue executions well below the
        # concurrency the twin gives each function. Sized to that, the function's own limit
        # decides, as Lambda's does. Replaced before the runner has invoked anything.
        executor = self._runner._executor
        assert executor is not None
        executor._invocation_pool = DaemonThreadPool(
            max_workers=invocation_concurrency, thread_name_prefix="durable-invocation"
        )
        # The runner binds the port it is given; port 0 lets the OS pick a free one, which
        # only the server object knows.
        self.port: int = self._runner._server.server_address[1]  # type: ignore[union-attr]
        self._serving = threading.Thread(target=self._runner.serve_forever, daemon=True)
        self._serving.start()
        self._started: dict[tuple[str, str], _Started] = {}
        self._lambda_arns: dict[str, str] = {}
        self._region = region
        self._lock = threading.Lock()

    def stop(self) -> None:
        server = self._runner._server
        if server is not None:
            server.shutdown()  # ends serve_forever; the runner's stop only closes the socket
        self._runner.stop()
        self._serving.join(timeout=5)

    def _call(
        self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        connection = http.client.HTTPConnection(LOOPBACK, self.port, timeout=60)
        try:
            connection.request(method, path, body=body or None, headers=headers or {})
            response = connection.getresponse()
            return response.status, response.getheaders(), response.read()
        finally:
            connection.close()

    def start(self, function_name: str, qualifier: str, name: str, payload: str) -> str:
        """Starts the named execution, or returns the one that already has the name."""
        with self._lock:
            started = self._started.get((function_name, name))
            if started is not None:
                if started.payload != payload:
                    raise DurableExecutionAlreadyStarted(
                        f"Durable execution {name} has already been started with a different payload."
                    )
                return started.arn
            request = {
                "AccountId": ACCOUNT_ID,
                "FunctionName": function_name,
                "FunctionQualifier": qualifier,
                "ExecutionName": name,
                "ExecutionTimeoutSeconds": EXECUTION_TIMEOUT_SECONDS,
                "ExecutionRetentionPeriodDays": RETENTION_PERIOD_DAYS,
                "Input": payload,
            }
            status, _, body = self._call(
                "POST",
                "/start-durable-execution",
                json.dumps(request).encode(),
                {"Content-Type": "application/json"},
            )
            if status not in (200, 201):
                raise RuntimeError(f"the durable runner refused to start {name}: {status} {body!r}")
            arn = str(json.loads(body)["ExecutionArn"])
            self._started[(function_name, name)] = _Started(arn, payload)
            self._lambda_arns[arn] = (
                f"arn:aws:lambda:{self._region}:{ACCOUNT_ID}:function:{function_name}:{qualifier}"
                f"/durable-execution/{name}/{arn.rsplit('/', 1)[-1]}"
            )
            return arn

    def lambda_arn(self, runner_arn: str) -> str | None:
        """The ARN Lambda would give the execution (function:NAME:VERSION/durable-execution/NAME/ID),
        which IAM authorizes the durable execution API on; the runner's own ARNs are UUIDs."""
        with self._lock:
            return self._lambda_arns.get(runner_arn)

    def wait(self, arn: str, timeout_seconds: float) -> dict[str, Any]:
        """GetDurableExecution once the execution has closed (a synchronous Invoke waits so)."""
        deadline = time.monotonic() + timeout_seconds
        path = f"{API_PREFIX}durable-executions/{quote(arn, safe='')}"
        while True:
            _, _, body = self._call("GET", path)
            execution = json.loads(body)
            if execution.get("Status") in TERMINAL or time.monotonic() > deadline:
                return execution
            time.sleep(0.05)

    def forward(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        """A WSGI app: the request, byte for byte, to the runner, and its answer back."""
        # The raw URI keeps an ARN's %2F escapes; PATH_INFO has them decoded into slashes.
        raw_uri = environ.get("RAW_URI") or environ.get("REQUEST_URI") or environ["PATH_INFO"]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        headers = {"Content-Type": environ.get("CONTENT_TYPE") or "application/json"}
        status, response_headers, response_body = self._call(
            environ["REQUEST_METHOD"], raw_uri, body, headers
        )
        kept = [
            (name, value)
            for name, value in response_headers
            if name.lower() not in ("connection", "transfer-encoding", "content-length", "server", "date")
        ]
        if status >= 400:
            kept, response_body = lambda_error(status, kept, response_body)
        kept.append(("Content-Length", str(len(response_body))))
        start_response(f"{status} {http.client.responses.get(status, '')}", kept)
        return [response_body]
