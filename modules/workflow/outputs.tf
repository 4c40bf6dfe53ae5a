output "arn" {
  description = "State machine ARN (StartExecution; SendTaskSuccess/Failure for callbacks)."
  value       = aws_sfn_state_machine.this.arn
}

output "name" {
  description = "State machine name."
  value       = aws_sfn_state_machine.this.name
}

output "execution_arn_pattern" {
  description = "ARN pattern of its executions, for DescribeExecution / GetExecutionHistory grants."
  value       = "arn:${local.partition}:states:${local.region}:${local.account_id}:execution:${var.name}:*"
}

output "role_arn" {
  description = "Execution role ARN."
  value       = aws_iam_role.this.arn
}

output "log_group_name" {
  description = "Execution log group."
  value       = aws_cloudwatch_log_group.this.name
}

output "kms_key_arn" {
  description = "Key for execution data and logs; callers that read execution history need kms:Decrypt on it."
  value       = local.kms_key_arn
}
