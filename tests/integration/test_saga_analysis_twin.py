"""The per-state analysis over real twin histories, on both engines: Step Functions' history
and the execution log made from it (AWS's documented format) give the same figures, the saved
query's per-visit arithmetic agrees with them, and the report reads both engines' executions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from drivers import saga_analysis, saga_report
from drivers.demo import checkout as demo
from tests.saga_logs import execution_log_events, rendered_query, visits_by_query

PATHS = ("happy", "transient-then-ok", "declined", "approved")


@pytest.fixture(scope="module")
def orders(twin: Any) -> dict[str, list[demo.Placed]]:
    started = datetime.now(UTC) - timedelta(seconds=5)
    placed: dict[str, list[demo.Placed]] = {}
    for engine in demo.ENGINES:
        with twin.checkout_engine(engine):
            for path in (p for p in demo.PATHS if p.name in PATHS):
                price = demo.LARGE_PRICE_CENTS if path.decision else demo.PRICE_CENTS
                sku = demo._product(twin, stock=5, price=price)
                placed.setdefault(engine, []).append(demo._settle(twin, demo._place(twin, path, sku, 2)))
    placed["_since"] = started  # type: ignore[assignment]
    return placed


def test_both_engines_name_their_states_retries_and_approval_wait(orders: dict[str, Any]) -> None:
    for engine in demo.ENGINES:
        analysis = demo.analyse(engine, orders[engine])
        charge = analysis.state("ChargePayment")
        assert charge.executions == len(PATHS), engine
        assert charge.retries == 2, f"{engine}: tok_transient_2 fails twice"
        assert charge.failures == {"TransientError": 2, "PaymentDeclined": 1}, engine
        assert charge.waiting_ms["p99"] > 0, f"{engine}: the retries' back-off is waiting"
        assert analysis.state("WaitForApproval").approval_ms["p50"] > 0, engine
        assert analysis.bottleneck["p99"] is not None, engine
        assert analysis.state("ReleaseInventory").executions == 1, engine


def test_the_execution_log_and_the_query_agree_with_the_history(orders: dict[str, Any]) -> None:
    histories = {order.execution_arn: order.events for order in orders["step-functions"]}
    records = [r for arn, events in histories.items() for r in execution_log_events(arn, events)]
    split = saga_analysis.by_execution(records)
    from_api = saga_analysis.analyse(
        saga_analysis.from_step_functions(histories[arn]) for arn in sorted(histories)
    )
    from_logs = saga_analysis.analyse(
        saga_analysis.from_execution_log(split[arn]) for arn in sorted(histories)
    )
    assert from_logs == from_api

    by_query = visits_by_query(records, rendered_query("state_visits", bin="300s"))
    expected = {}
    for arn in histories:
        for visit in saga_analysis.execution_times(saga_analysis.from_execution_log(split[arn])).visits:
            if visit.attempts:
                expected[(arn, visit.state)] = (visit.duration_ms, visit.attempts)
    # A visit that crossed a 5-minute boundary is one the query leaves out; none does in seconds.
    assert by_query == expected


def test_the_report_reads_both_engines_recent_executions(twin: Any, orders: dict[str, Any]) -> None:
    results = saga_report.report(twin, orders["_since"])
    assert results["checkout.executions_analysed"] >= len(PATHS)
    assert results["checkout.durable.executions_analysed"] >= len(PATHS)
    assert results["checkout.states.ChargePayment.retries"] >= 2
    assert results["checkout.durable.states.ChargePayment.retries"] >= 2
