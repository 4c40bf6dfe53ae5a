"""CloudWatch alarm actions that notify SNS topics, and DescribeAlarmHistory: moto takes no alarm
action and keeps no history an operator can read.

When an alarm changes state (SetAlarmState, CloudWatch's documented way to try an alarm's
actions; moto evaluates no metrics) and its actions are enabled, CloudWatch publishes a
notification to each SNS topic among the new state's actions, as the service principal
`cloudwatch.amazonaws.com` with the alarm as `aws:SourceArn`:
- the topic's access policy must allow it `sns:Publish`, or the alarm's history says
  `Failed to execute action <topic>. Received error: "Resource: <alarm> is not authorized to
  perform: SNS:Publish on resource: <topic>"`
  (https://repost.aws/knowledge-center/cloudwatch-receive-sns-for-alarm-trigger);
- a topic encrypted with a KMS key needs a customer managed key whose policy lets CloudWatch use
  `kms:GenerateDataKey*` and `kms:Decrypt`; the AWS managed key `alias/aws/sns` never does, since
  its policy cannot be changed (https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html
  #compatibility-with-aws-services). Otherwise KMS refuses CloudWatch and the history says so.
A refused action delivers nothing: the alarm changes state and no one hears of it. Every outcome
is an `Action` item in the alarm's history, beside the `StateUpdate` item of the change, newest
first, as DescribeAlarmHistory answers.
"""

from __future__ import annotations

import datetime
import json
import threading
import uuid
from typing import Any

from local_twin import iam

SERVICE = "cloudwatch.amazonaws.com"
KEY_ACTIONS = ("kms:GenerateDataKey", "kms:Decrypt")
KMS_REFUSED = "null (Service: AWSKMS; Status Code: 400; Error Code: AccessDeniedException; Request ID: {request_id}; Proxy: null)"
_lock = threading.Lock()


def _history(alarm: Any) -> list[dict[str, Any]]:
    if not hasattr(alarm, "twin_history"):
        alarm.twin_history = []
    return alarm.twin_history


def _item(alarm: Any, kind: str, summary: str, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "AlarmName": alarm.name,
        "AlarmType": "CompositeAlarm" if alarm.rule is not None else "MetricAlarm",
        "Timestamp": datetime.datetime.now(datetime.UTC),
        "HistoryItemType": kind,
        "HistorySummary": summary,
        "HistoryData": json.dumps(data),
    }


def notification(alarm: Any, old_state: str, account: str, region: str) -> tuple[str, str]:
    """(subject, message) of CloudWatch's alarm notification: the alarm's new state, the old one and why."""
    subject = f'{alarm.state_value}: "{alarm.name}" in {region}'
    message = {
        "AlarmName": alarm.name,
        "AlarmDescription": alarm.description,
        "AWSAccountId": account,
        "AlarmConfigurationUpdatedTimestamp": alarm.configuration_updated_timestamp,
        "NewStateValue": alarm.state_value,
        "NewStateReason": alarm.state_reason,
        "StateChangeTime": alarm.state_updated_timestamp.isoformat(),
        "Region": region,
        "AlarmArn": alarm.alarm_arn,
        "OldStateValue": old_state,
        "Trigger": {
            "MetricName": alarm.metric_name,
            "Namespace": alarm.namespace,
            "Statistic": alarm.statistic,
            "Period": alarm.period,
            "EvaluationPeriods": alarm.evaluation_periods,
            "ComparisonOperator": alarm.comparison_operator,
            "Threshold": alarm.threshold,
        },
    }
    return subject[:100], json.dumps(message, default=str)


def refusal(enforcer: iam.Enforcer | None, alarm: Any, topic: Any, account: str, region: str) -> str | None:
    """Why CloudWatch may not publish this alarm's notification to the topic, in its history's words."""
    if enforcer is None:
        return None  # TWIN_IAM=off: nothing is decided
    context = {"aws:SourceArn": alarm.alarm_arn, "aws:SourceAccount": account, "aws:SecureTransport": "true"}
    publish = iam.AuthorizationRequest("sns:Publish", topic.arn, context)
    if not enforcer.service_allowed(SERVICE, account, publish, json.loads(topic.policy)):
        return (
            f"Resource: {alarm.alarm_arn} is not authorized to perform: SNS:Publish on resource: {topic.arn}"
        )
    key = topic.kms_master_key_id
    if key:
        key_context = {"aws:SourceArn": alarm.alarm_arn, "aws:SourceAccount": account}
        if key.startswith("alias/aws/") or not enforcer.service_may_use_key(
            SERVICE, account, region, key, KEY_ACTIONS, key_context
        ):
            return KMS_REFUSED.format(request_id=uuid.uuid4())
    return None


