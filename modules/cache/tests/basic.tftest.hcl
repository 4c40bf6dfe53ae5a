mock_provider "aws" {
  mock_data "aws_region" {
    defaults = { region = "eu-west-1" }
  }
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
}



variables {
  name       = "unit-cache"
  vpc_id     = "vpc-12345678"
  subnet_ids = ["subnet-1", "subnet-2"]
}

run "replication_group_is_locked_down" {
  command = apply

  assert {
    condition     = aws_elasticache_replication_group.this[0].transit_encryption_enabled && aws_elasticache_replication_group.this[0].at_rest_encryption_enabled
    error_message = "TLS and encryption at rest must be on"
  }

  assert {
    condition     = aws_elasticache_user.disabled_default.user_name == "default" && startswith(aws_elasticache_user.disabled_default.access_string, "off")
    error_message = "the default user must be replaced by a disabled one"
  }

  assert {
    condition     = !aws_elasticache_replication_group.this[0].automatic_failover_enabled
    error_message = "no failover without replicas"
  }
}

run "replicas_mean_multi_az" {
  command = apply

  variables {
    replication_group = { replicas = 2 }
  }

  assert {
    condition     = aws_elasticache_replication_group.this[0].multi_az_enabled && aws_elasticache_replication_group.this[0].num_cache_clusters == 3
    error_message = "2 replicas are 3 nodes with multi-AZ failover"
  }
}

run "serverless_mode" {
  command = apply

  variables {
    mode = "serverless"
  }

  assert {
    condition     = length(aws_elasticache_serverless_cache.this) == 1 && length(aws_elasticache_replication_group.this) == 0
    error_message = "serverless mode creates only the serverless cache"
  }
}

run "rejects_unknown_engine_version" {
  command = plan

  variables {
    engine_version = "6.2"
  }

  expect_failures = [var.engine_version]
}
