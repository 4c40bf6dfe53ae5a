data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  partition      = data.aws_partition.current.partition
  region         = data.aws_region.current.region
  account_id     = data.aws_caller_identity.current.account_id
  log_group_name = "/aws/vendedlogs/states/${var.name}"
  create_key     = var.kms_key_arn == null
  kms_key_arn    = local.create_key ? aws_kms_key.this[0].arn : var.kms_key_arn
  definition     = templatefile(var.definition_template, var.template_variables)
}

resource "aws_cloudwatch_log_group" "this" {
  name              = local.log_group_name
  retention_in_days = var.logging.retention_in_days
  kms_key_id        = local.kms_key_arn
  tags              = var.tags
}

resource "aws_sfn_state_machine" "this" {
  #checkov:skip=CKV_AWS_285:execution logging is on (level ALL by default); payload logging (include_execution_data) is a documented opt-in because payloads may hold personal data
  name       = var.name
  type       = var.type
  role_arn   = aws_iam_role.this.arn
  definition = local.definition
  tags       = var.tags

  logging_configuration {
    level                  = var.logging.level
    include_execution_data = var.logging.include_execution_data
    log_destination        = "${aws_cloudwatch_log_group.this.arn}:*"
  }

  tracing_configuration {
    enabled = true
  }

  encryption_configuration {
    type                              = "CUSTOMER_MANAGED_KMS_KEY"
    kms_key_id                        = local.kms_key_arn
    kms_data_key_reuse_period_seconds = 300
  }

  depends_on = [aws_iam_role_policy.this]
}
