"""DynamoDB stream records delivered to Lambda as the Lambda service does, in the twin's server.

moto delivers a table's stream records itself: `StreamShard.add` (moto/dynamodb/models/table.py)
invokes every function mapped to the table synchronously, inside the DynamoDB write, with
every record the shard holds, once, and then empties the shard. That ignores the mapping's
filter, batch size, starting position, retries and destination; it reuses sequence numbers;
it leaves GetRecords nothing to read; and it runs the function while the twin's DynamoDB lock
(server.install_dynamodb_isolation) is held, so a function that calls DynamoDB waits for its
own timeout. `start()` turns that delivery off and runs an event source mapping poller
instead, one thread per mapping whose source is a DynamoDB stream:

* records are read from the shard in order, from where StartingPosition says (LATEST: the
  shard's end when the mapping was created; TRIM_HORIZON: its first record);
* FilterCriteria (the event-pattern syntax, see `compile_filters`) drops records before batching;
* a batch holds up to BatchSize matching records (and at most 6 MB) and is sent when full or
  when MaximumBatchingWindowInSeconds has passed since its first record was seen;
* the function runs through moto's `LambdaFunction.invoke`, which the twin routes to its worker
  pool (server.install_local_invoke), synchronously (RequestResponse) as Lambda invokes it;
* a function error, or with FunctionResponseTypes ["ReportBatchItemFailures"] a
  `batchItemFailures` response, fails the batch. Records before the lowest failed sequence
  number are done; the rest are retried with backoff (`retry_delay`) until MaximumRetryAttempts
  or MaximumRecordAgeInSeconds, or split in two first with BisectBatchOnFunctionError. A failed
  batch blocks its shard until it succeeds or is discarded; a discarded batch is described to
  DestinationConfig.OnFailure (SQS or SNS) in the invocation record Lambda sends.

docs/twin.md lists what still differs from Lambda.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Protocol

from local_twin import faults

LOG = logging.getLogger(__name__)

POLL_INTERVAL_SECONDS = 0.05
# Lambda retries a failed batch "with backoff"; the twin keeps it short so tests and demos
# see retries within a second: 0.1 s, 0.2 s, 0.4 s, 0.8 s, then 1 s per retry.
RETRY_BASE_SECONDS = 0.1
RETRY_CAP_SECONDS = 1.0
MAX_PAYLOAD_BYTES = 6 * 1024 * 1024  # Lambda's synchronous invocation payload limit
STREAM_RETENTION_SECONDS = 24 * 3600  # DynamoDB Streams keeps records for 24 hours
SCAN_LIMIT = 1000  # records read from the shard per poll (GetRecords' own maximum)

_MISSING = object()


def retry_delay(attempt: int) -> float:
    """Seconds to wait before retry number `attempt` (1-based) of a failed batch."""
    return min(RETRY_BASE_SECONDS * 2 ** max(attempt - 1, 0), RETRY_CAP_SECONDS)


# ---- event filtering ------------------------------------------------------------------------
class FilterError(ValueError):
    """A FilterCriteria pattern Lambda would reject."""


_NUMERIC_OPERATORS = {
    "=": lambda a, b: a == b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def compile_filters(criteria: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The patterns of a mapping's FilterCriteria, parsed and checked.

    Supported, as Lambda documents them (the EventBridge pattern syntax): exact values
    (string, number, true/false, null; "" is empty), several values in a list (or), several
    fields (and), nested objects, {"prefix": s}, {"suffix": s}, {"equals-ignore-case": s},
    {"anything-but": value | [values] | {"prefix"|"suffix"|"equals-ignore-case": s}},
    {"numeric": [op, n, op, n]} and {"exists": true|false}.
    """
    patterns = []
    for entry in (criteria or {}).get("Filters") or []:
        text = entry.get("Pattern") if isinstance(entry, dict) else None
        try:
            pattern = json.loads(text) if isinstance(text, str) else None
        except json.JSONDecodeError as exc:
            raise FilterError(f"filter pattern is not JSON: {text!r}") from exc
        if not isinstance(pattern, dict) or not pattern:
            raise FilterError(f"filter pattern must be a non-empty JSON object: {text!r}")
        _check_pattern(pattern)
        patterns.append(pattern)
    return patterns


