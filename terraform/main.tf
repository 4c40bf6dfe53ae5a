# The shop, composed from modules/. Each strategy is a slice:
#   external database -> state_table + cart function           (this file)
#   cache             -> modules/cache + catalog function          (this file)
#   orchestration     -> modules/workflow + checkout and order-steps functions (this file)
#   observability     -> seam: modules/observability

locals {
  name = "${var.project}-${var.environment}"
  tags = merge(var.tags, { project = var.project, environment = var.environment })

  lambda_source = "${path.module}/../lambda_src"
  alias_name    = var.functions.snap_start ? "live" : null

  # Names match local_twin/stack.py; tests/terraform/test_twin_contract.py keeps them equal.
  common_environment = {
    POWERTOOLS_SERVICE_NAME      = "shop"
    POWERTOOLS_METRICS_NAMESPACE = "ServerlessState"
    POWERTOOLS_LOG_LEVEL         = var.functions.log_level
    STATE_TABLE_NAME             = module.state_table.name
  }

  function_vpc = {
    vpc_id     = module.network.vpc_id
    subnet_ids = module.network.private_subnet_ids
    egress_rules = [
      { description = "DynamoDB via the gateway endpoint", from_port = 443, to_port = 443, prefix_list_id = module.network.dynamodb_prefix_list_id },
      { description = "AWS APIs via interface endpoints", from_port = 443, to_port = 443, cidr_ipv4 = module.network.vpc_cidr_block },
    ]
  }

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
  functions = {
    cart        = module.cart
    catalog     = module.catalog
    checkout    = module.checkout
    order_steps = module.order_steps
  }
}

module "network" {
  source = "../modules/network"

  name                        = local.name
  cidr_block                  = var.network.cidr_block
  az_count                    = var.network.az_count
  interface_endpoint_az_count = var.network.interface_endpoint_az_count
  nat_gateway                 = { enabled = var.network.nat_gateway }
  interface_endpoints         = ["states", "secretsmanager", "sts", "kms", "logs", "xray"]
  flow_logs                   = { retention_in_days = var.functions.log_retention_in_days }
  tags                        = local.tags
}

module "state_table" {
  source = "../modules/state-table"

  name                        = "${local.name}-state"
  keys                        = { partition = "pk", sort = "sk" }
  ttl_attribute               = "expires_at"
  deletion_protection         = var.state_table.deletion_protection
  point_in_time_recovery_days = var.state_table.recovery_period_in_days
  tags                        = local.tags
}

module "cart" {
  source = "../modules/lambda-function"

  function_name         = "${local.name}-cart"
  description           = "Carts in DynamoDB: optimistic locking and TTL"
  source_dir            = local.lambda_source
  handler               = "handlers.cart.handler"
  memory_size           = var.functions.memory_size
  reserved_concurrency  = var.functions.reserved_concurrency
  log_retention_in_days = var.functions.log_retention_in_days
  log_level             = var.functions.log_level
  snap_start            = var.functions.snap_start
  alias_name            = local.alias_name
  dependencies_layer    = var.dependencies_layer_zip == null ? null : { zip_path = var.dependencies_layer_zip }
  vpc                   = local.function_vpc
  tags                  = local.tags

  environment_variables = merge(local.common_environment, {
    POWERTOOLS_SERVICE_NAME = "cart"
    CART_TTL_SECONDS        = tostring(var.cart_ttl_seconds)
  })

  policy_statements = [
    {
      sid       = "CartItems"
      actions   = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem"]
      resources = [module.state_table.arn]
      conditions = [{
        test     = "ForAllValues:StringLike"
        variable = "dynamodb:LeadingKeys"
        values   = ["CART#*"]
      }]
    },
    {
      sid       = "StateTableKey"
      actions   = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"]
      resources = [module.state_table.kms_key_arn]
    },
  ]
}

module "http_api" {
  source = "../modules/http-api"

