# FIS experiment templates for the shop, one per fault, each with its own role that may touch
# only that template's targets, CloudWatch alarms as stop conditions, and its log in a
# KMS-encrypted log group. Template keys are fixed names (outputs.experiment_template_ids),
# known at plan: drivers/chaos/ starts them by key.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  partition   = data.aws_partition.current.partition
  region      = data.aws_region.current.region
  account_id  = data.aws_caller_identity.current.account_id
  create_key  = var.kms_key_arn == null
  kms_key_arn = local.create_key ? aws_kms_key.this[0].arn : var.kms_key_arn

  lambda_faults = {
    for key, fault in {
      lambda_invocation_error = var.lambda_faults.invocation_error == null ? null : {
        action_id   = "aws:lambda:invocation-error"
        description = "Fail ${var.lambda_faults.invocation_error.invocation_percentage}% of the invocations of ${join(", ", var.lambda_faults.invocation_error.functions)} for ${var.lambda_faults.invocation_error.duration}${var.lambda_faults.invocation_error.prevent_execution ? " without running them" : " after their code has run"}"
        functions   = var.lambda_faults.invocation_error.functions
        parameters = {
          duration             = var.lambda_faults.invocation_error.duration
          invocationPercentage = tostring(var.lambda_faults.invocation_error.invocation_percentage)
          preventExecution     = tostring(var.lambda_faults.invocation_error.prevent_execution)
        }
      }
      lambda_invocation_add_delay = var.lambda_faults.invocation_add_delay == null ? null : {
        action_id   = "aws:lambda:invocation-add-delay"
        description = "Delay ${var.lambda_faults.invocation_add_delay.invocation_percentage}% of the invocations of ${join(", ", var.lambda_faults.invocation_add_delay.functions)} by ${var.lambda_faults.invocation_add_delay.startup_delay_milliseconds} ms for ${var.lambda_faults.invocation_add_delay.duration}"
        functions   = var.lambda_faults.invocation_add_delay.functions
        parameters = {
          duration                 = var.lambda_faults.invocation_add_delay.duration
          invocationPercentage     = tostring(var.lambda_faults.invocation_add_delay.invocation_percentage)
          startupDelayMilliseconds = tostring(var.lambda_faults.invocation_add_delay.startup_delay_milliseconds)
        }
      }
    } : key => fault if fault != null
  }
  has_lambda_faults = length(local.lambda_faults) > 0
  has_cache         = var.cache != null

  # Where FIS writes a running experiment's fault configuration and the extension reads it. The
  # name is known at plan, so the functions' environment is too (not "known after apply").
  configuration_prefix = "FisConfigs/"
  configuration_bucket = "${var.name}-fis-config-${local.account_id}"

  # The FIS extension for Lambda: AWS publishes each region's layer version ARN, per
  # architecture, as an SSM public parameter ("Available versions of the AWS FIS extension
  # for Lambda", https://docs.aws.amazon.com/fis/latest/userguide/actions-lambda-extension-arns.html).
  extension_layer_parameter = "/aws/service/fis/lambda-extension/AWS-FIS-extension-${var.lambda_faults.architecture}/1.x.x"
  extension_layer_arn = !local.has_lambda_faults ? null : (
    var.lambda_faults.extension_layer_arn != null ? var.lambda_faults.extension_layer_arn : nonsensitive(data.aws_ssm_parameter.extension_layer[0].value)
  )

  subnet_arns = local.has_cache ? [for id in var.cache.subnet_ids : "arn:${local.partition}:ec2:${local.region}:${local.account_id}:subnet/${id}"] : []
}

data "aws_ssm_parameter" "extension_layer" {
  count = local.has_lambda_faults && var.lambda_faults.extension_layer_arn == null ? 1 : 0

  name = local.extension_layer_parameter
}
