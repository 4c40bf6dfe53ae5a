# The local twin: the real stack, applied to the twin's moto server by `make demo`, `make twin`,
# `make bench` and the integration tests. tools.tfrun adds a provider override
# (twin_override.tf) that points every AWS endpoint at moto with fake credentials, and the
# state stays local, under build/. The values are the twin's: cheap, and quick to recover.
provider "aws" {
  region = "us-east-2" # tools/tfrun.py TWIN_REGION: where durable functions exist

  default_tags {
    tags = {
      project     = "serverless-state"
      environment = "twin"
      managed-by  = "terraform"
    }
  }
}

module "shop" {
  source = "../../terraform"

  environment            = "twin"
  function_package_zip   = var.function_package_zip
  dependencies_layer_zip = var.dependencies_layer_zip

  network = {
    az_count                    = 2
    interface_endpoint_az_count = 1
  }

  state_table = {
    deletion_protection     = false
    recovery_period_in_days = 1
  }

  # Each execution environment is a local process: 16 per function is what a laptop holds.
  functions = {
    reserved_concurrency  = 16
    log_retention_in_days = 1
  }

  # A short breaker cool-down, so that the outage drill sees the cache come back within seconds.
  cache = {
    breaker_cooldown = 1000
  }

  # The stage's throttling, which the twin enforces (local_twin/throttling.py). The twin's own
  # workload sends one route as much as its clients can: the demo's 8,000 catalog reads from 8
  # clients, its recovery drill's read loop, the bench's warm invokes, the tests' bursts of 64 at
  # once. The stack's default, 50 a second with a burst of 100 (dev's and staging's), would answer
  # most of that 429, as AWS would. These are above what this machine can push through one route,
  # and under the account's 10,000 a second with a burst of 5,000.
  api = {
    rate_limit            = 2000
    burst_limit           = 1000
    log_retention_in_days = 1
  }

  # The twin runs both engines side by side (`make demo`, `make twin ENGINE=durable`).
  durable_checkout = {
    enabled = true
  }

  # Alarms over 1-minute periods, notifying no one: the twin has no one to page.
  observability = {
    alarm_period_seconds = 60
    alarm_subscribers    = []
  }
}

variable "function_package_zip" {
  description = "The functions' package: the twin writes it (lambda_src/ zipped) before it applies."
  type        = string
}

variable "dependencies_layer_zip" {
  description = "The dependencies layer, built for the twin's own platform and worker Python (local_twin/lambda_runtime.py) from the requirements `make build` uses. null applies without it."
  type        = string
  default     = null
}

output "stack" {
  description = "Every output of the stack: the twin reads names, ARNs and routes from here."
  value       = module.shop
}
