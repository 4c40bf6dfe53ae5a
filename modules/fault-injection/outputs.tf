output "experiment_template_ids" {
  description = "Experiment template ids by key: lambda_invocation_error, lambda_invocation_add_delay (each when configured), cache_interrupt_az_power and cache_disrupt_connectivity (with a cache). Start one with `aws fis start-experiment --experiment-template-id`."
  value = merge(
    { for key, template in aws_fis_experiment_template.lambda : key => template.id },
    { for template in aws_fis_experiment_template.cache_interrupt_az_power : "cache_interrupt_az_power" => template.id },
    { for template in aws_fis_experiment_template.cache_disrupt_connectivity : "cache_disrupt_connectivity" => template.id },
  )
}

output "role_arns" {
  description = "The FIS role of each template, by template key."
  value       = { for key, role in aws_iam_role.experiment : key => role.arn }
}

output "lambda_layer_arn" {
  description = "The FIS extension layer version for lambda_faults.architecture in this region: add it to every target function's layers. null without Lambda faults."
  value       = local.extension_layer_arn
}

output "lambda_environment" {
  description = "The environment variables every target function needs for the FIS extension (AWS_FIS_CONFIGURATION_LOCATION, AWS_LAMBDA_EXEC_WRAPPER). {} without Lambda faults."
  value = local.has_lambda_faults ? {
    AWS_FIS_CONFIGURATION_LOCATION = "arn:${local.partition}:s3:::${local.configuration_bucket}/${local.configuration_prefix}"
    AWS_LAMBDA_EXEC_WRAPPER        = "/opt/aws-fis/bootstrap"
  } : {}
}

output "lambda_policy_statements" {
  description = "What a target function's role needs to read its fault configuration (list the prefix, get its objects, decrypt them). Fits lambda-function's policy_statements. [] without Lambda faults."
  value = local.has_lambda_faults ? [
    {
      sid        = "ListFisConfigurations"
      actions    = ["s3:ListBucket"]
      resources  = [aws_s3_bucket.configuration[0].arn]
      conditions = [{ test = "StringLike", variable = "s3:prefix", values = ["${local.configuration_prefix}*"] }]
    },
    {
      sid        = "ReadFisConfigurations"
      actions    = ["s3:GetObject"]
      resources  = ["${aws_s3_bucket.configuration[0].arn}/${local.configuration_prefix}*"]
      conditions = []
    },
    {
      sid        = "DecryptFisConfigurations"
      actions    = ["kms:Decrypt"]
      resources  = [local.kms_key_arn]
      conditions = [{ test = "StringEquals", variable = "kms:ViaService", values = ["s3.${local.region}.amazonaws.com"] }]
    },
  ] : []
}

output "configuration_bucket" {
  description = "Name of the extension's configuration bucket, or null without Lambda faults."
  value       = try(aws_s3_bucket.configuration[0].bucket, null)
}

output "log_group_name" {
  description = "The experiments' log group."
  value       = aws_cloudwatch_log_group.experiments.name
}

output "kms_key_arn" {
  description = "Key of the configuration bucket and the log group."
  value       = local.kms_key_arn
}
