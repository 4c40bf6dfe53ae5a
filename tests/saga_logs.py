"""Step Functions execution log events, as Step Functions writes them to CloudWatch Logs.

moto writes no execution logs, so tests make them from execution histories (the twin's, or
crafted ones) in AWS's documented shape: each log event's message is a JSON object with `id`,
`type`, `details`, `previous_event_id`, `event_timestamp` (epoch milliseconds), `execution_arn`
and `redrive_count`, the numbers written as strings
(https://docs.aws.amazon.com/step-functions/latest/dg/cw-logs.html). `details` is the history
event's `<type>EventDetails` member; with include_execution_data off (the workflow module's
default) its input, output and parameters are left out.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

EXECUTION_DATA = {"input", "output", "parameters", "inputDetails", "outputDetails"}
# The fields the documented format has, and so the only ones a query over it may parse.
LOG_EVENT_FIELDS = {
    "id",
    "type",
    "details",
    "previous_event_id",
    "event_timestamp",
    "execution_arn",
    "redrive_count",
}


def _epoch_ms(value: Any) -> int:
    return int(value.timestamp() * 1000) if isinstance(value, datetime) else int(value)


def execution_log_events(
    execution_arn: str, history: Iterable[Mapping[str, Any]], include_execution_data: bool = False
) -> list[dict[str, Any]]:
    """A GetExecutionHistory history as its execution log events (the parsed messages)."""
    records = []
    for event in history:
        details = next((value for key, value in event.items() if key.endswith("EventDetails")), {})
        if not include_execution_data:
            details = {key: value for key, value in details.items() if key not in EXECUTION_DATA}
        records.append(
            {
                "id": str(event["id"]),
                "type": event["type"],
                "details": dict(details),
                "previous_event_id": str(event.get("previousEventId", 0)),
                "event_timestamp": str(_epoch_ms(event["timestamp"])),
                "execution_arn": execution_arn,
                "redrive_count": "0",
            }
        )
    return records


def as_messages(records: Iterable[Mapping[str, Any]]) -> list[str]:
    """The log events' messages, as CloudWatch Logs stores them."""
    return [json.dumps(record, default=str) for record in records]


# Every event type Step Functions logs at level ALL (the "Log levels" table:
# https://docs.aws.amazon.com/step-functions/latest/dg/cloudwatch-log-level.html).
EVENT_TYPES_AT_ALL = {
    *(
        f"{kind}State{event}"
        for kind in ("Choice", "Map", "Parallel", "Pass", "Succeed", "Task", "Wait")
        for event in ("Entered", "Exited")
    ),
    "FailStateEntered",
    *(f"Execution{event}" for event in ("Aborted", "Failed", "Started", "Succeeded", "TimedOut")),
    *(
        f"LambdaFunction{event}"
        for event in (
            "Failed",
            "Scheduled",
            "ScheduleFailed",
            "Started",
            "StartFailed",
            "Succeeded",
            "TimedOut",
        )
    ),
    *(f"MapIteration{event}" for event in ("Aborted", "Failed", "Started", "Succeeded")),
    *(f"MapState{event}" for event in ("Aborted", "Failed", "Started", "Succeeded")),
    *(f"ParallelState{event}" for event in ("Aborted", "Failed", "Started", "Succeeded")),
    *(
        f"Task{event}"
        for event in (
            "Failed",
            "Scheduled",
            "Started",
            "StartFailed",
            "StateAborted",
            "SubmitFailed",
            "Submitted",
            "Succeeded",
            "TimedOut",
        )
    ),
    "WaitStateAborted",
}

QUERIES = Path(__file__).resolve().parents[1] / "modules" / "observability" / "queries"


def rendered_query(name: str, **variables: str) -> str:
    """A query file of modules/observability as Terraform's templatefile renders it."""
    text = (QUERIES / f"{name}.tftpl").read_text()
    return re.sub(r"\$\{(\w+)\}", lambda match: variables[match.group(1)], text)


def visits_by_query(
    records: Iterable[Mapping[str, Any]], visits_query: str
) -> dict[tuple[str, str], tuple[float, int]]:
    """The first stats of the per-state query, worked out in Python over parsed log events: each
    (execution, state) visit's `state_ms` and `attempts`, by the query's own expressions (read
    from its text and evaluated over the group's values, as Logs Insights would aggregate them).

    There is no Logs Insights engine here (moto's start_query knows only fields, sort and
    limit), so this checks the query's grouping and arithmetic, not Logs Insights' parser."""
    type_filter = re.search(r"filter type like /(.+?)/", visits_query)
    bin_seconds = re.search(r"bin\((\d+)s\)", visits_query)
    duration = re.search(r"stats (.+?) as state_ms,", visits_query)
    attempts = re.search(r", (floor\(.+?\)) as attempts,", visits_query)
    assert type_filter and bin_seconds and duration and attempts, visits_query
    groups: dict[tuple[str, str, int], dict[str, list[float]]] = {}
    for record in records:
        if not re.search(type_filter.group(1), record["type"]):
            continue
        at_ms = float(record["event_timestamp"])
        window = int(at_ms // (int(bin_seconds.group(1)) * 1000))
        group = groups.setdefault(
            (record["execution_arn"], record["details"]["name"], window), {"at_ms": [], "event_id": []}
        )
        group["at_ms"].append(at_ms)
        group["event_id"].append(float(record["id"]))
    visits = {}
    for (arn, state, _), values in groups.items():
        if len(values["at_ms"]) != 2:  # `filter events = 2`
            continue
        scope = {"max": max, "min": min, "floor": math.floor, **values}
        visits[(arn, state)] = (eval(duration.group(1), scope), eval(attempts.group(1), scope))
    return visits
