"""The twin delivers DynamoDB stream records to Lambda as the event source mapping service does.

No terraform here: one twin server (no Redis), one probe function created through the API,
and a table per test so each mapping has a shard of its own. The probe logs every invocation
(its records, the failures it reports, the error it raises) and reads what to do from each
record's new image: `mode` = poison (always reported failed), fail-once (reported failed on its
first attempt), raise-once / raise-always (the function raises).
"""

from __future__ import annotations

import io
import json
import time
import zipfile
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from aws_lambda_powertools.utilities.parser.models import (
    DynamoDBStreamLambdaOnFailureDestinationModel,
    DynamoDBStreamModel,
)
from botocore.exceptions import ClientError

from local_twin.processes import group_members
from local_twin.twin import REGION, LocalTwin
from tests.roles import create_role, put_policy, without_policy

pytestmark = pytest.mark.twin

FUNCTION = "stream-probe"
ATTEMPTS_TABLE = "stream-probe-attempts"
PROBE_SOURCE = """
import json, os, time
import boto3

dynamodb = boto3.client("dynamodb")


def attempt(key):
    counted = dynamodb.update_item(
        TableName=os.environ["ATTEMPTS_TABLE"],
        Key={"pk": {"S": key}},
        UpdateExpression="ADD n :one",
        ExpressionAttributeValues={":one": {"N": "1"}},
        ReturnValues="UPDATED_NEW",
    )
    return int(counted["Attributes"]["n"]["N"])


def handler(event, context):
    failures, error = [], None
    for record in event["Records"]:
        change = record["dynamodb"]
        key = change["Keys"]["pk"]["S"]
        mode = (change.get("NewImage") or {}).get("mode", {}).get("S", "")
        if mode == "poison" or (mode == "fail-once" and attempt(key) == 1):
            failures.append(change["SequenceNumber"])
        if mode == "raise-always" or (mode == "raise-once" and attempt(key) == 1):
            error = "cannot process " + key
    print("INVOKE " + json.dumps({"at": time.time(), "event": event, "failures": failures, "error": error}))
    if error:
        raise RuntimeError(error)
    return {"batchItemFailures": [{"itemIdentifier": sequence} for sequence in failures]}
"""


ROLE_POLICIES: dict[str, list[dict[str, Any]]] = {
    "count-attempts": [
        {
            "Effect": "Allow",
            "Action": "dynamodb:UpdateItem",
            "Resource": f"arn:aws:dynamodb:*:*:table/{ATTEMPTS_TABLE}",
        },
        # AWSLambdaBasicExecutionRole's grant: the tests read the probe's invocations from its logs.
        {
            "Effect": "Allow",
            "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": "*",
        },
    ],
    "stream-reads": [
        {
            "Effect": "Allow",
            "Action": ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"],
            "Resource": "arn:aws:dynamodb:*:*:table/stream-*/stream/*",
        },
        {"Effect": "Allow", "Action": "dynamodb:ListStreams", "Resource": "*"},
    ],
    "send-failures": [
        {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "arn:aws:sqs:*:*:stream-*"}
    ],
}


