variable "name" {
  description = "Name prefix for every resource, for example `shop-dev`."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,38}$", var.name))
    error_message = "name must be 2-39 characters of a-z, 0-9 and '-', starting with a letter."
  }
}

variable "cidr_block" {
  description = "IPv4 CIDR of the VPC, /16 to /24. Subnets are carved from it with `subnet_newbits`."
  type        = string
  default     = "10.20.0.0/16"

  validation {
    condition     = can(cidrhost(var.cidr_block, 0)) && tonumber(split("/", var.cidr_block)[1]) >= 16 && tonumber(split("/", var.cidr_block)[1]) <= 24
    error_message = "cidr_block must be a valid IPv4 CIDR between /16 and /24."
  }
}

variable "subnet_newbits" {
  description = "Bits added to the VPC prefix for each subnet (4 turns a /16 into /20 subnets)."
  type        = number
  default     = 4

  validation {
    condition     = var.subnet_newbits >= 2 && var.subnet_newbits <= 8
    error_message = "subnet_newbits must be between 2 and 8."
  }
}

variable "az_count" {
  description = "Availability zones to spread the private subnets over (1-6). dev/staging use 2, prod 3."
  type        = number
  default     = 2

  validation {
    condition     = var.az_count >= 1 && var.az_count <= 6 && floor(var.az_count) == var.az_count
    error_message = "az_count must be a whole number from 1 to 6."
  }
}

variable "availability_zones" {
  description = "Zone names to use (for example [\"eu-west-1a\", \"eu-west-1b\"]). null takes the first az_count available zones."
  type        = list(string)
  default     = null

  validation {
    condition     = var.availability_zones == null || try(length(var.availability_zones) >= var.az_count, false)
    error_message = "availability_zones must list at least az_count zone names."
  }
}

variable "nat_gateway" {
  description = "Internet egress for the private subnets. Off by default: the shop reaches AWS through endpoints. `single` puts one NAT in the first AZ."
  type = object({
    enabled = optional(bool, false)
    single  = optional(bool, true)
  })
  default = {}
}

variable "interface_endpoints" {
  description = "Interface endpoints to create (short service names). Allowed: states, secretsmanager, sts, kms, logs, lambda, ssm, sqs, monitoring, xray, elasticache."
  type        = list(string)
  default     = ["states", "secretsmanager", "sts", "kms", "logs"]

  validation {
    condition = alltrue([
      for service in var.interface_endpoints :
      contains(["states", "secretsmanager", "sts", "kms", "logs", "lambda", "ssm", "sqs", "monitoring", "xray", "elasticache"], service)
    ])
    error_message = "interface_endpoints may contain only: states, secretsmanager, sts, kms, logs, lambda, ssm, sqs, monitoring, xray, elasticache."
  }
}

variable "interface_endpoint_az_count" {
  description = "How many AZs get an interface endpoint ENI (null = all). dev uses 1 to save cost; each ENI per AZ is billed hourly."
  type        = number
  default     = null

  validation {
    condition     = var.interface_endpoint_az_count == null || try(var.interface_endpoint_az_count >= 1, false)
    error_message = "interface_endpoint_az_count must be null (all AZs) or at least 1."
  }
}

variable "flow_logs" {
  description = "VPC flow logs to a KMS-encrypted CloudWatch log group. traffic_type is ACCEPT, REJECT or ALL."
  type = object({
    enabled           = optional(bool, true)
    traffic_type      = optional(string, "ALL")
    retention_in_days = optional(number, 365)
    kms_key_arn       = optional(string)
  })
  default = {}

  validation {
    condition     = contains(["ACCEPT", "REJECT", "ALL"], var.flow_logs.traffic_type)
    error_message = "flow_logs.traffic_type must be ACCEPT, REJECT or ALL."
  }

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.flow_logs.retention_in_days)
    error_message = "flow_logs.retention_in_days must be a CloudWatch Logs retention value: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653."
  }
}

variable "tags" {
  description = "Tags for every resource the module creates."
  type        = map(string)
  default     = {}
}
