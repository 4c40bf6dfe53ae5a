# The shop, composed from modules/. Each strategy is a slice:
#   external database -> state_table + the cart function
#   cache             -> modules/cache + the catalog function + the cache invalidator (table stream)
#   orchestration     -> modules/workflow + the checkout and order-steps functions
#   idempotency       -> Powertools records in the state table (checkout)
#   observability     -> seam: modules/observability
# The functions themselves are in functions.tf: one module block, one entry per function.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  name = "${var.project}-${var.environment}"
  tags = merge(var.tags, { project = var.project, environment = var.environment })

  # The state machine's ARN is known before it exists; the checkout function uses it
  # without depending on the workflow module, which itself depends on the functions.
  checkout_state_machine_name = "${local.name}-checkout"
  checkout_state_machine_arn  = "arn:${data.aws_partition.current.partition}:states:${data.aws_region.current.region}:${data.aws_caller_identity.current.account_id}:stateMachine:${local.checkout_state_machine_name}"
  checkout_executions_arn     = "arn:${data.aws_partition.current.partition}:states:${data.aws_region.current.region}:${data.aws_caller_identity.current.account_id}:execution:${local.checkout_state_machine_name}:*"

  routes = {
    "GET /carts/{cart_id}"             = "cart"
    "PUT /carts/{cart_id}"             = "cart"
    "DELETE /carts/{cart_id}"          = "cart"
    "POST /carts/{cart_id}/items"      = "cart"
    "GET /products/{sku}"              = "catalog"
    "PUT /products/{sku}"              = "catalog"
    "POST /orders"                     = "checkout"
    "GET /orders/{order_id}"           = "checkout"
    "POST /orders/{order_id}/approval" = "checkout"
  }
}

module "network" {
  source = "../modules/network"

  name                        = local.name
  cidr_block                  = var.network.cidr_block
  az_count                    = var.network.az_count
  interface_endpoint_az_count = var.network.interface_endpoint_az_count
  nat_gateway                 = { enabled = var.network.nat_gateway }
  interface_endpoints         = ["states", "sts", "kms", "logs", "xray"]
  flow_logs                   = { retention_in_days = var.functions.log_retention_in_days }
  tags                        = local.tags
}

module "state_table" {
  source = "../modules/state-table"

  name          = "${local.name}-state"
  keys          = { partition = "pk", sort = "sk" }
  ttl_attribute = "expires_at"
  # Feeds the cache invalidator, so every product change reaches the catalog cache, whoever wrote
  # it. Keys are all it needs: it deletes by SKU and never reads the item.
  stream                      = { enabled = true, view_type = "KEYS_ONLY" }
  deletion_protection         = var.state_table.deletion_protection
  point_in_time_recovery_days = var.state_table.recovery_period_in_days
  tags                        = local.tags
}

module "cache" {
  source = "../modules/cache"

  name                  = "${local.name}-catalog"
  mode                  = var.cache.mode
  vpc_id                = module.network.vpc_id
  subnet_ids            = module.network.private_subnet_ids
  log_retention_in_days = var.functions.log_retention_in_days
  tags                  = local.tags

  replication_group = {
    node_type                = var.cache.node_type
    replicas                 = var.cache.replicas
    snapshot_retention_limit = var.cache.snapshot_days
  }
}

module "checkout_workflow" {
  source = "../modules/workflow"

  name                 = local.checkout_state_machine_name
  definition_template  = "${path.module}/workflows/checkout.asl.json"
  template_variables   = { order_steps_arn = module.function["order_steps"].invoke_target_arn }
  lambda_function_arns = [module.function["order_steps"].function_arn]
  logging              = { level = "ALL", retention_in_days = var.functions.log_retention_in_days }
  tags                 = local.tags
}

module "http_api" {
  source = "../modules/http-api"

  name = "${local.name}-api"
  routes = {
    for route, function in local.routes : route => {
      function_name = module.function[function].function_name
      invoke_arn    = module.function[function].invoke_arn
      qualifier     = module.function[function].qualifier
    }
  }
  authorization = {
    type = var.api.authorization_type
    jwt  = var.api.authorization_type == "JWT" ? { issuer = var.api.jwt_issuer, audience = var.api.jwt_audience } : null
  }
  throttling  = { rate_limit = var.api.rate_limit, burst_limit = var.api.burst_limit }
  access_logs = { retention_in_days = var.api.log_retention_in_days }
  tags        = local.tags
}