def _check_pattern(pattern: dict[str, Any]) -> None:
    for key, rule in pattern.items():
        if isinstance(rule, dict):
            if not rule:
                raise FilterError(f"empty object for {key!r}")
            _check_pattern(rule)
        elif isinstance(rule, list):
            if not rule:
                raise FilterError(f"empty list of values for {key!r}")
            for value in rule:
                if isinstance(value, dict):
                    _check_operator(key, value)
                elif isinstance(value, list):
                    raise FilterError(f"nested list in the values for {key!r}")
        else:
            raise FilterError(f"the rule for {key!r} must be a list of values or an object, not {rule!r}")


def _check_operator(key: str, rule: dict[str, Any]) -> None:
    if len(rule) != 1:
        raise FilterError(f"one operator per object in the values for {key!r}: {rule!r}")
    ((operator, operand),) = rule.items()
    if operator in ("prefix", "suffix"):
        if isinstance(operand, dict):
            if list(operand) != ["equals-ignore-case"] or not isinstance(operand["equals-ignore-case"], str):
                raise FilterError(f"{operator} takes a string or {{'equals-ignore-case': string}}: {rule!r}")
        elif not isinstance(operand, str):
            raise FilterError(f"{operator} takes a string: {rule!r}")
    elif operator == "equals-ignore-case":
        if not isinstance(operand, str):
            raise FilterError(f"equals-ignore-case takes a string: {rule!r}")
    elif operator == "exists":
        if not isinstance(operand, bool):
            raise FilterError(f"exists takes true or false: {rule!r}")
    elif operator == "numeric":
        if not isinstance(operand, list) or len(operand) not in (2, 4):
            raise FilterError(f"numeric takes [op, n] or [op, n, op, n]: {rule!r}")
        for op, number in zip(operand[::2], operand[1::2], strict=True):
            if op not in _NUMERIC_OPERATORS or not _is_number(number):
                raise FilterError(
                    f"numeric takes operators {sorted(_NUMERIC_OPERATORS)} and numbers: {rule!r}"
                )
    elif operator == "anything-but":
        if isinstance(operand, dict):
            if len(operand) != 1 or next(iter(operand)) not in ("prefix", "suffix", "equals-ignore-case"):
                raise FilterError(
                    f"anything-but takes a value, a list, or prefix/suffix/equals-ignore-case: {rule!r}"
                )
            inner = next(iter(operand.values()))
            if not (
                isinstance(inner, str) or (isinstance(inner, list) and all(isinstance(s, str) for s in inner))
            ):
                raise FilterError(f"anything-but's {next(iter(operand))} takes strings: {rule!r}")
        elif isinstance(operand, list) and (not operand or any(isinstance(v, dict | list) for v in operand)):
            raise FilterError(f"anything-but takes a non-empty list of values: {rule!r}")
    else:
        raise FilterError(f"unsupported filter operator {operator!r}")


def matches(patterns: list[dict[str, Any]], record: dict[str, Any]) -> bool:
    """Whether Lambda would send `record`: no patterns, or any one pattern matches."""
    return not patterns or any(_match_object(pattern, record) for pattern in patterns)


def _match_object(pattern: dict[str, Any], value: Any) -> bool:
    if isinstance(value, list):  # a list of objects matches if one of them does
        return any(_match_object(pattern, element) for element in value if isinstance(element, dict))
    fields = value if isinstance(value, dict) else {}
    for key, rule in pattern.items():
        child = fields.get(key, _MISSING)
        if isinstance(rule, dict):
            if not _match_object(rule, child if child is not _MISSING else {}):
                return False
        elif not any(_match_value(alternative, child) for alternative in rule):
            return False
    return True


def _match_value(rule: Any, value: Any) -> bool:
    if isinstance(rule, dict):
        ((operator, operand),) = rule.items()
        if operator == "exists":
            return (value is not _MISSING) == operand
        if value is _MISSING:
            return False
        values = value if isinstance(value, list) else [value]
        if operator == "anything-but":
            return any(not _excluded(operand, element) for element in values)
        return any(_match_operator(operator, operand, element) for element in values)
    if value is _MISSING:
        return False
    values = value if isinstance(value, list) else [value]
    return any(_equal(rule, element) for element in values)


