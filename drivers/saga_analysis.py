"""Where the checkout saga's time goes: per state (or step), on either engine, from any source.

One computation, three sources. Each source has a thin adapter that turns one execution's
records into the same short sequence of `Event`s; `analyse` does the rest:

- Step Functions' GetExecutionHistory events (`from_step_functions`), as the twin and AWS return
  them;
- the same history as Step Functions writes it to CloudWatch Logs at level ALL
  (`from_execution_log`): one JSON log event per history event, with `id`, `type`, `details`,
  `previous_event_id`, `event_timestamp` and `execution_arn`
  (https://docs.aws.amazon.com/step-functions/latest/dg/cw-logs.html, event types per level:
  https://docs.aws.amazon.com/step-functions/latest/dg/cloudwatch-log-level.html). It differs
  from the API's only in field names, so both adapters share everything else;
- the durable function's GetDurableExecutionHistory events (`from_durable`)
  (https://docs.aws.amazon.com/lambda/latest/api/API_GetDurableExecutionHistory.html).

Per state it counts the executions that entered it, its duration's p50/p95/p99, the time of
that spent waiting (for the approver; between a failed attempt and the next, the retry
back-off; between a task's scheduling and its Lambda's start) apart from the time working,
its retries and its failed attempts by error. The bottleneck is the state with the largest
share of the end-to-end time, at p50 and at p99, leaving out the approver's wait, which is
reported on its own line: a person's reaction time is not something to optimise in the saga.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from drivers.metrics import percentile

PERCENTILES = {"p50": 0.5, "p95": 0.95, "p99": 0.99}
APPROVAL = "approval"  # the reason of a wait for a person (a task token, a durable callback)


class Kind(enum.Enum):
    EXECUTION_STARTED = "execution started"
    EXECUTION_ENDED = "execution ended"
    ENTERED = "entered"
    EXITED = "exited"
    SCHEDULED = "scheduled"  # an attempt was asked for (its worker has not started yet)
    STARTED = "started"  # an attempt's worker started (an attempt of its own if none was scheduled)
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    WAIT_STARTED = "wait started"
    WAIT_ENDED = "wait ended"


@dataclass(frozen=True)
class Event:
    """One thing that happened to an execution, at a time (epoch milliseconds)."""

    at_ms: float
    kind: Kind
    state: str | None = None
    error: str | None = None  # FAILED, and EXECUTION_ENDED of a failed execution
    reason: str = APPROVAL  # WAIT_STARTED / WAIT_ENDED


@dataclass
class Visit:
    """One execution's time in one state."""

    state: str
    entered_ms: float
    exited_ms: float | None = None
    attempts: int = 0
    queued_ms: float = 0.0  # scheduled, its worker not started yet
    backoff_ms: float = 0.0  # between a failed attempt and the next
    approval_ms: float = 0.0  # waiting for the approver
    other_wait_ms: float = 0.0  # other waits (a durable wait's timer)
    errors: list[str] = field(default_factory=list)
    _scheduled_ms: float | None = None
    _failed_ms: float | None = None
    _attempt_open: bool = False
    _wait_started: dict[str, float] = field(default_factory=dict)

    @property
    def duration_ms(self) -> float:
        return (self.exited_ms if self.exited_ms is not None else self.entered_ms) - self.entered_ms

    @property
    def waiting_ms(self) -> float:
        """Waiting that is not the approver's: queued, backing off, timers."""
        return self.queued_ms + self.backoff_ms + self.other_wait_ms

    @property
    def working_ms(self) -> float:
        return max(0.0, self.duration_ms - self.waiting_ms - self.approval_ms)

    @property
    def retries(self) -> int:
        return max(0, self.attempts - 1)


@dataclass
class ExecutionTimes:
    """One execution's visits, in order, and its end-to-end time."""

    visits: list[Visit]
    started_ms: float | None
    ended_ms: float | None

    @property
    def approval_ms(self) -> float:
        return sum(visit.approval_ms for visit in self.visits)

    @property
    def end_to_end_ms(self) -> float | None:
        """Start to end, without the approver's wait."""
        if self.started_ms is None or self.ended_ms is None:
            return None
        return self.ended_ms - self.started_ms - self.approval_ms


