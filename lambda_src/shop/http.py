"""What every HTTP handler of the shop shares: envelope checks, body parsing and the
`{"error", "message"}` error shape (the codes are the classes in shop/errors.py), on
Powertools' APIGatewayHttpResolver."""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any, TypeVar

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.depends import DependencyResolutionError
from aws_lambda_powertools.event_handler.openapi.params import Header
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.models import APIGatewayProxyEventV2Model
from pydantic import BaseModel, ConfigDict, ValidationError

from shop.errors import InvalidInput, NotFound, PayloadTooLarge, ShopError, UnsupportedMediaType

MAX_BODY_BYTES = 16 * 1024
# Every number a body may hold is below 10**12; a longer integer is refused while parsing,
# before int() is asked to convert thousands of digits (it raises past 4,300).
MAX_INTEGER_DIGITS = 64
# Matched whole (re.fullmatch) with ASCII classes: `\d` would read "٣" as 3. Only HTTP's own
# whitespace (space, tab) may surround the value.
_IF_MATCH = re.compile(r'[ \t]*(?:W/)?(?:"([0-9]{1,12})"|([0-9]{1,12}))[ \t]*')
# A path parameter is one whole segment, as API Gateway routes it: anything but "/", to the end of
# the path. Powertools' own rule ends in `$`, which also matches before a trailing newline, and an
# HTTP API hands the function the path percent-decoded: "/carts/ABC-1%0A" arrived as "ABC-1\n",
# was captured as "ABC-1" and written. Captured whole, the identifier's own check refuses it.
# https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-routes.html (a path
# variable is one segment) and .../http-api-parameter-mapping.html (what reaches the integration).
_PATH_PARAMETER = re.compile(r"<([A-Za-z_][A-Za-z0-9_]*)>")
_JSON_MEDIA_TYPE = "application/json"
_JSON_CHARSETS = {"utf-8", "utf8"}
Model = TypeVar("Model", bound=BaseModel)


def describe_validation_error(error: ValidationError) -> str:
    problems = []
    for detail in error.errors()[:5]:
        where = ".".join(str(part) for part in detail["loc"]) or "body"
        problems.append(f"{where}: {detail['msg']}")
    return "; ".join(problems)


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(
        status_code=status, content_type="application/json", body=json.dumps(body), headers=headers
    )


def versioned_response(status: int, document: dict[str, Any], version: int) -> Response:
    """A resource under optimistic locking: its version goes out as the ETag too."""
    return json_response(status, document, headers={"ETag": f'"{version}"'})


def error_response(error: ShopError) -> Response:
    return json_response(error.status, error.body())


def raw_error(error: ShopError) -> dict[str, Any]:
    """An API Gateway v2 result for events the resolver cannot even route."""
    return {
        "statusCode": error.status,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps(error.body()),
        "isBase64Encoded": False,
    }


class ErrorBody(BaseModel):
    """Every error the handlers answer: a code from shop/errors.py and a sentence; a version
    conflict adds `current_version`."""

    model_config = ConfigDict(extra="allow")
    error: str
    message: str


class GatewayError(BaseModel):
    """API Gateway's own answer when no route matches (and the twin's, which copies it)."""

    model_config = ConfigDict(extra="forbid")
    message: str


_ERRORS = {
    400: "The request is malformed: an identifier, header, body field or JSON that breaks a rule",
    404: "No such resource, or no route for this path",
    409: "A version conflict, or a state that does not allow this now",
    413: f"The body is larger than {MAX_BODY_BYTES} bytes",
    415: "The body is not declared as application/json (UTF-8)",
    422: "Valid, but against a business rule",
    503: "A dependency the function needs did not answer",
}


def documented(
    success: dict[int, tuple[str, Any]], errors: tuple[int, ...] = (400, 404)
) -> dict[int, OpenAPIResponse]:
    """The OpenAPI responses of a route: its successes (status -> description, model or None for
    no body) and the errors it can answer, in the `{"error", "message"}` shape. A 404 may also be
    API Gateway's own `{"message": "Not Found"}`: a path parameter holding a `/` routes nowhere."""
    responses: dict[int, OpenAPIResponse] = {}
    for status, (description, model) in success.items():
        # An empty content map documents "no body" (Powertools would otherwise show the return type).
        content: dict[str, Any] = {} if model is None else {"application/json": {"model": model}}
        responses[status] = {"description": description, "content": content}
    for status in sorted({*errors, 503}):
        model = ErrorBody | GatewayError if status == 404 else ErrorBody
        responses[status] = {
            "description": _ERRORS[status],
            "content": {"application/json": {"model": model}},
        }
    return responses


BODY_ERRORS = (400, 404, 409, 413, 415, 422)


def if_match_header() -> Any:
    """The OpenAPI declaration of the optional `If-Match` header; `expected_version` reads it."""
    return Header(
        None,
        alias="If-Match",
        description='The version the caller read, as the ETag gave it: "3" (or the body\'s version)',
        pattern=r'^(W/)?"?[0-9]{1,12}"?$',
    )


class ShopResolver(APIGatewayHttpResolver):
    """Powertools' HTTP API resolver, with routes matched whole and path parameters captured as
    whole segments (see _PATH_PARAMETER). Powertools' REST resolver overrides the same hook."""

    @staticmethod
    def _compile_regex(rule: str, base_regex: str = r"\A{}\Z") -> re.Pattern[str]:
        return re.compile(base_regex.format(_PATH_PARAMETER.sub(r"(?P<\1>[^/]+)", rule)))


