variable "name" {
  description = "API name, also used for the access log group."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9-_]{1,128}$", var.name))
    error_message = "name must be 1-128 characters of a-z, A-Z, 0-9, '-' and '_'."
  }
}

variable "routes" {
  description = "Route key (\"METHOD /path/{param}\") to the function that serves it. invoke_arn and qualifier come from the lambda-function module."
  type = map(object({
    function_name = string
    invoke_arn    = string
    qualifier     = optional(string)
  }))

  validation {
    condition     = length(var.routes) > 0 && alltrue([for key in keys(var.routes) : can(regex("^(GET|PUT|POST|DELETE|PATCH|HEAD|OPTIONS|ANY) /", key))])
    error_message = "routes needs at least one entry, each keyed \"METHOD /path\" with METHOD one of GET, PUT, POST, DELETE, PATCH, HEAD, OPTIONS, ANY."
  }
}

variable "authorization" {
  description = "How routes authenticate: AWS_IAM (default, SigV4), JWT (give jwt) or NONE (public; needs a written reason in your policy scan)."
  type = object({
    type = optional(string, "AWS_IAM")
    jwt = optional(object({
      issuer   = string
      audience = list(string)
      scopes   = optional(list(string), [])
    }))
  })
  default = {}

  validation {
    condition     = contains(["AWS_IAM", "JWT", "NONE"], var.authorization.type)
    error_message = "authorization.type must be AWS_IAM, JWT or NONE."
  }

  validation {
    condition     = var.authorization.type != "JWT" || var.authorization.jwt != null
    error_message = "authorization.jwt (issuer and audience) is required when authorization.type is JWT."
  }
}

variable "throttling" {
  description = "Default route throttling for the $default stage: steady requests per second and burst."
  type = object({
    rate_limit  = optional(number, 50)
    burst_limit = optional(number, 100)
  })
  default = {}

  validation {
    condition     = var.throttling.rate_limit > 0 && var.throttling.burst_limit > 0
    error_message = "throttling.rate_limit and throttling.burst_limit must be positive."
  }
}

variable "access_logs" {
  description = "Access logs to a KMS-encrypted log group. kms_key_arn null creates a key."
  type = object({
    retention_in_days = optional(number, 365)
    kms_key_arn       = optional(string)
  })
  default = {}

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.access_logs.retention_in_days)
    error_message = "access_logs.retention_in_days must be a CloudWatch Logs retention value (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)."
  }
}

variable "cors" {
  description = "CORS for browser clients. null (default) sends no CORS headers."
  type = object({
    allow_origins = list(string)
    allow_methods = optional(list(string), ["GET", "PUT", "POST", "DELETE"])
    allow_headers = optional(list(string), ["content-type", "if-match", "idempotency-key", "authorization"])
    max_age       = optional(number, 300)
  })
  default = null
}

variable "tags" {
  description = "Tags for every resource the module creates."
  type        = map(string)
  default     = {}
}
