output "api_id" {
  description = "HTTP API ID."
  value       = aws_apigatewayv2_api.this.id
}

output "api_endpoint" {
  description = "Base URL of the $default stage."
  value       = aws_apigatewayv2_api.this.api_endpoint
}

output "execution_arn" {
  description = "Execution ARN, for IAM policies of AWS_IAM callers (execute-api:Invoke)."
  value       = aws_apigatewayv2_api.this.execution_arn
}

output "route_keys" {
  description = "The routes served."
  value       = keys(var.routes)
}

output "access_log_group_name" {
  description = "Access log group."
  value       = aws_cloudwatch_log_group.access.name
}

output "integration_ids" {
  description = "Integration ID per target: the function name, or `function_name:qualifier` for an alias. One per target, however many routes share it."
  value       = { for target, integration in aws_apigatewayv2_integration.this : target => integration.id }
}
