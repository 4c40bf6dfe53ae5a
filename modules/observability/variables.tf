variable "name" {
  description = "Name of the dashboard, and prefix of the alarms, the SNS topic and the saved query."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,62}[a-z0-9]$", var.name))
    error_message = "name must be 2-64 characters of a-z, 0-9 and '-', starting with a letter and not ending with '-'."
  }
}

variable "application" {
  description = "Where the functions' own metrics are (Powertools EMF): their namespace, and the Powertools service name (the `service` dimension) of the function that reads through the cache and emits CacheHit, CacheMiss, CacheError and CatalogReadLatency."
  type = object({
    namespace     = optional(string, "ServerlessState")
    cache_service = optional(string, "catalog")
  })
  default = {}

  validation {
    condition     = can(regex("^[A-Za-z0-9._/#:-]{1,255}$", var.application.namespace)) && !startswith(var.application.namespace, "AWS/")
    error_message = "application.namespace must be 1-255 characters of letters, digits and . _ / # : - and must not start with \"AWS/\" (reserved for AWS services)."
  }

  validation {
    condition     = length(var.application.cache_service) >= 1 && length(var.application.cache_service) <= 255
    error_message = "application.cache_service must be between 1 and 255 characters: the POWERTOOLS_SERVICE_NAME of the caching function."
  }
}

variable "functions" {
  description = "Lambda functions to graph and alarm on (errors, throttles, duration, concurrency), by a key you choose (it names their alarms)."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for key in keys(var.functions) : can(regex("^[a-z0-9][a-z0-9_-]{0,39}$", key))])
    error_message = "functions keys may contain only a-z, 0-9, '_' and '-' (1-40 characters, starting with a letter or digit): they become parts of alarm names."
  }
}

variable "stream_consumer_functions" {
  description = "Functions fed by a stream event source mapping: their IteratorAge (how far behind the stream they are) is graphed."
  type        = list(string)
  default     = []
}

variable "dead_letter_queue_arns" {
  description = "SQS dead-letter queues by a key you choose: each gets an alarm when any message is waiting in it. The values may be unknown until apply."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for key in keys(var.dead_letter_queue_arns) : can(regex("^[a-z0-9][a-z0-9_-]{0,39}$", key))])
    error_message = "dead_letter_queue_arns keys may contain only a-z, 0-9, '_' and '-' (1-40 characters, starting with a letter or digit): they become parts of alarm names."
  }
}

variable "workflow" {
  description = "A Step Functions state machine logging at level ALL: its executions are graphed, their failure rate alarmed on, and from its log group saved Logs Insights queries show one execution's state transitions and the time and retries per state over a time range, and a dashboard widget the per-state p99 over time. null leaves it out."
  type = object({
    state_machine_arn = string
    log_group_name    = string
  })
  default = null
}

variable "cache" {
  description = "The ElastiCache cache to graph (CPU, memory, evictions) and alarm on (memory): mode replication_group (name = replication group id, nodes = its cache clusters, named <name>-001 ... as ElastiCache names them) or serverless (name = the serverless cache, max_data_storage_gb = its storage limit). null leaves it out."
  type = object({
    mode                = string
    name                = string
    nodes               = optional(number, 1)
    max_data_storage_gb = optional(number, 5)
  })
  default = null

  validation {
    condition     = var.cache == null || contains(["replication_group", "serverless"], try(var.cache.mode, ""))
    error_message = "cache.mode must be replication_group or serverless."
  }

  validation {
    condition     = var.cache == null || (try(var.cache.nodes, 0) >= 1 && try(var.cache.nodes, 0) <= 6)
    error_message = "cache.nodes must be between 1 and 6 (a primary and up to 5 replicas)."
  }

  validation {
    condition     = var.cache == null || (try(var.cache.max_data_storage_gb, 0) >= 1 && try(var.cache.max_data_storage_gb, 0) <= 5000)
    error_message = "cache.max_data_storage_gb must be between 1 and 5000."
  }
}

