# dev: cheap. 2 AZs, interface endpoints in 1 AZ, short logs, low concurrency, no SnapStart.
region = "eu-west-1"

network = {
  cidr_block                  = "10.20.0.0/16"
  az_count                    = 2
  interface_endpoint_az_count = 1
}

state_table = {
  deletion_protection     = false
  recovery_period_in_days = 7
}

functions = {
  memory_size           = 512
  reserved_concurrency  = 5
  snap_start            = false
  log_retention_in_days = 7
  log_level             = "DEBUG"
}

# 1 small node, no replica: a cache outage in dev falls back to DynamoDB (by design).
cache = {
  node_type = "cache.t4g.micro"
  replicas  = 0
}

# Alarms without notifications: dev's state shows on the dashboard, and pages no one.
observability = {
  cache_hit_ratio_min               = 0.7
  workflow_failure_rate_max_percent = 20
  lambda_errors_max                 = 5
  alarm_subscribers                 = []
}

# dev runs new orders on the durable function, so the two engines are compared on real traffic before staging.
checkout_engine = "durable"
