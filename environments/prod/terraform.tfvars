# prod: resilient. 3 AZs, deletion protection, SnapStart, 365-day logs, high concurrency.
region = "eu-west-1"

network = {
  cidr_block = "10.40.0.0/16"
  az_count   = 3
}

state_table = {
  deletion_protection     = true
  recovery_period_in_days = 35
}

functions = {
  memory_size           = 1024
  reserved_concurrency  = 100
  snap_start            = true
  log_retention_in_days = 365
}

api = {
  rate_limit  = 500
  burst_limit = 1000
}

# 3 nodes (2 replicas) across AZs, multi-AZ with automatic failover.
cache = {
  node_type     = "cache.r7g.large"
  replicas      = 2
  snapshot_days = 7
}

# Alarms over 1-minute periods, 5 in a row, notify on-call.
observability = {
  alarm_period_seconds              = 60
  alarm_evaluation_periods          = 5
  cache_hit_ratio_min               = 0.9
  workflow_failure_rate_max_percent = 2
  lambda_errors_max                 = 0
  alarm_subscribers                 = [{ protocol = "email", endpoint = "shop-oncall@example.com" }]
}

# staging and prod keep the state machine until dev's comparison says otherwise.
checkout_engine = "step-functions"
