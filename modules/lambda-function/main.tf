data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  partition      = data.aws_partition.current.partition
  region         = data.aws_region.current.region
  account_id     = data.aws_caller_identity.current.account_id
  log_group_name = "/aws/lambda/${var.function_name}"
  create_key     = var.kms_key_arn == null
  kms_key_arn    = local.create_key ? aws_kms_key.this[0].arn : var.kms_key_arn
  # A durable execution replays on the version it started on, so durable functions always publish.
  publish     = var.snap_start || var.alias_name != null || var.durable_config != null
  runtime_tag = replace(var.runtime, ".", "")

  powertools_layer_arn = "arn:${local.partition}:lambda:${local.region}:${var.powertools_layer.account_id}:layer:AWSLambdaPowertoolsPythonV3-${local.runtime_tag}-${var.architecture}:${var.powertools_layer.version}"
  layers = concat(
    var.powertools_layer.enabled ? [local.powertools_layer_arn] : [],
    var.dependencies_layer == null ? [] : [aws_lambda_layer_version.dependencies[0].arn],
    var.layers,
  )
}

resource "aws_lambda_layer_version" "dependencies" {
  count = var.dependencies_layer == null ? 0 : 1

  layer_name               = "${var.function_name}-dependencies"
  filename                 = var.dependencies_layer.zip_path
  source_code_hash         = filebase64sha256(var.dependencies_layer.zip_path)
  compatible_runtimes      = [var.runtime]
  compatible_architectures = [var.architecture]
}

resource "aws_cloudwatch_log_group" "this" {
  name              = local.log_group_name
  retention_in_days = var.log_retention_in_days
  kms_key_id        = local.kms_key_arn
  tags              = var.tags
}

resource "aws_sqs_queue" "dead_letter" {
  count = var.dead_letter_queue.enabled ? 1 : 0

  name                              = "${var.function_name}-dlq"
  message_retention_seconds         = var.dead_letter_queue.message_retention_seconds
  kms_master_key_id                 = local.kms_key_arn
  kms_data_key_reuse_period_seconds = 300
  tags                              = var.tags
}

# Lambda turns durable execution on only when it creates a function, so switching it on or off
# must replace the function rather than attempt an update the API refuses.
resource "terraform_data" "durable_mode" {
  input = var.durable_config != null
}

resource "aws_lambda_function" "this" {
  function_name                      = var.function_name
  description                        = var.description
  role                               = aws_iam_role.this.arn
  handler                            = var.handler
  runtime                            = var.runtime
  architectures                      = [var.architecture]
  memory_size                        = var.memory_size
  timeout                            = var.timeout
  reserved_concurrent_executions     = var.reserved_concurrency
  filename                           = var.package_path
  source_code_hash                   = filebase64sha256(var.package_path)
  layers                             = local.layers
  kms_key_arn                        = local.kms_key_arn
  publish                            = local.publish
  code_signing_config_arn            = var.code_signing_config_arn
  replace_security_groups_on_destroy = var.vpc != null
  tags                               = var.tags

  # Only when there are variables: an empty environment block reads back as a change, and
  # with publish on, every apply would then publish a new version (provider issue #43763).
  dynamic "environment" {
    for_each = length(var.environment_variables) > 0 ? [var.environment_variables] : []
    content {
      variables = environment.value
    }
  }

  logging_config {
    log_format            = "JSON"
    log_group             = aws_cloudwatch_log_group.this.name
    application_log_level = var.log_level
    system_log_level      = "WARN"
  }

  tracing_config {
    mode = var.tracing_mode
  }

  dynamic "dead_letter_config" {
    for_each = var.dead_letter_queue.enabled ? [aws_sqs_queue.dead_letter[0].arn] : []
    content {
      target_arn = dead_letter_config.value
    }
  }

  dynamic "vpc_config" {
    for_each = var.vpc == null ? [] : [var.vpc]
    content {
      subnet_ids         = vpc_config.value.subnet_ids
      security_group_ids = concat([aws_security_group.this[0].id], vpc_config.value.security_group_ids)
    }
  }

  # Only settable at creation: the API refuses to turn durable execution on for an existing function.
  dynamic "durable_config" {
    for_each = var.durable_config == null ? [] : [var.durable_config]
    content {
      execution_timeout = durable_config.value.execution_timeout
      retention_period  = durable_config.value.retention_period
    }
  }

  dynamic "snap_start" {
    for_each = var.snap_start ? ["PublishedVersions"] : []
    content {
      apply_on = snap_start.value
    }
  }

  # The role must be able to write logs and (in a VPC) create ENIs before the first
  # invocation, or creation fails with "execution role does not have permissions to
  # call CreateNetworkInterface".
  depends_on = [
    aws_iam_role_policy.this,
    aws_iam_role_policy_attachment.vpc_access,
    aws_cloudwatch_log_group.this,
  ]

  lifecycle {
    replace_triggered_by = [terraform_data.durable_mode]
  }
}

resource "aws_lambda_alias" "this" {
  count = var.alias_name == null ? 0 : 1

  name             = var.alias_name
  description      = "Latest published version of ${var.function_name}"
  function_name    = aws_lambda_function.this.function_name
  function_version = aws_lambda_function.this.version
}
