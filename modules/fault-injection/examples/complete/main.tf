# A multi-AZ Valkey replication group and its subnets: power to its nodes in one AZ cut, and
# its subnets cut off, each stopped by the cache's memory alarms from modules/observability.
provider "aws" {
  region = "eu-west-1"
}

locals {
  tags = { example = "fault-injection-complete" }
}

module "network" {
  source = "../../../network"

  name = "example-fis-cache"
  tags = local.tags
}

module "cache" {
  source = "../../../cache"

  name              = "example-fis-cache"
  vpc_id            = module.network.vpc_id
  subnet_ids        = module.network.private_subnet_ids
  replication_group = { replicas = 1 } # Multi-AZ: the AZ power action needs it
  tags              = local.tags
}

module "observability" {
  source = "../../../observability"

  name  = "example-fis-cache"
  cache = { mode = "replication_group", name = module.cache.cache_name, nodes = 2 }
}

module "fault_injection" {
  source = "../.."

  name                      = "example-fis-cache"
  stop_condition_alarm_arns = [for name, arn in module.observability.alarm_arns : arn if startswith(name, "example-fis-cache-cache-")]
  cache = {
    replication_group_id  = module.cache.cache_name
    replication_group_arn = module.cache.cache_arn
    resource_tags         = local.tags
    availability_zone     = module.network.availability_zones[0]
    vpc_id                = module.network.vpc_id
    subnet_ids            = module.network.private_subnet_ids
  }
}

output "experiment_template_ids" {
  description = "Start one with `aws fis start-experiment --experiment-template-id <id>`."
  value       = module.fault_injection.experiment_template_ids
}
