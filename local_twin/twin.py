"""The local twin: moto + local Lambda workers + Redis, provisioned by `terraform apply`.

    with LocalTwin.start(build_dir) as twin:
        response = twin.request("PUT", "/carts/c1", json={...})

The stack is the real one (terraform/, through environments/twin; see provision.py), and
every name, ARN and route the twin uses comes from its `terraform output`.

`LocalTwin` is what `make demo`, the CLI and the test fixtures use. Everything it
starts runs in process groups that `stop()` ends, and `stop()` runs on exceptions,
Ctrl-C and SIGTERM (see processes.install_signal_handlers).
"""

from __future__ import annotations

import base64
import json
import os
import re
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from local_twin import iam, lambda_runtime
from local_twin.faults import FaultClient
from local_twin.processes import ProcessGroup
from local_twin.provision import Timings, apply_stack
from local_twin.redis_server import RedisServer
from tools.stack import HttpResponse, StackOutputs, StackReader, parsed_body, request_text
from tools.tfrun import TWIN_REGION

REGION = TWIN_REGION
ACCOUNT_ID = "123456789012"
# Where the catalog's cache endpoint points when the twin runs without Redis: a closed port.
NO_CACHE_ENDPOINT = "127.0.0.1:1"


def print_progress(line: str) -> None:
    """Where `make twin`, `make demo` and `make bench` show terraform's progress."""
    print(f"  {line}", flush=True)


@dataclass
class LocalTwin(StackReader):
    endpoint_url: str
    build_dir: Path
    server: ProcessGroup | None = None
    redis: RedisServer | None = None
    stack: StackOutputs | None = None
    timings: Timings | None = None
    _clients: dict[str, Any] = field(default_factory=dict)

    # ---- lifecycle -------------------------------------------------------------------------
    @classmethod
    def launch(
        cls,
        build_dir: Path,
        with_redis: bool = True,
        provision: bool = True,
        timeout: float = 60.0,
        report: Callable[[str], None] | None = None,
    ) -> LocalTwin:
        """Starts Redis and the moto server, then (unless `provision` is off) applies the stack;
        `report` gets terraform's progress (resources created of planned) while it does."""
        build_dir = build_dir.resolve()
        build_dir.mkdir(parents=True, exist_ok=True)
        redis_server = RedisServer(build_dir) if with_redis else None
        server: ProcessGroup | None = None
        twin: LocalTwin | None = None
        try:
            # The workers' interpreter, layer and runtime packages: built once into build/, before the
            # server's start-up clock runs (a first build takes pip a few seconds per folder).
            lambda_runtime.prepare()
            if redis_server is not None:
                redis_server.start()
            # The catalog's cache endpoint and TLS flag are the only values the twin substitutes:
            # Terraform's ElastiCache endpoint is replaced by the twin's redis-server (plain TCP).
            cache_endpoint = f"127.0.0.1:{redis_server.port}" if redis_server else NO_CACHE_ENDPOINT
            ready_file = build_dir / "twin-server.ready.json"
            ready_file.unlink(missing_ok=True)
            server = ProcessGroup(
                [
                    sys.executable,
                    "-m",
                    "local_twin.server",
                    "--ready-file",
                    str(ready_file),
                    "--region",
                    REGION,
                    "--substitute",
                    f"CACHE_ENDPOINT={cache_endpoint}",
                    "--substitute",
                    "CACHE_TLS=false",
                    "--cache-address",
                    cache_endpoint,
                ],
                build_dir / "twin-server.log",
            )
            deadline = time.monotonic() + timeout
            while not ready_file.exists():
                if not server.running:
                    raise RuntimeError(f"twin server exited; see {build_dir / 'twin-server.log'}")
                if time.monotonic() > deadline:
                    raise RuntimeError("twin server did not become ready in time")
                time.sleep(0.05)
            port = json.loads(ready_file.read_text())["port"]
            if os.environ.get("TWIN_IAM", "enforce") == "enforce" and not iam.available():
                print(f"WARNING: {iam.UNAVAILABLE}", file=sys.stderr, flush=True)
            twin = cls(endpoint_url=f"http://127.0.0.1:{port}", build_dir=build_dir, server=server)
            twin.redis = redis_server
            if provision:
                twin.stack, twin.timings = apply_stack(build_dir, twin.endpoint_url, report)
                twin._check_cache_user()
            return twin
        except BaseException:
            if twin is not None:
                twin.stop()
            else:
                if server is not None:
                    server.stop()
                if redis_server is not None:
                    redis_server.stop()
            raise

    def describe_provisioning(self) -> str:
        if self.timings is None:
            return "no stack applied"
        return (
            f"terraform init {self.timings.init_seconds:.1f} s, apply {self.timings.apply_seconds:.1f} s, "
            f"{self.timings.resources} resources"
        )

    def _check_cache_user(self) -> None:
        user = self.outputs.cache["user_id"]
        if self.redis is not None and user != self.redis.user:
            raise RuntimeError(
                f"the stack's cache user is {user!r} but the twin's Redis admits {self.redis.user!r}"
            )

    @classmethod
    @contextmanager
    def start(
        cls,
        build_dir: Path,
        with_redis: bool = True,
        provision: bool = True,
        report: Callable[[str], None] | None = None,
    ) -> Iterator[LocalTwin]:
        twin = cls.launch(build_dir, with_redis=with_redis, provision=provision, report=report)
        try:
            yield twin
        finally:
            twin.stop()

    def stop(self) -> None:
        if self.redis is not None:
            self.redis.stop()
        if self.server is not None:
            self.server.stop()

    # ---- clients ---------------------------------------------------------------------------
    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = boto3.client(
                service,
                endpoint_url=self.endpoint_url,
                region_name=REGION,
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
                config=Config(
                    retries={"mode": "standard", "max_attempts": 2}, read_timeout=120, max_pool_connections=64
                ),
            )
        return self._clients[service]

    @property
    def faults(self) -> FaultClient:
        """The twin's fault injector (local_twin/faults.py), over its HTTP API."""
        return FaultClient(self.endpoint_url)

    @property
    def outputs(self) -> StackOutputs:
        if self.stack is None:
            raise RuntimeError("this twin was started without provisioning the stack")
        return self.stack

    # ---- invoking ------------------------------------------------------------------------
    def invoke(self, key: str, event: Any) -> tuple[Any, str | None]:
        response = self.client("lambda").invoke(
            FunctionName=self.function_name(key), Payload=json.dumps(event).encode()
        )
        return json.loads(response["Payload"].read() or b"null"), response.get("FunctionError")

    def request(
        self,
        method: str,
        path: str,
        json_body: Any = None,
        headers: dict[str, str] | None = None,
        raw_body: str | None = None,
    ) -> HttpResponse:
        """What API Gateway (HTTP API, payload v2) does for a request: route, invoke, map."""
        matched = match_route(self.outputs.routes, method, path)
        if matched is None:
            return HttpResponse(404, {}, {"message": "Not Found"})
        route_key, function, path_parameters = matched
        event = http_api_event(
            method, path, route_key, path_parameters, request_text(json_body, raw_body), headers or {}
        )
        payload, function_error = self.invoke(function, event)
        if function_error:
            return HttpResponse(500, {}, {"message": "Internal Server Error"}, function_error)
        response_body = payload.get("body")
        if payload.get("isBase64Encoded") and response_body:
            response_body = base64.b64decode(response_body).decode()
        return HttpResponse(
            int(payload.get("statusCode", 200)), payload.get("headers") or {}, parsed_body(response_body)
        )


