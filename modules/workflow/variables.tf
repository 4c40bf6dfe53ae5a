variable "name" {
  description = "State machine name; also names its role and log group."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9-_]{1,64}$", var.name))
    error_message = "name must be 1-64 characters of a-z, A-Z, 0-9, '-' and '_'."
  }
}

variable "definition_template" {
  description = "Path of the ASL (Amazon States Language) JSON template, rendered with templatefile()."
  type        = string

  validation {
    condition     = endswith(var.definition_template, ".json")
    error_message = "definition_template must be the path of a .json ASL template."
  }
}

variable "template_variables" {
  description = "Values for the template's $${...} placeholders: function ARNs, table names."
  type        = map(string)
  default     = {}
}

variable "type" {
  description = "STANDARD (durable, exactly-once, execution history kept 90 days) or EXPRESS (high-volume, at-least-once, history only in logs)."
  type        = string
  default     = "STANDARD"

  validation {
    condition     = contains(["STANDARD", "EXPRESS"], var.type)
    error_message = "type must be STANDARD or EXPRESS."
  }
}

variable "lambda_function_arns" {
  description = "Unqualified ARNs of the functions the state machine may invoke (their versions and aliases are included)."
  type        = list(string)
  default     = []
}

variable "table_access" {
  description = "DynamoDB actions for direct service integrations (arn:aws:states:::dynamodb:*), per table ARN."
  type = list(object({
    table_arn = string
    actions   = list(string)
  }))
  default = []

  validation {
    condition     = alltrue([for access in var.table_access : alltrue([for action in access.actions : startswith(action, "dynamodb:")])])
    error_message = "table_access[*].actions must be dynamodb:* actions, for example dynamodb:UpdateItem."
  }
}

variable "logging" {
  description = "Execution logging: level ALL, ERROR, FATAL or OFF. include_execution_data logs every state's input and output, payloads included: leave it off where payloads may hold personal data."
  type = object({
    level                  = optional(string, "ALL")
    include_execution_data = optional(bool, false)
    retention_in_days      = optional(number, 365)
  })
  default = {}

  validation {
    condition     = contains(["ALL", "ERROR", "FATAL", "OFF"], var.logging.level)
    error_message = "logging.level must be ALL, ERROR, FATAL or OFF."
  }

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.logging.retention_in_days)
    error_message = "logging.retention_in_days must be a CloudWatch Logs retention value (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)."
  }
}

variable "kms_key_arn" {
  description = "Key for the execution data and the log group. null creates one."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags for every resource the module creates."
  type        = map(string)
  default     = {}
}
