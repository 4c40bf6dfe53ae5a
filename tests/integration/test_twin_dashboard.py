"""modules/observability on the twin: what the stack's apply made, and the dashboard's figures
computed from the functions' own EMF records (drivers.dashboard)."""

from __future__ import annotations

import json
import time
import uuid

import pytest

from drivers import dashboard, metrics

pytestmark = [pytest.mark.twin, pytest.mark.redis]


def test_the_stack_applied_the_dashboard_alarms_and_saved_query(twin) -> None:
    observed = twin.outputs.values["observability"]
    body = json.loads(
        twin.client("cloudwatch").get_dashboard(DashboardName=observed["dashboard_name"])["DashboardBody"]
    )
    assert "Catalog cache hit ratio" in [widget["properties"]["title"] for widget in body["widgets"]]
    alarms = twin.client("cloudwatch").describe_alarms(AlarmNames=observed["alarm_names"])["MetricAlarms"]
    assert len(alarms) == len(observed["alarm_names"]) >= 3 * len(twin.outputs.function_names)
    assert observed["alarm_topic_arn"] is None  # the twin notifies no one
    saved = twin.client("logs").describe_query_definitions(
        queryDefinitionNamePrefix=f"{observed['dashboard_name']}/"
    )["queryDefinitions"]
    # One order's state transitions, and the saga's time and retries per state.
    assert {query["queryDefinitionId"] for query in saved} == {
        observed["query_definition_id"],
        observed["state_durations_query_definition_id"],
    }


def test_dashboard_figures_from_the_catalogs_emf(twin) -> None:
    sku = f"T-{uuid.uuid4().hex[:10].upper()}"
    since = int(time.time() * 1000)
    created = twin.request(
        "PUT", f"/products/{sku}", json_body={"name": "Thing", "price_cents": 100, "stock": 5, "version": 0}
    )
    assert created.status == 201, created.body
    twin.wait_for_stream_invalidation({sku}, since)
    reads_from = int(time.time() * 1000)
    for _ in range(4):
        assert twin.request("GET", f"/products/{sku}").status == 200
    figures = dashboard.dashboard_figures(
        metrics.emf_points(twin.function_log("catalog", since_ms=reads_from))
    )
    assert (figures["cache.hits"], figures["cache.misses"]) == (3, 1)
    assert figures["cache.hit_ratio"] == 0.75
    assert figures["catalog.read_ms.hit.p50"] is not None and figures["catalog.read_ms.miss.p50"] is not None
    assert figures["state.read_ms.cache.p50"] is not None and figures["cache.errors"] == 0