def _match_operator(operator: str, operand: Any, value: Any) -> bool:
    if operator == "numeric":
        if not _is_number(value):
            return False
        return all(
            _NUMERIC_OPERATORS[op](value, number)
            for op, number in zip(operand[::2], operand[1::2], strict=True)
        )
    if not isinstance(value, str):
        return False
    if operator == "equals-ignore-case":
        return value.casefold() == operand.casefold()
    if isinstance(operand, dict):  # {"prefix": {"equals-ignore-case": "..."}}
        value, operand = value.casefold(), operand["equals-ignore-case"].casefold()
    return value.startswith(operand) if operator == "prefix" else value.endswith(operand)


def _excluded(operand: Any, value: Any) -> bool:
    if isinstance(operand, dict):
        ((operator, strings),) = operand.items()
        strings = strings if isinstance(strings, list) else [strings]
        return any(_match_operator(operator, string, value) for string in strings)
    excluded = operand if isinstance(operand, list) else [operand]
    return any(_equal(candidate, value) for candidate in excluded)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _equal(rule: Any, value: Any) -> bool:
    if rule is None or isinstance(rule, bool) or isinstance(value, bool):
        return rule is value or (isinstance(rule, bool) and isinstance(value, bool) and rule == value)
    if isinstance(rule, str):
        return isinstance(value, str) and rule == value
    # Numbers compare by their JSON text, as Lambda does: 300, 300.0 and 3.0e2 are different.
    return _is_number(value) and json.dumps(rule) == json.dumps(value)


# ---- the stream side ------------------------------------------------------------------------
# Held while records are appended by a transaction and while the poller reads a shard: moto
# rolls a failed TransactWriteItems back by restoring a copy of the table, so records it
# appended before failing must never be read.
_source_lock = threading.RLock()


@dataclass(frozen=True)
class _Source:
    shard: Any  # moto's StreamShard
    stream_arn: str


def _source(stream_arn: str) -> _Source | None:
    """The shard behind a stream ARN, while the stream is still the table's current one."""
    from moto.dynamodb.models import dynamodb_backends

    try:
        _, _, _, region, account, resource = stream_arn.split(":", 5)
        table_name = resource.split("/")[1]
        table = dynamodb_backends[account][region].tables.get(table_name)
    except (ValueError, IndexError, KeyError):
        return None
    if table is None or table.stream_shard is None:
        return None
    if f"{table.table_arn}/stream/{table.latest_stream_label}" != stream_arn:
        return None  # the table was recreated or its stream replaced
    return _Source(table.stream_shard, stream_arn)


@dataclass
class _Record:
    event: dict[str, Any]
    created: float  # epoch seconds
    size: int

    @property
    def sequence_number(self) -> str:
        return self.event["dynamodb"]["SequenceNumber"]


def _lambda_record(item: Any, region: str, stream_arn: str) -> _Record:
    """A stream record as Lambda puts it into the event (moto keeps a datetime, Lambda sends
    epoch seconds rounded down, as DynamoDB Streams records them)."""
    from moto.core.utils import unix_time

    raw = item.to_json()
    source = raw["dynamodb"]
    created = source["ApproximateCreationDateTime"]
    created = unix_time(created) if isinstance(created, datetime) else float(created)
    dynamodb: dict[str, Any] = {
        "ApproximateCreationDateTime": float(math.floor(created)),
        "Keys": source["Keys"],
    }
    for image in ("NewImage", "OldImage"):
        if image in source:
            dynamodb[image] = source[image]
    dynamodb["SequenceNumber"] = source["SequenceNumber"]
    dynamodb["SizeBytes"] = source["SizeBytes"]
    dynamodb["StreamViewType"] = source["StreamViewType"]
    event = {
        "eventID": raw["eventID"],
        "eventName": raw["eventName"],
        "eventVersion": raw["eventVersion"],
        "eventSource": "aws:dynamodb",
        "awsRegion": region,
        "dynamodb": dynamodb,
        "eventSourceARN": stream_arn,
    }
    return _Record(event, created, len(json.dumps(event)))


# ---- the mapping side -----------------------------------------------------------------------
@dataclass
class _Batch:
    records: list[_Record]
    retries: int = 0  # failed invocations counted against MaximumRetryAttempts
    invocations: int = 0  # for the invocation record's approximateInvokeCount
    throttles: int = 0  # attempts that never reached the function
    last: dict[str, Any] | None = None  # responseContext of the last invocation


