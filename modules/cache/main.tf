data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  partition     = data.aws_partition.current.partition
  region        = data.aws_region.current.region
  account_id    = data.aws_caller_identity.current.account_id
  port          = 6379
  create_key    = var.kms_key_arn == null
  kms_key_arn   = local.create_key ? aws_kms_key.this[0].arn : var.kms_key_arn
  is_serverless = var.mode == "serverless"
  has_replicas  = var.replication_group.replicas > 0
  major_version = split(".", var.engine_version)[0]
  log_groups = {
    slow-log   = "/elasticache/${var.name}/slow-log"
    engine-log = "/elasticache/${var.name}/engine-log"
  }

  endpoint        = local.is_serverless ? aws_elasticache_serverless_cache.this[0].endpoint[0].address : aws_elasticache_replication_group.this[0].primary_endpoint_address
  cache_name      = local.is_serverless ? aws_elasticache_serverless_cache.this[0].name : aws_elasticache_replication_group.this[0].replication_group_id
  cache_arn       = local.is_serverless ? aws_elasticache_serverless_cache.this[0].arn : aws_elasticache_replication_group.this[0].arn
  reader_endpoint = local.is_serverless ? aws_elasticache_serverless_cache.this[0].reader_endpoint[0].address : aws_elasticache_replication_group.this[0].reader_endpoint_address
}

resource "aws_elasticache_subnet_group" "this" {
  count = local.is_serverless ? 0 : 1

  name        = var.name
  description = "Private subnets of ${var.name}"
  subnet_ids  = var.subnet_ids
  tags        = var.tags
}

resource "aws_elasticache_parameter_group" "this" {
  count = local.is_serverless ? 0 : 1

  name        = "${var.name}-valkey${local.major_version}"
  family      = "valkey${local.major_version}"
  description = "Parameters of ${var.name}"
  tags        = var.tags

  dynamic "parameter" {
    for_each = var.replication_group.parameters
    content {
      name  = parameter.key
      value = parameter.value
    }
  }
}

resource "aws_elasticache_replication_group" "this" {
  count = local.is_serverless ? 0 : 1

  replication_group_id       = var.name
  description                = "Valkey cache ${var.name}"
  engine                     = "valkey"
  engine_version             = var.engine_version
  node_type                  = var.replication_group.node_type
  num_cache_clusters         = 1 + var.replication_group.replicas
  automatic_failover_enabled = local.has_replicas
  multi_az_enabled           = local.has_replicas
  port                       = local.port
  parameter_group_name       = aws_elasticache_parameter_group.this[0].name
  subnet_group_name          = aws_elasticache_subnet_group.this[0].name
  security_group_ids         = [aws_security_group.this.id]
  user_group_ids             = [aws_elasticache_user_group.this.id]
  transit_encryption_enabled = true
  transit_encryption_mode    = "required"
  at_rest_encryption_enabled = true
  kms_key_id                 = local.kms_key_arn
  snapshot_retention_limit   = var.replication_group.snapshot_retention_limit
  snapshot_window            = var.replication_group.snapshot_window
  maintenance_window         = var.replication_group.maintenance_window
  auto_minor_version_upgrade = true
  apply_immediately          = false
  tags                       = var.tags

  dynamic "log_delivery_configuration" {
    for_each = local.log_groups
    content {
      destination      = aws_cloudwatch_log_group.this[log_delivery_configuration.key].name
      destination_type = "cloudwatch-logs"
      log_format       = "json"
      log_type         = log_delivery_configuration.key
    }
  }
}

resource "aws_elasticache_serverless_cache" "this" {
  count = local.is_serverless ? 1 : 0

  name                     = var.name
  description              = "Valkey serverless cache ${var.name}"
  engine                   = "valkey"
  major_engine_version     = local.major_version
  kms_key_id               = local.kms_key_arn
  subnet_ids               = var.subnet_ids
  security_group_ids       = [aws_security_group.this.id]
  user_group_id            = aws_elasticache_user_group.this.id
  snapshot_retention_limit = var.serverless.snapshot_retention_limit
  daily_snapshot_time      = var.serverless.daily_snapshot_time
  tags                     = var.tags

  cache_usage_limits {
    data_storage {
      maximum = var.serverless.max_data_storage_gb
      unit    = "GB"
    }

    ecpu_per_second {
      maximum = var.serverless.max_ecpu_per_second
    }
  }
}
