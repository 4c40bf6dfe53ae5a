# Alarms. Each notifies the alarm topic (when there are subscribers) on ALARM and on OK. Every
# for_each key is one the caller chose, so the set of alarms is known at plan even when the
# functions, queues and state machine are created in the same apply.

locals {
  alarm_common = {
    period             = var.alarms.period_seconds
    evaluation_periods = var.alarms.evaluation_periods
  }
}

# The catalog's hit ratio, CacheHit / (CacheHit + CacheMiss), from the caching function's EMF.
resource "aws_cloudwatch_metric_alarm" "cache_hit_ratio" {
  alarm_name          = "${local.alarm_prefix}cache-hit-ratio"
  alarm_description   = "The catalog cache's hit ratio (${local.app_metrics.cache_hit} / (${local.app_metrics.cache_hit} + ${local.app_metrics.cache_miss})) stayed below ${var.alarms.cache_hit_ratio_min}: more reads go to DynamoDB. Look at cache errors, evictions and invalidations on the ${var.name} dashboard."
  comparison_operator = "LessThanThreshold"
  threshold           = var.alarms.cache_hit_ratio_min
  evaluation_periods  = local.alarm_common.evaluation_periods
  datapoints_to_alarm = local.alarm_common.evaluation_periods
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  tags                = var.tags

  metric_query {
    id          = "hit_ratio"
    expression  = "FILL(hits, 0) / (FILL(hits, 0) + FILL(misses, 0))"
    label       = "cache hit ratio"
    return_data = true
  }

  metric_query {
    id = "hits"

    metric {
      namespace   = local.namespace
      metric_name = local.app_metrics.cache_hit
      dimensions  = local.cache_dimensions
      period      = local.alarm_common.period
      stat        = "Sum"
    }
  }

  metric_query {
    id = "misses"

    metric {
      namespace   = local.namespace
      metric_name = local.app_metrics.cache_miss
      dimensions  = local.cache_dimensions
      period      = local.alarm_common.period
      stat        = "Sum"
    }
  }
}

# Failed, timed-out and aborted executions as a percentage of the executions that ended.
resource "aws_cloudwatch_metric_alarm" "workflow_failure_rate" {
  count = local.has_workflow ? 1 : 0

  alarm_name          = "${local.alarm_prefix}workflow-failure-rate"
  alarm_description   = "More than ${var.alarms.workflow_failure_rate_max_percent} % of the state machine's ended executions failed, timed out or were aborted. The saved query ${var.name}/execution-state-transitions shows an execution's states."
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.alarms.workflow_failure_rate_max_percent
  evaluation_periods  = local.alarm_common.evaluation_periods
  datapoints_to_alarm = local.alarm_common.evaluation_periods
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  tags                = var.tags

  metric_query {
    id          = "failure_rate"
    expression  = "100 * (FILL(failed, 0) + FILL(timed_out, 0) + FILL(aborted, 0)) / (FILL(succeeded, 0) + FILL(failed, 0) + FILL(timed_out, 0) + FILL(aborted, 0))"
    label       = "failed executions (%)"
    return_data = true
  }

  dynamic "metric_query" {
    for_each = {
      succeeded = "ExecutionsSucceeded"
      failed    = "ExecutionsFailed"
      timed_out = "ExecutionsTimedOut"
      aborted   = "ExecutionsAborted"
    }

    content {
      id = metric_query.key

      metric {
        namespace   = "AWS/States"
        metric_name = metric_query.value
        dimensions  = { StateMachineArn = var.workflow.state_machine_arn }
        period      = local.alarm_common.period
        stat        = "Sum"
      }
    }
  }
}

