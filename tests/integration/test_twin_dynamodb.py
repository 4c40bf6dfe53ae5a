"""The twin's DynamoDB keeps transactions atomic and isolated under concurrency.

moto restores a failed transaction by swapping the whole table back; without the
twin's serialization, concurrent writes made meanwhile would vanish.
"""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from botocore.exceptions import ClientError

pytestmark = pytest.mark.twin


def test_failed_transactions_do_not_undo_concurrent_writes(twin) -> None:
    dynamodb = twin.client("dynamodb")
    counter = {"pk": {"S": f"TEST#{uuid.uuid4().hex}"}, "sk": {"S": "COUNTER"}}
    dynamodb.put_item(TableName=twin.table_name, Item={**counter, "n": {"N": "0"}})
    # moto copies the whole table per transaction: a table of realistic size widens the
    # window in which an unserialized restore would drop concurrent writes.
    filler = uuid.uuid4().hex
    for start in range(0, 1200, 25):
        dynamodb.batch_write_item(
            RequestItems={
                twin.table_name: [
                    {
                        "PutRequest": {
                            "Item": {
                                "pk": {"S": f"TEST#{filler}#{n}"},
                                "sk": {"S": "FILL"},
                                "pad": {"S": "x" * 200},
                            }
                        }
                    }
                    for n in range(start, start + 25)
                ]
            }
        )

    def increment(_: int) -> bool:
        dynamodb.update_item(
            TableName=twin.table_name,
            Key=counter,
            UpdateExpression="ADD n :one",
            ExpressionAttributeValues={":one": {"N": "1"}},
        )
        return True

    def failing_transaction(_: int) -> bool:
        try:
            dynamodb.transact_write_items(
                TransactItems=[
                    {
                        "Update": {
                            "TableName": twin.table_name,
                            "Key": counter,
                            "UpdateExpression": "ADD n :one",
                            "ExpressionAttributeValues": {":one": {"N": "1000"}},
                        }
                    },
                    {
                        "ConditionCheck": {
                            "TableName": twin.table_name,
                            "Key": {"pk": {"S": "TEST#missing"}, "sk": {"S": "X"}},
                            "ConditionExpression": "attribute_exists(pk)",
                        }
                    },
                ]
            )
        except ClientError as error:
            assert error.response["Error"]["Code"] == "TransactionCanceledException"
            return False
        return True

    with ThreadPoolExecutor(8) as pool:
        work = [pool.submit(increment, i) for i in range(60)] + [
            pool.submit(failing_transaction, i) for i in range(60)
        ]
        results = [future.result() for future in work]
    assert results[60:] == [False] * 60, "every transaction with a failing condition is cancelled"
    stored = dynamodb.get_item(TableName=twin.table_name, Key=counter, ConsistentRead=True)["Item"]
    assert int(stored["n"]["N"]) == 60, "no increment lost to a cancelled transaction, none applied from one"