def take_actions(
    enforcer: iam.Enforcer | None, alarm: Any, old_state: str, account: str, region: str
) -> None:
    """What CloudWatch does when `alarm` has changed state: the history item, then each SNS action."""
    from moto.sns.models import sns_backends

    history = _history(alarm)
    history.append(
        _item(
            alarm,
            "StateUpdate",
            f"Alarm updated from {old_state} to {alarm.state_value}",
            {
                "version": "1.0",
                "oldState": {"stateValue": old_state},
                "newState": {"stateValue": alarm.state_value},
            },
        )
    )
    if not alarm.actions_enabled:
        return
    actions = {
        "ALARM": alarm.alarm_actions,
        "OK": alarm.ok_actions,
        "INSUFFICIENT_DATA": alarm.insufficient_data_actions,
    }[alarm.state_value]
    for action in actions or []:
        if not action.startswith("arn:aws:sns:"):
            continue  # the stack's alarms notify SNS only; the twin takes no other action
        _, _, _, topic_region, topic_account, _ = action.split(":", 5)
        topic = sns_backends[topic_account][topic_region].topics.get(action)
        refused = (
            "Topic does not exist" if topic is None else refusal(enforcer, alarm, topic, account, region)
        )
        if refused is None:
            subject, message = notification(alarm, old_state, account, region)
            sns_backends[topic_account][topic_region].publish(message, arn=action, subject=subject)
            history.append(
                _item(
                    alarm,
                    "Action",
                    f"Successfully executed action {action}",
                    {"actionState": "Succeeded", "notificationResource": action, "publishedMessage": message},
                )
            )
        else:
            history.append(
                _item(
                    alarm,
                    "Action",
                    f'Failed to execute action {action}. Received error: "{refused}"',
                    {"actionState": "Failed", "notificationResource": action, "error": refused},
                )
            )


# The enforcer the patched moto decides with; install() replaces it, and patches moto only once.
_installed: dict[str, iam.Enforcer | None] = {}


def install(enforcer: iam.Enforcer | None) -> None:
    from moto.cloudwatch.models import CloudWatchBackend
    from moto.cloudwatch.responses import CloudWatchResponse
    from moto.core.responses import ActionResult

    patched = "enforcer" in _installed
    _installed["enforcer"] = enforcer
    if patched:
        return
    original = CloudWatchBackend.set_alarm_state

    def set_alarm_state(self: Any, alarm_name: str, reason: str, reason_data: str, state_value: str) -> None:
        with _lock:
            alarm = self.alarms.get(alarm_name)
            old_state = alarm.state_value if alarm is not None else None
            original(self, alarm_name, reason, reason_data, state_value)
            alarm = self.alarms[alarm_name]
            if old_state != alarm.state_value:  # CloudWatch acts on a change of state only
                take_actions(_installed["enforcer"], alarm, str(old_state), self.account_id, self.region_name)

    def describe_alarm_history(self: Any) -> ActionResult:
        name = self._get_param("AlarmName")
        kind = self._get_param("HistoryItemType")
        alarms = self.cloudwatch_backend.alarms
        chosen = [alarms[name]] if name in alarms else ([] if name else list(alarms.values()))
        items = [
            item for alarm in chosen for item in _history(alarm) if kind in (None, item["HistoryItemType"])
        ]
        oldest_first = self._get_param("ScanBy") == "TimestampAscending"
        items.sort(key=lambda item: item["Timestamp"], reverse=not oldest_first)
        limit = int(self._get_param("MaxRecords") or 100)
        return ActionResult({"AlarmHistoryItems": items[:limit]})

    CloudWatchBackend.set_alarm_state = set_alarm_state
    CloudWatchResponse.describe_alarm_history = describe_alarm_history
