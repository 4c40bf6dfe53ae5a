"""ElastiCache's IAM authentication on the twin (local_twin/cache_auth.py and cache_auth_guard.py): a
moto server with a replication group, its user group and users, a redis-server whose app user has
the twin's password, and connections made as the function makes them, signed by role sessions."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import botocore.session
import pytest
import redis
from redis import connection as redis_connection
from redis.backoff import NoBackoff
from redis.retry import Retry
from shop.cache_connection import IAMAuthCredentialProvider, iam_auth_token

from local_twin import cache_auth, cache_auth_guard, emulations, iam
from local_twin.redis_server import RedisServer
from tests.moto_servers import moto_server
from tests.roles import create_role

REGION, ACCOUNT = "us-east-1", "123456789012"
CACHE = "shop-unit-cache"
USER = "shop-unit-cache-app"
PASSWORD = "the-twins-own-password"
CACHE_ARN = f"arn:aws:elasticache:{REGION}:{ACCOUNT}:replicationgroup:{CACHE}"
USER_ARN = f"arn:aws:elasticache:{REGION}:{ACCOUNT}:user:{USER}"

pytestmark = pytest.mark.skipif(not iam.available(), reason=iam.UNAVAILABLE)


@pytest.fixture(scope="module")
def twin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    with moto_server(REGION) as (endpoint, admin):
        emulations.elasticache_user_groups()  # which moto lacks (only this: the rest patch Lambda and EC2)
        sessions = iam.RoleSessions(admin("sts"))
        evaluator = iam.Evaluator()
        enforcer = iam.Enforcer(sessions, evaluator, tmp_path_factory.mktemp("iam") / "iam-usage.json")
        # No iam.install: ElastiCache's check needs the enforcer only, and moto's hooks are per process.
        authority = cache_auth.CacheAuthority(enforcer, PASSWORD, REGION)
        cache_auth.install(authority)
        _cache_with_users(admin("elasticache"))
        redis_server = RedisServer(tmp_path_factory.mktemp("redis"), user=USER, password=PASSWORD)
        redis_server.start()
        yield {
            "admin": admin,
            "endpoint": endpoint,
            "sessions": sessions,
            "authority": authority,
            "redis": redis_server,
        }
        redis_server.stop()
        evaluator.close()


def _cache_with_users(elasticache: Any) -> None:
    """The cache module's shape: an IAM-enabled app user and a disabled default in the cache's user
    group, and an IAM-enabled user in no group of it."""
    for user_id, name, access, mode in (
        (USER, USER, "on ~* +@all", {"Type": "iam"}),
        ("shop-unit-default-off", "default", "off -@all", {"Type": "no-password-required"}),
        ("shop-unit-outsider", "shop-unit-outsider", "on ~* +@all", {"Type": "iam"}),
    ):
        elasticache.create_user(
            UserId=user_id, UserName=name, Engine="valkey", AccessString=access, AuthenticationMode=mode
        )
    elasticache.create_user_group(UserGroupId=CACHE, Engine="valkey", UserIds=["shop-unit-default-off", USER])
    elasticache.create_replication_group(
        ReplicationGroupId=CACHE,
        ReplicationGroupDescription="unit",
        Engine="valkey",
        EngineVersion="7.2",
        UserGroupIds=[CACHE],
        TransitEncryptionEnabled=True,
    )


def role_session(twin: dict[str, Any], name: str, resources: list[str] | None) -> botocore.session.Session:
    """A function's botocore session as Lambda gives it: its role's keys, from the twin's STS."""
    statements = (
        [{"Effect": "Allow", "Action": "elasticache:Connect", "Resource": resources}] if resources else None
    )
    role = create_role(twin["admin"]("iam"), name, statements)
    keys = twin["sessions"].environment(role, f"{name}-function")
    session = botocore.session.Session()
    session.set_credentials(
        keys["AWS_ACCESS_KEY_ID"], keys["AWS_SECRET_ACCESS_KEY"], keys["AWS_SESSION_TOKEN"]
    )
    return session