def _begin_attempt(visit: Visit, at_ms: float) -> None:
    visit.attempts += 1
    visit._attempt_open = True
    if visit._failed_ms is not None:
        visit.backoff_ms += at_ms - visit._failed_ms
        visit._failed_ms = None


def _apply(visit: Visit, event: Event) -> None:
    if event.kind is Kind.SCHEDULED:
        _begin_attempt(visit, event.at_ms)
        visit._scheduled_ms = event.at_ms
    elif event.kind is Kind.STARTED:
        if visit._scheduled_ms is not None:
            visit.queued_ms += event.at_ms - visit._scheduled_ms
            visit._scheduled_ms = None
        elif not visit._attempt_open:
            _begin_attempt(visit, event.at_ms)
    elif event.kind in (Kind.SUCCEEDED, Kind.FAILED):
        visit._attempt_open = False
        visit._scheduled_ms = None
        if event.kind is Kind.FAILED:
            visit.errors.append(event.error or "unknown")
            visit._failed_ms = event.at_ms
    elif event.kind is Kind.WAIT_STARTED:
        visit._wait_started[event.reason] = event.at_ms
    elif event.kind is Kind.WAIT_ENDED and event.reason in visit._wait_started:
        waited = event.at_ms - visit._wait_started.pop(event.reason)
        if event.reason == APPROVAL:
            visit.approval_ms += waited
        else:
            visit.other_wait_ms += waited


def execution_times(events: Iterable[Event]) -> ExecutionTimes:
    """An execution's events, oldest first, as visits to its states."""
    visits: list[Visit] = []
    open_visits: dict[str, Visit] = {}
    started = ended = None
    for event in events:
        if event.kind is Kind.EXECUTION_STARTED:
            started = event.at_ms
        elif event.kind is Kind.EXECUTION_ENDED:
            ended = event.at_ms
        elif event.kind is Kind.ENTERED and event.state:
            visit = Visit(event.state, event.at_ms)
            visits.append(visit)
            open_visits[event.state] = visit
        elif event.state and event.state in open_visits:
            visit = open_visits[event.state]
            if event.kind is Kind.EXITED:
                visit.exited_ms = event.at_ms
                del open_visits[event.state]
            else:
                _apply(visit, event)
    # A state the execution ended in without leaving it (a Fail state, a step that failed the
    # execution) ends with the execution; one still running when read ends at its last event.
    for visit in open_visits.values():
        visit.exited_ms = ended if ended is not None else visit.entered_ms
    return ExecutionTimes(visits, started, ended)


@dataclass(frozen=True)
class StateFigures:
    state: str
    executions: int
    ms: dict[str, float | None]  # duration, p50/p95/p99, approval wait left out
    working_ms: dict[str, float | None]
    waiting_ms: dict[str, float | None]  # queued + back-off (+ timers)
    approval_ms: dict[str, float | None]  # only states that waited for the approver have data
    retries: int
    failures: dict[str, int]  # failed attempts, by error


@dataclass(frozen=True)
class Bottleneck:
    state: str
    ms: float
    share: float  # of the end-to-end time at the same percentile


@dataclass(frozen=True)
class Analysis:
    executions: int
    states: list[StateFigures]  # in the order the executions first entered them
    end_to_end_ms: dict[str, float | None]  # approval wait left out
    approval_wait_ms: dict[str, float | None]  # over the executions that waited for a person
    bottleneck: dict[str, Bottleneck | None]  # "p50", "p99"

    def state(self, name: str) -> StateFigures:
        return next(figures for figures in self.states if figures.state == name)


def _percentiles(values: Sequence[float]) -> dict[str, float | None]:
    return {name: percentile(values, fraction) for name, fraction in PERCENTILES.items()}


