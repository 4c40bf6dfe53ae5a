"""The worker's side of ElastiCache IAM authentication on the twin (the server's side: cache_auth.py).

Loaded by lambda_worker.py, by path and before the handler is imported, when the twin enforces IAM.
Every redis-py connection that authenticates through a credential provider (the function's
IAMAuthCredentialProvider) hands the token it would send in AUTH to the twin, which decides it as
ElastiCache would. An admitted token is replaced by the password the twin's redis-server expects; a
refused one is sent as it is, and redis-server answers WRONGPASS, as ElastiCache does. The function's
own code runs unchanged.

Only the standard library at module scope: redis is the function's own, imported here only if the
function's path has it.
"""

from __future__ import annotations

import json
import sys
import threading
import urllib.error
import urllib.request
from typing import Any

# A busy twin (its evaluator is one process) can take seconds; a connection waits for the answer.
EXCHANGE_TIMEOUT_SECONDS = 15.0
_KEPT_TOKENS = 8  # a function renews its token every 10 minutes: a few answers are all it reuses


class _Exchange:
    """Token -> password (or None when refused), asked once per token."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._answers: dict[tuple[str, str], str | None] = {}
        self._lock = threading.Lock()

    def password_for(self, user: str, token: str) -> str | None:
        key = (user, token)
        with self._lock:
            if key in self._answers:
                return self._answers[key]
        password, refused, decided = self._ask(user, token)
        if refused:
            print(
                f"[twin cache auth] ElastiCache refuses AUTH as {user}: {refused}",
                file=sys.stderr,
                flush=True,
            )
        if not decided:
            return password  # the twin did not answer: asked again on the next connection
        with self._lock:
            if len(self._answers) >= _KEPT_TOKENS:
                self._answers.pop(next(iter(self._answers)))
            self._answers[key] = password
        return password

    def _ask(self, user: str, token: str) -> tuple[str | None, str | None, bool]:
        """(password, why refused, whether the twin decided)."""
        request = urllib.request.Request(
            self._url,
            data=json.dumps({"user": user, "token": token}).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=EXCHANGE_TIMEOUT_SECONDS) as answer:
                return json.loads(answer.read())["password"], None, True
        except urllib.error.HTTPError as error:
            try:
                refused = json.loads(error.read()).get("refused")
            except ValueError:
                refused = None
            return None, refused or f"HTTP {error.code}", error.code == 403
        except (OSError, ValueError, KeyError) as error:
            return None, f"the twin did not answer ({error})", False


def install(url: str) -> bool:
    """Wraps the credential provider of every redis-py connection; False when redis is not there."""
    try:
        from redis import connection
        from redis.credentials import CredentialProvider
    except ImportError:
        return False
    exchange = _Exchange(url)

    class Exchanged(CredentialProvider):
        def __init__(self, inner: Any) -> None:
            self.inner = inner

        def get_credentials(self) -> Any:
            credentials = self.inner.get_credentials()
            if len(credentials) != 2:
                return credentials  # a password alone is no IAM token
            user, token = credentials
            password = exchange.password_for(user, token)
            return (user, token) if password is None else (user, password)

    original_init = connection.AbstractConnection.__init__

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        provider = getattr(self, "credential_provider", None)
        if provider is not None and not isinstance(provider, Exchanged):
            self.credential_provider = Exchanged(provider)

    connection.AbstractConnection.__init__ = __init__  # type: ignore[method-assign]
    return True
