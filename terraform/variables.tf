variable "project" {
  description = "Project name; resources are named `<project>-<environment>-...`."
  type        = string
  default     = "shop"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,15}$", var.project))
    error_message = "project must be 2-16 characters of a-z, 0-9 and '-', starting with a letter."
  }
}

variable "environment" {
  description = "Environment: dev, staging or prod (the README's environment table), or twin (the local twin, environments/twin)."
  type        = string

  validation {
    condition     = contains(["dev", "staging", "prod", "twin"], var.environment)
    error_message = "environment must be dev, staging, prod or twin."
  }
}

variable "network" {
  description = "VPC shape: AZ count, and how many AZs get interface endpoint ENIs (null = all)."
  type = object({
    cidr_block                  = optional(string, "10.20.0.0/16")
    az_count                    = optional(number, 2)
    interface_endpoint_az_count = optional(number)
    nat_gateway                 = optional(bool, false)
  })
  default = {}
}

variable "state_table" {
  description = "State table settings: deletion protection and PITR window."
  type = object({
    deletion_protection     = optional(bool, true)
    recovery_period_in_days = optional(number, 35)
  })
  default = {}
}

variable "functions" {
  description = "Per-environment function settings: memory, reserved concurrency per function (-1: none), the account's concurrency quota in this region (account_concurrency, 1000 by default; new accounts get less), SnapStart with a `live` alias, log retention."
  type = object({
    memory_size           = optional(number, 512)
    reserved_concurrency  = optional(number, 10)
    account_concurrency   = optional(number, 1000)
    snap_start            = optional(bool, false)
    log_retention_in_days = optional(number, 365)
    log_level             = optional(string, "INFO")
  })
  default = {}
}

variable "cache" {
  description = "The catalog's Valkey cache: replication_group (node_type, replicas; replicas > 0 means multi-AZ with failover) or serverless."
  type = object({
    mode              = optional(string, "replication_group")
    node_type         = optional(string, "cache.t4g.micro")
    replicas          = optional(number, 0)
    ttl_seconds       = optional(number, 300)
    snapshot_days     = optional(number, 1)
    breaker_cooldown  = optional(number, 5000)
    client_timeout_ms = optional(number, 50)
  })
  default = {}

  validation {
    condition     = var.cache.ttl_seconds >= 1 && var.cache.ttl_seconds <= 86400
    error_message = "cache.ttl_seconds must be between 1 and 86400."
  }

  validation {
    condition     = var.cache.client_timeout_ms >= 5 && var.cache.client_timeout_ms <= 1000
    error_message = "cache.client_timeout_ms must be between 5 and 1000: a slow cache must cost a request little before the fallback."
  }
}

variable "approval_threshold_cents" {
  description = "Orders whose total exceeds this wait for a person's approval (task token) before payment."
  type        = number
  default     = 100000

  validation {
    condition     = var.approval_threshold_cents >= 0
    error_message = "approval_threshold_cents must be 0 or more."
  }
}

variable "checkout_engine" {
  description = "Which engine runs the checkout saga for new orders: step-functions (the state machine) or durable (the checkout-durable Lambda durable function). Both are deployed; an order keeps the engine it started on."
  type        = string
  default     = "step-functions"

  validation {
    condition     = contains(["step-functions", "durable"], var.checkout_engine)
    error_message = "checkout_engine must be \"step-functions\" or \"durable\"."
  }
  validation {
    condition     = var.checkout_engine != "durable" || var.durable_checkout.enabled
    error_message = "checkout_engine = \"durable\" needs durable_checkout.enabled = true: with the durable function off there is nothing to run new orders' sagas on. Use checkout_engine = \"step-functions\", or enable the durable function in a region that has Lambda durable functions (see durable_checkout)."
  }
}

variable "durable_checkout" {
  description = "The durable checkout function (checkout-durable). enabled: create it; off by default, because Lambda durable functions exist only in some regions (see durable_function_regions) and Lambda refuses DurableConfig elsewhere. execution_timeout (seconds, 1 to 31622400) bounds a whole saga including the wait for approval, like the state machine's TimeoutSeconds; retention_period (days, 1 to 90) is how long a closed execution's history stays readable for GET /orders/{id}."
  type = object({
    enabled           = optional(bool, false)
    execution_timeout = optional(number, 172800)
    retention_period  = optional(number, 14)
  })
  default = {}
}

