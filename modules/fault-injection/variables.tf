variable "name" {
  description = "Prefix of the experiment templates, the FIS role, the configuration bucket (<name>-fis-config-<account id>), the log group and the key alias."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,30}[a-z0-9]$", var.name))
    error_message = "name must be 2-32 characters of a-z, 0-9 and '-', starting with a letter and not ending with '-' (it becomes part of an S3 bucket name)."
  }
}

variable "stop_condition_alarm_arns" {
  description = "CloudWatch alarms (for example modules/observability's alarm_arns) that stop every experiment when one goes into ALARM: 1 to 5, FIS's quota of stop conditions per template."
  type        = list(string)

  validation {
    condition     = length(var.stop_condition_alarm_arns) >= 1 && length(var.stop_condition_alarm_arns) <= 5
    error_message = "stop_condition_alarm_arns must name 1 to 5 alarms (an experiment without a stop condition cannot be stopped by its own harm; FIS allows 5 per template)."
  }

  validation {
    condition     = alltrue([for arn in var.stop_condition_alarm_arns : can(regex("^arn:aws[a-z-]*:cloudwatch:[a-z0-9-]+:[0-9]{12}:alarm:.+$", arn))])
    error_message = "stop_condition_alarm_arns must be CloudWatch alarm ARNs (arn:aws:cloudwatch:<region>:<account>:alarm:<name>)."
  }
}

variable "lambda_functions" {
  description = "Functions that Lambda faults may target, by a key you choose (the faults name these keys), each its function ARN. Each must get this module's lambda_layer_arn, lambda_environment and lambda_policy_statements, or FIS cannot reach it."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for arn in values(var.lambda_functions) : can(regex("^arn:aws[a-z-]*:lambda:[a-z0-9-]+:[0-9]{12}:function:[A-Za-z0-9_-]+$", arn))])
    error_message = "lambda_functions values must be unqualified Lambda function ARNs (arn:aws:lambda:<region>:<account>:function:<name>, no version or alias)."
  }
}

variable "lambda_faults" {
  description = "aws:lambda:invocation-error (a share of invocations fail; prevent_execution = false runs the code first, as a crash after its side effect) and aws:lambda:invocation-add-delay (a delay before the code runs; past the function's timeout it is a timeout). Each names keys of lambda_functions; null leaves its template out."
  type = object({
    architecture        = optional(string, "arm64")
    extension_layer_arn = optional(string)
    invocation_error = optional(object({
      functions             = list(string)
      duration              = optional(string, "PT2M")
      invocation_percentage = optional(number, 40)
      prevent_execution     = optional(bool, false)
    }))
    invocation_add_delay = optional(object({
      functions                  = list(string)
      duration                   = optional(string, "PT2M")
      invocation_percentage      = optional(number, 100)
      startup_delay_milliseconds = optional(number, 1000)
    }))
  })
  default = {}

  validation {
    condition     = contains(["arm64", "x86_64"], var.lambda_faults.architecture)
    error_message = "lambda_faults.architecture must be arm64 or x86_64 (the functions' instruction set: the FIS extension has one layer for each)."
  }

  validation {
    condition     = var.lambda_faults.extension_layer_arn == null || can(regex("^arn:aws[a-z-]*:lambda:[a-z0-9-]+:[0-9]{12}:layer:[A-Za-z0-9_-]+:[0-9]+$", coalesce(var.lambda_faults.extension_layer_arn, "-")))
    error_message = "lambda_faults.extension_layer_arn must be null (read AWS's SSM public parameter) or a layer version ARN (arn:aws:lambda:<region>:<account>:layer:<name>:<version>)."
  }

  # That the keys are lambda_functions' is a precondition of the templates: a validation here
  # that read var.lambda_functions would make the functions (whose layers and environment come
  # from this module) depend on themselves.
  validation {
    condition = alltrue([
      for fault in [var.lambda_faults.invocation_error, var.lambda_faults.invocation_add_delay] :
      fault == null ? true : length(fault.functions) >= 1
    ])
    error_message = "lambda_faults.invocation_error.functions and lambda_faults.invocation_add_delay.functions must each name at least one key of lambda_functions."
  }

  validation {
    condition = alltrue([
      for fault in [var.lambda_faults.invocation_error, var.lambda_faults.invocation_add_delay] :
      fault == null ? true : (fault.invocation_percentage >= 1 && fault.invocation_percentage <= 100)
    ])
    error_message = "lambda_faults invocation_percentage must be between 1 and 100 (the share of invocations that get the fault)."
  }

  validation {
    condition     = var.lambda_faults.invocation_add_delay == null || (try(var.lambda_faults.invocation_add_delay.startup_delay_milliseconds, 0) >= 0 && try(var.lambda_faults.invocation_add_delay.startup_delay_milliseconds, 0) <= 900000)
    error_message = "lambda_faults.invocation_add_delay.startup_delay_milliseconds must be between 0 and 900000 (15 minutes, Lambda's longest timeout)."
  }

  validation {
    condition = alltrue([
      for fault in [var.lambda_faults.invocation_error, var.lambda_faults.invocation_add_delay] :
      fault == null ? true : can(regex("^PT([0-9]+H)?([0-9]+M)?([0-9]+S)?$", fault.duration)) && fault.duration != "PT"
    ])
    error_message = "lambda_faults durations must be ISO 8601 durations such as PT2M or PT1H30M (FIS: one minute to 12 hours)."
  }
}

