"""ElastiCache IAM authentication of the catalog's cache connection: the token is the
SigV4-presigned `connect` request the ElastiCache guide describes (checked against a
signature derived here by hand), the provider reuses it and renews it before it expires,
and the twin's Redis user without a password accepts any token (with IAM enforced, the twin
decides each token as ElastiCache does: tests/unit/test_twin_cache_auth.py)."""

from __future__ import annotations

import datetime
import hashlib
import hmac
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import botocore.session
import pytest
import redis
from botocore.exceptions import NoCredentialsError
from shop import cache_connection
from shop.cache_connection import (
    TOKEN_EXPIRES_SECONDS,
    TOKEN_RENEW_AFTER_SECONDS,
    IAMAuthCredentialProvider,
    connect_from_environment,
    credential_provider_from_environment,
    iam_auth_token,
)

ACCESS_KEY = "AKIDEXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
SESSION_TOKEN = "FwoGZXIvYXdzEBc/session+token=="  # role credentials always carry one
REGION = "eu-west-1"
CACHE_NAME = "shop-prod-cache"
USER = "shop-prod-catalog-app"
SIGNED_AT = datetime.datetime(2024, 3, 9, 14, 5, 6)


def fixed_session() -> botocore.session.Session:
    session = botocore.session.Session()
    session.set_credentials(ACCESS_KEY, SECRET_KEY, SESSION_TOKEN)
    return session


@pytest.fixture
def frozen_signer_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    # botocore's SigV4 reads the time through this module-level name only.
    monkeypatch.setattr("botocore.auth.get_current_datetime", lambda *args, **kwargs: SIGNED_AT)


def _encode(value: str) -> str:
    return quote(value, safe="-_.~")


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode(), hashlib.sha256).digest()


def expected_token(serverless: bool) -> str:
    """SigV4 query-string signing, step by step from the specification."""
    amz_date = SIGNED_AT.strftime("%Y%m%dT%H%M%SZ")
    day = SIGNED_AT.strftime("%Y%m%d")
    scope = f"{day}/{REGION}/elasticache/aws4_request"
    operation = [("Action", "connect"), ("User", USER)]
    if serverless:
        operation.append(("ResourceType", "ServerlessCache"))
    auth = [
        ("X-Amz-Algorithm", "AWS4-HMAC-SHA256"),
        ("X-Amz-Credential", f"{ACCESS_KEY}/{scope}"),
        ("X-Amz-Date", amz_date),
        ("X-Amz-Expires", "900"),
        ("X-Amz-SignedHeaders", "host"),
        ("X-Amz-Security-Token", SESSION_TOKEN),
    ]
    canonical_query = "&".join(f"{_encode(k)}={_encode(v)}" for k, v in sorted(operation + auth))
    canonical_request = "\n".join(
        [
            "GET",
            "/",
            canonical_query,
            f"host:{CACHE_NAME}\n",  # canonical headers, each line ends with a newline
            "host",
            hashlib.sha256(b"").hexdigest(),  # GET: empty payload
        ]
    )
    string_to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical_request.encode()).hexdigest()]
    )
    key = _hmac(f"AWS4{SECRET_KEY}".encode(), day)
    for part in (REGION, "elasticache", "aws4_request"):
        key = _hmac(key, part)
    signature = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
    query = "&".join(f"{_encode(k)}={_encode(v)}" for k, v in operation + auth)
    return f"{CACHE_NAME}/?{query}&X-Amz-Signature={signature}"


@pytest.mark.parametrize("serverless", [False, True], ids=["replication-group", "serverless"])
def test_token_is_the_presigned_connect_request_without_scheme(frozen_signer_clock, serverless: bool) -> None:
    token = iam_auth_token(fixed_session(), REGION, CACHE_NAME, USER, serverless)
    assert token == expected_token(serverless)
    assert not token.startswith("http"), "ElastiCache wants the URL without its scheme"


def test_only_a_serverless_token_names_the_resource_type(frozen_signer_clock) -> None:
    serverless = iam_auth_token(fixed_session(), REGION, CACHE_NAME, USER, serverless=True)
    replication_group = iam_auth_token(fixed_session(), REGION, CACHE_NAME, USER, serverless=False)
    assert "&ResourceType=ServerlessCache&" in serverless
    assert "ResourceType" not in replication_group
    assert f"X-Amz-Expires={TOKEN_EXPIRES_SECONDS}&" in serverless and TOKEN_EXPIRES_SECONDS == 900


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_provider_reuses_its_token_and_renews_it_before_expiry(monkeypatch: pytest.MonkeyPatch) -> None:
    signed: list[str] = []

    def counting_signer(*args: object) -> str:
        signed.append(f"token-{len(signed)}")
        return signed[-1]

    monkeypatch.setattr(cache_connection, "iam_auth_token", counting_signer)
    clock = Clock()
    provider = IAMAuthCredentialProvider(
        USER, CACHE_NAME, REGION, False, session=fixed_session(), clock=clock
    )
    assert provider.get_credentials() == (USER, "token-0")
    clock.now += TOKEN_RENEW_AFTER_SECONDS - 1
    assert provider.get_credentials() == (USER, "token-0"), "a fresh token is reused"
    clock.now += 1
    assert provider.get_credentials() == (USER, "token-1"), "renewed once it is old enough"
    assert len(signed) == 2
    assert TOKEN_RENEW_AFTER_SECONDS <= TOKEN_EXPIRES_SECONDS - 120, "renewal leaves a margin before expiry"


