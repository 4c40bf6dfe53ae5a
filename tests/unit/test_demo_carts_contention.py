"""The demo's contended cart writers read as a careful client does and write only once per read."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from drivers import client
from drivers.demo import carts
from tools.stack import HttpResponse


class Cart:
    """One cart: a GET answers 503 on its first call, then the version; a POST with the current
    version increments it."""

    def __init__(self) -> None:
        self.version = 1
        self.gets = 0
        self.posts = 0
        self._lock = threading.Lock()

    def request(self, method: str, path: str, **kwargs: Any) -> HttpResponse:
        with self._lock:
            if method == "GET":
                self.gets += 1
                if self.gets == 1:
                    return HttpResponse(503, {}, {"message": "Service Unavailable"})
                return HttpResponse(200, {}, {"version": self.version})
            self.posts += 1
            if kwargs["headers"]["If-Match"] != str(self.version):
                return HttpResponse(409, {}, {"error": "version_conflict"})
            self.version += 1
            return HttpResponse(200, {}, {"version": self.version})


def test_a_failed_read_is_sent_again_and_the_write_follows_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(client.time, "sleep", lambda _: None)
    monkeypatch.setattr(carts, "WRITERS", 1)
    monkeypatch.setattr(carts, "INCREMENTS_PER_WRITER", 2)
    cart = Cart()
    counter = carts.Counter()
    assert carts._contended_increments(cart, counter, "hot-1") == (2, 0)  # type: ignore[arg-type]
    assert (cart.gets, cart.posts, cart.version) == (3, 2, 3)
    assert counter.requests == 5  # every send counted, the resent read included