class _Settings:
    """The values of a moto EventSourceMapping that delivery depends on, read per batch so
    UpdateEventSourceMapping takes effect as it does in Lambda."""

    def __init__(self, mapping: Any) -> None:
        self.enabled = bool(mapping.enabled)
        self.function_arn: str = mapping.function_arn
        # As given (an alias stays an alias, resolved at each invocation as Lambda does; moto
        # resolves FunctionArn to the alias's version once, when the mapping is created).
        self.function_name: str = mapping.function_name or mapping.function_arn
        self.batch_size = int(mapping.batch_size or 100)
        self.window = float(mapping.max_batch_window or 0)
        self.max_retries = _limit(mapping.max_retry_attempts)
        age = _limit(mapping.max_record_age)
        self.max_age = STREAM_RETENTION_SECONDS if age is None else min(age, STREAM_RETENTION_SECONDS)
        self.bisect = bool(mapping.bisect_on_error)
        self.report_failures = "ReportBatchItemFailures" in (mapping.function_response_types or [])
        self.destination = ((mapping.destination_config or {}).get("OnFailure") or {}).get("Destination")
        self.filters = _compiled(json.dumps(mapping.filter_criteria or {}, sort_keys=True))


def _limit(value: Any) -> int | None:
    """-1 (or unset) means no limit, as in Lambda."""
    return None if value is None or int(value) < 0 else int(value)


@functools.lru_cache(maxsize=256)
def _compiled(criteria_json: str) -> list[dict[str, Any]]:
    return compile_filters(json.loads(criteria_json))


