"""DynamoDB Streams events as an event source mapping delivers them, checked before processing."""

from __future__ import annotations

from typing import Any


def validate_stream_event(event: Any, consumer: str = "cache-invalidator") -> list[dict[str, Any]]:
    """The records of a DynamoDB Streams event, or a ValueError saying why this is not one.
    Only the envelope is checked here; a record's content is checked when it is processed, so
    a bad one fails alone."""
    if not isinstance(event, dict) or not isinstance(event.get("Records"), list) or not event["Records"]:
        raise ValueError(
            f"{consumer} handles DynamoDB Streams events ({{'Records': [...]}} from an event "
            f"source mapping); got {_shape(event)}"
        )
    for index, record in enumerate(event["Records"]):
        if not isinstance(record, dict) or record.get("eventSource") != "aws:dynamodb":
            source = record.get("eventSource") if isinstance(record, dict) else None
            raise ValueError(
                f"{consumer} handles DynamoDB Streams events: Records[{index}] has eventSource "
                f"{source!r}, not 'aws:dynamodb'"
            )
        stream = record.get("dynamodb")
        if not isinstance(stream, dict) or not isinstance(stream.get("SequenceNumber"), str):
            raise ValueError(
                f"{consumer} handles DynamoDB Streams events: Records[{index}] has no "
                "dynamodb.SequenceNumber, so a failure could not be reported for it alone"
            )
    return event["Records"]


def _shape(event: Any) -> str:
    if isinstance(event, dict):
        return f"an object with keys {sorted(str(key) for key in event)[:8]}"
    return f"a {type(event).__name__}"
