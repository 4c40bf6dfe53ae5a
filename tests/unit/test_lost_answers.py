"""The twin's replay of a lost answer (local_twin/lost_answers.py): a retry of an SDK call that the
twin already answered 2xx gets that answer, and only that case; everything else runs again."""

from __future__ import annotations

import threading
import time
from typing import Any

from local_twin.lost_answers import LostAnswers, attempt_number


class CreateOnce:
    """A WSGI app that creates a name once and refuses it after, as CreateFunction does."""

    def __init__(self, fail_first: str | None = None) -> None:
        self.created: set[str] = set()
        self.runs = 0
        self.fail_first = fail_first
        self.delay = 0.0

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        self.runs += 1
        time.sleep(self.delay)
        if self.fail_first is not None:
            status, self.fail_first = self.fail_first, None
            start_response(status, [("Content-Type", "application/json")])
            return [b'{"__type":"TooManyRequestsException"}']
        name = environ["PATH_INFO"]
        if name in self.created:
            start_response("409 Conflict", [("Content-Type", "application/json")])
            return [b'{"Type":"User","Message":"Function already exist"}']
        self.created.add(name)
        start_response("201 Created", [("Content-Type", "application/json"), ("x-amzn-RequestId", "r1")])
        return [b'{"FunctionName":"%s"}' % name.encode()]


def call(app: Any, invocation: str | None, attempt: int, path: str = "/f", method: str = "POST") -> tuple:
    environ = {"REQUEST_METHOD": method, "PATH_INFO": path}
    if invocation is not None:
        environ["HTTP_AMZ_SDK_INVOCATION_ID"] = invocation
        environ["HTTP_AMZ_SDK_REQUEST"] = f"attempt={attempt}; max=25"
    answered: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], *exc_info: Any) -> None:
        answered.update(status=status, headers=headers)

    body = b"".join(app(environ, start_response))
    return answered["status"], dict(answered["headers"]), body


def test_the_attempt_number_is_read_from_the_sdk_header() -> None:
    assert attempt_number("attempt=2; max=25") == 2
    assert attempt_number("ttl=20261205T102000Z; attempt=3; max=3") == 3
    assert attempt_number(None) == 1
    assert attempt_number("max=3") == 1


def test_a_retry_of_a_call_answered_2xx_gets_the_same_answer_and_creates_nothing_twice() -> None:
    app, replay = CreateOnce(), LostAnswers()
    wrapped = replay.wrap(app)
    first = call(wrapped, "inv-1", 1)
    again = call(wrapped, "inv-1", 2)
    assert first[0] == again[0] == "201 Created"
    assert again[2] == first[2] and again[1]["x-amzn-RequestId"] == "r1"
    assert app.runs == 1 and replay.replayed == 1


def test_a_new_call_for_the_same_name_is_still_refused_as_aws_refuses_it() -> None:
    app = CreateOnce()
    wrapped = LostAnswers().wrap(app)
    assert call(wrapped, "inv-1", 1)[0] == "201 Created"
    assert call(wrapped, "inv-2", 1)[0] == "409 Conflict"
    # a retry of that second call runs again: its earlier attempt was not a success
    assert call(wrapped, "inv-2", 2)[0] == "409 Conflict"
    assert app.runs == 3


def test_a_retry_after_an_error_answer_runs_again() -> None:
    app = CreateOnce(fail_first="429 Too Many Requests")
    wrapped = LostAnswers().wrap(app)
    assert call(wrapped, "inv-1", 1)[0] == "429 Too Many Requests"
    assert call(wrapped, "inv-1", 2)[0] == "201 Created"
    assert app.runs == 2


def test_calls_without_an_invocation_id_and_reads_are_never_replayed() -> None:
    app = CreateOnce()
    wrapped = LostAnswers().wrap(app)
    call(wrapped, None, 1)
    assert call(wrapped, None, 2)[0] == "409 Conflict"
    call(wrapped, "inv-get", 1, path="/g", method="GET")
    call(wrapped, "inv-get", 2, path="/g", method="GET")
    assert app.runs == 4


def test_a_retry_that_arrives_while_the_first_attempt_runs_waits_for_its_answer() -> None:
    app = CreateOnce()
    app.delay = 0.3
    wrapped = LostAnswers().wrap(app)
    results: list[tuple] = []
    first = threading.Thread(target=lambda: results.append(call(wrapped, "inv-1", 1)))
    first.start()
    time.sleep(0.1)
    retry = call(wrapped, "inv-1", 2)
    first.join()
    assert retry[0] == results[0][0] == "201 Created"
    assert app.runs == 1


def test_answers_are_kept_for_a_bounded_time_and_number() -> None:
    app = CreateOnce()
    replay = LostAnswers(keep_seconds=0.0, keep_at_most=2)
    wrapped = replay.wrap(app)
    for n in range(5):
        call(wrapped, f"inv-{n}", 1, path=f"/f{n}")
    time.sleep(0.01)
    call(wrapped, "inv-new", 1, path="/new")
    assert len(replay._calls) <= 2
    # a retry of a forgotten call runs again, and meets what it created
    assert call(wrapped, "inv-0", 2, path="/f0")[0] == "409 Conflict"
