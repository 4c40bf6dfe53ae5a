output "dashboard_name" {
  description = "Name of the CloudWatch dashboard."
  value       = aws_cloudwatch_dashboard.this.dashboard_name
}

output "dashboard_arn" {
  description = "ARN of the CloudWatch dashboard."
  value       = aws_cloudwatch_dashboard.this.dashboard_arn
}

output "alarm_arns" {
  description = "ARNs of every alarm, by alarm name."
  value = merge(
    { (aws_cloudwatch_metric_alarm.cache_hit_ratio.alarm_name) = aws_cloudwatch_metric_alarm.cache_hit_ratio.arn },
    { for alarm in aws_cloudwatch_metric_alarm.workflow_failure_rate : alarm.alarm_name => alarm.arn },
    { for alarm in aws_cloudwatch_metric_alarm.dead_letter_queue : alarm.alarm_name => alarm.arn },
    { for alarm in aws_cloudwatch_metric_alarm.function : alarm.alarm_name => alarm.arn },
    { for alarm in aws_cloudwatch_metric_alarm.cache_node_memory : alarm.alarm_name => alarm.arn },
    { for alarm in aws_cloudwatch_metric_alarm.serverless_cache_storage : alarm.alarm_name => alarm.arn },
  )
}

output "alarm_topic_arn" {
  description = "The SNS topic the alarms notify, or null when there are no alarm_subscribers."
  value       = try(aws_sns_topic.alarms[0].arn, null)
}

output "kms_key_arn" {
  description = "Key that encrypts the alarm topic, or null when there is no topic."
  value       = local.notify ? local.kms_key_arn : null
}

output "query_definition_id" {
  description = "Id of the saved Logs Insights query of one execution's state transitions, or null without a workflow."
  value       = try(aws_cloudwatch_query_definition.execution_state_transitions[0].query_definition_id, null)
}

output "state_durations_query_definition_id" {
  description = "Id of the saved Logs Insights query of the saga's time and retries per state over a time range, or null without a workflow."
  value       = try(aws_cloudwatch_query_definition.state_durations[0].query_definition_id, null)
}

output "metric_names" {
  description = "The application metrics (in application.namespace) that the dashboard and alarms read."
  value       = sort(values(local.app_metrics))
}
