"""The shop's HTTP API on localhost, so that curl, a browser or schemathesis can call the real
handlers: the socket side of `local_twin.api_gateway`, which routes each request with the stack's
own route table, builds the v2.0 event AWS would build, invokes the function the route names and
turns the result into API Gateway's answer. Two differences from AWS, both deliberate: requests
need no SigV4 signature, and every event carries an IAM-shaped `requestContext.authorizer` for the
twin's own caller instead.
"""

from __future__ import annotations

import contextlib
import errno
import socket
import threading
from collections.abc import Iterator
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TextIO

from local_twin.api_gateway import LOOPBACK, ApiGateway, GatewayResponse, json_message

DEFAULT_PORT = 3000
# HTTP APIs refuse request bodies over 10 MB, and a request line and header values over 10,240
# bytes in total: https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-quotas.html
MAX_REQUEST_BYTES = 10 * 1024 * 1024
MAX_REQUEST_LINE_AND_HEADER_BYTES = 10240


class PortTaken(RuntimeError):
    pass


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
        self._reply(
            gateway.handle(self.command, target, list(self.headers.items()), body, self.client_address[0])
        )

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
    """The HTTP API of a running twin on 127.0.0.1 (port 0: any free port), stopped on exit: the
    twin's own gateway, so requests through it and through `twin.request` are routed, throttled
    and answered alike."""
    server = TwinHttpServer(port, access_log=access_log)
    try:
        server.start(twin.gateway)
        yield server
    finally:
        server.stop()
