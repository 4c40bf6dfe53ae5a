"""The twin's HTTP API without a twin: a real socket server whose "functions" record the events
they get, so each rule of API Gateway's payload format 2.0 is checked on the wire."""

from __future__ import annotations

import base64
import http.client
import json
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.parser.models import APIGatewayProxyEventV2Model
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError
from moto import mock_aws

from local_twin.api_gateway import ApiGateway
from local_twin.http_server import PortTaken, TwinHttpServer, serving
from local_twin.throttling import Admission, ApiThrottle, Limits, account_limits
from local_twin.twin import LocalTwin
from tests.foreground import take_ctrl_c
from tools.stack import StackOutputs

ROUTES = {
    "GET /carts/{cart_id}": "cart",
    "PUT /carts/{cart_id}": "cart",
    "POST /carts/{cart_id}/items": "cart",
    "POST /orders": "checkout",
}
# GetStage's answer for a stage whose limits no test here reaches but the throttling tests.
ROOMY_STAGE = {
    "StageName": "$default",
    "DefaultRouteSettings": {"ThrottlingRateLimit": 1000.0, "ThrottlingBurstLimit": 500},
}


def roomy() -> ApiThrottle:
    return ApiThrottle(lambda: ROOMY_STAGE, account_limits("us-east-1"))