class _Consumer(threading.Thread):
    """Reads one mapping's shard and invokes its function; exits when the mapping is deleted."""

    def __init__(
        self, poller: StreamPoller, account: str, region: str, mapping_uuid: str, position: int
    ) -> None:
        super().__init__(name=f"stream-mapping-{mapping_uuid[:8]}", daemon=True)
        self._poller = poller
        self._account = account
        self._region = region
        self._uuid = mapping_uuid
        self._position = position  # index in the shard of the next record to read
        self._pending: deque[_Batch] = deque()  # read but not yet done, in shard order
        self._window_opened: float | None = None

    def _mapping(self) -> Any:
        from moto.awslambda.models import lambda_backends

        try:
            return lambda_backends[self._account][self._region].get_event_source_mapping(self._uuid)
        except Exception:
            return None

    def run(self) -> None:
        stop = self._poller.stopping
        while not stop.is_set():
            mapping = self._mapping()
            if mapping is None:
                return  # deleted (or moto was reset)
            try:
                if not self._step(mapping):
                    stop.wait(POLL_INTERVAL_SECONDS)
            except FilterError as exc:
                LOG.warning("event source mapping %s: invalid filter, not polling: %s", self._uuid, exc)
                stop.wait(1.0)
            except Exception:  # never let a surprise end the mapping's delivery
                LOG.exception("event source mapping %s: delivery failed; retrying", self._uuid)
                stop.wait(RETRY_CAP_SECONDS)

    def _step(self, mapping: Any) -> bool:
        """One read or one invocation; False when there was nothing to do."""
        settings = _Settings(mapping)
        if not settings.enabled:  # Lambda resumes from where it stopped when re-enabled
            return False
        if faults.stream_held(faults.function_name_of(settings.function_name)):  # stream-delay fault
            return False
        if not self._pending:
            batch = self._read(mapping, settings)
            if batch is None:
                return False
            self._pending.append(batch)
        self._deliver(self._pending[0], settings, mapping.event_source_arn)
        return True

    # -- reading ---------------------------------------------------------------------------
    def _read(self, mapping: Any, settings: _Settings) -> _Batch | None:
        stream_arn = mapping.event_source_arn
        with _source_lock:
            source = _source(stream_arn)
            items = source.shard.items[self._position : self._position + SCAN_LIMIT] if source else []
        if not items:
            return None
        if not self._may_read(mapping, settings):
            return None  # Lambda keeps trying, and the records age towards MaximumRecordAgeInSeconds
        batch: list[_Record] = []
        size = 0
        consumed = 0
        for item in items:
            record = _lambda_record(item, self._region, stream_arn)
            if matches(settings.filters, record.event):
                if batch and size + record.size > MAX_PAYLOAD_BYTES:
                    break
                batch.append(record)
                size += record.size
            consumed += 1
            if len(batch) == settings.batch_size:
                break
        if not batch:
            self._position += consumed  # filtered out: Lambda moves past them
            return None
        full = len(batch) == settings.batch_size or consumed < len(items)
        if not full and settings.window > 0:
            now = time.monotonic()
            if self._window_opened is None:
                self._window_opened = now
            if now - self._window_opened < settings.window:
                return None
        self._window_opened = None
        self._position += consumed
        return _Batch(batch)

    def _may_read(self, mapping: Any, settings: _Settings) -> bool:
        """The mapping reads as the function's role (the poller's `access`, when IAM is enforced); a
        refusal is the mapping's LastProcessingResult, as Lambda reports it."""
        access = self._poller.access
        if access is None:
            return True
        refusal = access.stream_read_refusal(
            self._role(settings), settings.function_name, mapping.event_source_arn
        )
        result = "OK" if refusal is None else f"PROBLEM: {refusal}"
        if getattr(mapping, "twin_last_processing_result", None) != result and refusal is not None:
            LOG.warning("event source mapping %s: %s", self._uuid, result)
        mapping.twin_last_processing_result = result
        return refusal is None

    def _role(self, settings: _Settings) -> str:
        from moto.awslambda.models import lambda_backends

        return str(lambda_backends[self._account][self._region].get_function(settings.function_name).role)

    # -- invoking --------------------------------------------------------------------------
    def _deliver(self, batch: _Batch, settings: _Settings, stream_arn: str) -> None:
        """Invokes the function with the oldest pending batch and acts on the outcome."""
        stop = self._poller.stopping
        now = time.time()
        expired = [record for record in batch.records if now - record.created > settings.max_age]
        if expired:  # records are in shard order, so the expired ones come first
            batch.records = batch.records[len(expired) :]
            if not batch.records:
                self._pending.popleft()
            self._discard(replace(batch, records=expired), settings, stream_arn, "RecordAgeExceeded")
            return
        failed_from = self._invoke(batch, settings)
        if failed_from is None:  # throttled or not invoked: retried until the records expire
            batch.throttles += 1
            stop.wait(retry_delay(batch.throttles))
            return
        if failed_from < 0:
            self._pending.popleft()  # success: the shard moves on
            return
        done, remaining = batch.records[:failed_from], batch.records[failed_from:]
        if settings.bisect and done:
            # Split at the failed record: the records before it are done, the rest is a new batch.
            self._pending[0] = _Batch(remaining, invocations=batch.invocations, last=batch.last)
            return
        if settings.bisect and len(remaining) > 1:
            # Split in two before retrying; each half is tried on its own, and the split does not
            # count against MaximumRetryAttempts.
            half = len(remaining) // 2
            self._pending.popleft()
            self._pending.appendleft(_Batch(remaining[half:], invocations=batch.invocations, last=batch.last))
            self._pending.appendleft(_Batch(remaining[:half], invocations=batch.invocations, last=batch.last))
            return
        batch.records = remaining
        batch.retries += 1
        if settings.max_retries is not None and batch.retries > settings.max_retries:
            self._pending.popleft()
            self._discard(batch, settings, stream_arn, "RetryAttemptsExhausted")
            return
        stop.wait(retry_delay(batch.retries))

    def _invoke(self, batch: _Batch, settings: _Settings) -> int | None:
        """Index of the first record to retry, -1 when the batch succeeded, None when the
        function could not be invoked (throttled, missing)."""
        from moto.awslambda.models import lambda_backends

        body = json.dumps({"Records": [record.event for record in batch.records]})
        response_headers: dict[str, Any] = {}
        try:
            function = lambda_backends[self._account][self._region].get_function(settings.function_name)
            payload = function.invoke(body, {}, response_headers)
        except Exception as exc:
            LOG.warning(
                "event source mapping %s: could not invoke %s: %s", self._uuid, settings.function_arn, exc
            )
            return None
        batch.invocations += 1
        batch.last = {"statusCode": 200, "executedVersion": str(getattr(function, "version", "$LATEST"))}
        if response_headers.get("x-amz-function-error"):
            batch.last["functionError"] = str(response_headers["x-amz-function-error"])
            return 0
        if not settings.report_failures:
            return -1
        return _first_failed(payload, batch.records)

    # -- discarding ------------------------------------------------------------------------
    def _discard(self, batch: _Batch, settings: _Settings, stream_arn: str, condition: str) -> None:
        first, last = batch.records[0], batch.records[-1]
        LOG.warning(
            "event source mapping %s: discarding %d record(s) %s..%s (%s)",
            self._uuid,
            len(batch.records),
            first.sequence_number,
            last.sequence_number,
            condition,
        )
        if not settings.destination:
            return
        document: dict[str, Any] = {
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": settings.function_arn,
                "condition": condition,
                "approximateInvokeCount": batch.invocations,
            },
        }
        if batch.last is not None:  # absent when the records never reached the function
            document["responseContext"] = dict(batch.last)
        document["version"] = "1.0"
        document["timestamp"] = _iso(time.time(), milliseconds=True)
        with _source_lock:
            source = _source(stream_arn)
        document["DDBStreamBatchInfo"] = {
            "shardId": source.shard.id if source else "",
            "startSequenceNumber": first.sequence_number,
            "endSequenceNumber": last.sequence_number,
            "approximateArrivalOfFirstRecord": _iso(first.created),
            "approximateArrivalOfLastRecord": _iso(last.created),
            "batchSize": len(batch.records),
            "streamArn": stream_arn,
        }
        access = self._poller.access
        if access is not None and not access.may_send_failure(
            self._role(settings), settings.function_name, settings.destination
        ):
            LOG.warning(
                "event source mapping %s: the role may not send to the on-failure destination %s; "
                "the record is lost, as in Lambda",
                self._uuid,
                settings.destination,
            )
            return
        try:
            _send(settings.destination, json.dumps(document))
        except Exception as exc:
            LOG.warning(
                "event source mapping %s: on-failure destination %s: %s",
                self._uuid,
                settings.destination,
                exc,
            )


