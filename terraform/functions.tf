# Every function of the shop: what differs per function is in local.functions, what
# is the same (runtime settings per environment, VPC, layers) is in the module block.
#
# Which functions run in the VPC: only those that talk to the cache (in_vpc = true), because the
# cache is the only resource of the shop that lives in the VPC. The private subnets have no NAT,
# so a function attached to them reaches an AWS API only through an endpoint; every other function
# runs outside the VPC, where Lambda gives it AWS's public endpoints ("Giving Lambda functions
# access to resources in an Amazon VPC": https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc.html,
# and "Enable internet access for VPC-connected Lambda functions":
# https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc-internet.html). checkout, for one,
# calls Step Functions and the Lambda API (durable executions), and checkout-durable's SDK
# checkpoints through the Lambda API: in the VPC they would need interface endpoints for both.
# What the in-VPC functions call is in main.tf's local.vpc_interface_endpoints, and
# tests/terraform/test_network_paths.py checks every in-VPC function's IAM actions have a path.

locals {
  alias_name = var.functions.snap_start ? "live" : null

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

  # How a function reaches the catalog cache (the catalog reads it, the invalidator deletes from it).
  cache_client_environment = {
    CACHE_ENDPOINT     = "${module.cache.endpoint}:${module.cache.port}"
    CACHE_TLS          = "true"
    CACHE_CLUSTER_MODE = tostring(module.cache.cluster_mode)
    CACHE_NAME         = module.cache.cache_name
    CACHE_USER         = module.cache.user_id
    CACHE_SERVERLESS   = tostring(var.cache.mode == "serverless")
  }

  # The invalidator retries a cache that is down inside each attempt, for up to its timeout
  # less a 1 s margin. Lambda may drop a record (to the DLQ) only after every cached value it
  # could delete has expired anyway: a value lives at most TTL x 1.1 (jitter) + 2 s (the
  # write-back window), so the attempts together, and the record age, must outlast that.
  invalidator_timeout = 120
  # checkout's timeout also tells the order relay an abandoned order from one whose checkout it met:
  # Lambda stops a checkout at its timeout, so an older order with no execution was left by a dead one.
  checkout_timeout            = 10
  order_relay_timeout         = 60
  cache_staleness_bound       = ceil(var.cache.ttl_seconds * 1.1) + 2
  invalidation_retries        = ceil(local.cache_staleness_bound / (local.invalidator_timeout - 1)) - 1
  invalidation_record_max_age = max(600, local.cache_staleness_bound + 60)

  state_table_key = {
    sid       = "StateTableKey"
    actions   = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"]
    resources = [module.state_table.kms_key_arn]
  }

  # What the saga's steps do to orders and stock, whichever engine runs them (order-steps for Step
  # Functions, checkout-durable for the durable function): one statement, so the two cannot drift.
  saga_order_items = {
    sid        = "OrderItems"
    actions    = ["dynamodb:GetItem", "dynamodb:UpdateItem"]
    resources  = [module.state_table.arn]
    conditions = [{ test = "ForAllValues:StringLike", variable = "dynamodb:LeadingKeys", values = ["ORDER#*", "PRODUCT#*"] }]
  }

  # Answering a waiting approval with its token. checkout does it for a decision taken while the
  # saga waits; the saga's own steps (order-steps, checkout-durable) do it for a decision recorded
  # before the saga reached the approval (shop.orders.OrderStore.request_approval).
  answer_approval_tasks = {
    # The Service Authorization Reference lists no resource type for these two: a statement
    # scoped to the state machine never matches them, only "*" does (the task token is the scope).
    sid        = "AnswerApprovalTasks"
    actions    = ["states:SendTaskSuccess", "states:SendTaskFailure"]
    resources  = ["*"]
    conditions = []
  }
  answer_durable_callbacks = {
    # Lambda authorizes these against the execution's ARN (function:name:version/durable-execution/...),
    # the Service Authorization Reference's "durable execution" resource type.
    sid        = "AnswerDurableCallbacks"
    actions    = ["lambda:SendDurableExecutionCallbackSuccess", "lambda:SendDurableExecutionCallbackFailure"]
    resources  = ["${local.checkout_durable_arn}:*"]
    conditions = []
  }

  # Starting an order's saga on each engine: checkout does, and the order relay for an order whose
  # checkout died before it could.
  start_checkout_saga = {
    sid        = "RunCheckoutSaga"
    actions    = ["states:StartExecution"]
    resources  = [local.checkout_state_machine_arn]
    conditions = []
  }
  # The workflow's key encrypts execution data: Step Functions asks KMS as the caller to start an
  # execution (GenerateDataKey) and to read one (Decrypt), so whoever starts the saga needs it, and
  # only through Step Functions for this state machine.
  saga_execution_data_key = {
    sid       = "ExecutionDataKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = ["arn:${data.aws_partition.current.partition}:kms:${data.aws_region.current.region}:${data.aws_caller_identity.current.account_id}:key/*"]
    conditions = [
      { test = "StringEquals", variable = "kms:ViaService", values = ["states.${data.aws_region.current.region}.amazonaws.com"] },
      { test = "StringEquals", variable = "kms:EncryptionContext:aws:states:stateMachineArn", values = [local.checkout_state_machine_arn] },
    ]
  }
  start_durable_checkout = {
    # Durable executions are invoked through the alias: an execution replays on its version.
    sid        = "StartDurableCheckout"
    actions    = ["lambda:InvokeFunction"]
    resources  = ["${local.checkout_durable_arn}:live"]
    conditions = []
  }
  # Which engine starts new orders' sagas, and where: the same for checkout and the order relay.
  saga_start_environment = {
    ORDERS_STATE_MACHINE_ARN = local.checkout_state_machine_arn
    CHECKOUT_ENGINE          = var.checkout_engine
  }
  # Added to it only where the durable function exists (durable_checkout.enabled).
  saga_start_durable_environment = { CHECKOUT_DURABLE_FUNCTION = "${local.checkout_durable_name}:live" }

  # What checkout needs of the durable function, granted only when that function exists.
  checkout_durable_statements = [
    local.start_durable_checkout,
    {
      # Lambda authorizes these against the execution's ARN (function:name:version/durable-execution/...):
      # the Service Authorization Reference lists all four on its "durable execution" resource type.
      sid        = "ReadAndAnswerDurableCheckouts"
      actions    = ["lambda:GetDurableExecution", "lambda:GetDurableExecutionHistory", "lambda:SendDurableExecutionCallbackSuccess", "lambda:SendDurableExecutionCallbackFailure"]
      resources  = ["${local.checkout_durable_arn}:*"]
      conditions = []
    },
  ]

  functions = {
    cache_invalidator = {
      description        = "Durable cache invalidation from the table's stream: every changed product, whoever wrote it"
      handler            = "handlers.cache_invalidator.handler"
      timeout            = local.invalidator_timeout
      in_vpc             = true
      security_group_ids = [module.cache.client_security_group_id]
      environment = merge(local.cache_client_environment, {
        POWERTOOLS_SERVICE_NAME = "cache-invalidator"
        CACHE_TTL_SECONDS       = tostring(var.cache.ttl_seconds)
      })
      policy_statements = [
        # Records from a table encrypted with a customer-managed key are decrypted with it.
        { sid = "StateTableStreamKey", actions = ["kms:Decrypt"], resources = [module.state_table.kms_key_arn], conditions = [] },
        module.cache.client_connect_policy_statement,
      ]
      stream_sources = {
        state_table_products = {
          stream_arn                    = module.state_table.stream_arn
          batch_size                    = 100
          maximum_retry_attempts        = local.invalidation_retries
          maximum_record_age_in_seconds = local.invalidation_record_max_age
          filter_patterns               = [jsonencode({ dynamodb = { Keys = { pk = { S = [{ prefix = "PRODUCT#" }] } } } })]
        }
      }
    }

    cart = {
      description = "Carts in DynamoDB: optimistic locking and TTL"
      handler     = "handlers.cart.handler"
      timeout     = 10
      in_vpc      = false
      environment = {
        POWERTOOLS_SERVICE_NAME = "cart"
        CART_TTL_SECONDS        = tostring(var.cart_ttl_seconds)
      }
      stream_sources = {}
      policy_statements = [
        {
          sid        = "CartItems"
          actions    = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem"]
          resources  = [module.state_table.arn]
          conditions = [{ test = "ForAllValues:StringLike", variable = "dynamodb:LeadingKeys", values = ["CART#*"] }]
        },
        local.state_table_key,
      ]
    }

    catalog = {
      description        = "Catalog reads cache-aside over Valkey, writes to DynamoDB"
      handler            = "handlers.catalog.handler"
      timeout            = 10
      in_vpc             = true
      security_group_ids = [module.cache.client_security_group_id]
      environment = merge(local.cache_client_environment, {
        POWERTOOLS_SERVICE_NAME   = "catalog"
        CACHE_TTL_SECONDS         = tostring(var.cache.ttl_seconds)
        CACHE_TIMEOUT_MS          = tostring(var.cache.client_timeout_ms)
        CACHE_BREAKER_COOLDOWN_MS = tostring(var.cache.breaker_cooldown)
      })
      stream_sources = {}
      policy_statements = [
        {
          sid        = "ProductItems"
          actions    = ["dynamodb:GetItem", "dynamodb:PutItem"]
          resources  = [module.state_table.arn]
          conditions = [{ test = "ForAllValues:StringLike", variable = "dynamodb:LeadingKeys", values = ["PRODUCT#*"] }]
        },
        local.state_table_key,
        module.cache.client_connect_policy_statement,
      ]
    }

    checkout = {
      description = "Places orders idempotently and starts the checkout saga"
      handler     = "handlers.checkout.handler"
      timeout     = local.checkout_timeout
      in_vpc      = false
      environment = merge(local.saga_start_environment, {
        POWERTOOLS_SERVICE_NAME  = "checkout"
        APPROVAL_THRESHOLD_CENTS = tostring(var.approval_threshold_cents)
      })
      durable_environment       = local.saga_start_durable_environment
      durable_policy_statements = local.checkout_durable_statements
      stream_sources            = {}
      policy_statements = [
        {
          sid        = "ReadCartsProductsOrders"
          actions    = ["dynamodb:GetItem"]
          resources  = [module.state_table.arn]
          conditions = [{ test = "ForAllValues:StringLike", variable = "dynamodb:LeadingKeys", values = ["CART#*", "PRODUCT#*", "ORDER#*", "IDEMPOTENCY#*"] }]
        },
        {
          sid        = "WriteOrdersAndIdempotencyRecords"
          actions    = ["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"]
          resources  = [module.state_table.arn]
          conditions = [{ test = "ForAllValues:StringLike", variable = "dynamodb:LeadingKeys", values = ["ORDER#*", "IDEMPOTENCY#*"] }]
        },
        local.state_table_key,
        local.start_checkout_saga,
        local.answer_approval_tasks,
        {
          sid        = "ReadExecutions"
          actions    = ["states:DescribeExecution", "states:GetExecutionHistory"]
          resources  = [local.checkout_executions_arn]
          conditions = []
        },
        local.saga_execution_data_key,
      ]
    }

    order_relay = {
      description = "Starts the saga of an order whose checkout died before starting it: the table's stream as the orders' outbox"
      handler     = "handlers.order_relay.handler"
      timeout     = local.order_relay_timeout
      in_vpc      = false
      environment = merge(local.saga_start_environment, {
        POWERTOOLS_SERVICE_NAME  = "order-relay"
        CHECKOUT_TIMEOUT_SECONDS = tostring(local.checkout_timeout)
      })
      durable_environment       = local.saga_start_durable_environment
      durable_policy_statements = [local.start_durable_checkout]
      stream_sources = {
        state_table_new_orders = {
          stream_arn      = module.state_table.stream_arn
          batch_size      = 100
          filter_patterns = [jsonencode({ eventName = ["INSERT"], dynamodb = { Keys = { pk = { S = [{ prefix = "ORDER#" }] } } } })]
        }
      }
      policy_statements = [
        {
          sid        = "ReadAndRecordOrders"
          actions    = ["dynamodb:GetItem", "dynamodb:UpdateItem"]
          resources  = [module.state_table.arn]
          conditions = [{ test = "ForAllValues:StringLike", variable = "dynamodb:LeadingKeys", values = ["ORDER#*"] }]
        },
        local.state_table_key,
        local.start_checkout_saga,
        local.saga_execution_data_key,
      ]
    }

    order_steps = {
      description = "The checkout saga's idempotent steps"
      handler     = "handlers.order_steps.handler"
      timeout     = 20
      in_vpc      = false
      environment = {
        POWERTOOLS_SERVICE_NAME = "order-steps"
      }
      stream_sources = {}
      policy_statements = [
        local.saga_order_items,
        local.state_table_key,
        local.answer_approval_tasks,
      ]
    }

    # Off where durable_checkout.enabled is false (variables.tf): the module block leaves it out.
    checkout_durable = {
      enabled        = var.durable_checkout.enabled
      description    = "The checkout saga as a Lambda durable function (checkout_engine = durable)"
      handler        = "handlers.checkout_durable.handler"
      timeout        = 30
      in_vpc         = false
      durable_config = { execution_timeout = var.durable_checkout.execution_timeout, retention_period = var.durable_checkout.retention_period }
      environment = {
        POWERTOOLS_SERVICE_NAME = "checkout-durable"
      }
      stream_sources = {}
      policy_statements = [
        local.saga_order_items,
        local.state_table_key,
        local.answer_durable_callbacks,
      ]
    }
  }

  # The functions this environment creates: every entry but those switched off (enabled = false).
  created_functions = { for key, function in local.functions : key => function if try(function.enabled, true) }
  # Each function's environment and role, with what it adds where the durable function exists.
  function_environment = {
    for key, function in local.created_functions :
    key => merge(local.common_environment, function.environment, var.durable_checkout.enabled ? try(function.durable_environment, {}) : {}, try(local.fault_injection_environment[key], {}))
  }
  function_policy_statements = {
    for key, function in local.created_functions :
    key => concat(function.policy_statements, var.durable_checkout.enabled ? try(function.durable_policy_statements, []) : [], try(local.fault_injection_policy_statements[key], []))
  }
}

module "function" {
  source   = "../modules/lambda-function"
  for_each = local.created_functions

  function_name         = "${local.name}-${replace(each.key, "_", "-")}"
  description           = each.value.description
  package_path          = var.function_package_zip
  handler               = each.value.handler
  timeout               = each.value.timeout
  memory_size           = var.functions.memory_size
  reserved_concurrency  = var.functions.reserved_concurrency
  log_retention_in_days = var.functions.log_retention_in_days
  log_level             = var.functions.log_level
  snap_start            = var.functions.snap_start
  # A durable function always gets an alias: its executions run on published versions.
  alias_name            = try(each.value.durable_config, null) != null ? "live" : local.alias_name
  durable_config        = try(each.value.durable_config, null)
  dependencies_layer    = var.dependencies_layer_zip == null ? null : { zip_path = var.dependencies_layer_zip }
  layers                = try(local.fault_injection_layers[each.key], []) # the FIS extension (fault_injection.tf)
  vpc                   = each.value.in_vpc ? merge(local.function_vpc, { security_group_ids = try(each.value.security_group_ids, []) }) : null
  environment_variables = local.function_environment[each.key]
  policy_statements     = local.function_policy_statements[each.key]
  stream_sources        = each.value.stream_sources
  tags                  = local.tags
}

# Lambda refuses DurableConfig in a region without durable functions. A warning, not an error: AWS
# adds regions, and durable_function_regions (variables.tf, with the page it comes from) may lag.
check "durable_function_region" {
  assert {
    condition     = !var.durable_checkout.enabled || contains(var.durable_function_regions, data.aws_region.current.region)
    error_message = "durable_checkout.enabled in ${data.aws_region.current.region}, which is not in durable_function_regions (${join(", ", var.durable_function_regions)}): check AWS's documentation that Lambda durable functions exist there, or CreateFunction with DurableConfig may fail."
  }
}

# Lambda keeps 100 of the account's concurrency unreserved, and refuses a reservation that would
# leave less ("Specified ReservedConcurrentExecutions for function decreases account's
# UnreservedConcurrentExecution below its minimum value of [100]"): "Configuring reserved
# concurrency", https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html. The
# quota is 1,000 by default, and "new AWS accounts have reduced concurrency and memory quotas"
# (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html), so the stack checks
# its reservations against the quota the environment declares before it creates a function.
resource "terraform_data" "reserved_concurrency_budget" {
  input = var.functions.reserved_concurrency

  lifecycle {
    precondition {
      condition     = var.functions.reserved_concurrency < 0 || var.functions.reserved_concurrency * length(local.created_functions) <= var.functions.account_concurrency - 100
      error_message = "functions.reserved_concurrency = ${var.functions.reserved_concurrency} for each of ${length(local.created_functions)} functions reserves ${var.functions.reserved_concurrency * length(local.created_functions)}, but Lambda keeps 100 of the account's ${var.functions.account_concurrency} unreserved: reserve at most ${floor(max(0, var.functions.account_concurrency - 100) / length(local.created_functions))} per function, set -1 (no reservation), or raise the quota (Service Quotas) and functions.account_concurrency."
    }
  }
}
