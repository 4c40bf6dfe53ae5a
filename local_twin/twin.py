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
import re
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from local_twin.processes import ProcessGroup
from local_twin.provision import StackOutputs, Timings, apply_stack
from local_twin.redis_server import RedisServer
from tools.tfrun import TWIN_REGION

REGION = TWIN_REGION
ACCOUNT_ID = "123456789012"
# Where the catalog's cache endpoint points when the twin runs without Redis: a closed port.
NO_CACHE_ENDPOINT = "127.0.0.1:1"


CHECKOUT_ENGINES = ("step-functions", "durable")  # Terraform's checkout_engine values


def every(client: Any, operation: str, items: str, **parameters: Any) -> list[Any]:
    """All the items of a paged AWS call, through botocore's paginator for it."""
    return [item for page in client.get_paginator(operation).paginate(**parameters) for item in page[items]]


@dataclass
class HttpResponse:
    status: int
    headers: dict[str, str]
    body: Any
    function_error: str | None = None

    @property
    def json(self) -> Any:
        return self.body

    def describe(self) -> str:
        """Status, body and, for a crashed function, its error: a 500's body alone says nothing."""
        text = f"{self.status} {self.body}"
        return f"{text} (function error: {self.function_error})" if self.function_error else text


@dataclass
class LocalTwin:
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
        cls, build_dir: Path, with_redis: bool = True, provision: bool = True, timeout: float = 60.0
    ) -> LocalTwin:
        """Starts Redis and the moto server, then (unless `provision` is off) applies the stack."""
        build_dir = build_dir.resolve()
        build_dir.mkdir(parents=True, exist_ok=True)
        redis_server = RedisServer(build_dir) if with_redis else None
        server: ProcessGroup | None = None
        twin: LocalTwin | None = None
        try:
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
            twin = cls(endpoint_url=f"http://127.0.0.1:{port}", build_dir=build_dir, server=server)
            twin.redis = redis_server
            if provision:
                twin.stack, twin.timings = apply_stack(build_dir, twin.endpoint_url)
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
    def start(cls, build_dir: Path, with_redis: bool = True, provision: bool = True) -> Iterator[LocalTwin]:
        twin = cls.launch(build_dir, with_redis=with_redis, provision=provision)
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
    def outputs(self) -> StackOutputs:
        if self.stack is None:
            raise RuntimeError("this twin was started without provisioning the stack")
        return self.stack

    @property
    def table_name(self) -> str:
        return self.outputs.table_name

    @property
    def function_keys(self) -> list[str]:
        return sorted(self.outputs.function_names)

    def function_name(self, key: str) -> str:
        return self.outputs.function_names[key]

    def function_arn(self, key: str) -> str:
        return self.outputs.function_arns[key]

    def state_machine_arn(self, key: str) -> str:
        return self.outputs.state_machine_arns[key]

    @contextmanager
    def checkout_engine(self, engine: str | None) -> Iterator[None]:
        """New orders run on `engine` meanwhile, as Terraform's checkout_engine would make them:
        the checkout function's CHECKOUT_ENGINE changes, and the stack's value comes back after.
        None keeps the stack's."""
        if engine is not None and engine not in CHECKOUT_ENGINES:
            raise ValueError(f"checkout engine must be one of {CHECKOUT_ENGINES}, not {engine!r}")
        if engine is None:
            yield
            return
        functions = self.client("lambda")
        name = self.function_name("checkout")
        applied = self.function_environment("checkout")
        if applied.get("CHECKOUT_ENGINE") == engine:
            yield
            return
        functions.update_function_configuration(
            FunctionName=name, Environment={"Variables": {**applied, "CHECKOUT_ENGINE": engine}}
        )
        try:
            yield
        finally:
            functions.update_function_configuration(FunctionName=name, Environment={"Variables": applied})

    def function_environment(self, key: str) -> dict[str, str]:
        """A function's environment variables as Lambda holds them (set by Terraform)."""
        configuration = self.client("lambda").get_function_configuration(FunctionName=self.function_name(key))
        return dict(configuration.get("Environment", {}).get("Variables", {}))

    def stored_item(self, pk: str, sk: str) -> dict[str, Any] | None:
        """An item as DynamoDB holds it (low-level attribute values), read consistently."""
        response = self.client("dynamodb").get_item(
            TableName=self.table_name, Key={"pk": {"S": pk}, "sk": {"S": sk}}, ConsistentRead=True
        )
        return response.get("Item")

    def product_stock(self, sku: str) -> int:
        item = self.stored_item(f"PRODUCT#{sku}", "PRODUCT")
        if item is None:
            raise KeyError(f"no product {sku}")
        return int(item["stock"]["N"])

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
        body = raw_body if raw_body is not None else (None if json_body is None else json.dumps(json_body))
        event = http_api_event(method, path, route_key, path_parameters, body, headers or {})
        payload, function_error = self.invoke(function, event)
        if function_error:
            return HttpResponse(500, {}, {"message": "Internal Server Error"}, function_error)
        response_body = payload.get("body")
        if payload.get("isBase64Encoded") and response_body:
            response_body = base64.b64decode(response_body).decode()
        try:
            parsed = json.loads(response_body) if response_body else None
        except json.JSONDecodeError:
            parsed = response_body
        return HttpResponse(int(payload.get("statusCode", 200)), payload.get("headers") or {}, parsed)

    def function_log(self, key: str, since_ms: int = 0) -> list[str]:
        """A function's log lines since a time, read from CloudWatch Logs as an operator would."""
        logs = self.client("logs")
        group = self.outputs.log_group_names[key]
        lines: list[str] = []
        kwargs: dict[str, Any] = {"logGroupName": group, "startTime": since_ms}
        while True:
            page = logs.filter_log_events(**kwargs)
            lines.extend(event["message"] for event in page["events"])
            if not page.get("nextToken"):
                return lines
            kwargs["nextToken"] = page["nextToken"]

    def stream_invalidated_skus(self, since_ms: int) -> set[str]:
        """The products whose cache entries the cache-invalidator cleared from the table's
        stream since a time, from its "stream batch done" log lines."""
        skus: set[str] = set()
        for line in self.function_log("cache_invalidator", since_ms=since_ms):
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(entry, dict) and entry.get("message") == "stream batch done":
                skus.update(entry.get("invalidated_skus") or [])
        return skus

    def wait_for_stream_invalidation(self, skus: set[str], since_ms: int, timeout: float = 30.0) -> None:
        """Until the stream invalidator has cleared every one of these products (after a write
        made at or after since_ms). Its invalidation deletes the cached value, so a
        measurement of cache reads that starts earlier can see an extra miss that is not its own."""
        deadline = time.monotonic() + timeout
        while missing := skus - self.stream_invalidated_skus(since_ms):
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"the cache-invalidator did not clear {sorted(missing)[:5]} within {timeout} s"
                )
            time.sleep(0.1)


def _route_pattern(route_key: str) -> tuple[str, re.Pattern[str]]:
    method, template = route_key.split(" ", 1)
    regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template))
    return method, re.compile(f"^{regex}$")


def match_route(routes: dict[str, str], method: str, path: str) -> tuple[str, str, dict[str, str]] | None:
    """The route key, function and path parameters that API Gateway would pick for a request."""
    for route_key, function in routes.items():
        route_method, pattern = _route_pattern(route_key)
        found = pattern.match(path)
        if found and route_method == method.upper():
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