def _first_failed(payload: Any, records: list[_Record]) -> int:
    """Where to retry from after a ReportBatchItemFailures response (-1: nothing failed).

    Success: a null or empty response, or a null or empty `batchItemFailures`. Complete
    failure (0): an item without an `itemIdentifier`, or one that is null, empty or not a
    sequence number of the batch. Otherwise the record with the lowest failed sequence number.
    """
    try:
        response = json.loads(payload) if isinstance(payload, bytes | str) else payload
    except json.JSONDecodeError:
        return -1
    if not isinstance(response, dict):
        return -1
    failures = response.get("batchItemFailures")
    if not failures:
        return -1
    if not isinstance(failures, list):
        return 0
    positions = {record.sequence_number: index for index, record in enumerate(records)}
    failed = []
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if not isinstance(identifier, str) or identifier not in positions:
            return 0
        failed.append(positions[identifier])
    return min(failed)


def _iso(epoch: float, milliseconds: bool = False) -> str:
    moment = datetime.fromtimestamp(epoch, UTC)
    if milliseconds:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _send(destination_arn: str, body: str) -> None:
    """Delivers an invocation record to an SQS queue or SNS topic of the twin."""
    _, _, service, region, account, resource = destination_arn.split(":", 5)
    if service == "sqs":
        from moto.sqs.models import sqs_backends

        sqs_backends[account][region].send_message(resource, body)
    elif service == "sns":
        from moto.sns.models import sns_backends

        sns_backends[account][region].publish(body, arn=destination_arn)
    else:
        raise ValueError(f"the twin sends invocation records to SQS and SNS only, not {service}")


# ---- wiring into moto -----------------------------------------------------------------------
class StreamAccess(Protocol):
    """What the mapping's role may do, decided by the twin's IAM (iam.Enforcer)."""

    def stream_read_refusal(self, role_arn: str, function_name: str, stream_arn: str) -> str | None: ...

    def may_send_failure(self, role_arn: str, function_name: str, destination_arn: str) -> bool: ...