class Functions:
    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.result: Any = {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": "{}"}
        self.error: str | None = None
        self.raises: Exception | None = None

    def invoke(self, function: str, event: dict[str, Any]) -> tuple[Any, str | None]:
        self.events.append((function, event))
        if self.raises is not None:
            raise self.raises
        return self.result, self.error


@pytest.fixture
def functions() -> Functions:
    return Functions()


@pytest.fixture
def server(functions: Functions) -> Iterator[TwinHttpServer]:
    running = TwinHttpServer(0)
    running.start(ApiGateway(ROUTES, functions.invoke, roomy()))
    yield running
    running.stop()


def call(
    server: TwinHttpServer, method: str, target: str, body: bytes | None = None, headers: Any = ()
) -> http.client.HTTPResponse:
    host, port = server.server_address[:2]
    connection = http.client.HTTPConnection(host, port, timeout=10)
    connection.putrequest(method, target, skip_accept_encoding=True)
    for name, value in headers:
        connection.putheader(name, value)
    if body is not None:
        connection.putheader("Content-Length", str(len(body)))
    connection.endheaders(body)
    response = connection.getresponse()
    response.read_body = response.read()  # type: ignore[attr-defined]
    connection.close()
    return response


def test_a_request_becomes_the_v2_event_api_gateway_builds(
    server: TwinHttpServer, functions: Functions
) -> None:
    response = call(
        server,
        "PUT",
        "/carts/c%201?b=2&a=1&b=3&q=x%20y",
        b'{"items": {}}',
        [
            ("Content-Type", "application/json"),
            ("X-Repeated", "one"),
            ("X-Repeated", "two"),
            ("Cookie", "session=abc; theme=dark"),
            ("User-Agent", "curl/8.0"),
        ],
    )
    assert response.status == 200
    ((function, event),) = functions.events
    assert function == "cart"
    APIGatewayProxyEventV2Model.model_validate(event)
    assert event["version"] == "2.0"
    assert event["routeKey"] == "PUT /carts/{cart_id}"
    assert event["rawPath"] == "/carts/c 1"
    assert event["pathParameters"] == {"cart_id": "c 1"}
    assert event["rawQueryString"] == "b=2&a=1&b=3&q=x%20y"
    assert event["queryStringParameters"] == {"a": "1", "b": "2,3", "q": "x y"}
    assert event["cookies"] == ["session=abc", "theme=dark"]
    assert event["headers"]["x-repeated"] == "one,two"
    assert "cookie" not in event["headers"]
    assert all(name == name.lower() for name in event["headers"])
    assert event["body"] == '{"items": {}}'
    assert event["isBase64Encoded"] is False
    context = event["requestContext"]
    assert context["stage"] == "$default"
    assert context["http"] == {
        "method": "PUT",
        "path": "/carts/c 1",
        "protocol": "HTTP/1.1",
        "sourceIp": "127.0.0.1",
        "userAgent": "curl/8.0",
    }
    assert set(context["authorizer"]["iam"]) == {
        "accessKey",
        "accountId",
        "callerId",
        "cognitoIdentity",
        "principalOrgId",
        "userArn",
        "userId",
    }
    assert context["authorizer"]["iam"]["cognitoIdentity"] is None
    assert len(context["requestId"]) == 16
    assert isinstance(context["timeEpoch"], int)
    assert response.getheader("Apigw-Requestid") == context["requestId"]


def test_non_text_bodies_arrive_base64_encoded(server: TwinHttpServer, functions: Functions) -> None:
    payload = bytes(range(256))
    call(server, "PUT", "/carts/c1", payload, [("Content-Type", "application/octet-stream")])
    call(server, "PUT", "/carts/c1", b"a=1", [("Content-Type", "application/x-www-form-urlencoded")])
    call(server, "PUT", "/carts/c1", b"plain", [("Content-Type", "text/plain")])
    call(server, "GET", "/carts/c1")
    binary, form, text, empty = (event for _, event in functions.events)
    assert binary["isBase64Encoded"] is True
    assert base64.b64decode(binary["body"]) == payload
    assert (form["isBase64Encoded"], base64.b64decode(form["body"])) == (True, b"a=1")
    assert (text["isBase64Encoded"], text["body"]) == (False, "plain")
    assert "body" not in empty and "cookies" not in empty and "queryStringParameters" not in empty
    assert "content-type" not in empty["headers"]


def test_the_function_response_becomes_the_http_response(
    server: TwinHttpServer, functions: Functions
) -> None:
    functions.result = {
        "statusCode": 201,
        "headers": {"Content-Type": "image/png", "ETag": '"3"'},
        "cookies": ["a=1; Path=/", "b=2"],
        "body": base64.b64encode(b"\x89PNG\x00").decode(),
        "isBase64Encoded": True,
    }
    response = call(server, "GET", "/carts/c1")
    assert response.status == 201
    assert response.read_body == b"\x89PNG\x00"  # type: ignore[attr-defined]
    assert response.getheader("Content-Type") == "image/png"
    assert response.getheader("ETag") == '"3"'
    assert response.headers.get_all("Set-Cookie") == ["a=1; Path=/", "b=2"]


def test_a_result_without_status_code_is_a_json_body(server: TwinHttpServer, functions: Functions) -> None:
    functions.result = {"hello": "world"}
    response = call(server, "GET", "/carts/c1")
    assert (response.status, json.loads(response.read_body)) == (200, {"hello": "world"})  # type: ignore[attr-defined]


def test_unknown_routes_and_function_errors_get_api_gateway_answers(
    server: TwinHttpServer, functions: Functions
) -> None:
    for method, target in [
        ("GET", "/nowhere"),
        ("DELETE", "/orders"),
        ("PATCH", "/carts/c1"),
        ("GET", "/carts/a/b"),
    ]:
        response = call(server, method, target)
        assert response.status == 404, (method, target)
        if method != "HEAD":
            assert response.read_body == b'{"message":"Not Found"}'  # type: ignore[attr-defined]
    assert functions.events == []
    functions.error = "Unhandled"
    response = call(server, "GET", "/carts/c1")
    assert (response.status, response.read_body) == (500, b'{"message":"Internal Server Error"}')  # type: ignore[attr-defined]


def test_a_taken_port_fails_clearly() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        with pytest.raises(PortTaken, match=f"port {port} .* already in use.*PORT="):
            TwinHttpServer(port)


def test_stop_ends_the_server_thread(functions: Functions) -> None:
    running = TwinHttpServer(0)
    running.start(ApiGateway(ROUTES, functions.invoke, roomy()))
    thread = running._thread
    port = running.server_address[1]
    running.stop()
    assert thread is not None and not thread.is_alive()
    with socket.socket() as probe, pytest.raises(ConnectionRefusedError):
        probe.connect(("127.0.0.1", port))


def test_make_twin_stops_at_once_on_a_taken_port(tmp_path: Path) -> None:
    from local_twin import cli

    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        with pytest.raises(SystemExit, match=f"make twin: port {port} .* already in use"):
            cli.serve(tmp_path, port)
    assert list(tmp_path.iterdir()) == [], "nothing was started before the port was checked"


# `make twin` with the twin replaced by a stand-in (no terraform): what SIGTERM and Ctrl-C stop.
SERVE_SCRIPT = """
import contextlib, sys, types
from local_twin import cli
from local_twin.api_gateway import ApiGateway
from local_twin.throttling import ApiThrottle, Limits

engines = {"checkout": "step-functions"}


@contextlib.contextmanager
def fake_engine(engine):
    stack_value = engines["checkout"]
    engines["checkout"] = engine or stack_value
    print("checkout engine", engines["checkout"], flush=True)
    yield
    engines["checkout"] = stack_value


@contextlib.contextmanager
def fake_start(build_dir, **_):
    outputs = types.SimpleNamespace(routes={"GET /carts/{cart_id}": "cart"}, function_names={"cart": "cart"})
    invoke = lambda function, event: ({"statusCode": 200, "body": event["rawPath"]}, None)
    try:
        yield types.SimpleNamespace(
            outputs=outputs, endpoint_url="http://127.0.0.1:1", table_name="t", redis=None, build_dir=build_dir,
            describe_provisioning=lambda: "fake", state_machine_arn=lambda key: "arn",
            invoke=invoke, gateway=ApiGateway(outputs.routes, invoke, ApiThrottle(lambda: {}, Limits(10000.0, 5000))),
            checkout_engine=fake_engine,
            function_environment=lambda key: {"CHECKOUT_ENGINE": engines[key]},
        )
    finally:
        # The HTTP server must already be closed when the twin's processes go.
        import socket
        with socket.socket() as probe:
            serving = probe.connect_ex(("127.0.0.1", int(sys.argv[2]))) == 0
        print("fake twin stopped", "while serving" if serving else "after the http server", flush=True)

cli.LocalTwin.start = fake_start
cli.main(["serve", "--build-dir", sys.argv[1], "--port", sys.argv[2], *sys.argv[3:]])
"""


@pytest.mark.parametrize(
    ("signum", "engine_args", "engine"),
    [
        (signal.SIGTERM, [], "step-functions"),
        (signal.SIGINT, ["--checkout-engine", "durable"], "durable"),  # make twin ENGINE=durable
    ],
)
def test_make_twin_stops_the_http_server_with_the_twin(
    tmp_path: Path, signum: int, engine_args: list[str], engine: str
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-c", SERVE_SCRIPT, str(tmp_path), str(port), *engine_args],
        cwd=Path(__file__).resolve().parents[2],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=take_ctrl_c,
    )
    try:
        lines = []
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            if "local twin running" in line:
                break
        printed = "".join(lines)
        assert f"http://127.0.0.1:{port}" in printed and "curl -i -X PUT" in printed, printed
        assert f"checkout engine {engine}" in printed and f'"checkout_engine": "{engine}"' in printed, printed
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.request("GET", "/carts/c1")
        response = connection.getresponse()
        assert (response.status, response.read()) == (200, b"/carts/c1")
        connection.close()
        process.send_signal(signum)
        rest, _ = process.communicate(timeout=30)
    finally:
        process.kill()
        process.wait()
    assert process.returncode == 130, rest
    assert "fake twin stopped after the http server" in rest
    with socket.socket() as probe, pytest.raises(ConnectionRefusedError):
        probe.connect(("127.0.0.1", port))


# --- issue 20: what a client from the outside saw -------------------------------------------------


def test_each_response_on_a_kept_alive_connection_leaves_in_one_write_without_nagle(
    server: TwinHttpServer, functions: Functions, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Headers and body in two writes made the body wait for the client's delayed ACK: 52 ms per
    # request on one connection against 5.8 ms on new ones. Count the server's socket writes.
    port = server.server_address[1]
    writes: list[tuple[int, int]] = []  # (bytes, TCP_NODELAY) per write from the server's side
    send, sendall = socket.socket.send, socket.socket.sendall

    def record(sock: socket.socket, data: Any) -> None:
        if sock.getsockname()[1] == port:
            writes.append((len(data), sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)))

    def counted_send(sock: socket.socket, data: Any, *args: Any) -> int:
        record(sock, data)
        return send(sock, data, *args)

    def counted_sendall(sock: socket.socket, data: Any, *args: Any) -> None:
        record(sock, data)
        return sendall(sock, data, *args)

    monkeypatch.setattr(socket.socket, "send", counted_send)
    monkeypatch.setattr(socket.socket, "sendall", counted_sendall)
    functions.result = {
        "statusCode": 200,
        "headers": {"Content-Type": "application/json"},
        "body": "x" * 2000,
    }
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    for _ in range(5):
        connection.request("GET", "/carts/c1")
        response = connection.getresponse()
        assert (response.status, len(response.read())) == (200, 2000)
    connection.close()
    assert len(writes) == 5, writes
    assert all(size > 2000 and nodelay for size, nodelay in writes), writes


@pytest.mark.parametrize(
    "failure",
    [
        ClientError({"Error": {"Code": "TooManyRequestsException", "Message": "Rate Exceeded."}}, "Invoke"),
        ClientError({"Error": {"Code": "ServiceException", "Message": "boom"}}, "Invoke"),
        EndpointConnectionError(endpoint_url="http://127.0.0.1:1"),
        ReadTimeoutError(endpoint_url="http://127.0.0.1:1"),
        ConnectionResetError(104, "Connection reset by peer"),
    ],
    ids=["throttled", "service-error", "endpoint-down", "timeout", "reset"],
)
def test_a_failed_invoke_gets_api_gateways_500_and_the_connection_stays_usable(
    server: TwinHttpServer, functions: Functions, failure: Exception
) -> None:
    functions.raises = failure
    connection = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=10)
    connection.request("GET", "/carts/c1")
    response = connection.getresponse()
    assert (response.status, response.read()) == (500, b'{"message":"Internal Server Error"}')
    assert response.getheader("Content-Type") == "application/json"
    assert response.getheader("Apigw-Requestid") == functions.events[0][1]["requestContext"]["requestId"]
    functions.raises = None
    connection.request("GET", "/carts/c1")
    assert connection.getresponse().status == 200
    connection.close()