# Any message in a dead-letter queue is an event that was given up on.
resource "aws_cloudwatch_metric_alarm" "dead_letter_queue" {
  for_each = var.dead_letter_queue_arns

  alarm_name          = "${local.alarm_prefix}dlq-${each.key}"
  alarm_description   = "Messages are waiting in the dead-letter queue of ${each.key}: events that were given up on. Read them, fix the cause, and redrive or delete them."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = local.dlq_queue_names[each.key] }
  statistic           = "Maximum"
  period              = local.alarm_common.period
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  tags                = var.tags
}

# Errors and throttles of every function: the same alarm on two of Lambda's metrics.
locals {
  function_alarm_kinds = {
    errors = {
      metric_name = "Errors"
      threshold   = var.alarms.lambda_errors_max
      description = "failed more than ${var.alarms.lambda_errors_max} invocation(s) in ${var.alarms.period_seconds} s. Its log group has the stack traces."
    }
    throttles = {
      metric_name = "Throttles"
      threshold   = var.alarms.lambda_throttles_max
      description = "was throttled more than ${var.alarms.lambda_throttles_max} time(s) in ${var.alarms.period_seconds} s: its reserved concurrency or the account's limit is reached."
    }
  }
  # Keys "errors-cart", "throttles-cart", ...: the caller's function keys, known at plan.
  function_alarms = merge([
    for kind, alarm in local.function_alarm_kinds : {
      for key, function_name in var.functions : "${kind}-${key}" => merge(alarm, { function_name = function_name })
    }
  ]...)
}

resource "aws_cloudwatch_metric_alarm" "function" {
  for_each = local.function_alarms

  alarm_name          = "${local.alarm_prefix}${each.key}"
  alarm_description   = "Function ${each.value.function_name} ${each.value.description}"
  namespace           = "AWS/Lambda"
  metric_name         = each.value.metric_name
  dimensions          = { FunctionName = each.value.function_name }
  statistic           = "Sum"
  period              = local.alarm_common.period
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = each.value.threshold
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  tags                = var.tags
}

# Memory of each node of a replication group: past the threshold, Valkey evicts keys.
resource "aws_cloudwatch_metric_alarm" "cache_node_memory" {
  for_each = local.cache_nodes

  alarm_name          = "${local.alarm_prefix}cache-memory-${each.key}"
  alarm_description   = "Cache node ${each.value} uses more than ${var.alarms.cache_memory_max_percent} % of its memory; past maxmemory it evicts keys and the hit ratio falls. Scale the node type up."
  namespace           = "AWS/ElastiCache"
  metric_name         = "DatabaseMemoryUsagePercentage"
  dimensions          = { CacheClusterId = each.value }
  statistic           = "Maximum"
  period              = local.alarm_common.period
  evaluation_periods  = local.alarm_common.evaluation_periods
  datapoints_to_alarm = local.alarm_common.evaluation_periods
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.alarms.cache_memory_max_percent
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  tags                = var.tags
}

# A serverless cache's storage as a percentage of its limit: at the limit, writes fail.
resource "aws_cloudwatch_metric_alarm" "serverless_cache_storage" {
  count = local.cache_mode == "serverless" ? 1 : 0

  alarm_name          = "${local.alarm_prefix}cache-storage"
  alarm_description   = "Serverless cache ${var.cache.name} uses more than ${var.alarms.cache_memory_max_percent} % of its ${var.cache.max_data_storage_gb} GB storage limit. Raise the limit or shorten TTLs."
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.alarms.cache_memory_max_percent
  evaluation_periods  = local.alarm_common.evaluation_periods
  datapoints_to_alarm = local.alarm_common.evaluation_periods
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  tags                = var.tags

  metric_query {
    id          = "storage_used"
    expression  = "100 * bytes / ${var.cache.max_data_storage_gb * 1073741824}"
    label       = "storage used (% of the limit)"
    return_data = true
  }

  metric_query {
    id = "bytes"

    metric {
      namespace   = "AWS/ElastiCache"
      metric_name = "BytesUsedForCache"
      dimensions  = { clusterId = var.cache.name }
      period      = local.alarm_common.period
      stat        = "Maximum"
    }
  }
}
