"""The Valkey/Redis connection of one execution environment.

In AWS: TLS, an IAM-enabled ElastiCache user authenticated with a short-lived IAM
token that the function's role signs (no password stored anywhere), and the cluster
client when CACHE_CLUSTER_MODE is on (ElastiCache Serverless is cluster-mode only).
On the twin: plain TCP, and a Redis user that accepts any token.
Timeouts are tens of milliseconds and redis-py's own retries are off, so a cache that
is down costs a request one bounded attempt before it falls back to DynamoDB.

Environment: CACHE_ENDPOINT (host:port), CACHE_TLS, CACHE_CLUSTER_MODE, CACHE_TIMEOUT_MS,
CACHE_USER (the IAM-enabled user; its user id and user name are the same; empty: no auth),
CACHE_NAME (replication group id or serverless cache name), CACHE_SERVERLESS, AWS_REGION.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import botocore.session
import redis
from botocore.exceptions import BotoCoreError
from botocore.model import ServiceId
from botocore.signers import RequestSigner
from redis.backoff import NoBackoff
from redis.cluster import RedisCluster
from redis.credentials import CredentialProvider
from redis.retry import Retry

# RedisClusterException is not a RedisError: RedisCluster raises it from its constructor when no
# node answers, which is how a cluster-mode cache that is down first shows itself.
CACHE_ERRORS: tuple[type[BaseException], ...] = (
    redis.exceptions.RedisError,
    redis.exceptions.RedisClusterException,
    OSError,
)

SERVICE_NAME = "elasticache"
TOKEN_EXPIRES_SECONDS = 900  # ElastiCache IAM tokens are valid for 15 minutes
# Renew well before expiry, so a new connection never presents a token about to lapse.
TOKEN_RENEW_AFTER_SECONDS = 600


def iam_auth_token(
    session: botocore.session.Session, region: str, cache_name: str, user_id: str, serverless: bool
) -> str:
    """The IAM auth token: a SigV4 presigned `connect` request without its scheme, as in
    the ElastiCache guide ("Authenticating with IAM")."""
    query = {"Action": "connect", "User": user_id}
    if serverless:
        query["ResourceType"] = "ServerlessCache"
    credentials = session.get_credentials()
    if credentials is None:
        raise redis.exceptions.AuthenticationError("no AWS credentials to sign the cache token with")
    signer = RequestSigner(
        ServiceId(SERVICE_NAME),
        region,
        SERVICE_NAME,
        "v4",
        credentials,
        session.get_component("event_emitter"),
    )
    url = signer.generate_presigned_url(
        {
            "method": "GET",
            "url": f"http://{cache_name}/?{urlencode(query)}",
            "body": {},
            "headers": {},
            "context": {},
        },
        operation_name="connect",
        expires_in=TOKEN_EXPIRES_SECONDS,
        region_name=region,
    )
    return url.removeprefix("http://")


class IAMAuthCredentialProvider(CredentialProvider):
    """(user, IAM token) for redis-py, which asks on every new connection.

    The token is reused until TOKEN_RENEW_AFTER_SECONDS, then signed afresh. ElastiCache
    closes an IAM-authenticated connection after 12 hours; redis-py then reconnects and
    asks here again, so nothing else has to re-authenticate.
    """

    def __init__(
        self,
        user_id: str,
        cache_name: str,
        region: str,
        serverless: bool,
        session: botocore.session.Session | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.user_id = user_id
        self._cache_name = cache_name
        self._region = region
        self._serverless = serverless
        self._session = session or botocore.session.get_session()
        self._clock = clock
        self._token: str | None = None
        self._signed_at = 0.0
        self._lock = threading.Lock()

    def get_credentials(self) -> tuple[str, str]:
        with self._lock:
            now = self._clock()
            if self._token is None or now - self._signed_at >= TOKEN_RENEW_AFTER_SECONDS:
                self._token = self._sign()
                self._signed_at = now
            return self.user_id, self._token

    def _sign(self) -> str:
        try:
            return iam_auth_token(
                self._session, self._region, self._cache_name, self.user_id, self._serverless
            )
        except BotoCoreError as error:
            # A RedisError, so redis-py closes the half-open socket and the catalog falls back
            # to DynamoDB, as for any other cache failure.
            raise redis.exceptions.AuthenticationError(f"cannot sign the cache token: {error}") from error


def credential_provider_from_environment() -> IAMAuthCredentialProvider | None:
    user = os.environ.get("CACHE_USER", "")
    if not user:
        return None
    return IAMAuthCredentialProvider(
        user_id=user,
        cache_name=os.environ["CACHE_NAME"],
        region=os.environ["AWS_REGION"],
        serverless=os.environ.get("CACHE_SERVERLESS", "false") == "true",
    )


def connect_from_environment(timeout_ms: int | None = None) -> Any:
    """timeout_ms: connect and socket timeout; default CACHE_TIMEOUT_MS (reads' budget). Cache
    invalidation passes its own, longer one and gets a client of its own."""
    # Called on first use and again after a SnapStart restore, so a restored environment
    # signs a new token instead of reusing the snapshot's.
    host, _, port = os.environ["CACHE_ENDPOINT"].rpartition(":")
    if timeout_ms is None:
        timeout_ms = int(os.environ.get("CACHE_TIMEOUT_MS", "50"))
    timeout = timeout_ms / 1000
    options: dict[str, Any] = {
        "host": host,
        "port": int(port),
        "credential_provider": credential_provider_from_environment(),
        "ssl": os.environ.get("CACHE_TLS", "true") == "true",
        "socket_connect_timeout": timeout,
        "socket_timeout": timeout,
        "retry": Retry(NoBackoff(), 0),
    }
    if os.environ.get("CACHE_CLUSTER_MODE", "false") == "true":
        return RedisCluster(**options)
    return redis.Redis(**options, health_check_interval=30)
