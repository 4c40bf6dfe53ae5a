"""drivers/client.py: what a well-behaved client sends again, and when it stops."""

from __future__ import annotations

import time

import pytest

from drivers import client
from tools.stack import HttpResponse

IN_PROGRESS = HttpResponse(409, {}, {"error": "duplicate_in_progress", "message": "retry shortly"})


@pytest.mark.parametrize(
    ("response", "resend"),
    [
        (HttpResponse(500, {}, {"message": "Internal Server Error"}), True),
        (HttpResponse(503, {}, {"message": "Service Unavailable"}), True),
        (HttpResponse(429, {}, {"message": "Too Many Requests"}), True),
        (IN_PROGRESS, True),
        (HttpResponse(409, {}, {"error": "version_conflict"}), False),  # the protocol: re-read first
        (HttpResponse(409, {}, "not json"), False),
        (HttpResponse(422, {}, {"error": "idempotency_key_reused"}), False),
        (HttpResponse(202, {}, {"order_id": "o1"}), False),
        (HttpResponse(404, {}, {"error": "not_found"}), False),
    ],
)
def test_what_is_sent_again(response: HttpResponse, resend: bool) -> None:
    assert client.needs_retry(response) is resend


def test_resends_until_answered_with_a_growing_pause(monkeypatch: pytest.MonkeyPatch) -> None:
    pauses: list[float] = []
    monkeypatch.setattr(client.time, "sleep", pauses.append)
    answers = iter([HttpResponse(500, {}, None), IN_PROGRESS, IN_PROGRESS, IN_PROGRESS, IN_PROGRESS])
    done = HttpResponse(202, {}, {"order_id": "o1"})
    answered = client.until_answered(lambda: next(answers, done), first_pause=1.0, max_pause=4.0)
    assert answered.response is done and answered.retries == 5
    assert pauses == [1.0, 2.0, 4.0, 4.0, 4.0]


def test_gives_up_with_the_last_answer_at_the_deadline() -> None:
    sent: list[float] = []

    def send() -> HttpResponse:
        sent.append(time.monotonic())
        return HttpResponse(503, {}, None)

    answered = client.until_answered(
        send, give_up_at=time.monotonic() + 0.05, first_pause=0.02, max_pause=0.02
    )
    assert answered.response.status == 503
    assert 2 <= len(sent) <= 4 and answered.retries == len(sent) - 1