def analyse(executions: Iterable[Iterable[Event]]) -> Analysis:
    """The per-state figures over many executions of one engine.

    States that only pass through (Choice, Succeed, Fail: no attempt in any execution) take no
    time of their own and are left out."""
    times = [execution_times(events) for events in executions]
    by_state: dict[str, list[Visit]] = {}
    for execution in times:
        for visit in execution.visits:
            by_state.setdefault(visit.state, []).append(visit)
    states = []
    for name, visits in by_state.items():
        if not any(visit.attempts for visit in visits):
            continue
        waited_for_approval = [visit.approval_ms for visit in visits if visit.approval_ms]
        states.append(
            StateFigures(
                state=name,
                executions=len(visits),
                ms=_percentiles([visit.duration_ms - visit.approval_ms for visit in visits]),
                working_ms=_percentiles([visit.working_ms for visit in visits]),
                waiting_ms=_percentiles([visit.waiting_ms for visit in visits]),
                approval_ms=_percentiles(waited_for_approval),
                retries=sum(visit.retries for visit in visits),
                failures=dict(Counter(error for visit in visits for error in visit.errors)),
            )
        )
    end_to_end = _percentiles([t.end_to_end_ms for t in times if t.end_to_end_ms is not None])
    bottleneck: dict[str, Bottleneck | None] = {}
    for name in ("p50", "p99"):
        total = end_to_end[name]
        candidates = [(figures.ms[name], figures.state) for figures in states if figures.ms[name] is not None]
        if not candidates or not total:
            bottleneck[name] = None
            continue
        slowest_ms, slowest = max(candidates)
        bottleneck[name] = Bottleneck(slowest, slowest_ms, round(slowest_ms / total, 3))  # type: ignore[arg-type]
    return Analysis(
        executions=len(times),
        states=states,
        end_to_end_ms=end_to_end,
        approval_wait_ms=_percentiles([t.approval_ms for t in times if t.approval_ms]),
        bottleneck=bottleneck,
    )


# ---- Step Functions: the API's history and the execution log share one adapter ---------------

# History event types (https://docs.aws.amazon.com/step-functions/latest/apireference/API_HistoryEvent.html)
# by what they say about a task's attempt. The machine's tasks use the optimised Lambda
# integration (Task*); LambdaFunction* and Activity* are the other task kinds' names for the same.
_SCHEDULED = {"TaskScheduled", "LambdaFunctionScheduled", "ActivityScheduled"}
_STARTED = {"TaskStarted", "LambdaFunctionStarted", "ActivityStarted"}
_SUCCEEDED = {"TaskSucceeded", "LambdaFunctionSucceeded", "ActivitySucceeded"}
_FAILED = {
    "TaskFailed": "failed",
    "TaskStartFailed": "failed",
    "TaskSubmitFailed": "failed",
    "TaskTimedOut": "timed out",
    "LambdaFunctionFailed": "failed",
    "LambdaFunctionStartFailed": "failed",
    "LambdaFunctionScheduleFailed": "failed",
    "LambdaFunctionTimedOut": "timed out",
    "ActivityFailed": "failed",
    "ActivityScheduleFailed": "failed",
    "ActivityTimedOut": "timed out",
}
# A callback task (.waitForTaskToken) is submitted once its Lambda has stored the token; from
# then on it waits for SendTaskSuccess or SendTaskFailure: the approver.
_SUBMITTED = "TaskSubmitted"
_EXECUTION_ENDED = {"ExecutionSucceeded", "ExecutionFailed", "ExecutionTimedOut", "ExecutionAborted"}


@dataclass(frozen=True)
class _Row:
    """A Step Functions history event, whichever source it came from."""

    id: int
    previous_id: int
    at_ms: float
    type: str
    details: Mapping[str, Any]


def _name(error: Any) -> str:
    """An error's type without its module path (Python's exceptions arrive as `shop.payments.X`
    from the durable SDK and as `X` from Step Functions' Lambda integration)."""
    return str(error or "unknown").rsplit(".", 1)[-1]


