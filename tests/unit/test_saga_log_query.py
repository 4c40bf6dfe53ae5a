"""modules/observability's per-state query and widget, checked against log events shaped as Step
Functions writes them (tests/saga_logs.py cites the format).

What this proves: the queries read only fields the documented log event has; their type filter
keeps exactly the Task states' entered and exited events of the documented list; and their
per-visit arithmetic (duration, attempts), worked out in Python over AWS-shaped log events,
agrees with the per-state analysis (drivers/saga_analysis) of the same executions. What it does
not prove: that CloudWatch Logs Insights parses and runs them as written (no Logs Insights here).
"""

from __future__ import annotations

import json
import re

from drivers.saga_analysis import analyse, execution_times, from_execution_log
from tests.saga_logs import (
    EVENT_TYPES_AT_ALL,
    LOG_EVENT_FIELDS,
    as_messages,
    execution_log_events,
    rendered_query,
    visits_by_query,
)
from tests.unit.test_saga_analysis import ARN, CRAFTED

VISITS = rendered_query("state_visits", bin="300s")
SAVED = rendered_query("state_durations", bin="300s", visits=VISITS)
WIDGET = rendered_query("state_p99_over_time", log_group="/aws/vendedlogs/states/checkout", visits=VISITS)
KEYWORDS = {
    "filter",
    "fields",
    "stats",
    "sort",
    "limit",
    "by",
    "as",
    "like",
    "and",
    "or",
    "not",
    "desc",
    "asc",
}
FUNCTIONS = {"max", "min", "floor", "count", "pct", "sum", "bin"}


def fields_read(query: str) -> set[str]:
    """The log event fields a query reads: its words less keywords, functions and its aliases."""
    text = "\n".join(line for line in query.splitlines() if not line.lstrip().startswith("#"))
    text = re.sub(r"/[^/]*/", " ", text)  # regular expressions
    text = re.sub(r"'[^']*'", " ", text)  # strings (SOURCE's log group)
    text = re.sub(r"\b\d+\w*", " ", text)  # numbers and periods (300s)
    words = set(re.findall(r"[A-Za-z_@][\w.@]*", text))
    aliases = set(re.findall(r"\bas (\w+)", text))
    return words - KEYWORDS - FUNCTIONS - aliases - {"SOURCE"}


def log_records() -> list[dict]:
    return [
        json.loads(message)
        for index, events in enumerate(CRAFTED)
        for message in as_messages(execution_log_events(ARN.format(index), events))
    ]


def test_the_queries_read_only_documented_log_event_fields() -> None:
    for query in (SAVED, WIDGET):
        read = fields_read(query)
        top_level = {name.split(".", 1)[0] for name in read}
        assert top_level <= LOG_EVENT_FIELDS, read
        assert read == {"type", "details.name", "event_timestamp", "id", "execution_arn"}


def test_the_type_filter_keeps_the_task_states_entered_and_exited_events() -> None:
    pattern = re.search(r"filter type like /(.+?)/", VISITS)
    assert pattern
    assert {kind for kind in EVENT_TYPES_AT_ALL if re.search(pattern.group(1), kind)} == {
        "TaskStateEntered",
        "TaskStateExited",
    }


def test_the_saved_query_and_the_widget_aggregate_per_state() -> None:
    assert "stats count(*) as executions, pct(state_ms, 50) as p50_ms" in SAVED
    assert "sum(attempts) - count(*) as retries by state" in SAVED
    assert WIDGET.startswith("SOURCE '/aws/vendedlogs/states/checkout'\n| filter type like")
    assert WIDGET.rstrip().endswith("stats pct(state_ms, 99) as p99_ms by window, state")
    assert "${" not in SAVED + WIDGET, "every template variable is filled in"


def test_the_query_arithmetic_agrees_with_the_analysis_on_aws_shaped_log_events() -> None:
    records = log_records()
    by_query = visits_by_query(records, VISITS)
    expected = {}
    for index in range(len(CRAFTED)):
        arn = ARN.format(index)
        times = execution_times(from_execution_log([r for r in records if r["execution_arn"] == arn]))
        for visit in times.visits:
            if visit.attempts:
                expected[(arn, visit.state)] = (visit.duration_ms, visit.attempts)
    assert by_query == expected
    # ... and so do the retries per state the saved query sums.
    analysis = analyse(
        from_execution_log([r for r in records if r["execution_arn"] == ARN.format(i)])
        for i in range(len(CRAFTED))
    )
    for figures in analysis.states:
        attempts = [a for (_, state), (_, a) in by_query.items() if state == figures.state]
        assert sum(attempts) - len(attempts) == figures.retries, figures.state
