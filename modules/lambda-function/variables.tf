variable "function_name" {
  description = "Function name; also names the role, log group, key alias and DLQ."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9-_]{1,56}$", var.function_name))
    error_message = "function_name must be 1-56 characters of a-z, A-Z, 0-9, '-' and '_' (64 minus room for suffixes)."
  }
}

variable "description" {
  description = "Function description."
  type        = string
  default     = ""
}

variable "package_path" {
  description = "Path of the prebuilt deployment package (a .zip), for example build/lambda/functions.zip from `make build`. Its filebase64sha256 drives updates, so the same bytes never redeploy."
  type        = string

  validation {
    condition     = endswith(var.package_path, ".zip")
    error_message = "package_path must be the path of a .zip deployment package (make build writes build/lambda/functions.zip)."
  }
}

variable "handler" {
  description = "Handler as module.function, for example `handlers.cart.handler`."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z_][A-Za-z0-9_.]*\\.[A-Za-z_][A-Za-z0-9_]*$", var.handler))
    error_message = "handler must look like package.module.function."
  }
}

variable "runtime" {
  description = "Python runtime. Allowed: python3.12, python3.13."
  type        = string
  default     = "python3.13"

  validation {
    condition     = contains(["python3.12", "python3.13"], var.runtime)
    error_message = "runtime must be python3.12 or python3.13 (SnapStart for Python needs 3.12 or later)."
  }
}

variable "architecture" {
  description = "Instruction set: arm64 (default, cheaper per GB-second) or x86_64."
  type        = string
  default     = "arm64"

  validation {
    condition     = contains(["arm64", "x86_64"], var.architecture)
    error_message = "architecture must be arm64 or x86_64."
  }
}

variable "memory_size" {
  description = "Memory in MB, 128-10240. CPU scales with it."
  type        = number
  default     = 512

  validation {
    condition     = var.memory_size >= 128 && var.memory_size <= 10240
    error_message = "memory_size must be between 128 and 10240 MB."
  }
}

variable "timeout" {
  description = "Timeout in seconds, 1-900."
  type        = number
  default     = 10

  validation {
    condition     = var.timeout >= 1 && var.timeout <= 900
    error_message = "timeout must be between 1 and 900 seconds."
  }
}

variable "reserved_concurrency" {
  description = "Reserved concurrent executions: caps cost and blast radius, and guarantees capacity. -1 removes the reservation."
  type        = number
  default     = 10

  validation {
    condition     = var.reserved_concurrency == -1 || (var.reserved_concurrency >= 0 && floor(var.reserved_concurrency) == var.reserved_concurrency)
    error_message = "reserved_concurrency must be -1 (unreserved) or a whole number >= 0."
  }
}

variable "environment_variables" {
  description = "Environment variables, encrypted at rest with the module's KMS key. Never put secrets here: pass a secret ARN instead."
  type        = map(string)
  default     = {}
}

variable "layers" {
  description = "Extra layer ARNs (at most 5 layers in all)."
  type        = list(string)
  default     = []
}

variable "powertools_layer" {
  description = "AWS's public Powertools for AWS Lambda (Python) v3 layer. Off by default: the shop ships the exact Powertools version it tests in its dependencies layer."
  type = object({
    enabled    = optional(bool, false)
    version    = optional(number, 27)
    account_id = optional(string, "017000801446")
  })
  default = {}
}

variable "dependencies_layer" {
  description = "A layer made from a zip that `make build` writes (packages the runtime lacks). null for none."
  type = object({
    zip_path = string
  })
  default = null
}

variable "kms_key_arn" {
  description = "Key for environment variables, logs and the DLQ. null creates one for this function."
  type        = string
  default     = null
}

variable "log_retention_in_days" {
  description = "Log retention: a CloudWatch Logs value (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_in_days)
    error_message = "log_retention_in_days must be one of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653."
  }
}