def test_64_connections_opened_at_once_are_all_queued_and_answered(functions: Functions) -> None:
    # Bound and listening but not yet accepting: every connection must fit in the listen backlog
    # (the stdlib's 5 took 6 and left the rest to SYN retransmits and resets).
    running = TwinHttpServer(0)
    port = running.server_address[1]
    clients = []
    try:
        for _ in range(64):
            client = socket.socket()
            client.setblocking(False)
            client.connect_ex(("127.0.0.1", port))
            clients.append(client)
        deadline = time.monotonic() + 0.5
        connected: set[socket.socket] = set()
        while len(connected) < 64 and time.monotonic() < deadline:
            _, writable, _ = select.select([], [c for c in clients if c not in connected], [], 0.05)
            connected.update(writable)
        assert len(connected) == 64
        running.start(ApiGateway(ROUTES, functions.invoke, roomy()))
        for client in clients:
            client.setblocking(True)
            client.settimeout(10)
            client.sendall(b"GET /carts/c1 HTTP/1.1\r\nHost: twin\r\nConnection: close\r\n\r\n")
        answers = [b"".join(iter(lambda c=client: c.recv(65536), b"")) for client in clients]
        assert all(answer.startswith(b"HTTP/1.1 200 ") for answer in answers)
        assert len(functions.events) == 64
    finally:
        for client in clients:
            client.close()
        running.stop()


