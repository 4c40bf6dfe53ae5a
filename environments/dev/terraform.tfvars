# dev: cheap. 2 AZs, interface endpoints in 1 AZ, short logs, no reserved concurrency, no SnapStart.
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
  memory_size = 512
  # No reservation: a new account's concurrency quota is reduced (often below 100), and Lambda keeps
  # 100 unreserved, so any reservation there fails the first apply. dev's functions share the pool.
  reserved_concurrency  = -1
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

# dev runs new orders on the state machine: Lambda durable functions are not documented in eu-west-1
# (terraform/variables.tf, durable_function_regions), so checkout-durable is not created here
# (durable_checkout stays off). dev stays in its team's region, beside staging and prod, rather
# than move to us-east-2 for one function; the two engines are compared on the twin (`make demo`)
# until AWS lists eu-west-1, when dev sets durable_checkout = { enabled = true } and
# checkout_engine = "durable".
checkout_engine = "step-functions"
