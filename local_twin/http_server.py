"""The shop's HTTP API on localhost: what API Gateway (HTTP API, payload format 2.0) does for the
twin, so that curl, a browser or schemathesis can call the real handlers.

Each request is routed with the stack's own route table (`terraform output`, through
`twin.match_route`), turned into the v2.0 event AWS would build (`twin.http_api_event`), sent to
the function the route names, and the function's result is turned back into HTTP as API Gateway
does. Two differences from AWS, both deliberate: requests need no SigV4 signature, and every event
carries an IAM-shaped `requestContext.authorizer` for the twin's own caller instead.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import errno
import json
import logging
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TextIO
from urllib.parse import parse_qsl, unquote, urlsplit

from botocore.exceptions import BotoCoreError, ClientError

from local_twin.twin import http_api_event, match_route

logger = logging.getLogger(__name__)

DEFAULT_PORT = 3000
LOOPBACK = "127.0.0.1"
# API Gateway's own answers, byte for byte.
NOT_FOUND = b'{"message":"Not Found"}'
INTERNAL_ERROR = b'{"message":"Internal Server Error"}'
# HTTP APIs refuse request bodies over 10 MB, and a request line and header values over 10,240
# bytes in total: https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-quotas.html
MAX_REQUEST_BYTES = 10 * 1024 * 1024
MAX_REQUEST_LINE_AND_HEADER_BYTES = 10240
# What the Invoke call itself can raise: Lambda's TooManyRequestsException (the function at its
# concurrency), a service error, or no answer at all (the endpoint down, a reset, a timeout).
INVOKE_FAILURES = (ClientError, BotoCoreError, OSError, ValueError)
# Media types API Gateway passes as text; every other body reaches the function base64-encoded.
_TEXT_SUFFIXES = ("+json", "+xml")
_TEXT_TYPES = {"application/json", "application/xml", "application/javascript"}

Invoke = Callable[[str, dict[str, Any]], tuple[Any, str | None]]


class PortTaken(RuntimeError):
    pass


@dataclass
class GatewayResponse:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""


def is_text(content_type: str | None) -> bool:
    media_type = (content_type or "").split(";")[0].strip().lower()
    return media_type.startswith("text/") or media_type in _TEXT_TYPES or media_type.endswith(_TEXT_SUFFIXES)


def split_target(target: str) -> tuple[str, str]:
    """A request target's path and query string, the path exactly as sent. (urlsplit would read
    "//carts/c1" as a host "carts" and a path "/c1".)"""
    if not target.startswith("/"):  # absolute-form, as a client talking to a proxy sends it
        split = urlsplit(target)
        return split.path or "/", split.query
    path, _, query = target.partition("#")[0].partition("?")
    return path, query


def request_event(
    method: str,
    target: str,
    header_pairs: list[tuple[str, str]],
    body: bytes,
    route_key: str,
    path_parameters: dict[str, str],
    source_ip: str = LOOPBACK,
) -> dict[str, Any]:
    """The payload v2.0 event for one HTTP request, as API Gateway builds it."""
    path, query_string = split_target(target)
    headers: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in header_pairs:
        lowered = name.lower()
        if lowered == "cookie":
            # Cookies leave the headers for their own list, one entry per cookie.
            cookies += [part.strip() for part in value.split(";") if part.strip()]
        elif lowered in headers:
            headers[lowered] = f"{headers[lowered]},{value}"
        else:
            headers[lowered] = value
    query: dict[str, str] = {}
    for name, value in parse_qsl(query_string, keep_blank_values=True):
        query[name] = f"{query[name]},{value}" if name in query else value
    text: str | None = None
    encoded = False
    if body:
        if is_text(headers.get("content-type")):
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError:
                encoded = True
        else:
            encoded = True
        if encoded:
            text = base64.b64encode(body).decode()
    return http_api_event(
        method,
        unquote(path),
        route_key,
        path_parameters,
        text,
        headers,
        raw_query_string=query_string,
        query_parameters=query,
        cookies=cookies,
        is_base64_encoded=encoded,
        source_ip=source_ip,
        assume_json=False,
    )


def gateway_response(payload: Any, function_error: str | None) -> GatewayResponse:
    """API Gateway's HTTP response for a function's result (payload format 2.0)."""
    if function_error:
        return GatewayResponse(500, [("Content-Type", "application/json")], INTERNAL_ERROR)
    if not (isinstance(payload, dict) and "statusCode" in payload):
        # Without a statusCode API Gateway takes the whole result as a JSON body.
        return GatewayResponse(200, [("Content-Type", "application/json")], json.dumps(payload).encode())
    try:
        status = int(payload["statusCode"])
        body = payload.get("body") or ""
        if payload.get("isBase64Encoded"):
            raw = base64.b64decode(body, validate=True)
        else:
            raw = body.encode() if isinstance(body, str) else json.dumps(body).encode()
    except (TypeError, ValueError, binascii.Error):
        return GatewayResponse(500, [("Content-Type", "application/json")], INTERNAL_ERROR)
    headers = [(str(name), str(value)) for name, value in (payload.get("headers") or {}).items()]
    headers += [("Set-Cookie", str(cookie)) for cookie in payload.get("cookies") or []]
    return GatewayResponse(status, headers, raw)


@dataclass
class ApiGateway:
    """Routes, builds the event, invokes, maps the answer: no sockets, so it is testable alone."""

    routes: dict[str, str]
    invoke: Invoke

    def handle(
        self, method: str, target: str, header_pairs: list[tuple[str, str]], body: bytes, source_ip: str
    ) -> tuple[GatewayResponse, str]:
        path = unquote(split_target(target)[0])
        matched = match_route(self.routes, method, path)
        if matched is None:
            return GatewayResponse(404, [("Content-Type", "application/json")], NOT_FOUND), ""
        route_key, function, path_parameters = matched
        event = request_event(method, target, header_pairs, body, route_key, path_parameters, source_ip)
        request_id = event["requestContext"]["requestId"]
        try:
            payload, function_error = self.invoke(function, event)
        except INVOKE_FAILURES as error:
            # API Gateway answers every request: when the integration cannot be invoked (Lambda
            # throttled it, failed, or did not answer) an HTTP API answers 500 Internal Server
            # Error, and logs the cause as $context.integrationErrorMessage.
            # https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-troubleshooting-lambda.html
            # https://repost.aws/knowledge-center/api-gateway-internal-server-error (throttling)
            logger.warning("request %s: invoking %s failed: %r", request_id, function, error)
            return GatewayResponse(500, [("Content-Type", "application/json")], INTERNAL_ERROR), request_id
        return gateway_response(payload, function_error), request_id


def json_message(status: int, message: str | None = None) -> GatewayResponse:
    """API Gateway's own error: `{"message": ...}` with the status's reason phrase."""
    text = message or HTTPStatus(status).phrase
    body = json.dumps({"message": text}, separators=(",", ":")).encode()
    return GatewayResponse(status, [("Content-Type", "application/json")], body)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: TwinHttpServer
    # Each response leaves in one write: the status line, headers and body are buffered and sent
    # when the request is done (BaseHTTPRequestHandler flushes wfile after each one). Unbuffered,
    # the headers went out first and the body waited for the client's delayed ACK (Nagle's
    # algorithm): 40 ms more per request on a kept-alive connection. TCP_NODELAY on the accepted
    # socket covers responses larger than the buffer.
    wbufsize = 64 * 1024
    disable_nagle_algorithm = True

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """The stdlib's errors before routing (a request line too long, too many headers, a
        malformed request) as API Gateway answers its own: JSON, never an HTML page."""
        self.log_error("code %d, message %s", code, message)
        # A request line the stdlib could not read leaves its version at HTTP/0.9, which would
        # answer with no status line at all.
        self.request_version = self.protocol_version
        self.close_connection = True
        response = json_message(code)
        response.headers.append(("Connection", "close"))
        self._reply(response)

    def _request_line_and_header_bytes(self) -> int:
        return len(self.requestline.encode("latin-1")) + sum(
            len(value.encode("latin-1")) for value in self.headers.values()
        )

    def _serve(self) -> None:
        if self._request_line_and_header_bytes() > MAX_REQUEST_LINE_AND_HEADER_BYTES:
            # The quota counts the request line and the header values together. The quotas page
            # names no status: a long request line gets 414, as the stdlib answers past 64 KiB,
            # and a large header block 431, as it answers past 100 headers (RFC 9110, RFC 6585).
            too_long = len(self.requestline) > MAX_REQUEST_LINE_AND_HEADER_BYTES
            self.send_error(
                HTTPStatus.REQUEST_URI_TOO_LONG if too_long else HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE
            )
            return
        gateway = self.server.gateway
        length = self.headers.get("Content-Length")
        try:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                body = self._read_chunked()
            else:
                body = self.rfile.read(int(length)) if length else b""
        except ValueError:
            self._reply(
                GatewayResponse(400, [("Content-Type", "application/json")], b'{"message":"Bad Request"}')
            )
            return
        if len(body) > MAX_REQUEST_BYTES:
            self._reply(
                GatewayResponse(
                    413, [("Content-Type", "application/json")], b'{"message":"Request Entity Too Large"}'
                )
            )
            return
        if gateway is None:
            self._reply(
                GatewayResponse(503, [("Content-Type", "application/json")], b'{"message":"starting"}')
            )
            return
        # The target as sent: the stdlib's self.path has a leading "//" collapsed to "/", which
        # routed "//carts/c1" as "/carts/c1". Here it matches no route (404). Whether an HTTP API
        # merges slashes is not documented; refusing is the side the twin's rule allows (what
        # passes here must work in AWS).
        target = self.requestline.split()[1]
        response, request_id = gateway.handle(
            self.command, target, list(self.headers.items()), body, self.client_address[0]
        )
        if request_id:
            response.headers.append(("Apigw-Requestid", request_id))
        self._reply(response)

    def _read_chunked(self) -> bytes:
        chunks = []
        total = 0
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip(), 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(chunks)
            total += size
            if total > MAX_REQUEST_BYTES:
                raise ValueError("chunked body too large")
            chunks.append(self.rfile.read(size))
            self.rfile.readline()

    def _reply(self, response: GatewayResponse) -> None:
        self.send_response(response.status)
        for name, value in response.headers:
            if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD" and response.body:
            self.wfile.write(response.body)

    def __getattr__(self, name: str) -> Any:
        # API Gateway answers any method, TRACE or made-up ones included: routed, or 404. The
        # stdlib handler would answer 501 for each method without a do_ method of its own.
        if name.startswith("do_"):
            return self._serve
        raise AttributeError(name)

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.access_log is not None:
            self.server.access_log.write(f"{self.address_string()} {format % args}\n")
            self.server.access_log.flush()


class TwinHttpServer(ThreadingHTTPServer):
    """Bound as soon as it is made (so a taken port fails before the twin starts); serves once a
    gateway is attached and `start` is called; `stop` ends it and waits for its thread."""

    daemon_threads = True
    allow_reuse_address = True
    # The listen backlog: the stdlib's 5 reset or stalled most of 48 connections opened at once (a
    # load tool's start); the kernel caps this at net.core.somaxconn.
    request_queue_size = socket.SOMAXCONN

    def __init__(
        self, port: int = DEFAULT_PORT, host: str = LOOPBACK, access_log: TextIO | None = None
    ) -> None:
        self.gateway: ApiGateway | None = None
        self.access_log = access_log
        self._thread: threading.Thread | None = None
        try:
            super().__init__((host, port), _Handler)
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise PortTaken(
                    f"port {port} on {host} is already in use; stop what holds it or choose another, "
                    f"for example `make twin PORT={port + 1}`"
                ) from None
            raise

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def start(self, gateway: ApiGateway) -> None:
        self.gateway = gateway
        self._thread = threading.Thread(target=self.serve_forever, name="twin-http", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self.shutdown()
            self._thread.join(timeout=10)
            self._thread = None
        self.server_close()


@contextlib.contextmanager
def serving(twin: Any, port: int = 0, access_log: TextIO | None = None) -> Iterator[TwinHttpServer]:
    """The HTTP API of a running twin on 127.0.0.1 (port 0: any free port), stopped on exit."""
    server = TwinHttpServer(port, access_log=access_log)
    try:
        server.start(ApiGateway(twin.outputs.routes, twin.invoke))
        yield server
    finally:
        server.stop()
