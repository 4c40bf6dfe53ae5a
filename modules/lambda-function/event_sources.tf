# Stream triggers: DynamoDB (or Kinesis) streams read by Lambda's event source mappings.
# Keyed by names the caller chooses, so plan knows the set before any ARN exists.
# Every mapping reports partial batch failures, bisects a failing batch, gives up after a
# bounded number of retries or a maximum record age, and then sends the batch's
# description to an on-failure destination (the function's own KMS-encrypted DLQ unless
# another is given): a poisoned record neither blocks its shard for long nor vanishes.

locals {
  invoked_arn = var.alias_name == null ? aws_lambda_function.this.arn : aws_lambda_alias.this[0].arn
  stream_failure_destinations = {
    for key, source in var.stream_sources :
    key => source.on_failure_destination_arn != null ? source.on_failure_destination_arn : aws_sqs_queue.dead_letter[0].arn
  }
}

resource "aws_lambda_event_source_mapping" "stream" {
  for_each = var.stream_sources

  event_source_arn                   = each.value.stream_arn
  function_name                      = local.invoked_arn
  starting_position                  = each.value.starting_position
  batch_size                         = each.value.batch_size
  maximum_batching_window_in_seconds = each.value.maximum_batching_window_in_seconds
  parallelization_factor             = each.value.parallelization_factor
  bisect_batch_on_function_error     = true
  maximum_retry_attempts             = each.value.maximum_retry_attempts
  maximum_record_age_in_seconds      = each.value.maximum_record_age_in_seconds
  function_response_types            = ["ReportBatchItemFailures"]

  dynamic "filter_criteria" {
    for_each = length(each.value.filter_patterns) > 0 ? [each.value.filter_patterns] : []
    content {
      dynamic "filter" {
        for_each = filter_criteria.value
        content {
          pattern = filter.value
        }
      }
    }
  }

  destination_config {
    on_failure {
      destination_arn = local.stream_failure_destinations[each.key]
    }
  }

  # The role must be able to read the stream before Lambda starts polling it.
  depends_on = [aws_iam_role_policy.this]
}
