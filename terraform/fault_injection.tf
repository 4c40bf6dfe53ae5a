# FIS experiment templates for `make chaos ENV=staging` (modules/fault-injection): Lambda
# invocation errors on the saga's steps and delays on checkout through AWS's FIS extension layer,
# and, where the cache is a Multi-AZ replication group, its AZ power and its subnets'
# connectivity. Every template stops on the saga's failure rate and the dead-letter queues.
# Off unless fault_injection.enabled (staging turns it on).

locals {
  fault_injection_on = var.fault_injection.enabled
  fault_injection_faults = {
    invocation_error = {
      functions             = var.fault_injection.invocation_error.functions
      duration              = var.fault_injection.invocation_error.duration
      invocation_percentage = var.fault_injection.invocation_error.invocation_percentage
    }
    invocation_add_delay = {
      functions             = var.fault_injection.invocation_add_delay.functions
      duration              = var.fault_injection.invocation_add_delay.duration
      invocation_percentage = var.fault_injection.invocation_add_delay.invocation_percentage
      # Past the longest timeout of its functions: each delayed invocation times out.
      startup_delay_milliseconds = coalesce(
        var.fault_injection.invocation_add_delay.startup_delay_milliseconds,
        (max([for key in var.fault_injection.invocation_add_delay.functions : local.functions[key].timeout]...) + 2) * 1000,
      )
    }
  }
  # The functions that get the extension: its layer, environment and read access to its bucket.
  fault_injection_targets = local.fault_injection_on ? toset(concat(var.fault_injection.invocation_error.functions, var.fault_injection.invocation_add_delay.functions)) : toset([])

  fault_injection_layers            = { for key in local.fault_injection_targets : key => [module.fault_injection[0].lambda_layer_arn] }
  fault_injection_environment       = { for key in local.fault_injection_targets : key => module.fault_injection[0].lambda_environment }
  fault_injection_policy_statements = { for key in local.fault_injection_targets : key => module.fault_injection[0].lambda_policy_statements }

  # The AZ power action needs Multi-AZ nodes (a serverless cache has none).
  fault_injection_cache = var.cache.mode == "replication_group" && var.cache.replicas > 0
  fault_injection_stop_alarms = [
    for name in ["workflow-failure-rate", "dlq-order_steps", "dlq-checkout"] :
    module.observability.alarm_arns["${local.name}-${name}"]
  ]
}

module "fault_injection" {
  source = "../modules/fault-injection"
  count  = local.fault_injection_on ? 1 : 0

  name                      = local.name
  stop_condition_alarm_arns = local.fault_injection_stop_alarms
  lambda_functions          = { for key in local.fault_injection_targets : key => module.function[key].function_arn }
  lambda_faults = {
    invocation_error     = local.fault_injection_faults.invocation_error
    invocation_add_delay = local.fault_injection_faults.invocation_add_delay
  }
  cache = local.fault_injection_cache ? {
    replication_group_id  = module.cache.cache_name
    replication_group_arn = module.cache.cache_arn
    resource_tags         = local.tags
    availability_zone     = module.network.availability_zones[0]
    vpc_id                = module.network.vpc_id
    subnet_ids            = module.network.private_subnet_ids
  } : null
  log_retention_in_days = var.fault_injection.log_retention_in_days
  tags                  = local.tags
}
