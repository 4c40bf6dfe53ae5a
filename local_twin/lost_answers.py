"""A retried SDK call whose earlier attempt the twin already completed gets that attempt's answer.

Why: under load the twin's werkzeug server can complete a request whose answer its client never
reads. The SDK then sends the same call again (same `amz-sdk-invocation-id`, `amz-sdk-request:
attempt=2`), and a create that succeeded the first time now meets its own result: `terraform
apply` failed with `CreateFunction 409 ResourceConflictException: Function already exist` for a
function it had just created, and once with `InvalidPermission.Duplicate` for its own security
group rule. AWS's endpoints do not lose answers this way, so a second execution of the same call
is the twin's fault, not AWS's behaviour.

What it changes, and only this: a request that carries the SDK's invocation id and an attempt
number above 1, where an earlier attempt of that invocation was answered 2xx, gets the earlier
answer again instead of running twice; one that arrives while the earlier attempt is still running
waits for it. An earlier attempt answered with an error runs again, as AWS runs a retry, so
throttles, injected faults and 5xx are retried for real. A new call (a new invocation id) always
runs: a second CreateFunction from a second call is still refused with 409, as AWS refuses it.

The SDKs send both headers on every call: botocore and the Go SDK v2 that the Terraform provider
uses (https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html describes the
retries; the header names are the SDKs' own).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

INVOCATION_ID = "HTTP_AMZ_SDK_INVOCATION_ID"
ATTEMPT = "HTTP_AMZ_SDK_REQUEST"
# Long enough for the SDKs' retries (the provider's Go SDK backs off up to 20 s per attempt),
# short enough that a long `make twin` does not grow without bound.
KEEP_SECONDS = 300.0
KEEP_AT_MOST = 2000
WAIT_FOR_EARLIER_SECONDS = 120.0

LOG = logging.getLogger(__name__)

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def attempt_number(header: str | None) -> int:
    """`attempt=2; max=25` -> 2; a header without an attempt counts as the first."""
    for part in (header or "").split(";"):
        name, _, value = part.strip().partition("=")
        if name == "attempt" and value.isdigit():
            return int(value)
    return 1


@dataclass
class _Call:
    done: threading.Event = field(default_factory=threading.Event)
    status: str | None = None
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    finished_at: float = 0.0

    @property
    def succeeded(self) -> bool:
        return self.status is not None and self.status[:1] == "2"


class LostAnswers:
    """The WSGI middleware: `LostAnswers().wrap(app)`."""

    def __init__(self, keep_seconds: float = KEEP_SECONDS, keep_at_most: int = KEEP_AT_MOST) -> None:
        self._keep_seconds = keep_seconds
        self._keep_at_most = keep_at_most
        self._calls: OrderedDict[str, _Call] = OrderedDict()
        self._lock = threading.Lock()
        self.replayed = 0

    def wrap(self, app: WsgiApp) -> WsgiApp:
        def middleware(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
            return self(app, environ, start_response)

        return middleware

    def __call__(
        self, app: WsgiApp, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        invocation = environ.get(INVOCATION_ID)
        if not invocation or environ.get("REQUEST_METHOD") in ("GET", "HEAD"):
            return app(environ, start_response)  # reads change nothing when repeated
        retried = attempt_number(environ.get(ATTEMPT)) > 1
        with self._lock:
            self._forget_old()
            earlier = self._calls.get(invocation)
        if retried and earlier is not None:
            earlier.done.wait(WAIT_FOR_EARLIER_SECONDS)
            if earlier.succeeded:
                self.replayed += 1
                LOG.warning(
                    "replayed the answer to %s %s for a retry (%s) of a call already answered %s",
                    environ.get("REQUEST_METHOD"),
                    environ.get("PATH_INFO"),
                    environ.get(ATTEMPT),
                    earlier.status,
                )
                start_response(earlier.status, earlier.headers)
                return [earlier.body]
        call = _Call()
        with self._lock:
            self._calls[invocation] = call
            self._calls.move_to_end(invocation)
        try:
            return self._run(app, environ, start_response, call)
        finally:
            call.finished_at = time.monotonic()
            call.done.set()

    @staticmethod
    def _run(
        app: WsgiApp, environ: dict[str, Any], start_response: Callable[..., Any], call: _Call
    ) -> Iterable[bytes]:
        def starting(status: str, headers: list[tuple[str, str]], *exc_info: Any) -> Any:
            call.status, call.headers = status, list(headers)
            return start_response(status, headers, *exc_info)

        answer = app(environ, starting)
        try:
            call.body = b"".join(answer)
        finally:
            close = getattr(answer, "close", None)
            if close is not None:
                close()
        return [call.body]

    def _forget_old(self) -> None:
        now = time.monotonic()
        while self._calls:
            oldest = next(iter(self._calls.values()))
            expired = oldest.done.is_set() and now - oldest.finished_at > self._keep_seconds
            if not expired and len(self._calls) <= self._keep_at_most:
                break
            self._calls.popitem(last=False)
