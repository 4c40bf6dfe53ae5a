"""ElastiCache's IAM authentication, decided by the twin for its redis-server.

In AWS a client authenticates as an IAM-enabled ElastiCache user by sending a SigV4-presigned
`connect` request, without its scheme, as the password of AUTH (or HELLO). ElastiCache admits the
connection only when (https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/auth-iam.html):
- the token is signed for `elasticache` by credentials it knows, and has not expired (15 minutes);
- its `User` is the user AUTH names, an IAM-enabled user (user id equal to user name) in a user
  group of the cache that the token's host names (`ResourceType=ServerlessCache` for a serverless one);
- the signer's identity policies allow `elasticache:Connect` on that cache and that user.
Anything else is refused with WRONGPASS, and the client sees no more than that.

redis-server knows nothing of IAM, so the twin splits the work. When it enforces IAM, the app user
of its redis-server has a password that only the twin's server knows. The worker's side
(cache_auth_guard.py) hands each token AUTH would send to EXCHANGE_PATH, and sends the password in
its place when this module admits the token; a refused token goes to redis-server as it is, and
redis-server itself answers WRONGPASS. Every decision is made from what `terraform apply` created,
as moto holds it: the replication group or serverless cache, its user groups and users, and the
role's policies.
"""

from __future__ import annotations

import datetime
import hmac
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from local_twin import iam

EXCHANGE_PATH = "/_twin/elasticache/connect"
# The server process reads the app user's password from this variable (twin.py sets it); a worker
# reads the exchange's URL from WORKER_VARIABLE, which Lambda does not have (lambda_worker removes it).
PASSWORD_VARIABLE = "TWIN_CACHE_PASSWORD"
WORKER_VARIABLE = "TWIN_CACHE_AUTH"
SERVICE = "elasticache"
MAX_EXPIRES_SECONDS = 900  # "The IAM authentication token is valid for 15 minutes"
SIGV4_TIMESTAMP = "%Y%m%dT%H%M%SZ"


@dataclass(frozen=True)
class Token:
    cache_name: str
    query: dict[str, str]
    signed_url: str  # the presigned URL without its signature, as it was signed

    @property
    def access_key(self) -> str:
        return self.query.get("X-Amz-Credential", "").split("/", 1)[0]

    @property
    def scope(self) -> list[str]:
        return self.query.get("X-Amz-Credential", "").split("/")

    @property
    def serverless(self) -> bool:
        return self.query.get("ResourceType") == "ServerlessCache"


def parse_token(token: str) -> Token | None:
    """The token as ElastiCache reads it: `<cache name>/?Action=connect&User=…&X-Amz-…`."""
    parts = urlsplit(f"http://{token}")
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    query = dict(pairs)
    if not parts.hostname or "X-Amz-Signature" not in query or "X-Amz-Credential" not in query:
        return None
    unsigned = urlencode([(name, value) for name, value in pairs if name != "X-Amz-Signature"])
    return Token(parts.netloc, query, f"http://{parts.netloc}/?{unsigned}")


def signature_matches(token: Token, secret_key: str, session_token: str | None) -> bool:
    """Recomputes the presigned request's SigV4 signature with botocore's own signer."""
    from botocore.auth import SigV4QueryAuth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    scope = token.scope
    if len(scope) != 5:
        return False
    try:
        expires = int(token.query.get("X-Amz-Expires", ""))
    except ValueError:
        return False
    request = AWSRequest(method="GET", url=token.signed_url, data={}, headers={})
    request.context["timestamp"] = token.query.get("X-Amz-Date", "")
    signer = SigV4QueryAuth(
        Credentials(token.access_key, secret_key, session_token), scope[3], scope[2], expires
    )
    expected = signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request)
    return hmac.compare_digest(expected, token.query["X-Amz-Signature"])


def _expired(token: Token, now: datetime.datetime) -> str | None:
    try:
        signed = datetime.datetime.strptime(token.query["X-Amz-Date"], SIGV4_TIMESTAMP).replace(
            tzinfo=datetime.UTC
        )
        expires = int(token.query["X-Amz-Expires"])
    except (KeyError, ValueError):
        return "the token has no valid X-Amz-Date and X-Amz-Expires"
    if expires > MAX_EXPIRES_SECONDS:
        return f"the token asks for {expires} s; an IAM token is valid for at most {MAX_EXPIRES_SECONDS} s"
    ends = signed + datetime.timedelta(seconds=expires)
    if now >= ends:
        return f"the token expired at {ends.strftime(SIGV4_TIMESTAMP)}"
    return None


