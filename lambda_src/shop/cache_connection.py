"""The Valkey/Redis connection of one execution environment.

In AWS: TLS, the RBAC user whose credentials live in Secrets Manager (read through
Powertools Parameters, cached), and the cluster client when CACHE_CLUSTER_MODE is on
(ElastiCache Serverless is cluster-mode only). On the twin: plain TCP, no auth.
Timeouts are tens of milliseconds and redis-py's own retries are off, so a cache that
is down costs a request one bounded attempt before it falls back to DynamoDB.
"""

from __future__ import annotations

import os
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.cluster import RedisCluster
from redis.retry import Retry

CACHE_ERRORS: tuple[type[BaseException], ...] = (redis.exceptions.RedisError, OSError)


def _credentials() -> tuple[str | None, str | None]:
    secret_arn = os.environ.get("CACHE_SECRET_ARN", "")
    if not secret_arn:
        return None, None
    from aws_lambda_powertools.utilities import parameters

    secret = parameters.get_secret(secret_arn, transform="json", max_age=300)
    return secret["username"], secret["password"]


def connect_from_environment() -> Any:
    host, _, port = os.environ["CACHE_ENDPOINT"].rpartition(":")
    timeout = int(os.environ.get("CACHE_TIMEOUT_MS", "50")) / 1000
    username, password = _credentials()
    options: dict[str, Any] = {
        "host": host,
        "port": int(port),
        "username": username,
        "password": password,
        "ssl": os.environ.get("CACHE_TLS", "true") == "true",
        "socket_connect_timeout": timeout,
        "socket_timeout": timeout,
        "retry": Retry(NoBackoff(), 0),
    }
    if os.environ.get("CACHE_CLUSTER_MODE", "false") == "true":
        return RedisCluster(**options)
    return redis.Redis(**options, health_check_interval=30)