  name = "${local.name}-api"
  routes = {
    for route, function in local.routes : route => {
      function_name = local.functions[function].function_name
      invoke_arn    = local.functions[function].invoke_arn
      qualifier     = local.functions[function].qualifier
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

module "cache" {
  source = "../modules/cache"

  name                      = "${local.name}-catalog"
  mode                      = var.cache.mode
  vpc_id                    = module.network.vpc_id
  subnet_ids                = module.network.private_subnet_ids
  client_security_group_ids = [module.catalog.security_group_id]
  log_retention_in_days     = var.functions.log_retention_in_days
  tags                      = local.tags

  replication_group = {
    node_type                = var.cache.node_type
    replicas                 = var.cache.replicas
    snapshot_retention_limit = var.cache.snapshot_days
  }
}

module "catalog" {
  source = "../modules/lambda-function"

  function_name         = "${local.name}-catalog"
  description           = "Catalog reads cache-aside over Valkey, writes to DynamoDB"
  source_dir            = local.lambda_source
  handler               = "handlers.catalog.handler"
  memory_size           = var.functions.memory_size
  reserved_concurrency  = var.functions.reserved_concurrency
  log_retention_in_days = var.functions.log_retention_in_days
  log_level             = var.functions.log_level
  snap_start            = var.functions.snap_start
  alias_name            = local.alias_name
  dependencies_layer    = var.dependencies_layer_zip == null ? null : { zip_path = var.dependencies_layer_zip }
  tags                  = local.tags

  vpc = merge(local.function_vpc, {
    egress_rules = concat(local.function_vpc.egress_rules, [
      { description = "Valkey over TLS", from_port = 6379, to_port = 6380, referenced_security_group_id = module.cache.security_group_id },
    ])
  })

  environment_variables = merge(local.common_environment, {
    POWERTOOLS_SERVICE_NAME   = "catalog"
    CACHE_ENDPOINT            = "${module.cache.endpoint}:${module.cache.port}"
    CACHE_TLS                 = "true"
    CACHE_CLUSTER_MODE        = tostring(module.cache.cluster_mode)
    CACHE_SECRET_ARN          = module.cache.secret_arn
    CACHE_TTL_SECONDS         = tostring(var.cache.ttl_seconds)
    CACHE_TIMEOUT_MS          = tostring(var.cache.client_timeout_ms)
    CACHE_BREAKER_COOLDOWN_MS = tostring(var.cache.breaker_cooldown)
  })

  policy_statements = [
    {
      sid       = "ProductItems"
      actions   = ["dynamodb:GetItem", "dynamodb:PutItem"]
      resources = [module.state_table.arn]
      conditions = [{
        test     = "ForAllValues:StringLike"
        variable = "dynamodb:LeadingKeys"
        values   = ["PRODUCT#*"]
      }]
    },
    {
      sid       = "StateTableKey"
      actions   = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"]
      resources = [module.state_table.kms_key_arn]
    },
    {
      sid       = "CacheCredentials"
      actions   = ["secretsmanager:GetSecretValue"]
      resources = [module.cache.secret_arn]
    },
    {
      sid       = "CacheKey"
      actions   = ["kms:Decrypt"]
      resources = [module.cache.kms_key_arn]
    },
  ]
}

module "order_steps" {
  source = "../modules/lambda-function"

  function_name         = "${local.name}-order-steps"
  description           = "The checkout saga's idempotent steps"
  source_dir            = local.lambda_source
  handler               = "handlers.order_steps.handler"
  timeout               = 20
  memory_size           = var.functions.memory_size
  reserved_concurrency  = var.functions.reserved_concurrency
  log_retention_in_days = var.functions.log_retention_in_days
  log_level             = var.functions.log_level
  snap_start            = var.functions.snap_start
  alias_name            = local.alias_name
  dependencies_layer    = var.dependencies_layer_zip == null ? null : { zip_path = var.dependencies_layer_zip }
  vpc                   = local.function_vpc
  tags                  = local.tags

  environment_variables = merge(local.common_environment, {
    POWERTOOLS_SERVICE_NAME = "order-steps"
  })

  policy_statements = [
    {
      sid       = "OrderItems"
      actions   = ["dynamodb:GetItem", "dynamodb:UpdateItem"]
      resources = [module.state_table.arn]
      conditions = [{
        test     = "ForAllValues:StringLike"
        variable = "dynamodb:LeadingKeys"
        values   = ["ORDER#*", "PRODUCT#*"]
      }]
    },
    {
      sid       = "StateTableKey"
      actions   = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"]
      resources = [module.state_table.kms_key_arn]
    },
  ]
}

module "checkout_workflow" {
  source = "../modules/workflow"

  name                 = "${local.name}-checkout"
  definition_template  = "${path.module}/workflows/checkout.asl.json"
  template_variables   = { order_steps_arn = module.order_steps.invoke_target_arn }
  lambda_function_arns = [module.order_steps.function_arn]
  logging              = { level = "ALL", retention_in_days = var.functions.log_retention_in_days }
  tags                 = local.tags
}

module "checkout" {
  source = "../modules/lambda-function"

  function_name         = "${local.name}-checkout"
  description           = "Places orders idempotently and starts the checkout saga"
  source_dir            = local.lambda_source
  handler               = "handlers.checkout.handler"
  memory_size           = var.functions.memory_size
  reserved_concurrency  = var.functions.reserved_concurrency
  log_retention_in_days = var.functions.log_retention_in_days
  log_level             = var.functions.log_level
  snap_start            = var.functions.snap_start
  alias_name            = local.alias_name
  dependencies_layer    = var.dependencies_layer_zip == null ? null : { zip_path = var.dependencies_layer_zip }
  vpc                   = local.function_vpc
  tags                  = local.tags

  environment_variables = merge(local.common_environment, {
    POWERTOOLS_SERVICE_NAME  = "checkout"
    ORDERS_STATE_MACHINE_ARN = module.checkout_workflow.arn
    APPROVAL_THRESHOLD_CENTS = tostring(var.approval_threshold_cents)
  })

  policy_statements = [
    {
      sid       = "ReadCartsAndProducts"
      actions   = ["dynamodb:GetItem"]
      resources = [module.state_table.arn]
      conditions = [{
        test     = "ForAllValues:StringLike"
        variable = "dynamodb:LeadingKeys"
        values   = ["CART#*", "PRODUCT#*", "ORDER#*", "IDEMPOTENCY#*"]
      }]
    },
    {
      sid       = "WriteOrdersAndIdempotencyRecords"
      actions   = ["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"]
      resources = [module.state_table.arn]
      conditions = [{
        test     = "ForAllValues:StringLike"
        variable = "dynamodb:LeadingKeys"
        values   = ["ORDER#*", "IDEMPOTENCY#*"]
      }]
    },
    {
      sid       = "StateTableKey"
      actions   = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"]
      resources = [module.state_table.kms_key_arn]
    },
    {
      sid       = "RunCheckoutSaga"
      actions   = ["states:StartExecution", "states:SendTaskSuccess", "states:SendTaskFailure"]
      resources = [module.checkout_workflow.arn]
    },
    {
      sid       = "ReadExecutions"
      actions   = ["states:DescribeExecution", "states:GetExecutionHistory"]
      resources = [module.checkout_workflow.execution_arn_pattern]
    },
    {
      sid       = "ExecutionDataKey"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
      resources = [module.checkout_workflow.kms_key_arn]
    },
  ]
}