variable "alarms" {
  description = "Alarm thresholds. Each alarm fires after evaluation_periods periods of period_seconds in breach; a metric with no data does not breach."
  type = object({
    period_seconds                    = optional(number, 300)
    evaluation_periods                = optional(number, 3)
    cache_hit_ratio_min               = optional(number, 0.8)
    workflow_failure_rate_max_percent = optional(number, 5)
    lambda_errors_max                 = optional(number, 0)
    lambda_throttles_max              = optional(number, 0)
    cache_memory_max_percent          = optional(number, 80)
  })
  default = {}

  validation {
    condition     = contains([60, 120, 180, 300, 600, 900, 1800, 3600], var.alarms.period_seconds)
    error_message = "alarms.period_seconds must be one of 60, 120, 180, 300, 600, 900, 1800, 3600."
  }

  validation {
    condition     = var.alarms.evaluation_periods >= 1 && var.alarms.evaluation_periods <= 24
    error_message = "alarms.evaluation_periods must be between 1 and 24."
  }

  validation {
    condition     = var.alarms.cache_hit_ratio_min > 0 && var.alarms.cache_hit_ratio_min <= 1
    error_message = "alarms.cache_hit_ratio_min must be a fraction between 0 (exclusive) and 1, for example 0.8."
  }

  validation {
    condition     = var.alarms.workflow_failure_rate_max_percent >= 0 && var.alarms.workflow_failure_rate_max_percent < 100
    error_message = "alarms.workflow_failure_rate_max_percent must be between 0 and 100 (exclusive): the percentage of ended executions that failed, timed out or were aborted."
  }

  validation {
    condition     = var.alarms.lambda_errors_max >= 0 && var.alarms.lambda_throttles_max >= 0
    error_message = "alarms.lambda_errors_max and alarms.lambda_throttles_max must be 0 or more (per period; 0 alarms on the first one)."
  }

  validation {
    condition     = var.alarms.cache_memory_max_percent > 0 && var.alarms.cache_memory_max_percent <= 100
    error_message = "alarms.cache_memory_max_percent must be between 0 (exclusive) and 100."
  }
}

variable "alarm_subscribers" {
  description = "Who is notified when an alarm changes state: SNS subscriptions (protocol email, email-json, https, sqs, lambda or sms, and its endpoint). Empty: no topic, and the alarms notify no one (their state still shows on the dashboard and in the console)."
  type = list(object({
    protocol = string
    endpoint = string
  }))
  default = []

  validation {
    condition     = alltrue([for s in var.alarm_subscribers : contains(["email", "email-json", "https", "sqs", "lambda", "sms"], s.protocol)])
    error_message = "alarm_subscribers protocol must be one of email, email-json, https, sqs, lambda, sms (plain http would send alarm details unencrypted)."
  }

  validation {
    condition     = length(distinct([for s in var.alarm_subscribers : "${s.protocol}:${s.endpoint}"])) == length(var.alarm_subscribers)
    error_message = "alarm_subscribers must not list the same protocol and endpoint twice."
  }
}

variable "kms" {
  description = "Encryption of the alarm topic (made only when there are alarm_subscribers): create a key (default) or pass `key_arn` with create_key = false. A key you pass must let cloudwatch.amazonaws.com use kms:GenerateDataKey* and kms:Decrypt, or alarms cannot publish."
  type = object({
    create_key = optional(bool, true)
    key_arn    = optional(string)
  })
  default = {}

  validation {
    condition     = var.kms.create_key || var.kms.key_arn != null
    error_message = "kms.key_arn is required when kms.create_key is false."
  }
}

variable "dashboard_period_seconds" {
  description = "Period of the dashboard's graphs in seconds."
  type        = number
  default     = 300

  validation {
    condition     = contains([60, 300, 900, 3600], var.dashboard_period_seconds)
    error_message = "dashboard_period_seconds must be one of 60, 300, 900, 3600."
  }
}

variable "tags" {
  description = "Tags for every resource the module creates that takes tags."
  type        = map(string)
  default     = {}
}