def new_resolver() -> APIGatewayHttpResolver:
    app = ShopResolver()

    @app.exception_handler(ShopError)
    def handle_shop_error(error: ShopError) -> Response:
        return error_response(error)

    @app.exception_handler(DependencyResolutionError)
    def handle_dependency_error(error: DependencyResolutionError) -> Response:
        # A route's Depends() reads its body; Powertools wraps what that raises.
        if isinstance(error.__cause__, ShopError):
            return error_response(error.__cause__)
        raise error

    @app.not_found
    def handle_not_found(_: Exception) -> Response:
        event = app.current_event
        return error_response(NotFound(f"no route for {event.request_context.http.method} {event.path}"))

    return app


def resolve(app: APIGatewayHttpResolver, event: Any, context: Any) -> dict[str, Any]:
    try:
        parse(event=event, model=APIGatewayProxyEventV2Model)
    except (ValidationError, ValueError, TypeError) as error:
        detail = describe_validation_error(error) if isinstance(error, ValidationError) else str(error)
        return raw_error(InvalidInput(f"not an API Gateway HTTP API (v2) event: {detail}"))
    return app.resolve(event, context)


def _bounded_int(digits: str) -> int:
    """json's parse_int: the integer, unless it has more digits than any field allows."""
    if len(digits.lstrip("-")) > MAX_INTEGER_DIGITS:
        raise InvalidInput(
            f"the body holds an integer of {len(digits.lstrip('-'))} digits; "
            f"at most {MAX_INTEGER_DIGITS} digits are accepted"
        )
    return int(digits)


def _require_unicode(text: str, where: str) -> None:
    """JSON's `\\ud800` escape decodes to a lone surrogate, which is not Unicode text: no UTF-8
    encoder (boto3's, DynamoDB's, a log's) can write it, so the write failed with a 500. RFC 8259
    section 8.2 leaves such strings' behaviour unpredictable; the shop refuses them.
    https://www.rfc-editor.org/rfc/rfc8259#section-8.2"""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise InvalidInput(
            f"{where} holds a lone surrogate (U+{ord(text[error.start]):04X} at position {error.start}); "
            "strings must be Unicode text: a surrogate escape is accepted only as half of a pair"
        ) from None


def _require_unicode_values(value: Any) -> None:
    """Every string inside a JSON value; objects inside it were checked by _json_object."""
    if isinstance(value, str):
        _require_unicode(value, "a string in the body")
    elif isinstance(value, list):
        for element in value:
            _require_unicode_values(element)


def _json_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """json's object_pairs_hook: an object whose names are unique and whose strings are Unicode.

    A name given twice is refused rather than letting the last one win: RFC 8259 section 4 says the
    names within an object SHOULD be unique and that parsers differ on duplicates, so a proxy, a
    log or a validator in front of the function may read the first value while the function acts
    on the last; and a duplicate is almost always a client's bug.
    https://www.rfc-editor.org/rfc/rfc8259#section-4"""
    document: dict[str, Any] = {}
    for name, value in pairs:
        _require_unicode(name, "a name in the body")
        if name in document:
            raise InvalidInput(
                f"the body is not valid JSON for this API: the name {name[:80]!r} appears twice in "
                "one object; names within an object must be unique"
            )
        _require_unicode_values(value)
        document[name] = value
    return document


def require_json_content_type(app: APIGatewayHttpResolver) -> None:
    """A body is read only when it is declared JSON: `application/json`, optionally `charset=utf-8`."""
    declared = app.current_event.headers.get("content-type")
    media_type, *parameters = (declared or "").split(";")
    if media_type.strip().lower() != _JSON_MEDIA_TYPE:
        shown = f"{declared[:80]!r}" if declared else "no Content-Type"
        raise UnsupportedMediaType(f"the body must be sent as {_JSON_MEDIA_TYPE}, not {shown}")
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset" and value.strip().strip('"').lower() not in _JSON_CHARSETS:
            raise UnsupportedMediaType(
                f"the body must be sent as {_JSON_MEDIA_TYPE} in UTF-8, not charset {value.strip()[:40]!r}"
            )


def request_body(app: APIGatewayHttpResolver, model: type[Model]) -> Model:
    require_json_content_type(app)
    event = app.current_event
    raw = event.body or ""
    if event.is_base64_encoded:
        try:
            raw = base64.b64decode(raw, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError) as error:
            raise InvalidInput("the body is not valid base64-encoded UTF-8") from error
    _require_unicode(raw, "the body")
    if len(raw.encode("utf-8")) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"the body is larger than {MAX_BODY_BYTES} bytes")
    if not raw.strip():
        raise InvalidInput("a JSON body is required")
    try:
        document = json.loads(raw, parse_int=_bounded_int, object_pairs_hook=_json_object)
    except (json.JSONDecodeError, RecursionError) as error:
        raise InvalidInput(f"the body is not valid JSON: {error}") from None
    if not isinstance(document, dict):
        raise InvalidInput("the body must be a JSON object")
    try:
        return parse(event=document, model=model)
    except ValidationError as error:
        raise InvalidInput(describe_validation_error(error)) from None


def expected_version(app: APIGatewayHttpResolver, body_version: int | None) -> int | None:
    """The version the caller read, from `If-Match` or the body; both must agree."""
    header = app.current_event.headers.get("if-match")
    header_version = None
    if header is not None:
        matched = _IF_MATCH.fullmatch(header)
        if not matched:
            raise InvalidInput('If-Match must be a version number, for example "3"')
        header_version = int(matched.group(1) or matched.group(2))
    if header_version is not None and body_version is not None and header_version != body_version:
        raise InvalidInput("If-Match and the body's version disagree")
    return header_version if header_version is not None else body_version
