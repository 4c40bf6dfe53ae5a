output "function_name" {
  description = "Function name."
  value       = aws_lambda_function.this.function_name
}

output "function_arn" {
  description = "Unqualified function ARN."
  value       = aws_lambda_function.this.arn
}

output "invoke_target_arn" {
  description = "What callers should invoke: the alias ARN when there is one, else the function ARN."
  value       = var.alias_name == null ? aws_lambda_function.this.arn : aws_lambda_alias.this[0].arn
}

output "invoke_arn" {
  description = "API Gateway integration URI: of the alias when there is one, else of the function."
  value       = var.alias_name == null ? aws_lambda_function.this.invoke_arn : aws_lambda_alias.this[0].invoke_arn
}

output "qualifier" {
  description = "The alias name, or null; Lambda permissions for API Gateway use it."
  value       = var.alias_name
}

output "version" {
  description = "Latest published version, or $LATEST when nothing is published."
  value       = aws_lambda_function.this.version
}

output "role_arn" {
  description = "Execution role ARN."
  value       = aws_iam_role.this.arn
}

output "role_name" {
  description = "Execution role name, for attaching more policies."
  value       = aws_iam_role.this.name
}

output "log_group_name" {
  description = "CloudWatch log group."
  value       = aws_cloudwatch_log_group.this.name
}

output "security_group_id" {
  description = "The function's security group, or null outside a VPC. Give it to the resources the function calls (cache, endpoints)."
  value       = try(aws_security_group.this[0].id, null)
}

output "dead_letter_queue_arn" {
  description = "DLQ ARN, or null."
  value       = try(aws_sqs_queue.dead_letter[0].arn, null)
}

output "kms_key_arn" {
  description = "Key that encrypts the environment, logs and DLQ."
  value       = local.kms_key_arn
}

output "dependencies_layer_arn" {
  description = "ARN of the dependencies layer version, or null."
  value       = try(aws_lambda_layer_version.dependencies[0].arn, null)
}

output "event_source_mapping_uuids" {
  description = "Event source mapping ids by the names given in stream_sources."
  value       = { for key, mapping in aws_lambda_event_source_mapping.stream : key => mapping.uuid }
}