variable "durable_function_regions" {
  description = "Regions where AWS documents Lambda durable functions. A durable_checkout enabled elsewhere gets a warning at plan (check \"durable_function_region\"): AWS adds regions over time, so extend this list from AWS's documentation rather than trust it. Launched in US East (Ohio) only: https://docs.aws.amazon.com/lambda/latest/dg/durable-functions.html and the provider's aws_lambda_function durable_config (\"may only be available in limited regions, including us-east-2\"): https://registry.terraform.io/providers/hashicorp/aws/latest/docs/resources/lambda_function#durable_config."
  type        = list(string)
  default     = ["us-east-2"]

  validation {
    condition     = alltrue([for region in var.durable_function_regions : can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", region))])
    error_message = "durable_function_regions must hold region names such as \"us-east-2\"."
  }
}

variable "cart_ttl_seconds" {
  description = "How long an untouched cart lives (refreshed on every write)."
  type        = number
  default     = 604800

  validation {
    condition     = var.cart_ttl_seconds >= 60 && var.cart_ttl_seconds <= 31536000
    error_message = "cart_ttl_seconds must be between 60 seconds and 365 days."
  }
}

variable "api" {
  description = "HTTP API: authorization (AWS_IAM or JWT), throttling and access-log retention."
  type = object({
    authorization_type    = optional(string, "AWS_IAM")
    jwt_issuer            = optional(string)
    jwt_audience          = optional(list(string), [])
    rate_limit            = optional(number, 50)
    burst_limit           = optional(number, 100)
    log_retention_in_days = optional(number, 365)
  })
  default = {}
}

variable "observability" {
  description = "The dashboard and alarms (modules/observability): alarm thresholds, and who is notified (alarm_subscribers: SNS protocol and endpoint; none in dev, whose alarms notify no one)."
  type = object({
    alarm_period_seconds              = optional(number, 300)
    alarm_evaluation_periods          = optional(number, 3)
    cache_hit_ratio_min               = optional(number, 0.8)
    workflow_failure_rate_max_percent = optional(number, 5)
    lambda_errors_max                 = optional(number, 0)
    lambda_throttles_max              = optional(number, 0)
    cache_memory_max_percent          = optional(number, 80)
    alarm_subscribers = optional(list(object({
      protocol = string
      endpoint = string
    })), [])
  })
  default = {}

  validation {
    condition     = var.observability.cache_hit_ratio_min > 0 && var.observability.cache_hit_ratio_min <= 1
    error_message = "observability.cache_hit_ratio_min must be a fraction between 0 (exclusive) and 1, for example 0.8."
  }

  validation {
    condition     = var.observability.workflow_failure_rate_max_percent >= 0 && var.observability.workflow_failure_rate_max_percent < 100
    error_message = "observability.workflow_failure_rate_max_percent must be between 0 and 100 (exclusive)."
  }

  validation {
    condition     = var.environment != "dev" || length(var.observability.alarm_subscribers) == 0
    error_message = "observability.alarm_subscribers must be empty in dev: dev's alarms notify no one (the README's environment table)."
  }
}

variable "function_package_zip" {
  description = "The functions' deployment package (lambda_src/ zipped), written by `make build` to build/lambda/functions.zip."
  type        = string

  validation {
    condition     = endswith(var.function_package_zip, ".zip")
    error_message = "function_package_zip must be the path of the .zip that `make build` writes (build/lambda/functions.zip)."
  }
}

variable "dependencies_layer_zip" {
  description = "Zip of the packages the runtime lacks, written by `make build` (build/layer/dependencies.zip). null deploys without it."
  type        = string
  default     = null
}

variable "tags" {
  description = "Extra tags for every resource."
  type        = map(string)
  default     = {}
}

variable "fault_injection" {
  description = "FIS experiment templates (modules/fault-injection) for `make chaos ENV=<env>`: off by default. invocation_error and invocation_add_delay name functions (keys of terraform/functions.tf's local.functions, outside the VPC: the FIS extension reads its configuration from S3, which the private subnets cannot reach); add-delay waits startup_delay_milliseconds (null: 2 s past the longest timeout of its functions, so they time out). A Multi-AZ replication group cache also gets the AZ power and subnet connectivity templates."
  type = object({
    enabled = optional(bool, false)
    invocation_error = optional(object({
      functions             = optional(list(string), ["order_steps"])
      duration              = optional(string, "PT2M")
      invocation_percentage = optional(number, 40)
    }), {})
    invocation_add_delay = optional(object({
      functions                  = optional(list(string), ["checkout"])
      duration                   = optional(string, "PT2M")
      invocation_percentage      = optional(number, 100)
      startup_delay_milliseconds = optional(number)
    }), {})
    log_retention_in_days = optional(number, 90)
  })
  default = {}

  validation {
    condition = alltrue([
      for key in concat(var.fault_injection.invocation_error.functions, var.fault_injection.invocation_add_delay.functions) :
      contains([for name, function in local.functions : name if !function.in_vpc], key)
    ])
    error_message = "fault_injection function keys must be functions of terraform/functions.tf that run outside the VPC (cart, checkout, order_steps, checkout_durable): the FIS extension must reach S3, and the private subnets have no path to it."
  }
}
