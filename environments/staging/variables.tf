variable "region" {
  description = "AWS region to deploy into."
  type        = string
}

variable "network" {
  description = "Passed to the stack: see terraform/variables.tf."
  type        = any
}

variable "state_table" {
  description = "Passed to the stack: see terraform/variables.tf."
  type        = any
}

variable "functions" {
  description = "Passed to the stack: see terraform/variables.tf."
  type        = any
}

variable "cache" {
  description = "Passed to the stack: see terraform/variables.tf."
  type        = any
  default     = {}
}

variable "api" {
  description = "Passed to the stack: see terraform/variables.tf."
  type        = any
  default     = {}
}

variable "observability" {
  description = "Passed to the stack: see terraform/variables.tf."
  type        = any
  default     = {}
}

variable "checkout_engine" {
  description = "step-functions or durable: which engine runs new orders' checkout saga (see the stack's variable)."
  type        = string
  default     = "step-functions"
}

variable "durable_checkout" {
  description = "Passed to the stack: see terraform/variables.tf (off unless the region has Lambda durable functions)."
  type        = any
  default     = {}
}

variable "fault_injection" {
  description = "Passed to the stack: see terraform/variables.tf (FIS experiment templates; on in staging)."
  type        = any
  default     = {}
}

variable "function_package_zip" {
  description = "Written by `make build`; `make plan` passes it."
  type        = string
}

variable "dependencies_layer_zip" {
  description = "Written by `make build`; `make plan` passes it."
  type        = string
  default     = null
}