def raw_request(server: TwinHttpServer, request: bytes) -> tuple[int, dict[str, str], bytes]:
    with socket.create_connection(server.server_address[:2], timeout=10) as client:
        client.sendall(request)
        response = http.client.HTTPResponse(client)
        response.begin()
        return response.status, dict(response.getheaders()), response.read()


@pytest.mark.parametrize(
    ("method", "target"),
    [
        ("put", "/carts/c1"),
        ("Put", "/carts/c1"),
        ("get", "/carts/c1"),
        ("post", "/orders"),
        ("gEt", "/carts/c1"),
        ("GET", "//carts/c1"),
        ("GET", "//carts//c1"),
        ("POST", "/orders%0A"),
        ("POST", "/carts/c1/items%0A"),
    ],
)
def test_requests_api_gateway_routes_nowhere_get_its_404(
    server: TwinHttpServer, functions: Functions, method: str, target: str
) -> None:
    response = call(server, method, target, b"{}", [("Content-Type", "application/json")])
    assert (response.status, response.read_body) == (404, b'{"message":"Not Found"}')  # type: ignore[attr-defined]
    assert functions.events == []


def test_a_path_id_with_a_trailing_newline_reaches_the_function_with_the_newline(
    server: TwinHttpServer, functions: Functions
) -> None:
    # As an HTTP API does: the path percent-decoded; the handler's own check refuses the id.
    call(server, "PUT", "/carts/ABC-1%0A", b"{}", [("Content-Type", "application/json")])
    ((_, event),) = functions.events
    assert event["pathParameters"] == {"cart_id": "ABC-1\n"}
    assert event["rawPath"] == "/carts/ABC-1\n"


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"GET /carts/" + b"a" * 70_000 + b" HTTP/1.1\r\nHost: twin\r\n\r\n", 414),
        (b"GET /carts/" + b"a" * 10_300 + b" HTTP/1.1\r\nHost: twin\r\n\r\n", 414),
        (
            b"GET /carts/c1 HTTP/1.1\r\nHost: twin\r\n"
            + b"".join(b"X-H%d: v\r\n" % n for n in range(120))
            + b"\r\n",
            431,
        ),
        (b"GET /carts/c1 HTTP/1.1\r\nHost: twin\r\nX-Big: " + b"v" * 10_300 + b"\r\n\r\n", 431),
        (b"GET /carts/c1 HTTP/1.1\r\nHost: twin\r\nX-Big: " + b"v" * 70_000 + b"\r\n\r\n", 431),
        (b"GET /carts/c1 HTTX/1.1\r\nHost: twin\r\n\r\n", 400),
    ],
    ids=["70k-path", "11k-path", "120-headers", "11k-header", "70k-header", "bad-version"],
)
def test_transport_errors_get_api_gateway_json_not_html(
    server: TwinHttpServer, functions: Functions, request_bytes: bytes, status: int
) -> None:
    answered, headers, body = raw_request(server, request_bytes)
    assert answered == status
    assert headers["Content-Type"] == "application/json"
    assert set(json.loads(body)) == {"message"} and b"<" not in body
    assert functions.events == []


