provider "aws" {
  region = var.region

  default_tags {
    tags = {
      project     = "serverless-state"
      environment = "staging"
      managed-by  = "terraform"
    }
  }
}

module "shop" {
  source = "../../terraform"

  environment            = "staging"
  network                = var.network
  state_table            = var.state_table
  functions              = var.functions
  cache                  = var.cache
  api                    = var.api
  observability          = var.observability
  checkout_engine        = var.checkout_engine
  durable_checkout       = var.durable_checkout
  fault_injection        = var.fault_injection
  function_package_zip   = var.function_package_zip
  dependencies_layer_zip = var.dependencies_layer_zip
}

output "api_url" {
  description = "Base URL of the shop's HTTP API."
  value       = module.shop.api_url
}

output "table_name" {
  description = "The state table."
  value       = module.shop.table_name
}

output "function_names" {
  description = "Function names by role."
  value       = module.shop.function_names
}

output "stack" {
  description = "Every output of the stack: the drivers (drivers/target.py) read names, ARNs and routes from here."
  value       = module.shop
}
