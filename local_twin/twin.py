"""The local twin: moto + local Lambda workers + Redis, provisioned like terraform/.

    with LocalTwin.start(build_dir) as twin:
        response = twin.request("PUT", "/carts/c1", json={...})

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

from local_twin import stack
from local_twin.packaging import REPO_ROOT, function_zip
from local_twin.processes import ProcessGroup
from local_twin.redis_server import RedisServer
from local_twin.workflows import render

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"
DEFAULT_NAME_PREFIX = "shop-twin"
_LAMBDA_ROLE = f"arn:aws:iam::{ACCOUNT_ID}:role/{DEFAULT_NAME_PREFIX}-lambda"


@dataclass
class HttpResponse:
    status: int
    headers: dict[str, str]
    body: Any
    function_error: str | None = None

    @property
    def json(self) -> Any:
        return self.body


@dataclass
class LocalTwin:
    endpoint_url: str
    build_dir: Path
    name_prefix: str = DEFAULT_NAME_PREFIX
    server: ProcessGroup | None = None
    redis: RedisServer | None = None
    _clients: dict[str, Any] = field(default_factory=dict)

    # ---- lifecycle -------------------------------------------------------------------------
    @classmethod
    def launch(cls, build_dir: Path, with_redis: bool = True, timeout: float = 60.0) -> LocalTwin:
        build_dir = build_dir.resolve()
        build_dir.mkdir(parents=True, exist_ok=True)
        ready_file = build_dir / "twin-server.ready.json"
        ready_file.unlink(missing_ok=True)
        server = ProcessGroup(
            [sys.executable, "-m", "local_twin.server", "--ready-file", str(ready_file), "--region", REGION],
            build_dir / "twin-server.log",
        )
        twin: LocalTwin | None = None
        try:
            deadline = time.monotonic() + timeout
            while not ready_file.exists():
                if not server.running:
                    raise RuntimeError(f"twin server exited; see {build_dir / 'twin-server.log'}")
                if time.monotonic() > deadline:
                    raise RuntimeError("twin server did not become ready in time")
                time.sleep(0.05)
            port = json.loads(ready_file.read_text())["port"]
            twin = cls(endpoint_url=f"http://127.0.0.1:{port}", build_dir=build_dir, server=server)
            if with_redis:
                twin.redis = RedisServer(build_dir)
                twin.redis.start()
            twin.provision()
            return twin
        except BaseException:
            if twin is not None:
                twin.stop()
            else:
                server.stop()
            raise

    @classmethod
    @contextmanager
    def start(cls, build_dir: Path, with_redis: bool = True) -> Iterator[LocalTwin]:
        twin = cls.launch(build_dir, with_redis=with_redis)
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
    def table_name(self) -> str:
        return stack.table_name(self.name_prefix)

    def function_name(self, key: str) -> str:
        return stack.function_name(self.name_prefix, key)

    def function_arn(self, key: str) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{self.function_name(key)}"

    def state_machine_arn(self, key: str) -> str:
        return f"arn:aws:states:{REGION}:{ACCOUNT_ID}:stateMachine:{stack.state_machine_name(self.name_prefix, key)}"

    # ---- provisioning (what terraform/ creates, made with boto3) ---------------------------
    def function_environment(self, key: str) -> dict[str, str]:
        values = {
            "POWERTOOLS_SERVICE_NAME": key,
            "POWERTOOLS_METRICS_NAMESPACE": stack.METRICS_NAMESPACE,
            "POWERTOOLS_LOG_LEVEL": "INFO",
            "STATE_TABLE_NAME": self.table_name,
            "CART_TTL_SECONDS": str(stack.CART_TTL_SECONDS),
            "CACHE_ENDPOINT": f"127.0.0.1:{self.redis.port}" if self.redis else "127.0.0.1:1",
            "CACHE_TLS": "false",
            "CACHE_CLUSTER_MODE": "false",
            "CACHE_SECRET_ARN": "",
            "CACHE_TTL_SECONDS": str(stack.CACHE_TTL_SECONDS),
            "CACHE_TIMEOUT_MS": str(stack.CACHE_TIMEOUT_MS),
            "CACHE_BREAKER_COOLDOWN_MS": str(stack.TWIN_BREAKER_COOLDOWN_MS),
            "ORDERS_STATE_MACHINE_ARN": self.state_machine_arn("checkout"),
            "APPROVAL_THRESHOLD_CENTS": str(stack.APPROVAL_THRESHOLD_CENTS),
        }
        wanted = stack.FUNCTIONS[key].environment
        missing = set(wanted) - set(values)
        if missing:
            raise KeyError(f"the twin has no value for {sorted(missing)} of function {key}")
        return {name: values[name] for name in wanted}

    def provision(self) -> None:
        dynamodb = self.client("dynamodb")
        table = stack.STATE_TABLE
        dynamodb.create_table(
            TableName=self.table_name,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[
                {"AttributeName": table.hash_key, "AttributeType": "S"},
                {"AttributeName": table.range_key, "AttributeType": "S"},
            ],
            KeySchema=[
                {"AttributeName": table.hash_key, "KeyType": "HASH"},
                {"AttributeName": table.range_key, "KeyType": "RANGE"},
            ],
        )
        dynamodb.update_time_to_live(
            TableName=self.table_name,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": table.ttl_attribute},
        )
        iam = self.client("iam")
        iam.create_role(
            RoleName=f"{self.name_prefix}-lambda",
            AssumeRolePolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "lambda.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                }
            ),
        )
        code = function_zip()
        logs = self.client("logs")
        for key, definition in stack.FUNCTIONS.items():
            name = self.function_name(key)
            logs.create_log_group(logGroupName=f"/aws/lambda/{name}")
            self.client("lambda").create_function(
                FunctionName=name,
                Runtime="python3.13",
                Role=_LAMBDA_ROLE,
                Handler=definition.handler,
                Code={"ZipFile": code},
                Timeout=definition.timeout_seconds,
                MemorySize=definition.memory_mb,
                Environment={"Variables": self.function_environment(key)},
            )
        for key, machine in stack.STATE_MACHINES.items():
            definition = render(
                REPO_ROOT / machine.template,
                {variable: self.function_arn(function) for variable, function in machine.function_arns},
            )
            self.client("stepfunctions").create_state_machine(
                name=stack.state_machine_name(self.name_prefix, key),
                definition=definition,
                roleArn=f"arn:aws:iam::{ACCOUNT_ID}:role/{self.name_prefix}-states",
                type=machine.type,
            )

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
        matched = match_route(method, path)
        if matched is None:
            return HttpResponse(404, {}, {"message": "Not Found"})
        route, path_parameters = matched
        body = raw_body if raw_body is not None else (None if json_body is None else json.dumps(json_body))
        event = http_api_event(method, path, route.route_key, path_parameters, body, headers or {})
        payload, function_error = self.invoke(route.function, event)
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
        group = f"/aws/lambda/{self.function_name(key)}"
        lines: list[str] = []
        kwargs: dict[str, Any] = {"logGroupName": group, "startTime": since_ms}
        while True:
            page = logs.filter_log_events(**kwargs)
            lines.extend(event["message"] for event in page["events"])
            if not page.get("nextToken"):
                return lines
            kwargs["nextToken"] = page["nextToken"]


def _route_pattern(route_key: str) -> tuple[str, re.Pattern[str]]:
    method, template = route_key.split(" ", 1)
    regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template))
    return method, re.compile(f"^{regex}$")


def match_route(method: str, path: str) -> tuple[stack.Route, dict[str, str]] | None:
    for route in stack.ROUTES:
        route_method, pattern = _route_pattern(route.route_key)
        found = pattern.match(path)
        if found and route_method == method.upper():
            return route, found.groupdict()
    return None


def http_api_event(
    method: str,
    path: str,
    route_key: str,
    path_parameters: dict[str, str],
    body: str | None,
    headers: dict[str, str],
) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"content-type": "application/json", **{k.lower(): v for k, v in headers.items()}},
        "pathParameters": path_parameters,
        "requestContext": {
            "accountId": ACCOUNT_ID,
            "apiId": "twin",
            "domainName": "twin.execute-api.localhost",
            "domainPrefix": "twin",
            "http": {
                "method": method.upper(),
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": "local-twin",
            },
            "requestId": uuid.uuid4().hex,
            "routeKey": route_key,
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        },
        "body": body,
        "isBase64Encoded": False,
    }