def _route_pattern(route_key: str) -> tuple[str, re.Pattern[str]]:
    method, template = route_key.split(" ", 1)
    regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template))
    return method, re.compile(f"^{regex}$")


def match_route(routes: dict[str, str], method: str, path: str) -> tuple[str, str, dict[str, str]] | None:
    """The route key, function and path parameters that API Gateway would pick for a request.

    The method must be the route's, exactly: HTTP methods are case-sensitive (RFC 9110 section 9.1),
    so `put` or `Delete` match no route and get 404. The path must match whole (fullmatch: `$`
    also matches before a trailing newline, so "/carts/c1/items\n" reached POST .../items).
    https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-routes.html"""
    for route_key, function in routes.items():
        route_method, pattern = _route_pattern(route_key)
        found = pattern.fullmatch(path)
        if found and route_method == method:
            return route_key, function, found.groupdict()
    return None


# The identity API Gateway puts into requestContext.authorizer.iam for a SigV4-signed call. The twin
# accepts unsigned requests, so every event carries this caller instead: the twin's own account and
# its `testing` access key, no organization, no Cognito identity.
TWIN_CALLER_ID = "AIDATWINLOCALCALLER00"
TWIN_IAM_AUTHORIZER: dict[str, Any] = {
    "iam": {
        "accessKey": "testing",
        "accountId": ACCOUNT_ID,
        "callerId": TWIN_CALLER_ID,
        "cognitoIdentity": None,
        "principalOrgId": None,
        "userArn": f"arn:aws:iam::{ACCOUNT_ID}:user/local-twin",
        "userId": TWIN_CALLER_ID,
    }
}


def http_api_event(
    method: str,
    path: str,
    route_key: str,
    path_parameters: dict[str, str],
    body: str | None,
    headers: dict[str, str],
    *,
    raw_query_string: str = "",
    query_parameters: dict[str, str] | None = None,
    cookies: list[str] | None = None,
    is_base64_encoded: bool = False,
    source_ip: str = "127.0.0.1",
    protocol: str = "HTTP/1.1",
    assume_json: bool = True,
) -> dict[str, Any]:
    """An API Gateway HTTP API payload v2.0 event. Callers that build events by hand get a JSON
    Content-Type unless they set one (`assume_json`); the HTTP server passes exactly what it received."""
    now = datetime.now(UTC)
    lowered = {k.lower(): v for k, v in headers.items()}
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": raw_query_string,
        "headers": {"content-type": "application/json", **lowered} if assume_json else lowered,
        "requestContext": {
            "accountId": ACCOUNT_ID,
            "apiId": "twin",
            "authorizer": json.loads(json.dumps(TWIN_IAM_AUTHORIZER)),
            "domainName": "twin.execute-api.localhost",
            "domainPrefix": "twin",
            "http": {
                "method": method.upper(),
                "path": path,
                "protocol": protocol,
                "sourceIp": source_ip,
                "userAgent": lowered.get("user-agent", "local-twin" if assume_json else ""),
            },
            "requestId": _request_id(),
            "routeKey": route_key,
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        },
        "body": body,
        "isBase64Encoded": is_base64_encoded,
    }
    # API Gateway leaves out what the request did not have.
    if cookies:
        event["cookies"] = cookies
    if query_parameters:
        event["queryStringParameters"] = query_parameters
    if path_parameters or assume_json:
        event["pathParameters"] = path_parameters
    if body is None and not assume_json:
        del event["body"]
    return event


def _request_id() -> str:
    """API Gateway's request ids look like "JKJaXmPLvHcESHA=": 11 random bytes in base64."""
    return base64.b64encode(uuid.uuid4().bytes[:11]).decode()