def _from_rows(rows: Iterable[_Row]) -> list[Event]:
    ordered = sorted(rows, key=lambda row: row.id)
    by_id = {row.id: row for row in ordered}
    owner: dict[int, str | None] = {}

    def state_of(row: _Row) -> str | None:
        """The state an event belongs to: its StateEntered's, found back along previous ids
        (so that parallel branches would attribute their tasks right)."""
        chain, current = [], row
        while current.id not in owner:
            if current.type.endswith("StateEntered") or current.type.endswith("StateExited"):
                owner[current.id] = current.details.get("name")
                break
            chain.append(current.id)
            previous = by_id.get(current.previous_id)
            if (
                previous is None
                or previous.type.endswith("StateExited")
                or previous.type.startswith("Execution")
            ):
                owner[current.id] = None
                break
            current = previous
        for event_id in chain:
            owner[event_id] = owner[current.id]
        return owner[row.id]

    events: list[Event] = []
    submitted: set[str] = set()
    for row in ordered:
        kind = row.type
        if kind == "ExecutionStarted":
            events.append(Event(row.at_ms, Kind.EXECUTION_STARTED))
        elif kind in _EXECUTION_ENDED:
            events.append(Event(row.at_ms, Kind.EXECUTION_ENDED, error=row.details.get("error")))
        elif kind.endswith("StateEntered"):
            events.append(Event(row.at_ms, Kind.ENTERED, row.details.get("name")))
        elif kind.endswith("StateExited"):
            events.append(Event(row.at_ms, Kind.EXITED, row.details.get("name")))
        else:
            state = state_of(row)
            if state is None:
                continue
            if kind in _SCHEDULED:
                events.append(Event(row.at_ms, Kind.SCHEDULED, state))
            elif kind in _STARTED:
                events.append(Event(row.at_ms, Kind.STARTED, state))
            elif kind == _SUBMITTED:
                submitted.add(state)
                events.append(Event(row.at_ms, Kind.WAIT_STARTED, state))
            elif kind in _SUCCEEDED or kind in _FAILED:
                if state in submitted:
                    submitted.discard(state)
                    events.append(Event(row.at_ms, Kind.WAIT_ENDED, state))
                if kind in _SUCCEEDED:
                    events.append(Event(row.at_ms, Kind.SUCCEEDED, state))
                else:
                    error = row.details.get("error") or (
                        "States.Timeout" if _FAILED[kind] == "timed out" else None
                    )
                    events.append(Event(row.at_ms, Kind.FAILED, state, error=_name(error)))
    return events


def _details(event: Mapping[str, Any]) -> Mapping[str, Any]:
    """The API's `<type>EventDetails` member (one per event, named after its type)."""
    return next((value for key, value in event.items() if key.endswith("EventDetails")), {})


def _epoch_ms(value: datetime | float | str) -> float:
    if isinstance(value, datetime):
        return value.timestamp() * 1000
    return float(value)


def from_step_functions(events: Iterable[Mapping[str, Any]]) -> list[Event]:
    """GetExecutionHistory's events (boto3's shape: `timestamp`, `type`, `id`,
    `previousEventId`, `<type>EventDetails`)."""
    return _from_rows(
        _Row(
            int(event["id"]),
            int(event.get("previousEventId", 0)),
            _epoch_ms(event["timestamp"]),
            event["type"],
            _details(event),
        )
        for event in events
    )


def from_execution_log(records: Iterable[Mapping[str, Any]]) -> list[Event]:
    """One execution's log events as Step Functions writes them to CloudWatch Logs (each
    message a JSON object: `id`, `type`, `details`, `previous_event_id`, `event_timestamp`,
    epoch milliseconds, the numbers as strings)."""
    return _from_rows(
        _Row(
            int(record["id"]),
            int(record.get("previous_event_id") or 0),
            _epoch_ms(record["event_timestamp"]),
            record["type"],
            record.get("details") or {},
        )
        for record in records
    )


def by_execution(records: Iterable[Mapping[str, Any]]) -> dict[str, list[Mapping[str, Any]]]:
    """A log group's Step Functions log events, split by the execution they belong to."""
    executions: dict[str, list[Mapping[str, Any]]] = {}
    for record in records:
        executions.setdefault(str(record["execution_arn"]), []).append(record)
    return executions


# ---- the durable function's history ----------------------------------------------------------

_DURABLE_ENDED = {"ExecutionSucceeded", "ExecutionFailed", "ExecutionTimedOut", "ExecutionStopped"}


def _durable_error(event: Mapping[str, Any]) -> str:
    details = event.get(f"{event['EventType']}Details") or {}
    error = details.get("Error", {})
    payload = error.get("Payload", error) if isinstance(error, Mapping) else {}
    return _name(payload.get("ErrorType") if isinstance(payload, Mapping) else None)


