"""The twin's HTTP API without a twin: a real socket server whose "functions" record the events
they get, so each rule of API Gateway's payload format 2.0 is checked on the wire."""

from __future__ import annotations

import base64
import http.client
import json
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools.utilities.parser.models import APIGatewayProxyEventV2Model

from local_twin.http_server import ApiGateway, PortTaken, TwinHttpServer

ROUTES = {
    "GET /carts/{cart_id}": "cart",
    "PUT /carts/{cart_id}": "cart",
    "POST /orders": "checkout",
}


class Functions:
    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.result: Any = {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": "{}"}
        self.error: str | None = None

    def invoke(self, function: str, event: dict[str, Any]) -> tuple[Any, str | None]:
        self.events.append((function, event))
        return self.result, self.error


@pytest.fixture
def functions() -> Functions:
    return Functions()


@pytest.fixture
def server(functions: Functions) -> Iterator[TwinHttpServer]:
    running = TwinHttpServer(0)
    running.start(ApiGateway(ROUTES, functions.invoke))
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
    running.start(ApiGateway(ROUTES, functions.invoke))
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
    try:
        yield types.SimpleNamespace(
            outputs=outputs, endpoint_url="http://127.0.0.1:1", table_name="t", redis=None, build_dir=build_dir,
            describe_provisioning=lambda: "fake", state_machine_arn=lambda key: "arn",
            invoke=lambda function, event: ({"statusCode": 200, "body": event["rawPath"]}, None),
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
