"""A moto server in the test's own process, for the unit tests of the twin's hooks that patch moto
(local_twin/iam.py, cache_auth.py, alarm_actions.py), and an admin client factory for it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import boto3
from moto.moto_server.threaded_moto_server import ThreadedMotoServer


@contextmanager
def moto_server(region: str = "us-east-1") -> Iterator[tuple[str, Callable[[str], Any]]]:
    """(endpoint, admin) where admin(service) is a client signed with the admin keys."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"

    def admin(service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=endpoint,
            region_name=region,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    try:
        yield endpoint, admin
    finally:
        server.stop()
