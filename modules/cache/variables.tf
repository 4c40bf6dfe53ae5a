variable "name" {
  description = "Name of the cache and prefix of its user, group and log groups."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,38}[a-z0-9]$", var.name))
    error_message = "name must be 2-40 characters of a-z, 0-9 and '-', starting with a letter and not ending with '-'."
  }
}

variable "mode" {
  description = "replication_group (default: nodes you size) or serverless (ElastiCache Serverless for Valkey: cluster-mode only, scales by itself)."
  type        = string
  default     = "replication_group"

  validation {
    condition     = contains(["replication_group", "serverless"], var.mode)
    error_message = "mode must be replication_group or serverless."
  }
}

variable "engine_version" {
  description = "Valkey version: 7.2, 8.0 or 8.1 (the serverless mode uses its major version)."
  type        = string
  default     = "8.0"

  validation {
    condition     = contains(["7.2", "8.0", "8.1"], var.engine_version)
    error_message = "engine_version must be one of 7.2, 8.0, 8.1."
  }
}

variable "vpc_id" {
  description = "VPC of the cache and its security group."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets for the cache (one per AZ; multi-AZ needs at least two)."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) >= 1
    error_message = "subnet_ids must name at least one subnet."
  }
}

variable "client_security_group_ids" {
  description = "More security groups allowed to connect on the cache port (TLS), besides the module's own client group. Nothing else is admitted."
  type        = list(string)
  default     = []
}

variable "replication_group" {
  description = "Node settings for mode = replication_group. replicas > 0 turns on multi-AZ with automatic failover."
  type = object({
    node_type                = optional(string, "cache.t4g.micro")
    replicas                 = optional(number, 0)
    snapshot_retention_limit = optional(number, 7)
    snapshot_window          = optional(string, "03:00-04:00")
    maintenance_window       = optional(string, "sun:05:00-sun:06:00")
    parameters               = optional(map(string), {})
  })
  default = {}

  validation {
    condition     = can(regex("^cache\\.[a-z0-9]+\\.[a-z0-9]+$", var.replication_group.node_type))
    error_message = "replication_group.node_type must be an ElastiCache node type such as cache.t4g.micro or cache.r7g.large."
  }

  validation {
    condition     = var.replication_group.replicas >= 0 && var.replication_group.replicas <= 5
    error_message = "replication_group.replicas must be between 0 and 5."
  }

  validation {
    condition     = var.replication_group.snapshot_retention_limit >= 0 && var.replication_group.snapshot_retention_limit <= 35
    error_message = "replication_group.snapshot_retention_limit must be between 0 and 35 days."
  }

  validation {
    condition     = can(regex("^(mon|tue|wed|thu|fri|sat|sun):[0-2][0-9]:[0-5][0-9]-(mon|tue|wed|thu|fri|sat|sun):[0-2][0-9]:[0-5][0-9]$", var.replication_group.maintenance_window))
    error_message = "replication_group.maintenance_window must look like sun:05:00-sun:06:00 (ddd:hh24:mi-ddd:hh24:mi, UTC)."
  }
}

variable "serverless" {
  description = "Usage limits for mode = serverless: storage in GB and ElastiCache Processing Units per second."
  type = object({
    max_data_storage_gb      = optional(number, 5)
    max_ecpu_per_second      = optional(number, 5000)
    snapshot_retention_limit = optional(number, 7)
    daily_snapshot_time      = optional(string, "03:00")
  })
  default = {}

  validation {
    condition     = var.serverless.max_data_storage_gb >= 1 && var.serverless.max_data_storage_gb <= 5000
    error_message = "serverless.max_data_storage_gb must be between 1 and 5000."
  }

  validation {
    condition     = var.serverless.max_ecpu_per_second >= 1000 && var.serverless.max_ecpu_per_second <= 15000000
    error_message = "serverless.max_ecpu_per_second must be between 1000 and 15000000."
  }
}

variable "kms_key_arn" {
  description = "Key for data at rest and the log groups. null creates one."
  type        = string
  default     = null
}

variable "access_string" {
  description = "ACL of the application user (Valkey ACL syntax). The default restricts it to the shop's key prefix and denies dangerous commands."
  type        = string
  default     = "on ~product:* +@all -@dangerous"

  validation {
    condition     = startswith(var.access_string, "on ")
    error_message = "access_string must start with \"on \" (an enabled user) followed by key patterns and command rules."
  }
}

variable "log_retention_in_days" {
  description = "Retention of the slow-log and engine-log groups: a CloudWatch Logs value (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_in_days)
    error_message = "log_retention_in_days must be one of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653."
  }
}

variable "tags" {
  description = "Tags for every resource the module creates."
  type        = map(string)
  default     = {}
}