variable "log_level" {
  description = "Application log level for Lambda's JSON logging: TRACE, DEBUG, INFO, WARN, ERROR or FATAL."
  type        = string
  default     = "INFO"

  validation {
    condition     = contains(["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"], var.log_level)
    error_message = "log_level must be TRACE, DEBUG, INFO, WARN, ERROR or FATAL."
  }
}

variable "tracing_mode" {
  description = "X-Ray tracing: Active (default) or PassThrough."
  type        = string
  default     = "Active"

  validation {
    condition     = contains(["Active", "PassThrough"], var.tracing_mode)
    error_message = "tracing_mode must be Active or PassThrough."
  }
}

variable "dead_letter_queue" {
  description = "An SQS dead-letter queue (KMS-encrypted) for failed asynchronous invocations."
  type = object({
    enabled                   = optional(bool, true)
    message_retention_seconds = optional(number, 1209600)
  })
  default = {}

  validation {
    condition     = var.dead_letter_queue.message_retention_seconds >= 60 && var.dead_letter_queue.message_retention_seconds <= 1209600
    error_message = "dead_letter_queue.message_retention_seconds must be between 60 and 1209600 (14 days)."
  }
}

variable "stream_sources" {
  description = "Stream triggers by a name you choose: stream_arn (a DynamoDB or Kinesis stream), batching, bounded retries and age, Lambda event filter patterns (JSON strings), and an on-failure destination (null: the function's dead_letter_queue, which must then be enabled). Partial batch responses (ReportBatchItemFailures) and bisect-on-error are always on."
  type = map(object({
    stream_arn                         = string
    starting_position                  = optional(string, "LATEST")
    batch_size                         = optional(number, 100)
    maximum_batching_window_in_seconds = optional(number, 0)
    parallelization_factor             = optional(number, 1)
    maximum_retry_attempts             = optional(number, 10)
    maximum_record_age_in_seconds      = optional(number, 3600)
    filter_patterns                    = optional(list(string), [])
    on_failure_destination_arn         = optional(string)
  }))
  default = {}

  validation {
    condition     = alltrue([for source in values(var.stream_sources) : contains(["LATEST", "TRIM_HORIZON"], source.starting_position)])
    error_message = "stream_sources[*].starting_position must be LATEST or TRIM_HORIZON."
  }

  validation {
    condition     = alltrue([for source in values(var.stream_sources) : source.batch_size >= 1 && source.batch_size <= 10000 && source.maximum_batching_window_in_seconds >= 0 && source.maximum_batching_window_in_seconds <= 300 && source.parallelization_factor >= 1 && source.parallelization_factor <= 10])
    error_message = "stream_sources[*]: batch_size must be 1-10000, maximum_batching_window_in_seconds 0-300 and parallelization_factor 1-10."
  }

  validation {
    condition     = alltrue([for source in values(var.stream_sources) : source.maximum_retry_attempts >= 0 && source.maximum_retry_attempts <= 10000 && source.maximum_record_age_in_seconds >= 60 && source.maximum_record_age_in_seconds <= 604800])
    error_message = "stream_sources[*]: maximum_retry_attempts must be 0-10000 and maximum_record_age_in_seconds 60-604800 (bounded: an endless retry would block the shard)."
  }

  validation {
    condition     = alltrue([for source in values(var.stream_sources) : alltrue([for pattern in source.filter_patterns : can(jsondecode(pattern))])])
    error_message = "stream_sources[*].filter_patterns must be JSON strings (Lambda event filtering patterns), for example jsonencode({ dynamodb = { Keys = { pk = { S = [{ prefix = \"PRODUCT#\" }] } } } })."
  }

  validation {
    condition     = var.dead_letter_queue.enabled || alltrue([for source in values(var.stream_sources) : source.on_failure_destination_arn != null])
    error_message = "stream_sources must have an on-failure destination: enable dead_letter_queue (the default) or set on_failure_destination_arn on every source."
  }
}