class StreamPoller:
    """The twin's event source mapping poller for DynamoDB streams (see the module docstring)."""

    def __init__(self, access: StreamAccess | None = None) -> None:
        self.stopping = threading.Event()
        self.access = access
        self._consumers: list[_Consumer] = []
        self._lock = threading.Lock()

    def follow(self, mapping: Any) -> None:
        """Starts delivery for a mapping just created (its starting position is taken now)."""
        if ":dynamodb:" not in mapping.event_source_arn or self.stopping.is_set():
            return
        with _source_lock:
            source = _source(mapping.event_source_arn)
            end = len(source.shard.items) if source else 0
        position = end if (mapping.starting_position or "").upper() == "LATEST" else 0
        consumer = _Consumer(self, mapping.account_id, mapping.region, mapping.uuid, position)
        with self._lock:
            self._consumers = [c for c in self._consumers if c.is_alive()] + [consumer]
        consumer.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stops every consumer (an invocation in flight is waited for up to `timeout`)."""
        self.stopping.set()
        deadline = time.monotonic() + timeout
        with self._lock:
            consumers = list(self._consumers)
        for consumer in consumers:
            consumer.join(max(deadline - time.monotonic(), 0))


def _append_only(self: Any, old: Any, new: Any) -> None:
    """moto's StreamShard.add without its synchronous Lambda delivery and without emptying
    the shard: the record is appended with the next sequence number, and that is all."""
    from moto.dynamodb.models.table import StreamRecord

    view_type = self.table.stream_specification["StreamViewType"]
    event_name = "INSERT" if old is None else "REMOVE" if new is None else "MODIFY"
    sequence_number = len(self.items) + self.starting_sequence_number
    self.items.append(StreamRecord(self.table, view_type, event_name, old, new, sequence_number))


def _streamed(backend: Any) -> list[Any]:
    return [table for table in backend.tables.values() if table.stream_shard is not None]


def start(access: StreamAccess | None = None) -> StreamPoller:
    """Installs the poller in moto (call once, before the server takes requests). With `access`,
    each mapping reads its stream and sends its failures as its function's role."""
    from moto.awslambda.exceptions import InvalidParameterValueException
    from moto.awslambda.models import LambdaBackend
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import StreamShard

    poller = StreamPoller(access)
    StreamShard.add = _append_only

    # moto backs a transaction up by deep-copying every table it touches, stream shard
    # included, and the shard only grows: a long run made each checkout transaction cost
    # hundreds of milliseconds. Tables share their shard instead; a failed transaction's own
    # records are cut off it, as moto's restored copy would have done.
    StreamShard.__deepcopy__ = lambda shard, memo: shard
    transact = DynamoDBBackend.transact_write_items

    @functools.wraps(transact)
    def transact_write_items(backend: Any, *args: Any, **kwargs: Any) -> Any:
        with _source_lock:
            lengths = [(table.stream_shard, len(table.stream_shard.items)) for table in _streamed(backend)]
            try:
                return transact(backend, *args, **kwargs)
            except BaseException:
                for shard, length in lengths:
                    del shard.items[length:]
                for table in _streamed(backend):  # the restored copies own the shared shards
                    table.stream_shard.table = table
                raise

    DynamoDBBackend.transact_write_items = transact_write_items

    create = LambdaBackend.create_event_source_mapping
    update = LambdaBackend.update_event_source_mapping

    def checked(spec: dict[str, Any]) -> None:
        if "FilterCriteria" in spec:
            try:
                compile_filters(spec["FilterCriteria"])
            except FilterError as exc:
                raise InvalidParameterValueException(f"Invalid filter pattern definition. {exc}") from exc

    @functools.wraps(create)
    def create_event_source_mapping(self: Any, spec: dict[str, Any]) -> Any:
        checked(spec)
        mapping = create(self, spec)
        poller.follow(mapping)
        return mapping

    @functools.wraps(update)
    def update_event_source_mapping(self: Any, mapping_uuid: str, spec: dict[str, Any]) -> Any:
        checked(spec)
        mapping = update(self, mapping_uuid, spec)
        if mapping is not None and spec.get("FunctionName"):
            mapping.function_name = spec["FunctionName"]  # moto updates only FunctionArn
        return mapping

    LambdaBackend.create_event_source_mapping = create_event_source_mapping
    LambdaBackend.update_event_source_mapping = update_event_source_mapping

    # moto answers LastProcessingResult null always; Lambda reports there why a mapping reads nothing.
    from moto.awslambda.models import EventSourceMapping

    configuration = EventSourceMapping.get_configuration

    @functools.wraps(configuration)
    def get_configuration(self: Any) -> dict[str, Any]:
        answer = configuration(self)
        answer["LastProcessingResult"] = getattr(self, "twin_last_processing_result", None)
        return answer

    EventSourceMapping.get_configuration = get_configuration
    return poller
