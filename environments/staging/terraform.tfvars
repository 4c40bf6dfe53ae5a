# staging: prod-shaped at smaller scale. SnapStart behind the `live` alias, 90-day logs.
region = "eu-west-1"

network = {
  cidr_block = "10.30.0.0/16"
  az_count   = 2
}

state_table = {
  deletion_protection     = false
  recovery_period_in_days = 35
}

functions = {
  memory_size           = 1024
  reserved_concurrency  = 25
  snap_start            = true
  log_retention_in_days = 90
}

# 2 nodes (1 replica), multi-AZ with automatic failover.
cache = {
  node_type     = "cache.t4g.small"
  replicas      = 1
  snapshot_days = 3
}

# Alarms notify the team's address (an email subscription waits for its confirmation).
observability = {
  cache_hit_ratio_min               = 0.8
  workflow_failure_rate_max_percent = 10
  lambda_errors_max                 = 1
  alarm_subscribers                 = [{ protocol = "email", endpoint = "shop-staging-alerts@example.com" }]
}

# staging and prod keep the state machine until dev's comparison says otherwise.
checkout_engine = "step-functions"

# FIS experiment templates for `make chaos ENV=staging` (modules/fault-injection): invocation
# errors on order-steps, delays past checkout's timeout, and (the cache is Multi-AZ) an AZ power
# interruption and a subnet disruption. The targets carry the FIS extension layer.
fault_injection = {
  enabled = true
}
