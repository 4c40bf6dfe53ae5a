"""The functions' state metrics: buffered per invocation, written once, nothing lost or renamed."""

from __future__ import annotations

import ast
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws
from shop import observability

from drivers.metrics import emf_points, select
from local_twin.twin import http_api_event
from tests.unit.handler_harness import FakeContext, create_state_table, fresh_import

HANDLERS = Path(__file__).resolve().parents[2] / "lambda_src" / "handlers"


def documents(lines: list[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in lines]


@pytest.fixture
def written() -> Iterator[tuple[observability.MetricBuffer, list[str]]]:
    lines: list[str] = []
    yield observability.MetricBuffer(write=lines.append), lines


def test_one_document_per_dimension_set_with_every_value_in_the_dashboards_dimensions(
    written: tuple[observability.MetricBuffer, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    buffer, lines = written
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "catalog")
    for value in (1.5, 2.5, 3.5):
        buffer.add(
            "StateReadLatency", "Milliseconds", value, (("Strategy", "cache"), ("Operation", "GetProduct"))
        )
        buffer.add("CacheHit", "Count", 1.0, (("Strategy", "cache"),))
    buffer.add("CatalogReadLatency", "Milliseconds", 4.0, (("Strategy", "cache"), ("Outcome", "hit")))
    assert lines == [], "nothing is written before the flush"

    buffer.flush()

    written_documents = documents(lines)
    assert len(written_documents) == 3
    by_metric = {doc["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"]: doc for doc in written_documents}
    latency = by_metric["StateReadLatency"]
    assert latency["StateReadLatency"] == [1.5, 2.5, 3.5]
    assert latency["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["Strategy", "Operation", "service"]]
    assert latency["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "ServerlessState"
    assert (latency["Strategy"], latency["Operation"], latency["service"]) == (
        "cache",
        "GetProduct",
        "catalog",
    )
    assert by_metric["CacheHit"]["CacheHit"] == [1.0, 1.0, 1.0]
    assert by_metric["CacheHit"]["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["Strategy", "service"]]
    assert by_metric["CatalogReadLatency"]["Outcome"] == "hit"
    points = emf_points(lines)
    assert select(points, "CacheHit", Strategy="cache", service="catalog") == [1.0, 1.0, 1.0]

    buffer.flush()
    assert len(lines) == 3, "a flush with nothing buffered writes nothing"


def test_a_metric_reaching_emfs_100_values_is_written_at_once(
    written: tuple[observability.MetricBuffer, list[str]],
) -> None:
    buffer, lines = written
    for value in range(250):
        buffer.add(
            "StateWriteLatency",
            "Milliseconds",
            float(value),
            (("Strategy", "dynamodb"), ("Operation", "PutCart")),
        )
    assert [len(doc["StateWriteLatency"]) for doc in documents(lines)] == [100, 100]
    assert buffer.pending() == 50
    buffer.flush()
    values = [value for doc in documents(lines) for value in doc["StateWriteLatency"]]
    assert values == [float(value) for value in range(250)], "every value, once, in order"


def test_the_buffer_is_written_when_the_handler_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    lines: list[str] = []
    monkeypatch.setattr(observability, "buffer", observability.MetricBuffer(write=lines.append))

    @observability.flush_after_invocation
    def failing_handler(event: dict[str, Any], context: Any) -> None:
        observability.count("VersionConflict", "dynamodb")
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        failing_handler({}, None)
    assert select(emf_points(lines), "VersionConflict", Strategy="dynamodb") == [1.0]


def test_every_handler_flushes_its_metrics_after_each_invocation() -> None:
    for path in sorted(HANDLERS.glob("*.py")):
        if path.name == "__init__.py":
            continue
        tree = ast.parse(path.read_text())
        handler = next(
            node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name == "handler"
        )
        decorators = [ast.unparse(decorator) for decorator in handler.decorator_list]
        assert "observability.flush_after_invocation" in decorators, f"{path.name}: {decorators}"


def test_a_cart_invocation_writes_its_state_metrics_before_it_returns(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with mock_aws():
        monkeypatch.setenv("STATE_TABLE_NAME", "metric-buffer-state")
        create_state_table("metric-buffer-state")
        boto3.client("dynamodb")  # region and credentials come from tests/conftest.py
        cart = fresh_import("handlers.cart")
        capsys.readouterr()
        response = cart.handler(
            http_api_event(
                "GET", "/carts/metrics-cart", "GET /carts/{cart_id}", {"cart_id": "metrics-cart"}, None, {}
            ),
            FakeContext(),
        )
    assert response["statusCode"] == 404
    assert observability.buffer.pending() == 0
    reads = select(emf_points(capsys.readouterr().out.splitlines()), "StateReadLatency", Strategy="dynamodb")
    assert len(reads) == 1
