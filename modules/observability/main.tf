data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.region
  account_id = data.aws_caller_identity.current.account_id
  namespace  = var.application.namespace

  # Every metric of the application's namespace that the dashboard and the alarms use, and
  # only here: tests/unit/test_observability_metrics.py checks that this list and the
  # metrics the functions emit (lambda_src/) are the same names, so neither side drifts.
  app_metrics = {
    state_read_latency        = "StateReadLatency"        # ms; Strategy, Operation, service
    state_write_latency       = "StateWriteLatency"       # ms; Strategy, Operation, service
    catalog_read_latency      = "CatalogReadLatency"      # ms; Strategy, Outcome (hit, miss, fallback), service
    cache_hit                 = "CacheHit"                # Strategy, service
    cache_miss                = "CacheMiss"               # Strategy, service
    cache_error               = "CacheError"              # Strategy, service
    cache_invalidation        = "CacheInvalidation"       # Strategy, Path (sync, stream), service
    cache_invalidation_failed = "CacheInvalidationFailed" # Strategy, Path, service
    invalidation_lag          = "InvalidationLag"         # ms; Strategy, Path (stream), service
    version_conflict          = "VersionConflict"         # Strategy, service
    idempotent_replay         = "IdempotentReplay"        # Strategy, service
    workflow_started          = "WorkflowStarted"         # Strategy, service
    abandoned_order_started   = "AbandonedOrderStarted"   # Strategy, service: the order relay's
    cold_start                = "ColdStart"               # Powertools: function_name, service
  }

  # The dimensions the caching function gives its cache metrics (shop.cache: Strategy "cache").
  cache_dimensions = { Strategy = "cache", service = var.application.cache_service }

  has_workflow = var.workflow != null
  has_cache    = var.cache != null
  cache_mode   = try(var.cache.mode, "")
  # Replication group members by their number (001, ...): keys known at plan whatever the name.
  cache_nodes     = local.cache_mode == "replication_group" ? { for i in range(var.cache.nodes) : format("%03d", i + 1) => format("%s-%03d", var.cache.name, i + 1) } : {}
  notify          = length(var.alarm_subscribers) > 0
  create_key      = local.notify && var.kms.create_key
  kms_key_arn     = local.create_key ? aws_kms_key.this[0].arn : var.kms.key_arn
  alarm_actions   = local.notify ? [aws_sns_topic.alarms[0].arn] : []
  alarm_prefix    = "${var.name}-"
  dlq_queue_names = { for key, arn in var.dead_letter_queue_arns : key => element(split(":", arn), 5) }
}
