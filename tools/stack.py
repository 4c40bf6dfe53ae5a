"""An applied stack as its readers see it: its `terraform output`, and AWS clients over it.

The twin (local_twin.twin.LocalTwin) and a deployed environment (drivers.target.DeployedStack)
are both an applied copy of terraform/: the same outputs, the same functions, tables and log
groups. `StackReader` holds what is read the same way from either, given `client(service)` and
`outputs`; only where the clients point and how HTTP requests are sent differ.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

CHECKOUT_ENGINES = ("step-functions", "durable")  # Terraform's checkout_engine values


def client_factory(endpoint_url: str, region: str, config: Any = None) -> Callable[[str], Any]:
    """boto3 clients of one endpoint with the twin's admin keys, made once per service."""
    import boto3

    clients: dict[str, Any] = {}

    def client(service: str) -> Any:
        if service not in clients:
            clients[service] = boto3.client(
                service,
                endpoint_url=endpoint_url,
                region_name=region,
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
                config=config,
            )
        return clients[service]

    return client


def every(client: Any, operation: str, items: str, **parameters: Any) -> list[Any]:
    """All the items of a paged AWS call, through botocore's paginator for it."""
    return [item for page in client.get_paginator(operation).paginate(**parameters) for item in page[items]]


@dataclass(frozen=True)
class StackOutputs:
    """What `terraform output` says about an applied stack (terraform/'s outputs)."""

    values: dict[str, Any]

    @property
    def table_name(self) -> str:
        return str(self.values["table_name"])

    @property
    def function_names(self) -> dict[str, str]:
        return dict(self.values["function_names"])

    @property
    def function_arns(self) -> dict[str, str]:
        return dict(self.values["function_arns"])

    @property
    def log_group_names(self) -> dict[str, str]:
        return dict(self.values["log_group_names"])

    @property
    def routes(self) -> dict[str, str]:
        return dict(self.values["routes"])

    @property
    def cache(self) -> dict[str, Any]:
        return dict(self.values["cache"])

    @property
    def state_machine_arns(self) -> dict[str, str]:
        return {"checkout": str(self.values["checkout_state_machine_arn"])}

    @property
    def api_url(self) -> str | None:
        return self.values.get("api_url")


@dataclass
class HttpResponse:
    status: int
    headers: dict[str, str]
    body: Any
    function_error: str | None = None

    @property
    def json(self) -> Any:
        return self.body

    def describe(self) -> str:
        """Status, body and, for a crashed function, its error: a 500's body alone says nothing."""
        text = f"{self.status} {self.body}"
        return f"{text} (function error: {self.function_error})" if self.function_error else text


def request_text(json_body: Any = None, raw_body: str | None = None) -> str | None:
    """A request's body as sent: the raw text when given, else the JSON of json_body."""
    return raw_body if raw_body is not None else (None if json_body is None else json.dumps(json_body))


def parsed_body(text: str | bytes | None) -> Any:
    """A response's body as the drivers read it: JSON where it is JSON, else the text itself."""
    if not text:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text.decode(errors="replace") if isinstance(text, bytes) else text


class StackReader:
    """Reads of an applied stack through its clients; a subclass gives `client` and `outputs`."""

    def client(self, service: str) -> Any:
        raise NotImplementedError

    @property
    def outputs(self) -> StackOutputs:
        raise NotImplementedError

    @property
    def table_name(self) -> str:
        return self.outputs.table_name

    @property
    def function_keys(self) -> list[str]:
        return sorted(self.outputs.function_names)

    def function_name(self, key: str) -> str:
        return self.outputs.function_names[key]

    def function_arn(self, key: str) -> str:
        return self.outputs.function_arns[key]

    def state_machine_arn(self, key: str) -> str:
        return self.outputs.state_machine_arns[key]

    @contextmanager
    def checkout_engine(self, engine: str | None) -> Iterator[None]:
        """New orders run on `engine` meanwhile, as Terraform's checkout_engine would make them:
        every function that starts sagas (checkout, and the order relay) gets that CHECKOUT_ENGINE,
        and the stack's values come back after. None keeps the stack's."""
        if engine is not None and engine not in CHECKOUT_ENGINES:
            raise ValueError(f"checkout engine must be one of {CHECKOUT_ENGINES}, not {engine!r}")
        if engine is None:
            yield
            return
        functions = self.client("lambda")
        applied = {key: self.function_environment(key) for key in self.function_keys}
        switched = {
            key: environment
            for key, environment in applied.items()
            if "CHECKOUT_ENGINE" in environment and environment["CHECKOUT_ENGINE"] != engine
        }
        for key, environment in switched.items():
            functions.update_function_configuration(
                FunctionName=self.function_name(key),
                Environment={"Variables": {**environment, "CHECKOUT_ENGINE": engine}},
            )
        try:
            yield
        finally:
            for key, environment in switched.items():
                functions.update_function_configuration(
                    FunctionName=self.function_name(key), Environment={"Variables": environment}
                )

    def function_environment(self, key: str) -> dict[str, str]:
        """A function's environment variables as Lambda holds them (set by Terraform)."""
        configuration = self.client("lambda").get_function_configuration(FunctionName=self.function_name(key))
        return dict(configuration.get("Environment", {}).get("Variables", {}))

    def stored_item(self, pk: str, sk: str) -> dict[str, Any] | None:
        """An item as DynamoDB holds it (low-level attribute values), read consistently."""
        response = self.client("dynamodb").get_item(
            TableName=self.table_name, Key={"pk": {"S": pk}, "sk": {"S": sk}}, ConsistentRead=True
        )
        return response.get("Item")

    def product_stock(self, sku: str) -> int:
        item = self.stored_item(f"PRODUCT#{sku}", "PRODUCT")
        if item is None:
            raise KeyError(f"no product {sku}")
        return int(item["stock"]["N"])

    def function_log(self, key: str, since_ms: int = 0) -> list[str]:
        """A function's log lines since a time, read from CloudWatch Logs as an operator would."""
        events = every(
            self.client("logs"),
            "filter_log_events",
            "events",
            logGroupName=self.outputs.log_group_names[key],
            startTime=since_ms,
        )
        return [event["message"] for event in events]

    def stream_invalidated_skus(self, since_ms: int) -> set[str]:
        """The products whose cache entries the cache-invalidator cleared from the table's
        stream since a time, from its "stream batch done" log lines."""
        skus: set[str] = set()
        for line in self.function_log("cache_invalidator", since_ms=since_ms):
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(entry, dict) and entry.get("message") == "stream batch done":
                skus.update(entry.get("invalidated_skus") or [])
        return skus

    def wait_for_stream_invalidation(self, skus: set[str], since_ms: int, timeout: float = 30.0) -> None:
        """Until the stream invalidator has cleared every one of these products (after a write
        made at or after since_ms). Its invalidation deletes the cached value, so a
        measurement of cache reads that starts earlier can see an extra miss that is not its own."""
        deadline = time.monotonic() + timeout
        while missing := skus - self.stream_invalidated_skus(since_ms):
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"the cache-invalidator did not clear {sorted(missing)[:5]} within {timeout} s"
                )
            time.sleep(0.1)
