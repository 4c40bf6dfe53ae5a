"""The saga's per-state analysis: crafted histories with known times, both Step Functions sources
(the API's history and its execution log) giving the same answer, and real durable histories
from the durable execution SDK's own runner."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from drivers import saga_analysis
from drivers.saga_analysis import Kind, analyse, from_durable, from_execution_log, from_step_functions
from tests.saga_logs import as_messages, execution_log_events

T0 = datetime(2026, 1, 1, tzinfo=UTC)
ARN = "arn:aws:states:us-east-1:123456789012:execution:checkout:{}"


def history(*steps: tuple[int, str, dict[str, Any]]) -> list[dict[str, Any]]:
    """GetExecutionHistory events, numbered in order, each following the one before it; each
    step is (milliseconds after T0, type, details)."""
    events = []
    for number, (offset_ms, kind, details) in enumerate(steps, start=1):
        member = kind[0].lower() + kind[1:] + "EventDetails"
        if kind.endswith("StateEntered"):
            member = "stateEnteredEventDetails"
        elif kind.endswith("StateExited"):
            member = "stateExitedEventDetails"
        events.append(
            {
                "id": number,
                "previousEventId": number - 1,
                "timestamp": T0 + timedelta(milliseconds=offset_ms),
                "type": kind,
                member: details,
            }
        )
    return events


def task(
    at: int, name: str, attempts: list[tuple[int, int, str | None]]
) -> list[tuple[int, str, dict[str, Any]]]:
    """A Task state entered at `at`; each attempt (queued ms, run ms, error or None) is
    scheduled 100 ms after the previous failed (the back-off); it exits when the last ends."""
    steps: list[tuple[int, str, dict[str, Any]]] = [(at, "TaskStateEntered", {"name": name})]
    now = at
    for index, (queued, run, error) in enumerate(attempts):
        if index:
            now += 100
        steps.append((now, "TaskScheduled", {"resource": "invoke", "resourceType": "lambda"}))
        now += queued
        steps.append((now, "TaskStarted", {"resource": "invoke", "resourceType": "lambda"}))
        now += run
        if error:
            steps.append((now, "TaskFailed", {"error": error, "cause": "…"}))
        else:
            steps.append((now, "TaskSucceeded", {"resource": "invoke", "resourceType": "lambda"}))
    steps.append((now, "TaskStateExited", {"name": name}))
    return steps


def end_of(steps: list[tuple[int, str, dict[str, Any]]]) -> int:
    return steps[-1][0]


def confirmed_after_two_retries() -> list[dict[str, Any]]:
    validate = task(10, "ValidateOrder", [(5, 20, None)])
    charge = task(
        end_of(validate),
        "ChargePayment",
        [(5, 30, "TransientError"), (5, 30, "TransientError"), (5, 40, None)],
    )
    confirm = task(end_of(charge), "ConfirmOrder", [(5, 15, None)])
    return history(
        (0, "ExecutionStarted", {}),
        *validate,
        *charge,
        *confirm,
        (end_of(confirm), "SucceedStateEntered", {"name": "OrderConfirmed"}),
        (end_of(confirm), "SucceedStateExited", {"name": "OrderConfirmed"}),
        (end_of(confirm) + 5, "ExecutionSucceeded", {}),
    )


def approved_then_declined() -> list[dict[str, Any]]:
    """Waits 60 s for the approver, then the charge is declined and compensation runs."""
    validate = task(10, "ValidateOrder", [(5, 20, None)])
    start = end_of(validate)
    approval = [
        (start, "TaskStateEntered", {"name": "WaitForApproval"}),
        (start, "TaskScheduled", {"resource": "invoke.waitForTaskToken", "resourceType": "lambda"}),
        (start + 5, "TaskStarted", {"resource": "invoke.waitForTaskToken", "resourceType": "lambda"}),
        (start + 25, "TaskSubmitted", {"resource": "invoke.waitForTaskToken", "resourceType": "lambda"}),
        (start + 60_025, "TaskSucceeded", {"resource": "invoke.waitForTaskToken", "resourceType": "lambda"}),
        (start + 60_025, "TaskStateExited", {"name": "WaitForApproval"}),
    ]
    charge = task(end_of(approval), "ChargePayment", [(5, 30, "PaymentDeclined")])
    release = task(end_of(charge), "ReleaseInventory", [(5, 25, None)])
    mark = task(end_of(release), "MarkFailed", [(5, 10, None)])
    return history(
        (0, "ExecutionStarted", {}),
        *validate,
        *approval,
        *charge,
        *release,
        *mark,
        (end_of(mark), "FailStateEntered", {"name": "CheckoutFailed"}),
        (end_of(mark) + 5, "ExecutionFailed", {"error": "CheckoutFailed"}),
    )


CRAFTED = [confirmed_after_two_retries(), approved_then_declined()]


def test_per_state_times_retries_and_failures_from_a_crafted_history() -> None:
    result = analyse(from_step_functions(events) for events in CRAFTED)

    assert result.executions == 2
    assert [s.state for s in result.states] == [
        "ValidateOrder",
        "ChargePayment",
        "ConfirmOrder",
        "WaitForApproval",
        "ReleaseInventory",
        "MarkFailed",
    ], "task states only, in the order they were first entered (no Choice, Succeed or Fail)"
    validate = result.state("ValidateOrder")
    assert validate.executions == 2 and validate.ms["p50"] == 25 and validate.retries == 0
    assert (validate.working_ms["p50"], validate.waiting_ms["p50"]) == (20, 5), (
        "queued before its Lambda started"
    )

    charge = result.state("ChargePayment")
    assert charge.executions == 2 and charge.retries == 2
    assert charge.failures == {"TransientError": 2, "PaymentDeclined": 1}
    # the retried charge: 3 x 5 ms queued + 2 x 100 ms back-off = 215 ms waiting, 100 ms running
    assert charge.ms["p99"] == 315 and charge.waiting_ms["p99"] == 215 and charge.working_ms["p99"] == 100

    approval = result.state("WaitForApproval")
    assert approval.approval_ms["p50"] == 60_000, "submitted to succeeded: the approver"
    assert approval.ms["p50"] == 25, "its own time leaves the approver's wait out"
    assert approval.working_ms["p50"] == 20 and approval.waiting_ms["p50"] == 5
    assert result.approval_wait_ms["p50"] == 60_000

    # End to end, without the approver: 10 + 25 + 315 + 20 + 5 = 375 ms and 10 + 25 + 25 + 35 + 30 + 15 + 5 = 145 ms
    assert result.end_to_end_ms["p50"] == 145 and result.end_to_end_ms["p99"] == 375
    assert result.bottleneck["p99"] is not None and result.bottleneck["p99"].state == "ChargePayment"
    assert result.bottleneck["p99"].share == round(315 / 375, 3)
    assert result.bottleneck["p50"] is not None and result.bottleneck["p50"].state == "ChargePayment"


def test_the_execution_log_gives_the_same_analysis_as_the_history_api() -> None:
    """The log events (AWS's documented shape, with the numbers as strings) feed the same
    computation; only the field names differ."""
    records = [
        json.loads(message)
        for index, events in enumerate(CRAFTED)
        for message in as_messages(execution_log_events(ARN.format(index), events))
    ]
    split = saga_analysis.by_execution(records)
    assert sorted(split) == [ARN.format(0), ARN.format(1)]
    from_logs = analyse(from_execution_log(split[arn]) for arn in sorted(split))
    from_api = analyse(from_step_functions(events) for events in CRAFTED)
    assert from_logs == from_api


def test_a_task_is_attributed_to_its_state_along_previous_event_ids() -> None:
    """Events are attributed by their previous_event_id chain back to the state entered, not by
    position: two branches' tasks (as a Parallel state's would be) interleave, and each keeps its own."""
    steps = [
        (0, "ExecutionStarted", {}, 0),
        (1, "TaskStateEntered", {"name": "A"}, 1),
        (1, "TaskStateEntered", {"name": "B"}, 1),
        (2, "TaskScheduled", {}, 2),  # A's
        (2, "TaskScheduled", {}, 3),  # B's
        (3, "TaskStarted", {}, 5),  # B's, started first
        (40, "TaskStarted", {}, 4),  # A's, queued 38 ms
        (50, "TaskSucceeded", {}, 7),
        (50, "TaskStateExited", {"name": "A"}, 8),
        (90, "TaskFailed", {"error": "TransientError"}, 6),
        (90, "TaskStateExited", {"name": "B"}, 10),
        (91, "ExecutionFailed", {}, 11),
    ]
    events = history(*[(at, kind, details) for at, kind, details, _ in steps])
    for event, (*_, previous) in zip(events, steps, strict=True):
        event["previousEventId"] = previous
    result = analyse([from_step_functions(events)])
    a, b = result.state("A"), result.state("B")
    assert (a.ms["p50"], a.waiting_ms["p50"], a.working_ms["p50"], a.failures) == (49, 38, 11, {})
    assert (b.ms["p50"], b.waiting_ms["p50"], b.working_ms["p50"], b.failures) == (
        89,
        1,
        88,
        {"TransientError": 1},
    )


def test_no_executions_name_no_bottleneck() -> None:
    result = analyse([])
    assert result.states == [] and result.bottleneck == {"p50": None, "p99": None}
    assert result.end_to_end_ms["p50"] is None, "no data is None, not a made-up zero"


# --- the durable engine: real histories from the SDK's local runner over the real saga ---------


@pytest.fixture(scope="module")
def durable_histories() -> Iterator[dict[str, list[dict[str, Any]]]]:
    from moto import mock_aws

    from tests.unit.test_durable_saga import TABLE, Shop, create_state_table, fresh_import

    with pytest.MonkeyPatch.context() as patch, mock_aws():
        patch.setenv("STATE_TABLE_NAME", TABLE)
        module = fresh_import("handlers.checkout_durable")
        shop = Shop(module, create_state_table(TABLE), module.store)
        histories = {}
        for label, token, approval in [
            ("transient", "tok_transient_2", False),
            ("approved", "tok_ok", True),
            ("declined", "tok_decline", False),
        ]:
            order_id = shop.order(shop.product(stock=5), token=token, approval=approval)
            with shop.runner() as runner:
                arn = runner.run_async(
                    input=json.dumps({"order_id": order_id, "requires_approval": approval}),
                    execution_name=order_id,
                    execution_timeout=60,
                )
                if approval:
                    runner.wait_for_callback(arn, timeout=30)
                    token_id = shop.store.decide_approval(order_id, approve=True)
                    runner.send_callback_success(token_id, json.dumps({"approved": True}).encode())
                runner.wait_for_result(arn, timeout=60)
                # The runner's history as the API returns it (boto3 parses EventTimestamp to a datetime).
                events = runner.get_execution_history(arn).to_dict()["Events"]
            histories[label] = [
                {**event, "EventTimestamp": datetime.fromisoformat(str(event["EventTimestamp"]))}
                if not isinstance(event["EventTimestamp"], datetime)
                else event
                for event in events
            ]
        yield histories


def test_durable_steps_retries_back_off_and_approval_from_real_histories(
    durable_histories: dict[str, list[dict[str, Any]]],
) -> None:
    result = analyse(
        from_durable(durable_histories[label]) for label in ("transient", "approved", "declined")
    )
    names = [s.state for s in result.states]
    assert names[:3] == ["ValidateOrder", "ReserveInventory", "ChargePayment"]
    assert {"WaitForApproval", "ConfirmOrder", "ReleaseInventory", "MarkFailed"} <= set(names)
    assert not any(" " in name for name in names), "a callback's own operations belong to WaitForApproval"

    charge = result.state("ChargePayment")
    assert charge.executions == 3
    assert charge.retries == 2, "tok_transient_2 fails twice, then succeeds"
    assert charge.failures == {"TransientError": 2, "PaymentDeclined": 1}
    # The SDK's retry strategy backs off 1 s, then up to 2 s, with full jitter: the wait is most
    # of the retried charge's time, and it is counted as waiting, not working.
    assert charge.waiting_ms["p99"] is not None and charge.waiting_ms["p99"] > 0
    assert charge.ms["p99"] >= charge.waiting_ms["p99"]

    approval = result.state("WaitForApproval")
    assert (
        approval.executions == 1
        and approval.approval_ms["p50"] is not None
        and approval.approval_ms["p50"] > 0
    )
    assert result.approval_wait_ms["p50"] == approval.approval_ms["p50"]
    assert result.bottleneck["p99"] is not None and result.bottleneck["p99"].state == "ChargePayment"
    for figures in result.states:
        assert figures.ms["p50"] is not None and figures.ms["p50"] >= 0


def test_every_durable_event_is_stamped_in_order(durable_histories: dict[str, list[dict[str, Any]]]) -> None:
    """The normalized events keep the history's order of time: a state is never left before it
    is entered, which is what the durations rest on."""
    for events in durable_histories.values():
        normalized = from_durable(events)
        entered: dict[str, float] = {}
        for event in normalized:
            if event.kind is Kind.ENTERED:
                entered[event.state] = event.at_ms  # type: ignore[index]
            if event.kind is Kind.EXITED:
                assert event.at_ms >= entered[event.state]  # type: ignore[index]
