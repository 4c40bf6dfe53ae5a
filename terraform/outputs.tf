output "api_url" {
  description = "Base URL of the shop's HTTP API."
  value       = module.http_api.api_endpoint
}

output "table_name" {
  description = "The state table."
  value       = module.state_table.name
}

output "function_names" {
  description = "Function names by role in the shop."
  value       = { for key, function in module.function : key => function.function_name }
}

output "vpc_id" {
  description = "The shop's VPC."
  value       = module.network.vpc_id
}

output "cache_endpoint" {
  description = "The catalog cache's endpoint (TLS; IAM authentication as the app user)."
  value       = "${module.cache.endpoint}:${module.cache.port}"
}

output "checkout_state_machine_arn" {
  description = "The checkout saga."
  value       = module.checkout_workflow.arn
}
