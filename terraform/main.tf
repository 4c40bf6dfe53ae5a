# The shop, composed from modules/. Each strategy is a slice:
#   external database -> state_table + the cart function
#   cache             -> modules/cache + the catalog function + the cache invalidator (table stream)
#   orchestration     -> modules/workflow + the checkout and order-steps functions
#   idempotency       -> Powertools records in the state table (checkout)
#   observability     -> modules/observability: dashboard, alarms (and their topic), saved query
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
  # The durable checkout's name and alias, known before the function exists (checkout invokes it).
  checkout_durable_name   = "${local.name}-checkout-durable"
  checkout_durable_arn    = "arn:${data.aws_partition.current.partition}:lambda:${data.aws_region.current.region}:${data.aws_caller_identity.current.account_id}:function:${local.checkout_durable_name}"
  checkout_executions_arn = "arn:${data.aws_partition.current.partition}:states:${data.aws_region.current.region}:${data.aws_caller_identity.current.account_id}:execution:${local.checkout_state_machine_name}:*"

  # The AWS APIs that the in-VPC functions (functions.tf, in_vpc = true: catalog and the cache
  # invalidator) call from inside the VPC, each through an interface endpoint, since the private
  # subnets have no NAT. Worked out from their code and roles:
  # - xray: Lambda's X-Ray daemon runs in the execution environment and relays segments to the
  #   X-Ray API (https://docs.aws.amazon.com/xray/latest/devguide/xray-services-lambda.html).
  # - DynamoDB: the gateway endpoint (modules/network), not an interface endpoint.
  # - not needed: logs (Lambda's service ships stdout, EMF metrics included, to CloudWatch Logs);
  #   kms (DynamoDB, Lambda and SQS use the keys on the caller's behalf; the function calls no KMS
  #   API); sts (Lambda hands the function its role's credentials); the ElastiCache IAM token is a
  #   SigV4 presign made locally, checked by the cache itself, reached through its security group;
  #   states and lambda (only checkout and checkout-durable call them, and they run outside the VPC).
  # tests/terraform/test_network_paths.py fails when an in-VPC function's role grants an action
  # on a service that has no path here.
  vpc_interface_endpoints = ["xray"]

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
  interface_endpoints         = local.vpc_interface_endpoints
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

# What an operator watches: the functions' EMF metrics beside AWS's own, alarms that notify the
# environment's subscribers (none in dev), and the saved query of one order's saga.
module "observability" {
  source = "../modules/observability"

  name = local.name
  application = {
    namespace     = local.common_environment.POWERTOOLS_METRICS_NAMESPACE
    cache_service = local.functions.catalog.environment.POWERTOOLS_SERVICE_NAME
  }
  functions                 = { for key, function in module.function : key => function.function_name }
  dead_letter_queue_arns    = { for key, function in module.function : key => function.dead_letter_queue_arn }
  stream_consumer_functions = [for key, function in local.created_functions : module.function[key].function_name if length(function.stream_sources) > 0]
  workflow = {
    state_machine_arn = module.checkout_workflow.arn
    log_group_name    = module.checkout_workflow.log_group_name
  }
  cache = {
    mode  = var.cache.mode
    name  = module.cache.cache_name
    nodes = 1 + var.cache.replicas
  }
  alarms = {
    period_seconds                    = var.observability.alarm_period_seconds
    evaluation_periods                = var.observability.alarm_evaluation_periods
    cache_hit_ratio_min               = var.observability.cache_hit_ratio_min
    workflow_failure_rate_max_percent = var.observability.workflow_failure_rate_max_percent
    lambda_errors_max                 = var.observability.lambda_errors_max
    lambda_throttles_max              = var.observability.lambda_throttles_max
    cache_memory_max_percent          = var.observability.cache_memory_max_percent
  }
  alarm_subscribers = var.observability.alarm_subscribers
  tags              = local.tags
}