def test_a_request_just_inside_the_header_quota_is_served(
    server: TwinHttpServer, functions: Functions
) -> None:
    response = call(server, "GET", "/carts/c1", headers=[("X-Big", "v" * 9000)])
    assert response.status == 200
    assert len(functions.events) == 1


# --- one path: LocalTwin.request and the HTTP server share the twin's gateway ---------------------


@pytest.fixture
def applied() -> Iterator[tuple[Any, str]]:
    """An HTTP API and its $default stage as moto holds them (in process), with the module's
    default limits: the apigatewayv2 client and the API's id."""
    with mock_aws():
        apigateway = boto3.client("apigatewayv2", region_name="us-east-1")
        api = apigateway.create_api(Name="shop-twin-api", ProtocolType="HTTP")
        apigateway.create_stage(
            ApiId=api["ApiId"],
            StageName="$default",
            AutoDeploy=True,
            DefaultRouteSettings={"ThrottlingRateLimit": 50.0, "ThrottlingBurstLimit": 100},
        )
        yield apigateway, api["ApiId"]


def replace_stage(apigateway: Any, api_id: str, **settings: Any) -> None:
    """The stage with other settings, through the apigatewayv2 API (moto has no UpdateStage)."""
    apigateway.delete_stage(ApiId=api_id, StageName="$default")
    apigateway.create_stage(ApiId=api_id, StageName="$default", AutoDeploy=True, **settings)