def _cache_arn_and_groups(account: str, region: str, token: Token) -> tuple[str, list[str]] | str:
    """The cache the token names, as the applied stack has it: its ARN and user groups, or why not."""
    from moto.elasticache.models import elasticache_backends

    backend = elasticache_backends[account][region]
    if token.serverless:
        cache = getattr(backend, "twin_serverless_caches", {}).get(token.cache_name)
        if cache is None:
            return f"there is no serverless cache {token.cache_name!r}"
        return str(cache["ARN"]), [cache["UserGroupId"]] if cache.get("UserGroupId") else []
    group = backend.replication_groups.get(token.cache_name)
    if group is None:
        return f"there is no replication group {token.cache_name!r}"
    return str(group.arn), list(group.user_group_ids or [])


def _admitted_user(account: str, region: str, user_id: str, cache_groups: list[str], cache: str) -> Any:
    """The user AUTH names, as moto holds it, if ElastiCache would let it in through IAM; else why not."""
    from moto.elasticache.models import elasticache_backends

    user = elasticache_backends[account][region].users.get(user_id)
    if user is None:
        return f"there is no user {user_id!r}"
    if user.authentication_type != "iam":
        return f"user {user_id!r} is not IAM-enabled (authentication type {user.authentication_type!r})"
    if user.name != user.id:
        return f"user {user_id!r} is IAM-enabled but its user name {user.name!r} differs from its id"
    if not set(user.user_group_ids) & set(cache_groups):
        return f"user {user_id!r} is in no user group of {cache}"
    return user


class CacheAuthority:
    """Decides tokens for the twin's redis-server and holds the password it admits in their place."""

    def __init__(self, enforcer: iam.Enforcer, password: str, region: str) -> None:
        self.enforcer = enforcer
        self.password = password
        self.region = region

    def refusal(self, user: str, raw_token: str, now: datetime.datetime | None = None) -> str | None:
        """Why ElastiCache would refuse AUTH <user> <raw_token>; None when it admits it."""
        now = now or datetime.datetime.now(datetime.UTC)
        token = parse_token(raw_token)
        if token is None:
            return "the password is not an IAM authentication token"
        if token.query.get("Action") != "connect":
            return f"the token's Action is {token.query.get('Action')!r}, not 'connect'"
        if token.query.get("User") != user:
            return f"the token is for user {token.query.get('User')!r} but AUTH names {user!r}"
        scope = token.scope
        if len(scope) != 5 or scope[3] != SERVICE or scope[2] != self.region:
            return f"the token is signed for {'/'.join(scope[2:4])!r}, not {self.region}/{SERVICE}"
        expired = _expired(token, now)
        if expired:
            return expired
        credentials = self.enforcer.sessions.credentials_of(token.access_key)
        if credentials is None:
            return f"the access key {token.access_key!r} is not one of the twin's role sessions"
        secret_key, session_token, account = credentials
        if token.query.get("X-Amz-Security-Token") != session_token:
            return "the token's X-Amz-Security-Token is not its access key's session token"
        if not signature_matches(token, secret_key, session_token):
            return "the token's signature does not match"
        found = _cache_arn_and_groups(account, self.region, token)
        if isinstance(found, str):
            return found
        cache_arn, groups = found
        admitted = _admitted_user(account, self.region, user, groups, token.cache_name)
        if isinstance(admitted, str):
            return admitted
        requests = [iam.AuthorizationRequest("elasticache:Connect", arn) for arn in (cache_arn, admitted.arn)]
        return self.enforcer.refusal_for_key(token.access_key, account, requests)

    def answer(self, body: bytes) -> tuple[str, dict[str, Any]]:
        try:
            asked = json.loads(body or b"{}")
            user, token = str(asked["user"]), str(asked["token"])
        except (ValueError, KeyError, TypeError):
            return "400 Bad Request", {"message": 'expected {"user": "…", "token": "…"}'}
        refused = self.refusal(user, token)
        if refused is not None:
            return "403 Forbidden", {"refused": refused}
        return "200 OK", {"password": self.password}


def install(authority: CacheAuthority) -> None:
    """EXCHANGE_PATH in front of moto's dispatcher: tokens in, the password or the reason out."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    original = DomainDispatcherApplication.__call__

    def dispatch(self: Any, environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("PATH_INFO") != EXCHANGE_PATH:
            return original(self, environ, start_response)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        status, answer = authority.answer(environ["wsgi.input"].read(length) if length else b"")
        payload = json.dumps(answer).encode()
        start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))])
        return [payload]

    DomainDispatcherApplication.__call__ = dispatch