variable "cache" {
  description = "A node-based cache (modules/cache with mode = replication_group; serverless caches have no AZ power action) with Multi-AZ, and its subnets. interrupt_az_power cuts power to its nodes in availability_zone (a replica is promoted); disrupt_connectivity denies traffic in and out of its subnets (scope: all, availability-zone, dynamodb, s3 or vpc). FIS selects replication groups by tag only, so resource_tags must be tags the group carries; ReplicationGroupId pins it. null leaves both out."
  type = object({
    replication_group_id  = string
    replication_group_arn = string
    resource_tags         = map(string)
    availability_zone     = string
    vpc_id                = string
    subnet_ids            = list(string)
    interrupt_az_power = optional(object({
      duration = optional(string, "PT5M")
    }), {})
    disrupt_connectivity = optional(object({
      duration = optional(string, "PT2M")
      scope    = optional(string, "all")
    }), {})
  })
  default = null

  validation {
    condition     = var.cache == null || (length(try(var.cache.resource_tags, {})) >= 1 && length(try(var.cache.resource_tags, {})) <= 50)
    error_message = "cache.resource_tags must hold 1 to 50 tags that the replication group carries (FIS selects aws:elasticache:replicationgroup targets by tag)."
  }

  validation {
    condition     = var.cache == null || can(regex("^[a-z]{2}(-[a-z]+)+-[0-9][a-z]$|^[a-z0-9]+-az[0-9]+$", try(var.cache.availability_zone, "")))
    error_message = "cache.availability_zone must be an Availability Zone code (eu-west-1a) or AZ ID (euw1-az1) holding one of the group's nodes."
  }

  validation {
    condition     = var.cache == null || length(try(var.cache.subnet_ids, [])) >= 1
    error_message = "cache.subnet_ids must name at least one subnet: the cache's subnet group."
  }

  validation {
    condition     = var.cache == null || contains(["all", "availability-zone", "dynamodb", "s3", "vpc"], try(var.cache.disrupt_connectivity.scope, ""))
    error_message = "cache.disrupt_connectivity.scope must be all, availability-zone, dynamodb, s3 or vpc (prefix-list needs a prefix list this module does not take)."
  }

  validation {
    condition = var.cache == null || alltrue([
      for duration in [try(var.cache.interrupt_az_power.duration, ""), try(var.cache.disrupt_connectivity.duration, "")] :
      can(regex("^PT([0-9]+H)?([0-9]+M)?([0-9]+S)?$", duration)) && duration != "PT"
    ])
    error_message = "cache.interrupt_az_power.duration and cache.disrupt_connectivity.duration must be ISO 8601 durations such as PT5M (FIS: one minute to 12 hours)."
  }
}

variable "kms_key_arn" {
  description = "Key for the configuration bucket and the experiment log group. null creates one."
  type        = string
  default     = null
}

variable "log_retention_in_days" {
  description = "Retention of the experiments' log group: a CloudWatch Logs value (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_in_days)
    error_message = "log_retention_in_days must be one of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653."
  }
}

variable "tags" {
  description = "Tags for every resource the module creates that takes tags."
  type        = map(string)
  default     = {}
}