@pytest.fixture
def in_process(tmp_path: Path, functions: Functions, applied: tuple[Any, str]) -> LocalTwin:
    """A LocalTwin over a stack with ROUTES and the applied API, and no processes: its functions
    are `functions`."""
    apigateway, api_id = applied
    api_url = apigateway.get_api(ApiId=api_id)["ApiEndpoint"]
    twin = LocalTwin(
        endpoint_url="http://127.0.0.1:1",
        build_dir=tmp_path,
        stack=StackOutputs({"routes": ROUTES, "api_url": api_url}),
    )
    twin._clients["apigatewayv2"] = apigateway
    twin._integration_invoke = functions.invoke  # type: ignore[method-assign]
    return twin


CRASH = ({"errorType": "ValueError", "errorMessage": "boom"}, "Unhandled")


@pytest.mark.parametrize(
    ("method", "path", "result", "raises", "status", "body", "function_error"),
    [
        (
            "GET",
            "/carts/c1",
            ({"statusCode": 200, "body": '{"ok": true}'}, None),
            None,
            200,
            {"ok": True},
            None,
        ),
        ("GET", "/nowhere", None, None, 404, {"message": "Not Found"}, None),
        ("get", "/carts/c1", None, None, 404, {"message": "Not Found"}, None),
        ("GET", "/carts/c1", CRASH, None, 500, {"message": "Internal Server Error"}, "Unhandled"),
        (
            "GET",
            "/carts/c1",
            None,
            ClientError(
                {"Error": {"Code": "TooManyRequestsException", "Message": "Rate Exceeded."}}, "Invoke"
            ),
            500,
            {"message": "Internal Server Error"},
            None,
        ),
        (
            "GET",
            "/carts/c1",
            None,
            EndpointConnectionError(endpoint_url="http://127.0.0.1:1"),
            500,
            {"message": "Internal Server Error"},
            None,
        ),
    ],
    ids=["answered", "no-route", "lower-case-method", "function-crash", "lambda-throttled", "moto-down"],
)
def test_twin_request_answers_as_the_http_server_does(
    in_process: LocalTwin,
    functions: Functions,
    method: str,
    path: str,
    result: Any,
    raises: Exception | None,
    status: int,
    body: Any,
    function_error: str | None,
) -> None:
    # Before, twin.request let a failed Invoke escape as an exception where curl got API Gateway's 500.
    if result is not None:
        functions.result, functions.error = result
    functions.raises = raises
    answered = in_process.request(method, path)
    assert (answered.status, answered.body, answered.function_error) == (status, body, function_error)
    with serving(in_process) as server:
        over_http = call(server, method, path)
    assert (over_http.status, json.loads(over_http.read_body)) == (status, body)  # type: ignore[attr-defined]
    if status != 404:
        assert answered.headers["Apigw-Requestid"] == functions.events[0][1]["requestContext"]["requestId"]
        assert over_http.getheader("Apigw-Requestid") == functions.events[1][1]["requestContext"]["requestId"]


def test_twin_request_sends_what_a_client_sends(in_process: LocalTwin, functions: Functions) -> None:
    in_process.request("PUT", "/carts/c%201?x=1", json_body={"items": {}})
    in_process.request("GET", "/carts/c1")
    in_process.request("PUT", "/carts/c1", raw_body="a=1", headers={"content-type": "text/plain"})
    (_, put), (_, get), (_, text) = functions.events
    APIGatewayProxyEventV2Model.model_validate(put)
    assert (put["rawPath"], put["pathParameters"], put["rawQueryString"]) == (
        "/carts/c 1",
        {"cart_id": "c 1"},
        "x=1",
    )
    assert (put["headers"]["content-type"], put["body"]) == ("application/json", '{"items": {}}')
    assert "content-type" not in get["headers"] and "body" not in get, (
        "no body, no Content-Type: as a client sends"
    )
    assert (text["headers"]["content-type"], text["body"]) == ("text/plain", "a=1")


