"""The demo's catalog workload counts a failed answer as an error; it never ends the demo."""

from __future__ import annotations

from typing import Any

from drivers.demo.catalog import Workload
from tools.stack import HttpResponse

PRODUCT = {"name": "Drill", "price_cents": 100, "stock": 5, "version": 1}


class Answers:
    def __init__(self, *answers: HttpResponse) -> None:
        self.answers = list(answers)
        self.sent: list[str] = []

    def request(self, method: str, path: str, **_: Any) -> HttpResponse:
        self.sent.append(method)
        return self.answers.pop(0)


def test_a_failed_read_before_a_write_is_an_error_and_writes_nothing() -> None:
    twin = Answers(HttpResponse(503, {}, {"message": "Service Unavailable"}))
    workload = Workload(twin)  # type: ignore[arg-type]
    workload.write_then_read()
    assert (workload.requests, workload.errors, workload.writes) == (1, 1, 0)
    assert twin.sent == ["GET"]
    assert workload.failures == ["GET 503 {'message': 'Service Unavailable'}"]


def test_a_failed_read_after_a_write_is_an_error_not_a_stale_read() -> None:
    twin = Answers(
        HttpResponse(200, {}, PRODUCT),
        HttpResponse(200, {}, {**PRODUCT, "price_cents": 101, "version": 2}),
        HttpResponse(500, {}, {"message": "Internal Server Error"}),
    )
    workload = Workload(twin)  # type: ignore[arg-type]
    workload.write_then_read()
    assert (workload.requests, workload.errors, workload.writes) == (3, 1, 1)
    assert workload.stale_reads_after_write == 0


def test_a_write_then_a_fresh_read_counts_no_error() -> None:
    twin = Answers(
        HttpResponse(200, {}, PRODUCT),
        HttpResponse(200, {}, {**PRODUCT, "price_cents": 101, "version": 2}),
        HttpResponse(200, {}, {**PRODUCT, "price_cents": 101, "version": 2}),
    )
    workload = Workload(twin)  # type: ignore[arg-type]
    workload.write_then_read()
    assert (workload.requests, workload.errors, workload.writes, workload.stale_reads_after_write) == (
        3,
        0,
        1,
        0,
    )
