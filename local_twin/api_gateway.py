"""What API Gateway (HTTP API, payload format 2.0) does with a request, for the twin: route it with
the stack's own route table (`terraform output`), build the v2.0 event AWS would build, invoke the
function the route names, and turn its result (or the Invoke's failure) into API Gateway's answer.

No sockets here: `local_twin.http_server` serves this over HTTP (curl, browsers, schemathesis), and
`LocalTwin.request` calls it in process (the demo, the bench and the tests).
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from botocore.exceptions import BotoCoreError, ClientError

from local_twin.throttling import Admission, ApiThrottle
from tools.stack import HttpResponse, parsed_body

logger = logging.getLogger(__name__)

ACCOUNT_ID = "123456789012"
LOOPBACK = "127.0.0.1"
# What the Invoke call itself can raise: Lambda's TooManyRequestsException (the function at its
# concurrency), a service error, or no answer at all (the endpoint down, a reset, a timeout).
INVOKE_FAILURES = (ClientError, BotoCoreError, OSError, ValueError)
# Media types API Gateway passes as text; every other body reaches the function base64-encoded.
_TEXT_SUFFIXES = ("+json", "+xml")
_TEXT_TYPES = {"application/json", "application/xml", "application/javascript"}

Invoke = Callable[[str, dict[str, Any]], tuple[Any, str | None]]


@dataclass
class GatewayResponse:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    # Lambda's FunctionError ("Unhandled") behind a 500 that a function's crash caused.
    function_error: str | None = None

    def as_http_response(self) -> HttpResponse:
        """As a client reads it (tools.stack.HttpResponse): the headers by name, the body parsed."""
        return HttpResponse(self.status, dict(self.headers), parsed_body(self.body), self.function_error)


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
        crashed = json_message(HTTPStatus.INTERNAL_SERVER_ERROR)
        crashed.function_error = function_error
        return crashed
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
        return json_message(HTTPStatus.INTERNAL_SERVER_ERROR)
    headers = [(str(name), str(value)) for name, value in (payload.get("headers") or {}).items()]
    headers += [("Set-Cookie", str(cookie)) for cookie in payload.get("cookies") or []]
    return GatewayResponse(status, headers, raw)


@dataclass
class ApiGateway:
    """Routes, throttles, builds the event, invokes, maps the answer: the one path for every request
    to the twin's API, from the HTTP server (curl) and from `LocalTwin.request` (the demo and the
    tests), so both share the stage's token buckets."""

    routes: dict[str, str]
    invoke: Invoke
    throttle: ApiThrottle

    def handle(
        self,
        method: str,
        target: str,
        header_pairs: list[tuple[str, str]],
        body: bytes,
        source_ip: str = LOOPBACK,
    ) -> GatewayResponse:
        """API Gateway's answer to one request; every answer after routing carries its request id
        (`Apigw-Requestid`), as an HTTP API's do."""
        path = unquote(split_target(target)[0])
        matched = match_route(self.routes, method, path)
        if matched is None:
            return json_message(HTTPStatus.NOT_FOUND)
        route_key, function, path_parameters = matched
        try:
            admission = self.throttle.admit(route_key)
        except INVOKE_FAILURES as error:
            logger.warning("reading the API's stage failed: %r", error)
            return json_message(HTTPStatus.INTERNAL_SERVER_ERROR)
        if admission is Admission.NO_STAGE:
            return json_message(HTTPStatus.NOT_FOUND)
        if admission is Admission.THROTTLED:
            # Past the route's or the account's token bucket: 429, and the function is not invoked.
            # https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-throttling.html
            throttled = json_message(HTTPStatus.TOO_MANY_REQUESTS)
            throttled.headers.append(("Apigw-Requestid", _request_id()))
            return throttled
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
            response = json_message(HTTPStatus.INTERNAL_SERVER_ERROR)
        else:
            response = gateway_response(payload, function_error)
        response.headers.append(("Apigw-Requestid", request_id))
        return response


def json_message(status: int, message: str | None = None) -> GatewayResponse:
    """API Gateway's own answer, byte for byte: `{"message": ...}` with the status's reason phrase
    (`{"message":"Not Found"}`, `{"message":"Internal Server Error"}`)."""
    text = message or HTTPStatus(status).phrase
    body = json.dumps({"message": text}, separators=(",", ":")).encode()
    return GatewayResponse(status, [("Content-Type", "application/json")], body)


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