def test_the_twins_http_server_serves_the_twins_own_gateway(in_process: LocalTwin) -> None:
    with serving(in_process) as server:
        assert server.gateway is in_process.gateway


# --- the stage's throttling (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-throttling.html)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def admitted(throttle: ApiThrottle, route_key: str, requests: int) -> int:
    return sum(throttle.admit(route_key) is Admission.ADMITTED for _ in range(requests))


def stage(rate: float, burst: int, **route_settings: dict[str, Any]) -> dict[str, Any]:
    return {
        "DefaultRouteSettings": {"ThrottlingRateLimit": rate, "ThrottlingBurstLimit": burst},
        "RouteSettings": route_settings,
    }


def test_a_routes_bucket_holds_the_burst_and_refills_at_the_rate() -> None:
    clock = Clock()
    throttle = ApiThrottle(lambda: stage(rate=2.0, burst=5), account_limits("us-east-1"), clock)
    assert admitted(throttle, "GET /carts/{cart_id}", 8) == 5  # the bucket starts full: the burst
    clock.now += 1.0
    assert admitted(throttle, "GET /carts/{cart_id}", 8) == 2  # one second: the rate
    clock.now += 0.25
    assert admitted(throttle, "GET /carts/{cart_id}", 8) == 0  # half a token
    clock.now += 0.25
    assert admitted(throttle, "GET /carts/{cart_id}", 8) == 1
    clock.now += 3600
    assert admitted(throttle, "GET /carts/{cart_id}", 8) == 5  # never more than the burst


def test_each_route_has_its_own_bucket_and_route_settings_override_the_default() -> None:
    clock = Clock()
    orders = {"ThrottlingBurstLimit": 1, "ThrottlingRateLimit": 0.5}
    throttle = ApiThrottle(
        lambda: stage(1.0, 3, **{"POST /orders": orders}), account_limits("us-east-1"), clock
    )
    assert admitted(throttle, "GET /carts/{cart_id}", 5) == 3
    assert admitted(throttle, "PUT /carts/{cart_id}", 5) == 3
    assert admitted(throttle, "POST /orders", 5) == 1
    clock.now += 2.0
    assert [admitted(throttle, route, 5) for route in ("GET /carts/{cart_id}", "POST /orders")] == [2, 1]


def test_the_accounts_bucket_limits_every_route_together() -> None:
    # 10,000 a second with a bucket of 5,000 across the account's APIs, per Region; 2,500 and 1,250
    # in the Regions the quotas page lists.
    assert account_limits("us-east-1") == Limits(10_000.0, 5_000)
    assert account_limits("eu-west-1") == Limits(10_000.0, 5_000)
    assert account_limits("eu-south-1") == Limits(2_500.0, 1_250)
    clock = Clock()
    throttle = ApiThrottle(lambda: stage(rate=10_000.0, burst=5_000), Limits(1.0, 4), clock)
    assert admitted(throttle, "GET /carts/{cart_id}", 3) + admitted(throttle, "POST /orders", 3) == 4
    clock.now += 1.0
    assert admitted(throttle, "POST /orders", 3) == 1
    # A limit the stage leaves unset is the account's.
    unset = ApiThrottle(
        lambda: {"DefaultRouteSettings": {"DetailedMetricsEnabled": True}}, Limits(1.0, 4), Clock()
    )
    assert admitted(unset, "POST /orders", 10) == 4