@pytest.fixture
def guarded(twin: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """The worker's guard in this process, taken away again after the test."""
    monkeypatch.setattr(
        redis_connection.AbstractConnection, "__init__", redis_connection.AbstractConnection.__init__
    )
    assert cache_auth_guard.install(twin["endpoint"] + cache_auth.EXCHANGE_PATH)


def connect_as(twin: dict[str, Any], session: botocore.session.Session, user: str = USER) -> redis.Redis:
    provider = IAMAuthCredentialProvider(user, CACHE, REGION, serverless=False, session=session)
    # One attempt, as the catalog makes it (redis-py retries an AuthenticationError by default).
    return redis.Redis(
        host="127.0.0.1",
        port=twin["redis"].port,
        credential_provider=provider,
        socket_timeout=2,
        retry=Retry(NoBackoff(), 0),
    )


def test_a_role_that_may_connect_to_the_cache_and_the_user_gets_in(twin, guarded) -> None:
    client = connect_as(twin, role_session(twin, "cache-allowed", [CACHE_ARN, USER_ARN]))
    try:
        assert client.acl_whoami() == USER
        assert client.set("cache-auth", "1") and client.get("cache-auth") == b"1"
    finally:
        client.close()


@pytest.mark.parametrize(
    ("name", "resources"),
    [
        ("cache-no-grant", None),
        ("cache-only-the-cache", [CACHE_ARN]),  # both resources must be allowed
        ("cache-another-cache", [CACHE_ARN.replace(CACHE, "someone-elses"), USER_ARN]),
    ],
)
def test_a_role_that_may_not_connect_gets_wrongpass_from_the_server(twin, guarded, name, resources) -> None:
    client = connect_as(twin, role_session(twin, name, resources))
    try:
        with pytest.raises(redis.exceptions.AuthenticationError) as refused:
            client.ping()
        # redis-server's WRONGPASS, as redis-py words it: what ElastiCache answers a refused token
        assert str(refused.value) == "invalid username-password pair or user is disabled."
    finally:
        client.close()


def test_the_token_alone_never_opens_the_twins_cache(twin) -> None:
    # Without the guard the token itself reaches redis-server, which admits only the twin's password:
    # a client that bypasses ElastiCache's check gets nothing either.
    client = connect_as(twin, role_session(twin, "cache-unguarded", [CACHE_ARN, USER_ARN]))
    try:
        with pytest.raises(redis.exceptions.AuthenticationError):
            client.ping()
    finally:
        client.close()


def token(
    session: botocore.session.Session, user: str = USER, region: str = REGION, serverless: bool = False
) -> str:
    return iam_auth_token(session, region, CACHE, user, serverless)


def test_what_elasticache_checks_before_the_policy(twin) -> None:
    authority: cache_auth.CacheAuthority = twin["authority"]
    session = role_session(
        twin, "cache-checks", [CACHE_ARN, USER_ARN, USER_ARN.replace(USER, "shop-unit-outsider")]
    )
    good = token(session)
    assert authority.refusal(USER, good) is None

    def refused(user: str, raw: str, **kwargs: Any) -> str:
        answer = authority.refusal(user, raw, **kwargs)
        assert answer is not None
        return answer

    assert "not an IAM authentication token" in refused(USER, "a-plain-password")
    assert "AUTH names 'someone'" in refused("someone", good)
    later = datetime.datetime.now(datetime.UTC) + datetime.timedelta(minutes=16)
    assert "expired" in refused(USER, good, now=later)
    assert "signature does not match" in refused(
        USER, good[:-4] + ("0000" if not good.endswith("0000") else "1111")
    )
    assert "signed for 'eu-west-1/elasticache'" in refused(USER, token(session, region="eu-west-1"))
    assert "no serverless cache" in refused(USER, token(session, serverless=True))
    assert "in no user group" in refused("shop-unit-outsider", token(session, user="shop-unit-outsider"))
    assert "not IAM-enabled" in refused("shop-unit-default-off", token(session, user="shop-unit-default-off"))
    stranger = botocore.session.Session()
    stranger.set_credentials("ASIASTRANGER", "secret", "token")
    assert "not one of the twin's role sessions" in refused(USER, token(stranger))


def test_the_exchange_answers_a_bad_request_with_400(twin) -> None:
    status, answer = twin["authority"].answer(b"not json")
    assert status.startswith("400") and "user" in answer["message"]


def test_a_connect_the_cache_admitted_is_in_the_roles_usage(twin, guarded) -> None:
    client = connect_as(twin, role_session(twin, "cache-usage", [CACHE_ARN, USER_ARN]))
    try:
        client.ping()
    finally:
        client.close()
    report = twin["authority"].enforcer.report()
    assert report["used"]["cache-usage"] == ["elasticache:Connect"]


def test_the_password_mode_is_off_without_a_password(tmp_path: Path) -> None:
    # The suite's plain redis-servers (no IAM enforced) admit any token, as before.
    server = RedisServer(tmp_path, user=USER)
    server.start()
    try:
        client = redis.Redis(host="127.0.0.1", port=server.port, username=USER, password="anything")
        assert client.acl_whoami() == USER
        client.close()
    finally:
        server.stop()


def test_a_twin_that_does_not_answer_is_asked_again_and_a_decision_is_kept(twin) -> None:
    from local_twin.processes import free_loopback_port

    silent = cache_auth_guard._Exchange(f"http://127.0.0.1:{free_loopback_port()}{cache_auth.EXCHANGE_PATH}")
    assert silent.password_for(USER, "a-token") is None
    assert silent._answers == {}  # not a refusal: the next connection asks again
    exchange = cache_auth_guard._Exchange(twin["endpoint"] + cache_auth.EXCHANGE_PATH)
    session = role_session(twin, "cache-kept", [CACHE_ARN, USER_ARN])
    good = token(session)
    assert exchange.password_for(USER, good) == PASSWORD
    assert exchange.password_for(USER, "not-a-token") is None
    assert exchange._answers == {(USER, good): PASSWORD, (USER, "not-a-token"): None}


def test_connections_are_tallied_per_function_and_environment() -> None:
    from local_twin.redis_server import tally

    clients = [
        {"user": USER, "addr": "127.0.0.1:50001"},
        {"user": USER, "addr": "127.0.0.1:50002"},
        {"user": USER, "addr": "127.0.0.1:50003"},
        {"user": "default", "addr": "127.0.0.1:50004"},  # the tests' own inspection client
        {"user": USER, "addr": "127.0.0.1:50005"},  # gone before its owner was read
    ]
    owners = {
        50001: ("shop-catalog", "twin/a"),
        50002: ("shop-catalog", "twin/a"),
        50003: ("shop-cache-invalidator", "twin/b"),
        50004: ("shop-catalog", "twin/c"),
    }
    assert tally(clients, USER, owners) == {
        "shop-cache-invalidator": {"twin/b": 1},
        "shop-catalog": {"twin/a": 2},
    }
