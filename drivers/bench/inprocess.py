"""The shop's handlers imported into the bench's own process, pointed at the twin.

The overhead, round-trip and speedup figures time the code the handlers run without the
Lambda harness around it (process pipes, the moto server's invoke). So the bench imports
the handler modules here, with the environment a twin function gets: its Terraform-set
variables, the runtime's variables, and the twin's endpoint.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from local_twin.lambda_pool import environment_variables_for_worker
from local_twin.twin import REGION, LocalTwin, http_api_event, match_route
from tools.packaging import LAMBDA_SOURCE

HTTP_FUNCTIONS = ("cart", "catalog", "checkout")
# The runtime's variables the bench process keeps its own (it is not a Lambda environment).
KEPT_FROM_THE_BENCH = {"PATH", "LANG", "TZ", "SYSTEMROOT"}


class FakeContext:
    function_name = "bench"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench"
    aws_request_id = "00000000-0000-0000-0000-000000000000"

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


def function_environment(twin: LocalTwin, key: str) -> dict[str, str]:
    """What the twin's execution environment of a function sees, as the twin's pool builds it."""
    environment = {**environment_variables_for_worker(twin.endpoint_url, REGION)}
    environment.update(twin.function_environment(key))
    if twin.redis is not None and "CACHE_ENDPOINT" in environment:
        environment.update({"CACHE_ENDPOINT": f"127.0.0.1:{twin.redis.port}", "CACHE_TLS": "false"})
        if twin.redis.password and environment.get("CACHE_USER"):
            # The bench runs the handlers with the twin's admin keys, and the twin admits a cache token only
            # from a function's role session, as ElastiCache admits only what elasticache:Connect allows
            # (local_twin/cache_auth.py). So the bench connects as Redis's default user, without AUTH: the
            # requests it times run on a connection that authenticated once, either way.
            environment["CACHE_USER"] = ""
    environment.update(
        {
            "AWS_LAMBDA_FUNCTION_NAME": twin.function_name(key),
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
            "LAMBDA_TASK_ROOT": str(LAMBDA_SOURCE),
        }
    )
    return environment


@dataclass
class Shop:
    """The HTTP handlers' modules, imported once, as one warm environment each."""

    twin: LocalTwin
    modules: dict[str, ModuleType]

    @classmethod
    @contextmanager
    def loaded(cls, twin: LocalTwin) -> Iterator[Shop]:
        """The handlers imported with the functions' environment; afterwards the process's
        environment is as it was and the handler modules are forgotten, so nothing else in the
        process (a test session) builds clients pointed at this twin."""
        saved = dict(os.environ)
        try:
            for key in HTTP_FUNCTIONS:
                for name, value in function_environment(twin, key).items():
                    if name not in KEPT_FROM_THE_BENCH:
                        os.environ[name] = value
            for key in HTTP_FUNCTIONS:
                sys.modules.pop(f"handlers.{key}", None)
            yield cls(twin, {key: importlib.import_module(f"handlers.{key}") for key in HTTP_FUNCTIONS})
        finally:
            os.environ.clear()
            os.environ.update(saved)
            for key in HTTP_FUNCTIONS:
                sys.modules.pop(f"handlers.{key}", None)

    def event(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[str, dict[str, Any]]:
        matched = match_route(self.twin.outputs.routes, method, path)
        if matched is None:
            raise ValueError(f"no route for {method} {path}")
        route_key, function, parameters = matched
        text = None if body is None else json.dumps(body)
        return function, http_api_event(method, path, route_key, parameters, text, headers or {})

    def call(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> dict[str, Any]:
        function, event = self.event(method, path, body, headers)
        return self.modules[function].handler(event, FakeContext())