def test_a_burst_above_the_applied_limit_gets_429_for_the_excess_only(functions: Functions) -> None:
    # The rate is a token a thousand seconds: the burst alone decides, however slow the threads are.
    throttle = ApiThrottle(lambda: stage(rate=0.001, burst=10), account_limits("us-east-1"))
    running = TwinHttpServer(0)
    running.start(ApiGateway(ROUTES, functions.invoke, throttle))
    try:
        with ThreadPoolExecutor(max_workers=32) as pool:
            answers = list(pool.map(lambda i: call(running, "GET", f"/carts/c{i}"), range(32)))
    finally:
        running.stop()
    statuses = sorted(answer.status for answer in answers)
    assert statuses == [200] * 10 + [429] * 22
    throttled = [answer for answer in answers if answer.status == 429]
    assert {answer.read_body for answer in throttled} == {b'{"message":"Too Many Requests"}'}  # type: ignore[attr-defined]
    assert all(answer.getheader("Content-Type") == "application/json" for answer in throttled)
    assert all(answer.getheader("Apigw-Requestid") for answer in throttled)
    assert len(functions.events) == 10, "a throttled request never reaches the function"


def test_the_limits_are_the_applied_stages_and_follow_it(applied: tuple[Any, str]) -> None:
    apigateway, api_id = applied
    clock = Clock()

    def read_stage() -> dict[str, Any]:
        return dict(apigateway.get_stage(ApiId=api_id, StageName="$default"))

    throttle = ApiThrottle(read_stage, account_limits("us-east-1"), clock)
    assert admitted(throttle, "POST /orders", 150) == 100  # the stage as created: 50/s, burst 100
    assert admitted(throttle, "GET /carts/{cart_id}", 150) == 100
    replace_stage(
        apigateway,
        api_id,
        DefaultRouteSettings={"ThrottlingRateLimit": 1.0, "ThrottlingBurstLimit": 3},
        RouteSettings={"PUT /carts/{cart_id}": {"ThrottlingRateLimit": 1.0, "ThrottlingBurstLimit": 7}},
    )
    clock.now += 0.5  # 25 tokens back at 50/s
    assert admitted(throttle, "POST /orders", 30) == 25, (
        "the stage is read again once a second, not per request"
    )
    clock.now += 0.5
    # Read again: a route's own settings, else the new default, each in a new bucket.
    assert admitted(throttle, "PUT /carts/{cart_id}", 20) == 7
    assert admitted(throttle, "GET /carts/{cart_id}", 20) == 3
    assert admitted(throttle, "POST /orders", 20) == 3
    clock.now += 2.0
    assert admitted(throttle, "POST /orders", 20) == 2  # refilled at the new rate
    replace_stage(
        apigateway, api_id, DefaultRouteSettings={"ThrottlingRateLimit": 1.0, "ThrottlingBurstLimit": 4}
    )
    clock.now += 1.0
    assert admitted(throttle, "POST /orders", 20) == 4, "an emptied bucket whose limits change starts full"


def test_twin_request_and_the_http_server_share_the_applied_stages_buckets(
    in_process: LocalTwin, functions: Functions, applied: tuple[Any, str]
) -> None:
    apigateway, api_id = applied
    replace_stage(
        apigateway, api_id, DefaultRouteSettings={"ThrottlingRateLimit": 0.001, "ThrottlingBurstLimit": 4}
    )
    answers = [in_process.request("GET", "/carts/c1").status for _ in range(3)]
    with serving(in_process) as server:
        answers += [call(server, "GET", "/carts/c1").status for _ in range(3)]
    assert answers == [200, 200, 200, 200, 429, 429]
    throttled = in_process.request("GET", "/carts/c1")
    assert (throttled.status, throttled.body, throttled.function_error) == (
        429,
        {"message": "Too Many Requests"},
        None,
    )
    assert len(functions.events) == 4


def test_an_api_without_its_stage_serves_nothing(in_process: LocalTwin, applied: tuple[Any, str]) -> None:
    apigateway, api_id = applied
    apigateway.delete_stage(ApiId=api_id, StageName="$default")
    answered = in_process.request("GET", "/carts/c1")
    assert (answered.status, answered.body) == (404, {"message": "Not Found"})
