variable "name" {
  description = "Table name. The shop uses `<project>-<env>-state`."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9_.-]{3,255}$", var.name))
    error_message = "name must be 3-255 characters of a-z, A-Z, 0-9, '_', '-' and '.'."
  }
}

variable "keys" {
  description = "Attribute names of the partition and sort key (both strings). DESIGN.md uses pk/sk."
  type = object({
    partition = optional(string, "pk")
    sort      = optional(string, "sk")
  })
  default = {}

  validation {
    condition     = length(var.keys.partition) > 0 && length(var.keys.sort) > 0 && var.keys.partition != var.keys.sort
    error_message = "keys.partition and keys.sort must be non-empty and different."
  }
}

variable "ttl_attribute" {
  description = "Attribute holding the expiry time in epoch seconds. null turns TTL off. Expiry is lazy: readers must also treat past values as absent."
  type        = string
  default     = "expires_at"
}

variable "point_in_time_recovery_days" {
  description = "Restore window of point-in-time recovery, 1-35 days. PITR itself is always on."
  type        = number
  default     = 35

  validation {
    condition     = var.point_in_time_recovery_days >= 1 && var.point_in_time_recovery_days <= 35
    error_message = "point_in_time_recovery_days must be between 1 and 35."
  }
}

variable "deletion_protection" {
  description = "Refuse DeleteTable. On by default; dev turns it off so that the stack can be torn down."
  type        = bool
  default     = true
}

variable "kms" {
  description = "Encryption at rest with a customer-managed key: create one (default) or pass `key_arn`."
  type = object({
    create_key              = optional(bool, true)
    key_arn                 = optional(string)
    deletion_window_in_days = optional(number, 30)
  })
  default = {}

  validation {
    condition     = var.kms.create_key || var.kms.key_arn != null
    error_message = "kms.key_arn is required when kms.create_key is false."
  }

  validation {
    condition     = var.kms.deletion_window_in_days >= 7 && var.kms.deletion_window_in_days <= 30
    error_message = "kms.deletion_window_in_days must be between 7 and 30."
  }
}

variable "stream" {
  description = "DynamoDB stream. view_type is one of KEYS_ONLY, NEW_IMAGE, OLD_IMAGE, NEW_AND_OLD_IMAGES."
  type = object({
    enabled   = optional(bool, false)
    view_type = optional(string, "NEW_AND_OLD_IMAGES")
  })
  default = {}

  validation {
    condition     = contains(["KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES"], var.stream.view_type)
    error_message = "stream.view_type must be one of KEYS_ONLY, NEW_IMAGE, OLD_IMAGE, NEW_AND_OLD_IMAGES."
  }
}

variable "global_secondary_indexes" {
  description = "GSIs on string attributes. projection_type is ALL, KEYS_ONLY or INCLUDE (with non_key_attributes)."
  type = list(object({
    name               = string
    partition_key      = string
    sort_key           = optional(string)
    projection_type    = optional(string, "ALL")
    non_key_attributes = optional(list(string))
  }))
  default = []

  validation {
    condition     = alltrue([for index in var.global_secondary_indexes : contains(["ALL", "KEYS_ONLY", "INCLUDE"], index.projection_type)])
    error_message = "global_secondary_indexes[*].projection_type must be ALL, KEYS_ONLY or INCLUDE."
  }
}

variable "tags" {
  description = "Tags for every resource the module creates."
  type        = map(string)
  default     = {}
}