def test_provider_signs_real_tokens_that_change_when_renewed(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [SIGNED_AT]
    monkeypatch.setattr("botocore.auth.get_current_datetime", lambda *args, **kwargs: now[0])
    clock = Clock()
    provider = IAMAuthCredentialProvider(
        USER, CACHE_NAME, REGION, False, session=fixed_session(), clock=clock
    )
    user, first = provider.get_credentials()
    assert (user, first) == (USER, expected_token(serverless=False))
    clock.now += TOKEN_RENEW_AFTER_SECONDS
    now[0] = SIGNED_AT + datetime.timedelta(seconds=TOKEN_RENEW_AFTER_SECONDS)
    _, second = provider.get_credentials()
    assert second != first and "X-Amz-Date=20240309T141506Z" in second


class NoCredentialsSession:
    def __init__(self, raises: bool) -> None:
        self._raises = raises

    def get_credentials(self) -> None:
        if self._raises:
            raise NoCredentialsError()
        return None

    def get_component(self, name: str) -> object:
        return botocore.session.Session().get_component(name)


@pytest.mark.parametrize("raises", [True, False], ids=["botocore-error", "no-credentials"])
def test_a_token_that_cannot_be_signed_is_a_cache_error(raises: bool) -> None:
    session: Any = NoCredentialsSession(raises)
    provider = IAMAuthCredentialProvider(USER, CACHE_NAME, REGION, False, session=session)
    # A RedisError: redis-py drops the socket and the catalog falls back to DynamoDB.
    with pytest.raises(redis.exceptions.AuthenticationError):
        provider.get_credentials()
    assert issubclass(redis.exceptions.AuthenticationError, cache_connection.CACHE_ERRORS)


@pytest.fixture
def cache_environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name, value in {
        "CACHE_ENDPOINT": "127.0.0.1:1",
        "CACHE_TLS": "false",
        "CACHE_CLUSTER_MODE": "false",
        "CACHE_TIMEOUT_MS": "50",
        "CACHE_NAME": CACHE_NAME,
        "AWS_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("CACHE_SERVERLESS", raising=False)
    return monkeypatch


def test_no_cache_user_means_no_credentials(cache_environment: pytest.MonkeyPatch) -> None:
    cache_environment.setenv("CACHE_USER", "")
    assert credential_provider_from_environment() is None
    client = connect_from_environment()
    kwargs = client.connection_pool.connection_kwargs
    assert kwargs.get("credential_provider") is None
    assert kwargs.get("username") is None and kwargs.get("password") is None
    cache_environment.delenv("CACHE_USER")
    assert credential_provider_from_environment() is None


def test_cache_user_means_iam_auth_with_the_environment_settings(
    cache_environment: pytest.MonkeyPatch, frozen_signer_clock
) -> None:
    cache_environment.setenv("CACHE_USER", USER)
    cache_environment.setenv("CACHE_SERVERLESS", "true")
    cache_environment.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    cache_environment.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    cache_environment.setenv("AWS_SESSION_TOKEN", SESSION_TOKEN)
    client = connect_from_environment()
    provider = client.connection_pool.connection_kwargs["credential_provider"]
    assert isinstance(provider, IAMAuthCredentialProvider)
    assert provider.get_credentials() == (USER, expected_token(serverless=True))
    # The 50 ms budget and no redis-py retries are unchanged.
    kwargs = client.connection_pool.connection_kwargs
    assert kwargs["socket_timeout"] == kwargs["socket_connect_timeout"] == 0.05
    assert kwargs["retry"].get_retries() == 0


@pytest.fixture(scope="module")
def twin_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    from local_twin.redis_server import RedisServer

    server = RedisServer(Path(tmp_path_factory.mktemp("redis-auth")))
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_twin_redis_user_accepts_any_token_and_default_user_still_works(twin_redis) -> None:
    provider = IAMAuthCredentialProvider(twin_redis.user, CACHE_NAME, REGION, False, session=fixed_session())
    as_function = redis.Redis(host="127.0.0.1", port=twin_redis.port, credential_provider=provider)
    anonymous = redis.Redis(host="127.0.0.1", port=twin_redis.port)
    try:
        assert as_function.acl_whoami() == twin_redis.user == "shop-twin-catalog-app"
        as_function.set("product:{SKU-AUTH}", "1")
        assert anonymous.acl_whoami() == "default"
        assert anonymous.get("product:{SKU-AUTH}") == b"1"
    finally:
        as_function.close()
        anonymous.close()


def test_twin_redis_refuses_an_unknown_user(twin_redis) -> None:
    provider = IAMAuthCredentialProvider("someone-else", CACHE_NAME, REGION, False, session=fixed_session())
    client = redis.Redis(host="127.0.0.1", port=twin_redis.port, credential_provider=provider)
    try:
        with pytest.raises(redis.exceptions.AuthenticationError):
            client.ping()
    finally:
        client.close()
