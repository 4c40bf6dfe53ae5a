"""CloudWatch's alarm notifications on the twin (local_twin/alarm_actions.py): a state change publishes
to the alarm's SNS topic only when the topic's policy and its key's policy let CloudWatch, and the
alarm's history says what happened, in CloudWatch's words."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from local_twin import alarm_actions, iam
from tests.moto_servers import moto_server

REGION, ACCOUNT = "us-east-1", "123456789012"

pytestmark = pytest.mark.skipif(not iam.available(), reason=iam.UNAVAILABLE)


@pytest.fixture(scope="module")
def admin() -> Iterator[Any]:
    with moto_server(REGION) as (_, client):
        evaluator = iam.Evaluator()
        alarm_actions.install(iam.Enforcer(iam.RoleSessions(client("sts")), evaluator))
        yield client
        evaluator.close()


ROOT = {
    "Effect": "Allow",
    "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
    "Action": "kms:*",
    "Resource": "*",
}
CLOUDWATCH_USES_KEY = {
    "Effect": "Allow",
    "Principal": {"Service": "cloudwatch.amazonaws.com"},
    "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
    "Resource": "*",
}


def topic_policy(topic: str, alarm_prefix: str) -> dict[str, Any]:
    """modules/observability's topic policy: this account's alarms of this prefix may publish."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "cloudwatch.amazonaws.com"},
                "Action": "sns:Publish",
                "Resource": topic,
                "Condition": {
                    "ArnLike": {
                        "aws:SourceArn": f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{alarm_prefix}*"
                    },
                    "StringEquals": {"aws:SourceAccount": ACCOUNT},
                },
            },
            {
                "Effect": "Deny",
                "Principal": {"AWS": "*"},
                "Action": "sns:Publish",
                "Resource": topic,
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            },
        ],
    }


def wired(
    admin: Any, name: str, key_statements: list[dict[str, Any]] | None, key_id: str | None = None
) -> dict[str, str]:
    """An alarm whose ALARM action notifies a topic (under a key with `key_statements`, or `key_id`)
    that a queue is subscribed to."""
    if key_statements is not None:
        policy = {"Version": "2012-10-17", "Statement": key_statements}
        key_id = admin("kms").create_key(Policy=json.dumps(policy))["KeyMetadata"]["Arn"]
    attributes = {"KmsMasterKeyId": key_id} if key_id else {}
    topic = admin("sns").create_topic(Name=f"{name}-alarms", Attributes=attributes)["TopicArn"]
    admin("sns").set_topic_attributes(
        TopicArn=topic, AttributeName="Policy", AttributeValue=json.dumps(topic_policy(topic, name))
    )
    queue = admin("sqs").create_queue(QueueName=f"{name}-inbox")["QueueUrl"]
    queue_arn = admin("sqs").get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    admin("sns").subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    alarm = f"{name}-errors"
    put_alarm(admin, alarm, topic)
    return {"topic": topic, "queue": queue, "alarm": alarm}


def put_alarm(admin: Any, name: str, topic: str) -> None:
    admin("cloudwatch").put_metric_alarm(
        AlarmName=name,
        MetricName="Errors",
        Namespace="AWS/Lambda",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        AlarmActions=[topic],
    )


def received(admin: Any, queue: str) -> list[dict[str, Any]]:
    messages = admin("sqs").receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=0)
    return [json.loads(json.loads(m["Body"])["Message"]) for m in messages.get("Messages", [])]


def actions(admin: Any, alarm: str) -> list[str]:
    items = admin("cloudwatch").describe_alarm_history(AlarmName=alarm, HistoryItemType="Action")
    return [item["HistorySummary"] for item in items["AlarmHistoryItems"]]


def go_off(admin: Any, alarm: str) -> None:
    admin("cloudwatch").set_alarm_state(AlarmName=alarm, StateValue="ALARM", StateReason="a test")


def test_an_alarm_notifies_a_topic_whose_key_lets_cloudwatch_use_it(admin) -> None:
    setup = wired(admin, "shop-good", [ROOT, CLOUDWATCH_USES_KEY])
    go_off(admin, setup["alarm"])
    (message,) = received(admin, setup["queue"])
    assert message["AlarmName"] == setup["alarm"] and message["NewStateValue"] == "ALARM"
    assert message["OldStateValue"] == "OK"
    assert actions(admin, setup["alarm"]) == [f"Successfully executed action {setup['topic']}"]
    history = admin("cloudwatch").describe_alarm_history(AlarmName=setup["alarm"])["AlarmHistoryItems"]
    assert [item["HistoryItemType"] for item in history] == ["Action", "StateUpdate"]  # newest first
    # The same state again is no change: CloudWatch takes no action.
    go_off(admin, setup["alarm"])
    assert received(admin, setup["queue"]) == []
    assert len(actions(admin, setup["alarm"])) == 1


def test_a_key_that_does_not_let_cloudwatch_use_it_loses_the_notification(admin) -> None:
    setup = wired(admin, "shop-mute", [ROOT])  # the account's IAM may use it; CloudWatch has no IAM policy
    go_off(admin, setup["alarm"])
    assert received(admin, setup["queue"]) == []
    (summary,) = actions(admin, setup["alarm"])
    assert summary.startswith(
        f'Failed to execute action {setup["topic"]}. Received error: "null (Service: AWSKMS;'
    )
    assert "Error Code: AccessDeniedException" in summary


def test_the_aws_managed_sns_key_never_lets_cloudwatch_publish(admin) -> None:
    setup = wired(admin, "shop-managed", None, key_id="alias/aws/sns")
    go_off(admin, setup["alarm"])
    assert received(admin, setup["queue"]) == []
    assert "AWSKMS" in actions(admin, setup["alarm"])[0]


def test_a_topic_policy_for_other_alarms_refuses_this_one(admin) -> None:
    setup = wired(admin, "shop-other", [ROOT, CLOUDWATCH_USES_KEY])
    stranger = "someone-elses-errors"
    put_alarm(admin, stranger, setup["topic"])
    go_off(admin, stranger)
    assert received(admin, setup["queue"]) == []
    alarm_arn = f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{stranger}"
    assert actions(admin, stranger) == [
        f'Failed to execute action {setup["topic"]}. Received error: "Resource: {alarm_arn} is not authorized '
        f'to perform: SNS:Publish on resource: {setup["topic"]}"'
    ]


def test_disabled_actions_change_state_and_notify_no_one(admin) -> None:
    setup = wired(admin, "shop-quiet", [ROOT, CLOUDWATCH_USES_KEY])
    admin("cloudwatch").disable_alarm_actions(AlarmNames=[setup["alarm"]])
    go_off(admin, setup["alarm"])
    assert received(admin, setup["queue"]) == []
    assert actions(admin, setup["alarm"]) == []
    (update,) = admin("cloudwatch").describe_alarm_history(AlarmName=setup["alarm"])["AlarmHistoryItems"]
    assert update["HistorySummary"] == "Alarm updated from OK to ALARM"
