# Every option: a state machine's executions and its saved state-transition query, a serverless
# cache, a stream consumer, and alarms that notify an email address through a KMS-encrypted topic
# whose key the example brings.
provider "aws" {
  region = "eu-west-1"
}

data "aws_caller_identity" "current" {}
data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  log_group  = "/aws/vendedlogs/states/example-observability-checkout"
}

# One key for the example: the state machine's log group and the alarm topic. CloudWatch Logs
# and CloudWatch alarms may use it, each only for this account.
resource "aws_kms_key" "shared" {
  description         = "Shared key of the observability example"
  enable_key_rotation = true
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "AccountAdministers"
        Effect    = "Allow"
        Principal = { AWS = "arn:aws:iam::${local.account_id}:root" }
        Action    = "kms:*"
        Resource  = "*"
      },
      {
        Sid       = "CloudWatchLogsEncrypts"
        Effect    = "Allow"
        Principal = { Service = "logs.${data.aws_region.current.region}.amazonaws.com" }
        Action    = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
        Resource  = "*"
        Condition = { ArnLike = { "kms:EncryptionContext:aws:logs:arn" = "arn:aws:logs:${data.aws_region.current.region}:${local.account_id}:log-group:${local.log_group}" } }
      },
      {
        Sid       = "CloudWatchAlarmsPublish"
        Effect    = "Allow"
        Principal = { Service = "cloudwatch.amazonaws.com" }
        Action    = ["kms:Decrypt", "kms:GenerateDataKey*"]
        Resource  = "*"
        Condition = { StringEquals = { "aws:SourceAccount" = local.account_id } }
      },
    ]
  })
}

# The log group a state machine (modules/workflow) would log its executions to.
resource "aws_cloudwatch_log_group" "executions" {
  name              = local.log_group
  retention_in_days = 365
  kms_key_id        = aws_kms_key.shared.arn
}

module "observability" {
  source = "../.."

  name = "example-observability-complete"

  application = { namespace = "ServerlessState", cache_service = "catalog" }
  functions = {
    catalog           = "example-catalog"
    cache_invalidator = "example-cache-invalidator"
  }
  stream_consumer_functions = ["example-cache-invalidator"]
  dead_letter_queue_arns = {
    cache_invalidator = "arn:aws:sqs:${data.aws_region.current.region}:${local.account_id}:example-cache-invalidator-dlq"
  }
  workflow = {
    state_machine_arn = "arn:aws:states:${data.aws_region.current.region}:${local.account_id}:stateMachine:example-observability-checkout"
    log_group_name    = aws_cloudwatch_log_group.executions.name
  }
  cache = { mode = "serverless", name = "example-catalog", max_data_storage_gb = 2 }

  alarms = {
    period_seconds                    = 60
    evaluation_periods                = 5
    cache_hit_ratio_min               = 0.9
    workflow_failure_rate_max_percent = 1
    cache_memory_max_percent          = 75
  }
  alarm_subscribers = [{ protocol = "email", endpoint = "alerts@example.com" }]
  kms               = { create_key = false, key_arn = aws_kms_key.shared.arn }
  tags              = { example = "complete" }
}

output "alarm_topic_arn" {
  description = "The topic the alarms notify (the email subscription waits for its confirmation)."
  value       = module.observability.alarm_topic_arn
}

output "query_definition_id" {
  description = "The saved Logs Insights query of one execution's state transitions."
  value       = module.observability.query_definition_id
}

output "state_durations_query_definition_id" {
  description = "The saved Logs Insights query of the saga's time and retries per state."
  value       = module.observability.state_durations_query_definition_id
}