variable "policy_statements" {
  description = "Extra IAM statements for the execution role, least privilege: name actions and resources."
  type = list(object({
    sid       = optional(string)
    effect    = optional(string, "Allow")
    actions   = list(string)
    resources = list(string)
    conditions = optional(list(object({
      test     = string
      variable = string
      values   = list(string)
    })), [])
  }))
  default = []

  validation {
    condition     = alltrue([for statement in var.policy_statements : contains(["Allow", "Deny"], statement.effect) && length(statement.actions) > 0 && length(statement.resources) > 0])
    error_message = "each policy statement must have effect Allow or Deny, at least one action and at least one resource."
  }
}

variable "vpc" {
  description = "Run in a VPC: the module creates an egress-only security group (egress_rules default to HTTPS anywhere: AWS APIs via endpoints or NAT); security_group_ids adds groups made elsewhere, such as a cache's client group."
  type = object({
    vpc_id             = string
    subnet_ids         = list(string)
    security_group_ids = optional(list(string), [])
    egress_rules = optional(list(object({
      description                  = string
      from_port                    = number
      to_port                      = number
      ip_protocol                  = optional(string, "tcp")
      cidr_ipv4                    = optional(string)
      prefix_list_id               = optional(string)
      referenced_security_group_id = optional(string)
    })), [{ description = "HTTPS to AWS APIs", from_port = 443, to_port = 443, cidr_ipv4 = "0.0.0.0/0" }])
  })
  default = null

  validation {
    condition     = var.vpc == null || try(length(var.vpc.subnet_ids) > 0, false)
    error_message = "vpc.subnet_ids must name at least one subnet."
  }
}

variable "snap_start" {
  description = "SnapStart on published versions (needs python3.12+). Turns on publishing; use with alias_name so callers invoke a published version."
  type        = bool
  default     = false
}

variable "alias_name" {
  description = "Alias that points at the latest published version (for example `live`). null for no alias."
  type        = string
  default     = null

  validation {
    condition     = var.alias_name == null || can(regex("^[a-zA-Z][a-zA-Z0-9-_]{0,127}$", var.alias_name))
    error_message = "alias_name must start with a letter and hold only a-z, A-Z, 0-9, '-' and '_'."
  }
}

variable "durable_config" {
  description = <<-EOT
    Makes this a Lambda durable function: execution_timeout is the longest a whole durable execution may run, in seconds (1 to 31622400, 366 days); retention_period is how many days Lambda keeps a closed execution's history (1 to 90, default 14). null for an ordinary function.
    Durable execution can only be turned on when the function is created: adding it to an existing function means replacing that function (a new name, or destroy and create). Executions are pinned to the published version they started on, so a durable function needs published versions and an alias (alias_name) for callers; the module publishes on every code change.
  EOT
  type = object({
    execution_timeout = number
    retention_period  = optional(number, 14)
  })
  default = null

  validation {
    condition     = var.durable_config == null || try(var.durable_config.execution_timeout >= 1 && var.durable_config.execution_timeout <= 31622400 && floor(var.durable_config.execution_timeout) == var.durable_config.execution_timeout, false)
    error_message = "durable_config.execution_timeout must be a whole number of seconds from 1 to 31622400 (366 days)."
  }

  validation {
    condition     = var.durable_config == null || try(var.durable_config.retention_period >= 1 && var.durable_config.retention_period <= 90 && floor(var.durable_config.retention_period) == var.durable_config.retention_period, false)
    error_message = "durable_config.retention_period must be a whole number of days from 1 to 90."
  }

  validation {
    condition     = var.durable_config == null || var.alias_name != null
    error_message = "durable_config needs alias_name: durable executions run on published versions (an execution replays on the version it started on), so callers must invoke an alias, not $LATEST. Durable execution can also only be enabled when the function is created, not added to an existing one."
  }
}

variable "code_signing_config_arn" {
  description = "Code signing configuration to enforce (AWS Signer). null when the pipeline does not sign."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags for every resource the module creates."
  type        = map(string)
  default     = {}
}
