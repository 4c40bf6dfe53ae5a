"""The worker's side of the twin's network: refuses connections the function's VPC has no route for.

Loaded by lambda_worker.py (by path, before the handler is imported) when the twin gives the
function a network policy (network.py computes it from the applied stack). On the twin every
AWS API is the one moto URL, so the guard tells services apart inside botocore, by the
client's endpoint prefix (the name in com.amazonaws.<region>.<prefix> endpoints), and the
cache by its address at the socket.

What a refused connection does is what it does in AWS, where the packets go nowhere: the
attempt hangs for the client's connect timeout and then fails, botocore with
ConnectTimeoutError (retried by its retry modes, so a function usually reaches its own
timeout first, as it does in AWS) and redis-py with its TimeoutError ("Timeout connecting
to server"). https://repost.aws/knowledge-center/lambda-vpc-troubleshoot-timeout

Only the standard library at module scope: botocore is the function's own, imported here
only if the function's path has it.
"""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
from typing import Any

_noted: set[str] = set()
_noted_lock = threading.Lock()


def _note(key: str, message: str) -> None:
    """One line per refused destination in the function's log, so that a timeout says why."""
    with _noted_lock:
        if key in _noted:
            return
        _noted.add(key)
    print(f"[twin network] {message}", file=sys.stderr, flush=True)


def _hang(seconds: float | None) -> None:
    """Blocks like a connect whose SYN is never answered; None is a socket without timeout,
    which the function's own timeout ends (the twin kills the worker then, as Lambda does)."""
    if seconds is None:
        while True:
            time.sleep(3600)
    time.sleep(max(0.0, seconds))


def guard_botocore(allowed: set[str], function: str, why: str) -> bool:
    """Makes every botocore client of a service outside `allowed` time out on connect."""
    try:
        from botocore import client as botocore_client
        from botocore.exceptions import ConnectTimeoutError
    except ImportError:
        return False
    original = botocore_client.ClientCreator.create_client

    def create_client(self: Any, *args: Any, **kwargs: Any) -> Any:
        client = original(self, *args, **kwargs)
        service = client.meta.service_model.endpoint_prefix
        if service in allowed:
            return client
        connect_timeout = client.meta.config.connect_timeout

        def refuse(request: Any, **_: Any) -> None:
            _note(
                service,
                f"{function} has no network path to {service} ({why}); the connection times out",
            )
            _hang(float(connect_timeout) if connect_timeout is not None else None)
            raise ConnectTimeoutError(endpoint_url=request.url)

        client.meta.events.register("before-send", refuse)
        return client

    botocore_client.ClientCreator.create_client = create_client  # type: ignore[method-assign]
    return True


def guard_sockets(blocked: dict[tuple[str, int], str], function: str) -> None:
    """Makes a TCP connect to a blocked address hang for the socket's timeout, then time out."""
    original_connect = socket.socket.connect
    original_connect_ex = socket.socket.connect_ex

    def refused(sock: socket.socket, address: Any) -> bool:
        if not isinstance(address, tuple) or len(address) < 2:
            return False
        key = (str(address[0]), int(address[1]))
        if key not in blocked:
            return False
        _note(
            f"{key[0]}:{key[1]}",
            f"{function} cannot reach {key[0]}:{key[1]} ({blocked[key]}); the connection times out",
        )
        _hang(sock.gettimeout())
        return True

    def connect(self: socket.socket, address: Any) -> None:
        if refused(self, address):
            raise TimeoutError("timed out")
        original_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        if refused(self, address):
            import errno

            return errno.ETIMEDOUT
        return original_connect_ex(self, address)

    socket.socket.connect = connect  # type: ignore[method-assign]
    socket.socket.connect_ex = connect_ex  # type: ignore[method-assign]


def _resolved(address: str) -> list[tuple[str, int]]:
    host, _, port = address.rpartition(":")
    try:
        infos = socket.getaddrinfo(host, int(port), type=socket.SOCK_STREAM)
    except (OSError, ValueError):
        return []
    return sorted({(str(info[4][0]), int(info[4][1])) for info in infos})


def install(policy_text: str) -> None:
    policy = json.loads(policy_text)
    function = policy.get("function", "the function")
    if policy.get("services") is not None:
        guard_botocore(set(policy["services"]), function, policy.get("why_no_route") or "no route")
    blocked: dict[tuple[str, int], str] = {}
    for address in policy.get("blocked_addresses") or []:
        for resolved in _resolved(address):
            blocked[resolved] = policy.get("why_blocked") or "no route"
    if blocked:
        guard_sockets(blocked, function)
