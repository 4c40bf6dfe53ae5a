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

import json
import os
import secrets
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import boto3
from botocore.config import Config

from local_twin import cache_auth, iam, lambda_runtime

# http_api_event and match_route are imported from here by the handlers' tests and the bench.
from local_twin.api_gateway import ACCOUNT_ID as ACCOUNT_ID
from local_twin.api_gateway import ApiGateway
from local_twin.api_gateway import http_api_event as http_api_event
from local_twin.api_gateway import match_route as match_route
from local_twin.faults import FaultClient
from local_twin.iam import INVOKED_BY_HEADER, SOURCE_ARN_HEADER
from local_twin.processes import ProcessGroup
from local_twin.provision import Timings, apply_stack
from local_twin.redis_server import RedisServer
from local_twin.throttling import ApiThrottle, account_limits
from tools.stack import HttpResponse, StackOutputs, StackReader, every, request_text
from tools.tfrun import TWIN_REGION

REGION = TWIN_REGION
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
    _gateway: ApiGateway | None = field(default=None, repr=False)
    _gateway_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _gateway_client: Any = field(default=None, repr=False)
    _integrations: tuple[str, dict[str, str]] | None = field(default=None, repr=False)
    _invoke_headers: threading.local = field(default_factory=threading.local, repr=False)

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
        # With IAM enforced, the cache's app user admits only the password the server gives for an IAM
        # token ElastiCache would admit (cache_auth.py)
        cache_password = secrets.token_hex(16) if iam.enforced() else None
        redis_server = RedisServer(build_dir, password=cache_password) if with_redis else None
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
                env={**os.environ, cache_auth.PASSWORD_VARIABLE: cache_password or ""},
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
    def client(self, service: str, *, retried: bool = True) -> Any:
        """A client of the twin. `retried=False`: one attempt only, as a caller that must not
        repeat a request (API Gateway's Lambda integration) makes it."""
        key = service if retried else f"{service} once"
        if key not in self._clients:
            retries = {"mode": "standard", "max_attempts": 2} if retried else {"total_max_attempts": 1}
            self._clients[key] = boto3.client(
                service,
                endpoint_url=self.endpoint_url,
                region_name=REGION,
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
                config=Config(retries=retries, read_timeout=120, max_pool_connections=64),
            )
        return self._clients[key]

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
    def invoke(self, key: str, event: Any, *, retried: bool = True) -> tuple[Any, str | None]:
        response = self.client("lambda", retried=retried).invoke(
            FunctionName=self.function_name(key), Payload=json.dumps(event).encode()
        )
        return json.loads(response["Payload"].read() or b"null"), response.get("FunctionError")

    def _integration_invoke(self, key: str, event: Any) -> tuple[Any, str | None]:
        """API Gateway's Lambda proxy integration: one synchronous Invoke of the route's integration
        target (an alias where the stack integrates one), never retried. A retry would run a POST
        twice (the second one meets the first's idempotency record, in progress, and answers 409);
        when the Invoke fails, an HTTP API answers 500 instead.
        https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-troubleshooting-lambda.html

        API Gateway invokes as its service principal, so the function's resource policy must allow
        apigateway.amazonaws.com for this API (aws:SourceArn, the execute-api ARN of the request):
        the invoke carries who calls and for which ARN, and the twin's server decides it
        (iam.Enforcer.check_service_invoke); a refusal is a 500, as API Gateway answers it."""
        api_id, targets = self._integration()
        context = event["requestContext"]
        source_arn = (
            f"arn:aws:execute-api:{REGION}:{ACCOUNT_ID}:{api_id}/{context['stage']}/"
            f"{context['http']['method']}{quote(context['http']['path'], safe='/')}"
        )
        target = targets.get(event["routeKey"]) or self.function_name(key)
        headers = {INVOKED_BY_HEADER: "apigateway.amazonaws.com", SOURCE_ARN_HEADER: source_arn}
        self._invoke_headers.values = headers
        try:
            response = self._gateway_lambda().invoke(FunctionName=target, Payload=json.dumps(event).encode())
        finally:
            self._invoke_headers.values = {}
        return json.loads(response["Payload"].read() or b"null"), response.get("FunctionError")

    def _gateway_lambda(self) -> Any:
        """The twin's one-attempt Lambda client, sending with each Invoke the headers the gateway set
        for it (none outside `_integration_invoke`)."""
        with self._gateway_lock:
            if self._gateway_client is None:
                client = self.client("lambda", retried=False)  # one attempt, as API Gateway makes it

                def add_headers(request: Any, **_: Any) -> None:
                    for name, value in getattr(self._invoke_headers, "values", {}).items():
                        request.headers[name] = value

                client.meta.events.register("before-sign.lambda.Invoke", add_headers)
                self._gateway_client = client
            return self._gateway_client

    def _integration(self) -> tuple[str, dict[str, str]]:
        """The applied HTTP API's id, and each route key's integration target (a function ARN, qualified
        when the integration names an alias), from its integration URIs as API Gateway holds them."""
        if self._integrations is None:
            apigateway = self.client("apigatewayv2")
            (api_id,) = [
                api["ApiId"]
                for api in every(apigateway, "get_apis", "Items")
                if api["ApiEndpoint"] == self.outputs.api_url
            ]
            uris = {
                integration["IntegrationId"]: integration["IntegrationUri"]
                for integration in every(apigateway, "get_integrations", "Items", ApiId=api_id)
            }
            targets = {}
            for route in every(apigateway, "get_routes", "Items", ApiId=api_id):
                uri = uris.get(str(route.get("Target", "")).removeprefix("integrations/"), "")
                # arn:aws:apigateway:<region>:lambda:path/2015-03-31/functions/<function ARN>/invocations
                if "/functions/" in uri:
                    targets[route["RouteKey"]] = uri.split("/functions/", 1)[1].removesuffix("/invocations")
            self._integrations = (api_id, targets)
        return self._integrations

    @property
    def gateway(self) -> ApiGateway:
        """The stack's HTTP API: one for this twin, behind `request` and the HTTP server alike,
        throttled with the limits of its applied `$default` stage, the stage an HTTP API serves at
        its base URL (`api_url`): https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-stages.html"""
        with self._gateway_lock:
            if self._gateway is None:
                apigateway = self.client("apigatewayv2")
                api_id, _ = self._integration()

                def read_stage() -> dict[str, Any] | None:
                    try:
                        return dict(apigateway.get_stage(ApiId=api_id, StageName="$default"))
                    except apigateway.exceptions.NotFoundException:
                        return None

                throttle = ApiThrottle(read_stage, account_limits(REGION))
                self._gateway = ApiGateway(self.outputs.routes, self._integration_invoke, throttle)
            return self._gateway

    def request(
        self,
        method: str,
        path: str,
        json_body: Any = None,
        headers: dict[str, str] | None = None,
        raw_body: str | None = None,
    ) -> HttpResponse:
        """What API Gateway answers to a request (HTTP API, payload v2), sent as
        `DeployedStack.request` sends it: a body as JSON unless `raw_body`, with a JSON Content-Type
        unless `headers` name one. The path may carry a query string."""
        text = request_text(json_body, raw_body)
        sent = {"User-Agent": "local-twin"} | (
            {"Content-Type": "application/json"} if text is not None else {}
        )
        for name, value in (headers or {}).items():
            # A header the caller names replaces the default of the same name, whatever its case.
            sent = {known: given for known, given in sent.items() if known.lower() != name.lower()}
            sent[name] = value
        body = text.encode() if text is not None else b""
        return self.gateway.handle(method, path, list(sent.items()), body).as_http_response()