def probe_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("probe.py", PROBE_SOURCE)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def twin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalTwin]:
    with LocalTwin.start(
        tmp_path_factory.mktemp("streams") / "twin", with_redis=False, provision=False
    ) as running:
        # The probe counts its attempts in a table of its own and writes what it got to its logs,
        # which Lambda writes as the role; the mappings read their streams and send their failures
        # as the role too. Each is a policy of its own, so a test can take one away.
        role = create_role(running.client("iam"), FUNCTION)
        for name, statements in ROLE_POLICIES.items():
            put_policy(running.client("iam"), FUNCTION, name, statements)
        running.client("dynamodb").create_table(
            TableName=ATTEMPTS_TABLE,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        running.client("lambda").create_function(
            FunctionName=FUNCTION,
            Runtime="python3.13",
            Role=role,
            Handler="probe.handler",
            Code={"ZipFile": probe_zip()},
            Timeout=10,
            Environment={"Variables": {"ATTEMPTS_TABLE": ATTEMPTS_TABLE}},
        )
        yield running
        group = running.server.pgid if running.server else None
    # The consumers stop with the server, and so do the workers they started.
    deadline = time.monotonic() + 10
    while group is not None and group_members(group) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert group is None or not group_members(group), "the twin server's processes outlived it"


def stream_table(twin: LocalTwin, name: str) -> str:
    """A table like the project's state table (pk/sk), with a NEW_AND_OLD_IMAGES stream."""
    created = twin.client("dynamodb").create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    return created["TableDescription"]["LatestStreamArn"]


def put(twin: LocalTwin, table: str, pk: str, **attributes: str) -> None:
    item = {
        "pk": {"S": pk},
        "sk": {"S": "ITEM"},
        **{name: {"S": value} for name, value in attributes.items()},
    }
    started = time.monotonic()
    twin.client("dynamodb").put_item(TableName=table, Item=item)
    assert time.monotonic() - started < 2.0, "a write never waits for the stream's function"


def queue(twin: LocalTwin, name: str) -> tuple[str, str]:
    sqs = twin.client("sqs")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    return url, sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def invocations(twin: LocalTwin, stream_arn: str) -> list[dict[str, Any]]:
    """The probe's invocations for one stream, in the order they ran."""
    logs = twin.client("logs")
    found = []
    kwargs: dict[str, Any] = {"logGroupName": f"/aws/lambda/{FUNCTION}"}
    try:
        while True:
            page = logs.filter_log_events(**kwargs)
            for event in page["events"]:
                if event["message"].startswith("INVOKE "):
                    found.append(json.loads(event["message"][len("INVOKE ") :]))
            if not page.get("nextToken"):
                break
            kwargs["nextToken"] = page["nextToken"]
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ResourceNotFoundException":
            raise
    mine = [
        found_one
        for found_one in found
        if found_one["event"]["Records"] and found_one["event"]["Records"][0]["eventSourceARN"] == stream_arn
    ]
    return sorted(mine, key=lambda invocation: invocation["at"])


def keys(invocation: dict[str, Any]) -> list[str]:
    return [record["dynamodb"]["Keys"]["pk"]["S"] for record in invocation["event"]["Records"]]


def wait_for(check: Callable[[], Any], timeout: float = 15.0, what: str = "the condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def wait_for_batches(twin: LocalTwin, stream_arn: str, expected: list[list[str]]) -> list[dict[str, Any]]:
    """Waits for the expected invocations, then checks that no other one follows."""
    found = wait_for(
        lambda: (seen := invocations(twin, stream_arn)) and len(seen) >= len(expected) and seen,
        what=f"{len(expected)} invocations",
    )
    time.sleep(0.6)  # longer than any window or backoff these tests configure
    found = invocations(twin, stream_arn)
    assert [keys(invocation) for invocation in found] == expected
    return found


def receive_one(twin: LocalTwin, url: str) -> dict[str, Any]:
    sqs = twin.client("sqs")
    messages = wait_for(
        lambda: sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages"),
        what="the on-failure destination's message",
    )
    assert len(messages) == 1
    return json.loads(messages[0]["Body"])


def sequence_number(invocation: dict[str, Any], pk: str) -> str:
    return next(
        record["dynamodb"]["SequenceNumber"]
        for record in invocation["event"]["Records"]
        if record["dynamodb"]["Keys"]["pk"]["S"] == pk
    )


PRODUCT_CHANGES = {
    "eventName": ["INSERT", "MODIFY"],
    "dynamodb": {"Keys": {"pk": {"S": [{"prefix": "PRODUCT#"}]}}},
}


def test_matching_records_arrive_once_in_order_and_batched(twin: LocalTwin) -> None:
    table = "stream-filtered"
    stream = stream_table(twin, table)
    put(twin, table, "PRODUCT#early", price="1")  # before the mapping: LATEST skips it
    twin.client("lambda").create_event_source_mapping(
        FunctionName=FUNCTION,
        EventSourceArn=stream,
        StartingPosition="LATEST",
        BatchSize=3,
        MaximumBatchingWindowInSeconds=1,
        FilterCriteria={"Filters": [{"Pattern": json.dumps(PRODUCT_CHANGES)}]},
    )
    written = time.time()
    put(twin, table, "CART#c1", price="5")  # not a product
    put(twin, table, "PRODUCT#a", price="10")
    put(twin, table, "PRODUCT#b", price="20")
    put(twin, table, "PRODUCT#a", price="11")  # MODIFY
    twin.client("dynamodb").delete_item(TableName=table, Key={"pk": {"S": "PRODUCT#b"}, "sk": {"S": "ITEM"}})
    with pytest.raises(ClientError, match="TransactionCanceled"):  # rolled back: no record
        twin.client("dynamodb").transact_write_items(
            TransactItems=[
                {"Put": {"TableName": table, "Item": {"pk": {"S": "PRODUCT#phantom"}, "sk": {"S": "ITEM"}}}},
                {
                    "ConditionCheck": {
                        "TableName": table,
                        "Key": {"pk": {"S": "PRODUCT#a"}, "sk": {"S": "ITEM"}},
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
            ]
        )
    last_written = time.time()
    put(twin, table, "PRODUCT#c", price="30")

    # A full batch goes at once; the last record waits out the batching window.
    first, second = wait_for_batches(twin, stream, [["PRODUCT#a", "PRODUCT#b", "PRODUCT#a"], ["PRODUCT#c"]])
    assert second["at"] - last_written >= 0.9, "a partial batch waits for MaximumBatchingWindowInSeconds"

    records = first["event"]["Records"] + second["event"]["Records"]
    assert [record["eventName"] for record in records] == ["INSERT", "INSERT", "MODIFY", "INSERT"]
    sequence_numbers = [int(record["dynamodb"]["SequenceNumber"]) for record in records]
    assert sequence_numbers == sorted(set(sequence_numbers)), "in shard order, each record once"
    for record in records:
        assert record["eventSource"] == "aws:dynamodb"
        assert record["eventSourceARN"] == stream
        assert record["awsRegion"] == REGION
        assert record["eventVersion"] == "1.0"
        assert record["eventID"]
        change = record["dynamodb"]
        assert change["StreamViewType"] == "NEW_AND_OLD_IMAGES"
        assert isinstance(change["SizeBytes"], int) and change["SizeBytes"] > 0
        assert change["ApproximateCreationDateTime"] == int(change["ApproximateCreationDateTime"])
        assert written - 2 <= change["ApproximateCreationDateTime"] <= time.time()
        assert change["Keys"] == {"pk": {"S": change["NewImage"]["pk"]["S"]}, "sk": {"S": "ITEM"}}
    inserted, modified = records[0]["dynamodb"], records[2]["dynamodb"]
    assert "OldImage" not in inserted
    assert modified["OldImage"]["price"] == {"S": "10"}
    assert modified["NewImage"]["price"] == {"S": "11"}
    DynamoDBStreamModel.model_validate(first["event"])  # what a Powertools handler parses

    # moto's own delivery emptied the shard and reused sequence numbers; GetRecords sees all now.
    streams = twin.client("dynamodbstreams")
    shard = streams.describe_stream(StreamArn=stream)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=stream, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    stored = streams.get_records(ShardIterator=iterator["ShardIterator"])["Records"]
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in stored] == [
        "PRODUCT#early",
        "CART#c1",
        "PRODUCT#a",
        "PRODUCT#b",
        "PRODUCT#a",
        "PRODUCT#b",
        "PRODUCT#c",
    ]
    assert len({r["dynamodb"]["SequenceNumber"] for r in stored}) == len(stored)


def test_an_invalid_filter_is_rejected_when_the_mapping_is_created(twin: LocalTwin) -> None:
    stream = stream_table(twin, "stream-invalid-filter")
    with pytest.raises(ClientError, match="InvalidParameterValue"):
        twin.client("lambda").create_event_source_mapping(
            FunctionName=FUNCTION,
            EventSourceArn=stream,
            StartingPosition="LATEST",
            FilterCriteria={"Filters": [{"Pattern": '{"dynamodb": {"Keys": "PRODUCT#"}}'}]},
        )


def test_reported_item_failures_are_retried_from_the_first_failed_record(twin: LocalTwin) -> None:
    table = "stream-partial"
    stream = stream_table(twin, table)
    put(twin, table, "r1")
    put(twin, table, "r2", mode="fail-once")
    put(twin, table, "r3")
    put(twin, table, "r4", mode="fail-once")
    twin.client("lambda").create_event_source_mapping(
        FunctionName=FUNCTION,
        EventSourceArn=stream,
        StartingPosition="TRIM_HORIZON",  # the records written before the mapping come too
        BatchSize=10,
        FunctionResponseTypes=["ReportBatchItemFailures"],
        MaximumRetryAttempts=5,
    )
    first, retry = wait_for_batches(twin, stream, [["r1", "r2", "r3", "r4"], ["r2", "r3", "r4"]])
    assert first["failures"] == [sequence_number(first, "r2"), sequence_number(first, "r4")]
    assert retry["failures"] == []
    assert retry["at"] - first["at"] >= 0.09, "a retry waits for its backoff"


def test_a_poison_record_goes_to_the_on_failure_destination_and_does_not_block_the_shard(
    twin: LocalTwin,
) -> None:
    table = "stream-poison"
    stream = stream_table(twin, table)
    dlq_url, dlq_arn = queue(twin, "stream-poison-dlq")
    twin.client("lambda").create_event_source_mapping(
        FunctionName=FUNCTION,
        EventSourceArn=stream,
        StartingPosition="LATEST",
        BatchSize=10,
        MaximumBatchingWindowInSeconds=1,
        FunctionResponseTypes=["ReportBatchItemFailures"],
        BisectBatchOnFunctionError=True,
        MaximumRetryAttempts=1,
        DestinationConfig={"OnFailure": {"Destination": dlq_arn}},
    )
    for pk, mode in (("p1", ""), ("p2", "poison"), ("p3", ""), ("p4", "")):
        put(twin, table, pk, mode=mode)

    found = wait_for_batches(
        twin,
        stream,
        [
            ["p1", "p2", "p3", "p4"],  # p2 reported failed: p1 is done
            ["p2", "p3", "p4"],  # split at p2; p2 fails again at the front
            ["p2"],  # so the batch is split in two, and p2 tried alone...
            ["p2"],  # ...retried once (MaximumRetryAttempts=1), then discarded
            ["p3", "p4"],  # the records after it are not blocked
        ],
    )
    poison = sequence_number(found[0], "p2")

    failure = receive_one(twin, dlq_url)
    DynamoDBStreamLambdaOnFailureDestinationModel.model_validate(failure)
    shard = twin.client("dynamodbstreams").describe_stream(StreamArn=stream)["StreamDescription"]["Shards"][0]
    function_arn = twin.client("lambda").get_function(FunctionName=FUNCTION)["Configuration"]["FunctionArn"]
    assert failure["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert failure["requestContext"]["functionArn"] == function_arn
    assert failure["requestContext"]["approximateInvokeCount"] == 4
    assert failure["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST"}
    assert failure["version"] == "1.0"
    info = failure["DDBStreamBatchInfo"]
    assert info["shardId"] == shard["ShardId"]
    assert info["startSequenceNumber"] == info["endSequenceNumber"] == poison
    assert info["batchSize"] == 1
    assert info["streamArn"] == stream
    assert info["approximateArrivalOfFirstRecord"].endswith("Z")

    put(twin, table, "p5")
    wait_for(
        lambda: ["p5"] in [keys(i) for i in invocations(twin, stream)], what="p5 after the poison record"
    )


def test_a_function_error_is_retried_and_a_batch_that_keeps_failing_is_discarded(twin: LocalTwin) -> None:
    table = "stream-errors"
    stream = stream_table(twin, table)
    dlq_url, dlq_arn = queue(twin, "stream-errors-dlq")
    twin.client("lambda").create_event_source_mapping(
        FunctionName=FUNCTION,
        EventSourceArn=stream,
        StartingPosition="LATEST",
        BatchSize=1,
        MaximumRetryAttempts=2,
        DestinationConfig={"OnFailure": {"Destination": dlq_arn}},
    )
    put(twin, table, "e1", mode="raise-once")
    put(twin, table, "e2", mode="raise-always")
    put(twin, table, "e3")

    found = wait_for_batches(twin, stream, [["e1"], ["e1"], ["e2"], ["e2"], ["e2"], ["e3"]])
    assert [bool(invocation["error"]) for invocation in found] == [True, False, True, True, True, False]
    assert found[1]["at"] - found[0]["at"] >= 0.09, "a retry waits for its backoff"

    failure = receive_one(twin, dlq_url)
    DynamoDBStreamLambdaOnFailureDestinationModel.model_validate(failure)
    assert failure["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert failure["requestContext"]["approximateInvokeCount"] == 3
    assert failure["responseContext"]["functionError"] == "Unhandled"
    info = failure["DDBStreamBatchInfo"]
    assert info["startSequenceNumber"] == info["endSequenceNumber"] == sequence_number(found[2], "e2")
    assert info["batchSize"] == 1


def test_records_are_not_delivered_while_the_mapping_is_disabled_and_resume_after(twin: LocalTwin) -> None:
    table = "stream-disabled"
    stream = stream_table(twin, table)
    mapping = twin.client("lambda").create_event_source_mapping(
        FunctionName=FUNCTION, EventSourceArn=stream, StartingPosition="LATEST", Enabled=False
    )
    put(twin, table, "d1")
    time.sleep(0.3)
    assert invocations(twin, stream) == []
    twin.client("lambda").update_event_source_mapping(UUID=mapping["UUID"], Enabled=True)
    wait_for_batches(twin, stream, [["d1"]])


def test_a_mapping_on_an_alias_invokes_the_aliased_version(twin: LocalTwin) -> None:
    """The stack maps streams to a function's alias (modules/lambda-function)."""
    table = "stream-alias"
    stream = stream_table(twin, table)
    client = twin.client("lambda")
    version = client.publish_version(FunctionName=FUNCTION)["Version"]
    alias = client.create_alias(FunctionName=FUNCTION, Name="live", FunctionVersion=version)["AliasArn"]
    client.create_event_source_mapping(FunctionName=alias, EventSourceArn=stream, StartingPosition="LATEST")
    put(twin, table, "v1")
    wait_for_batches(twin, stream, [["v1"]])


def test_a_mapping_reads_as_its_role_and_says_why_it_reads_nothing_when_the_role_may_not(
    twin: LocalTwin,
) -> None:
    table = "stream-revoked"
    stream = stream_table(twin, table)
    lambda_ = twin.client("lambda")
    mapping = lambda_.create_event_source_mapping(
        FunctionName=FUNCTION, EventSourceArn=stream, StartingPosition="LATEST"
    )
    with without_policy(twin.client("iam"), FUNCTION, "stream-reads", ROLE_POLICIES["stream-reads"]):
        put(twin, table, "r1")
        problem = wait_for(
            lambda: (
                lambda_.get_event_source_mapping(UUID=mapping["UUID"]).get("LastProcessingResult") or ""
            ).startswith("PROBLEM: Cannot access stream"),
            what="the mapping's LastProcessingResult",
        )
        assert problem
        assert invocations(twin, stream) == []
    wait_for_batches(twin, stream, [["r1"]])  # the record waited in the stream
    assert lambda_.get_event_source_mapping(UUID=mapping["UUID"])["LastProcessingResult"] == "OK"


def test_a_discarded_batch_is_lost_when_the_role_may_not_send_it(twin: LocalTwin) -> None:
    table = "stream-unsent"
    stream = stream_table(twin, table)
    dlq_url, dlq_arn = queue(twin, "stream-unsent-dlq")
    twin.client("lambda").create_event_source_mapping(
        FunctionName=FUNCTION,
        EventSourceArn=stream,
        StartingPosition="LATEST",
        MaximumRetryAttempts=0,
        DestinationConfig={"OnFailure": {"Destination": dlq_arn}},
    )
    with without_policy(twin.client("iam"), FUNCTION, "send-failures", ROLE_POLICIES["send-failures"]):
        put(twin, table, "u1", mode="raise-always")
        wait_for_batches(twin, stream, [["u1"]])  # tried once, failed, discarded
        time.sleep(1.0)
        assert (
            twin.client("sqs").receive_message(QueueUrl=dlq_url, WaitTimeSeconds=1).get("Messages", []) == []
        )
