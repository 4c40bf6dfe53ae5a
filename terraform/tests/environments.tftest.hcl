# The stack planned with each environment's values, against a mocked AWS provider: no
# account, no cost. Each run's variables are those of environments/<env>/terraform.tfvars
# (plus the environment name its main.tf passes); tests/terraform/test_terraform_native.py
# fails when they drift apart.
#
# Data sources are read at plan, so they get defaults of the right shape. Resources get
# none: their computed attributes (ARNs, IDs, invoke ARNs) stay unknown until apply, as
# on a fresh account, and for_each keys built from them fail the plan here as they would
# there.
mock_provider "aws" {
  mock_data "aws_region" {
    defaults = { region = "eu-west-1" }
  }
  mock_data "aws_caller_identity" {
    defaults = { account_id = "111122223333", arn = "arn:aws:iam::111122223333:root" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws", dns_suffix = "amazonaws.com" }
  }
  mock_data "aws_availability_zones" {
    defaults = { names = ["eu-west-1a", "eu-west-1b", "eu-west-1c"] }
  }
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
  # AWS's public parameter of the FIS extension layer (modules/fault-injection).
  mock_data "aws_ssm_parameter" {
    defaults = { value = "arn:aws:lambda:eu-west-1:444455556666:layer:aws-fis-extension-arm64:9", insecure_value = "arn:aws:lambda:eu-west-1:444455556666:layer:aws-fis-extension-arm64:9" }
  }
}

run "dev" {
  command = plan

  variables {
    checkout_engine      = "step-functions"
    environment          = "dev"
    function_package_zip = "../modules/lambda-function/examples/basic/package.zip"
    network = {
      cidr_block                  = "10.20.0.0/16"
      az_count                    = 2
      interface_endpoint_az_count = 1
    }
    state_table = {
      deletion_protection     = false
      recovery_period_in_days = 7
    }
    functions = {
      memory_size           = 512
      reserved_concurrency  = -1
      snap_start            = false
      log_retention_in_days = 7
      log_level             = "DEBUG"
    }
    cache = {
      node_type = "cache.t4g.micro"
      replicas  = 0
    }
    observability = {
      cache_hit_ratio_min               = 0.7
      workflow_failure_rate_max_percent = 20
      lambda_errors_max                 = 5
      alarm_subscribers                 = []
    }
  }

  assert {
    condition     = length(module.fault_injection) == 0 && output.fault_injection_templates == {} && length(local.fault_injection_layers) == 0
    error_message = "dev: no fault injection, no FIS extension on any function"
  }

  assert {
    condition     = toset(keys(module.http_api.integration_ids)) == toset([for role in values(local.routes) : "shop-dev-${replace(role, "_", "-")}"])
    error_message = "dev: one integration per function that serves routes, keyed by function name"
  }

  assert {
    condition     = alltrue([for key, function in module.function : function.qualifier == null])
    error_message = "dev: no SnapStart, so API Gateway calls $LATEST and there is no alias"
  }

  assert {
    condition     = !contains(keys(module.function), "checkout_durable") && local.functions.checkout.environment.CHECKOUT_ENGINE == "step-functions" && !contains(keys(local.function_environment.checkout), "CHECKOUT_DURABLE_FUNCTION")
    error_message = "dev (eu-west-1, no durable functions there): no checkout-durable, and checkout runs new orders on the state machine and knows no durable function"
  }

  assert {
    condition     = !anytrue([for statement in local.function_policy_statements.checkout : anytrue([for action in statement.actions : startswith(action, "lambda:")])])
    error_message = "dev: without the durable function, checkout's role grants no Lambda action"
  }

  assert {
    condition     = !var.state_table.deletion_protection && var.functions.reserved_concurrency == -1
    error_message = "dev: the table can be torn down, and no concurrency is reserved (a new account's quota leaves none to reserve)"
  }

  assert {
    condition     = length(module.network.availability_zones) == 2 && !module.cache.cluster_mode
    error_message = "dev: two AZs and a replication-group cache"
  }

  assert {
    condition     = module.observability.alarm_topic_arn == null && length(module.observability.alarm_arns) > 0
    error_message = "dev: alarms, and no topic: they notify no one"
  }
}

run "staging" {
  command = plan

  variables {
    checkout_engine      = "step-functions"
    environment          = "staging"
    function_package_zip = "../modules/lambda-function/examples/basic/package.zip"
    network = {
      cidr_block = "10.30.0.0/16"
      az_count   = 2
    }
    state_table = {
      deletion_protection     = false
      recovery_period_in_days = 35
    }
    functions = {
      memory_size           = 1024
      reserved_concurrency  = 25
      snap_start            = true
      log_retention_in_days = 90
    }
    cache = {
      node_type     = "cache.t4g.small"
      replicas      = 1
      snapshot_days = 3
    }
    observability = {
      cache_hit_ratio_min               = 0.8
      workflow_failure_rate_max_percent = 10
      lambda_errors_max                 = 1
      alarm_subscribers                 = [{ protocol = "email", endpoint = "shop-staging-alerts@example.com" }]
    }
    fault_injection = {
      enabled = true
    }
  }

  assert {
    condition     = length(module.fault_injection) == 1 && keys(local.fault_injection_layers) == ["checkout", "order_steps"]
    error_message = "staging: fault injection is on, and only its target functions get the FIS extension"
  }

  assert {
    condition     = keys(local.fault_injection_environment) == ["checkout", "order_steps"] && keys(local.fault_injection_policy_statements) == ["checkout", "order_steps"]
    error_message = "staging: the extension's environment and bucket access go to the targets only"
  }

  assert {
    condition     = local.fault_injection_faults.invocation_add_delay.startup_delay_milliseconds == (local.functions.checkout.timeout + 2) * 1000
    error_message = "staging: the delay outlasts checkout's timeout by 2 s"
  }

  assert {
    condition     = local.fault_injection_cache && length(local.fault_injection_stop_alarms) == 3
    error_message = "staging: the Multi-AZ cache gets its templates; every template stops on the failure-rate and two DLQ alarms"
  }

  assert {
    condition     = local.functions.checkout.environment.CHECKOUT_ENGINE == "step-functions" && !contains(keys(module.function), "checkout_durable")
    error_message = "staging (eu-west-1): new orders run on the state machine, and there is no durable function"
  }

  assert {
    condition     = toset(keys(module.http_api.integration_ids)) == toset([for role in values(local.routes) : "shop-staging-${replace(role, "_", "-")}:live"])
    error_message = "staging: one integration per function's live alias, keyed by function name and alias"
  }

  assert {
    condition     = alltrue([for function in module.function : function.qualifier == "live"])
    error_message = "staging: SnapStart functions are called through their live alias"
  }

  assert {
    condition     = var.functions.reserved_concurrency == 25
    error_message = "staging: 25 reserved concurrent executions per function"
  }

  assert {
    condition     = toset(keys(module.observability.alarm_arns)) == toset(concat(["shop-staging-cache-hit-ratio", "shop-staging-workflow-failure-rate", "shop-staging-cache-memory-001", "shop-staging-cache-memory-002"], flatten([for role in keys(local.created_functions) : ["shop-staging-errors-${role}", "shop-staging-throttles-${role}", "shop-staging-dlq-${role}"]])))
    error_message = "staging: the hit-ratio and failure-rate alarms, one memory alarm per cache node, and errors, throttles and DLQ alarms per function created, all planned before their ARNs exist"
  }
}

run "prod" {
  command = plan

  variables {
    checkout_engine      = "step-functions"
    environment          = "prod"
    function_package_zip = "../modules/lambda-function/examples/basic/package.zip"
    network = {
      cidr_block = "10.40.0.0/16"
      az_count   = 3
    }
    state_table = {
      deletion_protection     = true
      recovery_period_in_days = 35
    }
    functions = {
      memory_size           = 1024
      reserved_concurrency  = 100
      snap_start            = true
      log_retention_in_days = 365
    }
    api = {
      rate_limit  = 500
      burst_limit = 1000
    }
    cache = {
      node_type     = "cache.r7g.large"
      replicas      = 2
      snapshot_days = 7
    }
    observability = {
      alarm_period_seconds              = 60
      alarm_evaluation_periods          = 5
      cache_hit_ratio_min               = 0.9
      workflow_failure_rate_max_percent = 2
      lambda_errors_max                 = 0
      alarm_subscribers                 = [{ protocol = "email", endpoint = "shop-oncall@example.com" }]
    }
  }

  assert {
    condition     = toset(keys(module.http_api.integration_ids)) == toset([for role in values(local.routes) : "shop-prod-${replace(role, "_", "-")}:live"])
    error_message = "prod: one integration per function's live alias, keyed by function name and alias"
  }

  assert {
    condition     = alltrue([for function in module.function : function.qualifier == "live"])
    error_message = "prod: SnapStart functions are called through their live alias"
  }

  assert {
    condition     = var.state_table.deletion_protection && var.state_table.recovery_period_in_days == 35
    error_message = "prod: the state table is protected from deletion and keeps 35 days of PITR"
  }

  assert {
    condition     = var.functions.reserved_concurrency == 100
    error_message = "prod: 100 reserved concurrent executions per function"
  }

  assert {
    condition     = length(module.network.availability_zones) == 3
    error_message = "prod: three AZs"
  }

  assert {
    condition     = length(module.observability.alarm_arns) == 2 + 3 + 3 * length(local.created_functions)
    error_message = "prod: the hit-ratio and failure-rate alarms, a memory alarm per cache node (3), and three alarms per function"
  }
}

# The durable engine needs the durable function: with it off (every environment in eu-west-1, the
# stack's default), checkout_engine = "durable" is refused at plan, before anything is created.
run "durable_engine_without_the_durable_function" {
  command = plan

  variables {
    environment          = "dev"
    function_package_zip = "../modules/lambda-function/examples/basic/package.zip"
    checkout_engine      = "durable"
  }

  expect_failures = [var.checkout_engine]
}

# A durable function in a region where AWS does not document durable functions gets the check's
# warning (the mocked region is eu-west-1).
run "durable_function_outside_the_documented_regions" {
  command = plan

  variables {
    environment          = "dev"
    function_package_zip = "../modules/lambda-function/examples/basic/package.zip"
    durable_checkout     = { enabled = true }
  }

  expect_failures = [check.durable_function_region]
}

# Once AWS lists the region (here the mocked eu-west-1), the durable function is created behind its
# alias and checkout may run new orders on it.
run "durable_engine_where_durable_functions_exist" {
  command = plan

  variables {
    environment              = "dev"
    function_package_zip     = "../modules/lambda-function/examples/basic/package.zip"
    durable_checkout         = { enabled = true }
    durable_function_regions = ["us-east-2", "eu-west-1"]
    checkout_engine          = "durable"
  }

  assert {
    condition     = module.function["checkout_durable"].qualifier == "live" && local.function_environment.checkout.CHECKOUT_DURABLE_FUNCTION == "shop-dev-checkout-durable:live"
    error_message = "checkout starts new orders on the durable function, through its alias (durable executions need published versions)"
  }
}

# Lambda keeps 100 of the account's concurrency unreserved: five functions reserving 200 each in an
# account of 1,000 are refused before anything is created.
run "reserved_concurrency_over_the_account_quota" {
  command = plan

  variables {
    environment          = "prod"
    function_package_zip = "../modules/lambda-function/examples/basic/package.zip"
    functions            = { reserved_concurrency = 200 }
  }

  expect_failures = [terraform_data.reserved_concurrency_budget]
}

# A new account with a reduced quota (here 50) cannot reserve even 5 per function.
run "reserved_concurrency_in_a_new_account" {
  command = plan

  variables {
    environment          = "dev"
    function_package_zip = "../modules/lambda-function/examples/basic/package.zip"
    functions            = { reserved_concurrency = 5, account_concurrency = 50 }
  }

  expect_failures = [terraform_data.reserved_concurrency_budget]
}

run "fault_injection_on_a_function_in_the_vpc" {
  command = plan

  variables {
    environment          = "staging"
    function_package_zip = "../modules/lambda-function/examples/basic/package.zip"
    fault_injection = {
      enabled          = true
      invocation_error = { functions = ["catalog"] }
    }
  }

  expect_failures = [var.fault_injection]
}