def from_durable(events: Sequence[Mapping[str, Any]]) -> list[Event]:
    """GetDurableExecutionHistory's events, oldest first.

    A durable execution records no "entered": a top-level step or context is taken to be
    entered when the operation before it ended (or the execution started), so the time between
    two checkpoints (the step's own run, which the history stamps when it checkpoints, and any
    replay before it) is the step's. It is left when its last attempt ends. Operations inside
    another (wait_for_callback's callback and submitter) belong to the top-level one: the
    callback's wait is the approver's, the submitter's run is work."""
    top_level: dict[str, str] = {}  # operation id: the name of its top-level ancestor
    parents = {str(event.get("Id")): event.get("ParentId") for event in events if event.get("Id")}
    names = {str(event.get("Id")): event.get("Name") for event in events if event.get("Id")}

    def ancestor(operation_id: str) -> str | None:
        if operation_id not in top_level:
            seen, current = set(), operation_id
            while parents.get(current) and current not in seen:
                seen.add(current)
                current = str(parents[current])
            name = names.get(current)
            if name is None:
                return None
            top_level[operation_id] = str(name)
        return top_level[operation_id]

    last_end: dict[str, int] = {}  # top-level operation id: the index of its last ending event
    for index, event in enumerate(events):
        if not event.get("ParentId") and event["EventType"] in (
            "StepSucceeded",
            "StepFailed",
            "ContextSucceeded",
            "ContextFailed",
            "WaitSucceeded",
            "WaitCancelled",
        ):
            last_end[str(event["Id"])] = index

    result: list[Event] = []
    entered: set[str] = set()
    previous_end_ms: float | None = None
    for index, event in enumerate(events):
        kind, at_ms = event["EventType"], _epoch_ms(event["EventTimestamp"])
        operation = str(event.get("Id", ""))
        if kind == "ExecutionStarted":
            result.append(Event(at_ms, Kind.EXECUTION_STARTED))
            previous_end_ms = at_ms
            continue
        if kind in _DURABLE_ENDED:
            error = _durable_error(event) if kind != "ExecutionSucceeded" else None
            result.append(Event(at_ms, Kind.EXECUTION_ENDED, error=error))
            continue
        state = ancestor(operation) if operation else None
        if state is None:
            continue  # InvocationCompleted: a replay's end, no operation's
        is_top = not event.get("ParentId")
        if is_top and operation not in entered and kind.endswith("Started"):
            entered.add(operation)
            result.append(
                Event(previous_end_ms if previous_end_ms is not None else at_ms, Kind.ENTERED, state)
            )
            if kind == "WaitStarted":
                result.append(Event(at_ms, Kind.STARTED, state))
        if kind == "StepStarted":
            result.append(Event(at_ms, Kind.STARTED, state))
        elif kind == "StepSucceeded":
            result.append(Event(at_ms, Kind.SUCCEEDED, state))
        elif kind == "StepFailed":
            result.append(Event(at_ms, Kind.FAILED, state, error=_durable_error(event)))
        elif kind == "CallbackStarted":
            result.append(Event(at_ms, Kind.WAIT_STARTED, state))
        elif kind in ("CallbackSucceeded", "CallbackFailed", "CallbackTimedOut"):
            result.append(Event(at_ms, Kind.WAIT_ENDED, state))
            if kind != "CallbackSucceeded":
                error = "States.Timeout" if kind == "CallbackTimedOut" else _durable_error(event)
                result.append(Event(at_ms, Kind.FAILED, state, error=error))
        elif kind == "WaitStarted":
            result.append(Event(at_ms, Kind.WAIT_STARTED, state, reason="timer"))
        elif kind in ("WaitSucceeded", "WaitCancelled"):
            result.append(Event(at_ms, Kind.WAIT_ENDED, state, reason="timer"))
            result.append(Event(at_ms, Kind.SUCCEEDED, state))
        if is_top and last_end.get(operation) == index:
            result.append(Event(at_ms, Kind.EXITED, state))
            previous_end_ms = at_ms
    return result


ADAPTERS = {"step-functions": from_step_functions, "durable": from_durable}


def analyse_histories(engine: str, histories: Iterable[Sequence[Mapping[str, Any]]]) -> Analysis:
    """The analysis of one engine's executions, each given as its engine's API returned it."""
    adapter = ADAPTERS[engine]
    return analyse(adapter(history) for history in histories)  # type: ignore[operator]
