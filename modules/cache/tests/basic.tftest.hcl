# `terraform test` with a mocked AWS provider. Mocks return random strings for computed
# attributes, and the provider rejects those where it expects an ARN; a serverless
# cache's endpoint is a list of objects, which a mock leaves empty. The defaults below
# have the right shape.
mock_provider "aws" {
  mock_data "aws_region" {
    defaults = { region = "eu-west-1" }
  }
  mock_data "aws_caller_identity" {
    defaults = { account_id = "111122223333", arn = "arn:aws:iam::111122223333:root" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws", dns_suffix = "amazonaws.com" }
  }
  mock_data "aws_availability_zones" {
    defaults = { names = ["eu-west-1a", "eu-west-1b", "eu-west-1c"] }
  }
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
  mock_resource "aws_kms_key" {
    defaults = {
      arn    = "arn:aws:kms:eu-west-1:111122223333:key/0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d"
      key_id = "0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d"
    }
  }
  mock_resource "aws_cloudwatch_log_group" {
    defaults = { arn = "arn:aws:logs:eu-west-1:111122223333:log-group:/elasticache/unit-cache/slow-log" }
  }
  mock_resource "aws_security_group" {
    defaults = {
      id  = "sg-0a1b2c3d4e5f6a7b8"
      arn = "arn:aws:ec2:eu-west-1:111122223333:security-group/sg-0a1b2c3d4e5f6a7b8"
    }
  }
  mock_resource "aws_elasticache_user" {
    defaults = { arn = "arn:aws:elasticache:eu-west-1:111122223333:user:unit-cache-app" }
  }
  mock_resource "aws_elasticache_user_group" {
    defaults = { arn = "arn:aws:elasticache:eu-west-1:111122223333:usergroup:unit-cache" }
  }
  mock_resource "aws_elasticache_replication_group" {
    defaults = {
      arn                      = "arn:aws:elasticache:eu-west-1:111122223333:replicationgroup:unit-cache"
      primary_endpoint_address = "master.unit-cache.abc123.euw1.cache.amazonaws.com"
      reader_endpoint_address  = "replica.unit-cache.abc123.euw1.cache.amazonaws.com"
    }
  }
  mock_resource "aws_elasticache_serverless_cache" {
    defaults = {
      arn             = "arn:aws:elasticache:eu-west-1:111122223333:serverlesscache:unit-cache"
      endpoint        = [{ address = "unit-cache-abc123.serverless.euw1.cache.amazonaws.com", port = 6379 }]
      reader_endpoint = [{ address = "unit-cache-abc123.serverless.euw1.cache.amazonaws.com", port = 6380 }]
    }
  }
  # The examples' network and client function.
  mock_resource "aws_vpc" {
    defaults = {
      id  = "vpc-0a1b2c3d4e5f6a7b8"
      arn = "arn:aws:ec2:eu-west-1:111122223333:vpc/vpc-0a1b2c3d4e5f6a7b8"
    }
  }
  mock_resource "aws_subnet" {
    defaults = {
      id  = "subnet-0a1b2c3d4e5f6a7b8"
      arn = "arn:aws:ec2:eu-west-1:111122223333:subnet/subnet-0a1b2c3d4e5f6a7b8"
    }
  }
  mock_resource "aws_vpc_endpoint" {
    defaults = {
      id             = "vpce-0a1b2c3d4e5f6a7b8"
      arn            = "arn:aws:ec2:eu-west-1:111122223333:vpc-endpoint/vpce-0a1b2c3d4e5f6a7b8"
      prefix_list_id = "pl-6da54004"
    }
  }
  mock_resource "aws_flow_log" {
    defaults = { arn = "arn:aws:ec2:eu-west-1:111122223333:vpc-flow-log/fl-0a1b2c3d4e5f6a7b8" }
  }
  mock_resource "aws_iam_role" {
    defaults = { arn = "arn:aws:iam::111122223333:role/example-cache-client-20250101000000000000000001" }
  }
  mock_resource "aws_sqs_queue" {
    defaults = {
      arn = "arn:aws:sqs:eu-west-1:111122223333:example-cache-client-dlq"
      url = "https://sqs.eu-west-1.amazonaws.com/111122223333/example-cache-client-dlq"
    }
  }
  mock_resource "aws_lambda_function" {
    defaults = {
      arn                  = "arn:aws:lambda:eu-west-1:111122223333:function:example-cache-client"
      qualified_arn        = "arn:aws:lambda:eu-west-1:111122223333:function:example-cache-client:1"
      invoke_arn           = "arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/arn:aws:lambda:eu-west-1:111122223333:function:example-cache-client/invocations"
      qualified_invoke_arn = "arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/arn:aws:lambda:eu-west-1:111122223333:function:example-cache-client:1/invocations"
      version              = "1"
    }
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
    condition     = one(aws_elasticache_user.app.authentication_mode).type == "iam" && aws_elasticache_user.app.passwords == null
    error_message = "the app user authenticates with IAM tokens: no password exists, in state or anywhere"
  }

  assert {
    condition     = output.endpoint == "master.unit-cache.abc123.euw1.cache.amazonaws.com"
    error_message = "clients connect to the primary endpoint"
  }

  assert {
    condition     = output.client_connect_policy_statement.resources == [aws_elasticache_replication_group.this[0].arn, aws_elasticache_user.app.arn]
    error_message = "clients may connect to this cache as the app user only"
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

  assert {
    condition     = output.endpoint == "unit-cache-abc123.serverless.euw1.cache.amazonaws.com" && output.cluster_mode
    error_message = "serverless clients use its endpoint, in cluster mode"
  }

  assert {
    condition     = one(aws_elasticache_user.app.authentication_mode).type == "iam"
    error_message = "the app user authenticates with IAM tokens in serverless mode too"
  }
}

run "rejects_unknown_engine_version" {
  command = plan

  variables {
    engine_version = "6.2"
  }

  expect_failures = [var.engine_version]
}

run "basic_example" {
  command = apply

  module {
    source = "./examples/basic"
  }

  assert {
    condition     = output.endpoint == "master.unit-cache.abc123.euw1.cache.amazonaws.com:6379"
    error_message = "the basic example serves a replication group on 6379"
  }
}

run "serverless_example" {
  command = apply

  module {
    source = "./examples/serverless"
  }

  assert {
    condition     = output.endpoint == "unit-cache-abc123.serverless.euw1.cache.amazonaws.com:6379"
    error_message = "the serverless example serves its cache on 6379"
  }
}
