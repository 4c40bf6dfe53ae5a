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

output "function_arns" {
  description = "Function ARNs (unqualified) by role in the shop."
  value       = { for key, function in module.function : key => function.function_arn }
}

output "log_group_names" {
  description = "Each function's log group, by role."
  value       = { for key, function in module.function : key => function.log_group_name }
}

output "routes" {
  description = "The HTTP API's route table: route key to the function (by role) that serves it."
  value       = local.routes
}

output "cache" {
  description = "How the catalog reaches its cache: endpoint, port, IAM user, and the name its tokens sign."
  value = {
    endpoint = module.cache.endpoint
    port     = module.cache.port
    user_id  = module.cache.user_id
    name     = module.cache.cache_name
  }
}

output "observability" {
  description = "The dashboard's name, every alarm's name, the topic they notify (null without subscribers), and the ids of the saved queries of one order's state transitions and of the saga's time per state."
  value = {
    dashboard_name      = module.observability.dashboard_name
    alarm_names         = sort(keys(module.observability.alarm_arns))
    alarm_topic_arn     = module.observability.alarm_topic_arn
    query_definition_id = module.observability.query_definition_id
    # The saga's time and retries per state (docs/observability.md, "Finding the saga's bottleneck").
    state_durations_query_definition_id = module.observability.state_durations_query_definition_id
  }
}

output "fault_injection_templates" {
  description = "FIS experiment template ids by key (lambda_invocation_error, lambda_invocation_add_delay, cache_interrupt_az_power, cache_disrupt_connectivity): what `make chaos ENV=<env>` starts (drivers/chaos/faults.py). {} where fault_injection.enabled is false."
  value       = local.fault_injection_on ? module.fault_injection[0].experiment_template_ids : {}
}
